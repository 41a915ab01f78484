//! The peer workload end to end: the real `rightsdesk serve` (the binary built beside this
//! one) against a pristine copy of the product database, driven through the staff HTTP
//! API the way the peer was measured: one access request (created -> export ready), one
//! erasure (created -> completed, the 14 masked rows checked), and 100 access + 100
//! erasure requests submitted together (wall time until all are final). The service's
//! peak RSS (the kernel's high-water mark, VmHWM) and CPU time (utime + stime) come from
//! /proc.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

use super::{BoxError, PEER_DATAMAP, email, with_database};

/// The peer's figures (peer-workload.md: Fides 2.86.2, best of two runs, N = 100,000).
const PEER_ACCESS_S: f64 = 1.45;
const PEER_ERASURE_S: f64 = 2.94;
const PEER_BATCH_S: f64 = 325.9;
const PEER_RSS_MB: f64 = 1240.0;
const PEER_CPU_S: f64 = 395.0;

pub struct Figures {
    pub access: Duration,
    pub erasure: Duration,
    pub batch: Duration,
    pub peak_rss_mb: f64,
    pub batch_cpu_s: f64,
    pub total_cpu_s: f64,
}

pub(crate) struct Service {
    pub(crate) child: Child,
    pub(crate) base: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn rightsdesk_binary() -> Result<PathBuf, BoxError> {
    let exe = std::env::current_exe()?;
    let bin = exe.with_file_name("rightsdesk");
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!(
            "{} not found: build the service first (cargo build --release --bins)",
            bin.display()
        )
        .into())
    }
}

/// VmHWM (peak resident set) in MB and utime + stime in seconds of a process.
pub(crate) fn proc_usage(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm_kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat; `rest` starts at field 3.
    let cpu = (ticks(11) + ticks(12)) / 100.0;
    (hwm_kb / 1024.0, cpu)
}

async fn start(
    dir: &Path,
    database_url: &str,
    product_url: &str,
) -> Result<(Service, String), BoxError> {
    let datamap = PEER_DATAMAP.replace("${RIGHTSDESK_DM_PEER_DATABASE_URL}", product_url);
    start_with(dir, database_url, "peer.toml", &datamap).await
}

/// `rightsdesk serve` on `database_url` with one data-map file; the service and a staff
/// (agent) token.
pub(crate) async fn start_with(
    dir: &Path,
    database_url: &str,
    datamap_file: &str,
    datamap: &str,
) -> Result<(Service, String), BoxError> {
    let bin = rightsdesk_binary()?;
    std::fs::create_dir_all(dir.join("datamap"))?;
    std::fs::write(dir.join("datamap").join(datamap_file), datamap)?;
    std::fs::write(dir.join("secret.key"), "5a".repeat(32))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let config = format!(
        r#"listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
data_dir = "{data}"
datamap_dir = "{datamap}"
secret_key_file = "{key}"
log_level = "warn"

[workflow]
auto_start = ["access"]
auto_complete = ["access", "erasure"]

[jobs]
workers = 8
poll_interval = "50ms"

[intake]
per_client_per_hour = 100000
"#,
        data = dir.join("data").display(),
        datamap = dir.join("datamap").display(),
        key = dir.join("secret.key").display(),
    );
    std::fs::write(dir.join("rightsdesk.toml"), config)?;
    let cli = |args: &[&str]| {
        Command::new(&bin)
            .arg("--config")
            .arg(dir.join("rightsdesk.toml"))
            .args(args)
            .env("RIGHTSDESK_DATABASE_URL", database_url)
            .output()
    };
    let migrate = cli(&["migrate"])?;
    if !migrate.status.success() {
        return Err(format!("migrate: {}", String::from_utf8_lossy(&migrate.stderr)).into());
    }
    let out = cli(&["token", "create", "--name", "bench", "--role", "agent"])?;
    if !out.status.success() {
        return Err(format!("token: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let token = String::from_utf8(out.stdout)?.trim().to_string();
    let child = Command::new(&bin)
        .arg("--config")
        .arg(dir.join("rightsdesk.toml"))
        .arg("serve")
        .env("RIGHTSDESK_DATABASE_URL", database_url)
        .env("RIGHTSDESK_METRICS_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let service = Service {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if let Ok(r) = client.get(format!("{}/readyz", service.base)).send().await
            && r.status() == 200
        {
            return Ok((service, token));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("the service never became ready".into())
}

/// Enter a staff request for customer `i` and start it; returns its reference.
async fn submit(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    kind: &str,
    i: i64,
) -> Result<String, BoxError> {
    submit_for(client, base, token, kind, &email(i)).await
}

/// Enter a staff request for an address and start it; returns its reference.
pub(crate) async fn submit_for(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    kind: &str,
    address: &str,
) -> Result<String, BoxError> {
    let r = client
        .post(format!("{base}/api/v1/requests"))
        .bearer_auth(token)
        .json(&json!({"kind": kind, "email": address, "verification_note": "benchmark"}))
        .send()
        .await?;
    if r.status() != 201 {
        return Err(format!("create {kind}: {} {}", r.status(), r.text().await?).into());
    }
    let v: Value = r.json().await?;
    let reference = v["reference"].as_str().ok_or("no reference")?.to_string();
    let r = client
        .post(format!("{base}/api/v1/requests/{reference}/start"))
        .bearer_auth(token)
        .send()
        .await?;
    if r.status() != 200 {
        return Err(format!("start {reference}: {}", r.status()).into());
    }
    Ok(reference)
}

async fn wait_final(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    reference: &str,
) -> Result<String, BoxError> {
    // `review` is passed through on the way to `completed` (the export is built there).
    let deadline = Instant::now() + Duration::from_secs(300);
    while Instant::now() < deadline {
        let v: Value = client
            .get(format!("{base}/api/v1/requests/{reference}"))
            .bearer_auth(token)
            .send()
            .await?
            .json()
            .await?;
        match v["status"].as_str() {
            Some(s @ ("completed" | "denied" | "withdrawn" | "expired")) => {
                return Ok(s.to_string());
            }
            _ => tokio::time::sleep(Duration::from_millis(2)).await,
        }
    }
    Err(format!("{reference} did not finish within 300 s").into())
}

/// The evidence row count of a request's (single) connector task.
async fn access_rows(rd: &mut PgConnection, reference: &str) -> Result<i64, BoxError> {
    let evidence: Option<String> = sqlx::query_scalar(
        "SELECT t.evidence FROM tasks t JOIN requests r ON r.id = t.request_id WHERE r.reference = $1",
    )
    .bind(reference)
    .fetch_one(&mut *rd)
    .await?;
    let v: Value = serde_json::from_str(evidence.as_deref().unwrap_or("null"))?;
    Ok(v["rows"].as_i64().unwrap_or(-1))
}

/// The rows of customer `i` the erasure must have changed, counted as changed: 14.
async fn masked_rows(p: &mut PgConnection, i: i64) -> Result<i64, BoxError> {
    let sql = "SELECT \
        (SELECT count(*) FROM customer WHERE id = $1 AND name IS NULL AND email <> $2) + \
        (SELECT count(*) FROM address WHERE id IN (2 * $1 - 1, 2 * $1) AND street IS NULL AND city IS NULL AND zip IS NULL) + \
        (SELECT count(*) FROM payment_card WHERE customer_id = $1 AND ccn IS NULL AND name IS NULL) + \
        (SELECT count(*) FROM login WHERE customer_id = $1 AND time IS NULL) + \
        (SELECT 3 - count(*) FROM visit WHERE email = $2) + \
        (SELECT 1 - count(*) FROM report WHERE email = $2) + \
        (SELECT count(*) FROM service_request WHERE id = 'sr_' || $1 AND alt_email <> $3)";
    let n: i64 = sqlx::query_scalar(sql)
        .bind(i)
        .bind(email(i))
        .bind(format!("alt-{}", email(i)))
        .fetch_one(&mut *p)
        .await?;
    Ok(n)
}

/// `admin` may create databases; `sibling_url` names any database on the same server.
pub async fn run(
    customers: i64,
    admin: &mut PgConnection,
    sibling_url: &str,
    product_url: &str,
) -> Result<Figures, BoxError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let rd_name = format!("rd_bench_{id}_service");
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {rd_name}")))
        .execute(&mut *admin)
        .await?;
    let rd_url = with_database(sibling_url, &rd_name);
    let dir = std::env::temp_dir().join(format!("rd-bench-{id}"));
    std::fs::create_dir_all(&dir)?;
    let result = measure(customers, &dir, &rd_url, product_url).await;
    let _ = std::fs::remove_dir_all(&dir);
    sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {rd_name} WITH (FORCE)"
    )))
    .execute(&mut *admin)
    .await?;
    result
}

async fn measure(
    customers: i64,
    dir: &Path,
    rd_url: &str,
    product_url: &str,
) -> Result<Figures, BoxError> {
    let (service, token) = start(dir, rd_url, product_url).await?;
    let pid = service.child.id();
    let base = service.base.clone();
    let client = reqwest::Client::new();
    let mut rd = PgConnection::connect(rd_url).await?;
    let mut product = PgConnection::connect(product_url).await?;

    // Warm-up (not timed): one access, so pools and the catalogue read are done.
    let warm = submit(&client, &base, &token, "access", 4).await?;
    wait_final(&client, &base, &token, &warm).await?;

    // One access request: created -> completed with its export package ready.
    let t = Instant::now();
    let reference = submit(&client, &base, &token, "access", 3).await?;
    let status = wait_final(&client, &base, &token, &reference).await?;
    let access = t.elapsed();
    let rows = access_rows(&mut rd, &reference).await?;
    if status != "completed" || rows != 17 {
        return Err(format!("one access: {status}, {rows} rows (want completed, 17)").into());
    }
    println!(
        "service: one access request {} ({rows} rows, export ready)",
        super::ms(access)
    );

    // One erasure: created -> completed, exactly the 14 masked rows.
    let t = Instant::now();
    let reference = submit(&client, &base, &token, "erasure", 5).await?;
    let status = wait_final(&client, &base, &token, &reference).await?;
    let erasure = t.elapsed();
    let masked = masked_rows(&mut product, 5).await?;
    if status != "completed" || masked != 14 {
        return Err(
            format!("one erasure: {status}, {masked} masked rows (want completed, 14)").into(),
        );
    }
    println!(
        "service: one erasure request {} (14 rows masked)",
        super::ms(erasure)
    );

    // 100 access + 100 erasure submitted together.
    let step = (customers - 10) / 100;
    let access_ids: Vec<i64> = (0..100).map(|j| 10 + j * step).collect();
    let erase_ids: Vec<i64> = (0..100).map(|j| 11 + j * step).collect();
    let (_, cpu_before) = proc_usage(pid);
    let t = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for (kind, ids) in [("access", &access_ids), ("erasure", &erase_ids)] {
        for &i in ids {
            let (client, base, token) = (client.clone(), base.clone(), token.clone());
            set.spawn(async move { submit(&client, &base, &token, kind, i).await });
        }
    }
    let mut references = Vec::new();
    while let Some(r) = set.join_next().await {
        references.push(r??);
    }
    loop {
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM requests WHERE reference = ANY($1) \
             AND status NOT IN ('completed', 'denied', 'withdrawn', 'expired')",
        )
        .bind(&references)
        .fetch_one(&mut rd)
        .await?;
        if open == 0 {
            break;
        }
        if t.elapsed() > Duration::from_secs(900) {
            return Err(format!("{open} batch requests not final after 900 s").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let batch = t.elapsed();
    let (peak_rss_mb, cpu_after) = proc_usage(pid);
    let completed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM requests WHERE reference = ANY($1) AND status = 'completed'",
    )
    .bind(&references)
    .fetch_one(&mut rd)
    .await?;
    let mut masked_total = 0;
    for &i in &erase_ids {
        masked_total += masked_rows(&mut product, i).await?;
    }
    let untouched: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM customer WHERE id = ANY($1) AND name IS NOT NULL AND email LIKE 'customer-%'",
    )
    .bind(&access_ids)
    .fetch_one(&mut product)
    .await?;
    if completed != 200 || masked_total != 1400 || untouched != 100 {
        return Err(format!(
            "batch: {completed} of 200 completed, {masked_total} of 1400 rows masked, {untouched} of 100 accessed customers untouched"
        )
        .into());
    }
    println!(
        "service: 100 access + 100 erasure together {:.2} s; verified 200 completed, 1400 rows masked, accessed customers untouched",
        batch.as_secs_f64()
    );
    drop(service);
    Ok(Figures {
        access,
        erasure,
        batch,
        peak_rss_mb,
        batch_cpu_s: cpu_after - cpu_before,
        total_cpu_s: cpu_after,
    })
}

pub fn print_table(customers: i64, f: &Figures) {
    let x = |peer: f64, ours: f64| if ours > 0.0 { peer / ours } else { 0.0 };
    println!();
    println!(
        "End to end through the staff API, `rightsdesk serve` against N = {customers} customers (peer: N = 100,000):"
    );
    println!("| operation | Rightsdesk | Fides 2.86.2 | peer / ours |");
    println!("|---|---|---|---|");
    println!(
        "| one access request (created -> export ready) | {:.3} s | {PEER_ACCESS_S:.2} s | {:.0}x |",
        f.access.as_secs_f64(),
        x(PEER_ACCESS_S, f.access.as_secs_f64())
    );
    println!(
        "| one erasure request (created -> completed, 14 rows) | {:.3} s | {PEER_ERASURE_S:.2} s | {:.0}x |",
        f.erasure.as_secs_f64(),
        x(PEER_ERASURE_S, f.erasure.as_secs_f64())
    );
    println!(
        "| 100 access + 100 erasure together | {:.2} s | {PEER_BATCH_S:.1} s | {:.0}x |",
        f.batch.as_secs_f64(),
        x(PEER_BATCH_S, f.batch.as_secs_f64())
    );
    println!(
        "| peak RSS of the service | {:.0} MB | {PEER_RSS_MB:.0} MB | {:.0}x |",
        f.peak_rss_mb,
        x(PEER_RSS_MB, f.peak_rss_mb)
    );
    println!(
        "| CPU of the service during the batch | {:.1} s | {PEER_CPU_S:.0} s | {:.0}x |",
        f.batch_cpu_s,
        x(PEER_CPU_S, f.batch_cpu_s)
    );
    println!("(service CPU over the whole run: {:.1} s)", f.total_cpu_s);
}
