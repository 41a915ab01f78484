//! The peer workload end to end (`peer-workload --end-to-end`): the real `rightsdesk
//! serve` (the binary built beside this one, PostgreSQL store) against a pristine copy of
//! the product database, driven through the staff HTTP API the way the peer was measured:
//! one access request (created -> export ready), one erasure (created -> completed, the 14
//! masked rows checked), and 100 access + 100 erasure requests submitted together (wall
//! time until all are final). The service's peak RSS (the kernel's high-water mark,
//! VmHWM) and CPU time (utime + stime) come from /proc.
//!
//! The database's CPU: PostgreSQL runs one backend process per connection, so the CPU
//! the database spends for the service is the utime + stime of the backends connected to
//! the service's two databases (its own store and the product database). A sampler
//! lists them in `pg_stat_activity` every 25 ms (the benchmark's own connections left
//! out) and reads each one's `/proc/<pid>/stat`; a backend's counters start at zero when
//! it is forked, so the sum of the last readings is the CPU those backends used. Not
//! counted: PostgreSQL's shared background processes (WAL writer, checkpointer,
//! autovacuum), and the last < 25 ms of a backend that exits between two samples.
//!
//! Rightsdesk's own database work per request (issue 19 item 4) comes from PostgreSQL's
//! statistics of the store database (`pg_stat_database`: transactions, `active_time`;
//! `pg_stat_user_tables`: rows written per table), taken around the batch after waiting
//! for every backend to flush its counters, and from a separate, untimed run with the
//! driver's statement log on (`sqlx::query` events), which counts the statements one
//! access and one erasure send, table by table.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

use super::{BoxError, PEER_DATAMAP, email, with_database};

/// The peer's figures (peer-workload.md, "The peer's figures": Fides 2.86.2 in its
/// production layout, the newest run, 2026-12-06, N = 100,000).
const PEER_ACCESS_S: f64 = 1.00;
const PEER_ERASURE_S: f64 = 1.51;
const PEER_BATCH_S: f64 = 170.9;
const PEER_RSS_MB: f64 = 1250.0;
const PEER_RSS: &str = "1,250 MB (web 414 + worker 836)";
const PEER_CPU_SERVICE_S: f64 = 201.0;
const PEER_CPU_DB_S: f64 = 54.0;
/// Issue 19's goals (each >= 50x the peer).
const GOAL_ACCESS_S: f64 = 0.020;
const GOAL_ERASURE_S: f64 = 0.030;
const GOAL_BATCH_S: f64 = 3.4;
const GOAL_RSS_MB: f64 = 64.0;
/// Issue 19 item 4: database time per request for Rightsdesk's own tables.
const GOAL_OWN_DB_MS: f64 = 5.0;

/// PostgreSQL 15 flushes a busy backend's statistics at most once a second and an idle
/// one's after 10 s (`PGSTAT_IDLE_INTERVAL`): wait this long before reading them.
const STATS_FLUSH: Duration = Duration::from_secs(11);

/// The secondary indexes of the workload as given (the end of the shared bench's
/// `peer-workload-data.sql`). The repository's schema fixture and data add more (the
/// three address-reference columns, `lower(email)`): the end-to-end run drops those, so
/// it measures the workload as given; `--with-advised-indexes` shows what adding the
/// advisor's indexes changes.
const WORKLOAD_INDEXES: &[&str] = &[
    "customer_email_idx",
    "employee_email_idx",
    "payment_card_customer_id_idx",
    "orders_customer_id_idx",
    "login_customer_id_idx",
    "report_email_idx",
    "service_request_email_idx",
    "service_request_alt_email_idx",
    "service_request_employee_idx",
];

/// The product tables (everything else in the statement log is Rightsdesk's own).
const PRODUCT_TABLES: &[&str] = &[
    "customer",
    "address",
    "orders",
    "order_item",
    "payment_card",
    "login",
    "visit",
    "report",
    "service_request",
    "employee",
    "product",
];

/// How many single accesses and single erasures are measured (the median is reported).
const SINGLE_RUNS: i64 = 5;
/// The customers of the single requests, none of them one the batch takes (the batch
/// takes customers `10 + j * step` to read and `11 + j * step` to erase, with
/// `step = (customers - 10) / 100 >= 9`) or the statement count takes (6 to 8).
const SINGLE_ACCESS_FROM: i64 = 1;
const SINGLE_ERASURE_FROM: i64 = 12;

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub struct Figures {
    pub access: Duration,
    pub erasure: Duration,
    pub batch: Duration,
    pub peak_rss_mb: f64,
    pub batch_cpu_s: f64,
    pub total_cpu_s: f64,
    /// CPU of the PostgreSQL backends during the batch: the store's, the product's.
    pub batch_db_cpu_s: (f64, f64),
    /// The same for the single access and the single erasure.
    pub access_db_cpu_s: (f64, f64),
    pub erasure_db_cpu_s: (f64, f64),
    /// The store database's statistics over the batch (difference).
    pub own: DbStats,
    /// Statements the benchmark itself sent to the store database during the batch
    /// (its completion poll), included in `own.transactions`.
    pub bench_polls: i64,
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
    statement_log: Option<&Path>,
) -> Result<(Service, String), BoxError> {
    let datamap = PEER_DATAMAP.replace("${RIGHTSDESK_DM_PEER_DATABASE_URL}", product_url);
    start_full(dir, database_url, "peer.toml", &datamap, statement_log).await
}

/// `rightsdesk serve` on `database_url` with one data-map file; the service and a staff
/// (agent) token.
pub(crate) async fn start_with(
    dir: &Path,
    database_url: &str,
    datamap_file: &str,
    datamap: &str,
) -> Result<(Service, String), BoxError> {
    start_full(dir, database_url, datamap_file, datamap, None).await
}

/// [`start_with`]; with `statement_log`, the service writes JSON log lines with the
/// driver's statement events (`sqlx::query` at debug) into that file.
async fn start_full(
    dir: &Path,
    database_url: &str,
    datamap_file: &str,
    datamap: &str,
    statement_log: Option<&Path>,
) -> Result<(Service, String), BoxError> {
    let bin = rightsdesk_binary()?;
    std::fs::create_dir_all(dir.join("datamap"))?;
    std::fs::write(dir.join("datamap").join(datamap_file), datamap)?;
    std::fs::write(dir.join("secret.key"), "5a".repeat(32))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    // The job queue's poll interval is left at its default (1 s): work enqueued by this
    // process wakes its workers at once, so no request waits on the poll.
    let config = format!(
        r#"listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
data_dir = "{data}"
datamap_dir = "{datamap}"
secret_key_file = "{key}"
log_level = "warn"
log_format = "{format}"

[workflow]
auto_start = ["access"]
auto_complete = ["access", "erasure"]

[jobs]
workers = 8

[intake]
per_client_per_hour = 100000
"#,
        data = dir.join("data").display(),
        datamap = dir.join("datamap").display(),
        key = dir.join("secret.key").display(),
        format = if statement_log.is_some() {
            "json"
        } else {
            "text"
        },
    );
    std::fs::write(dir.join("rightsdesk.toml"), config)?;
    let cli = |args: &[&str]| {
        Command::new(&bin)
            .arg("--config")
            .arg(dir.join("rightsdesk.toml"))
            .args(args)
            .env("RIGHTSDESK_DATABASE_URL", database_url)
            .env_remove("RUST_LOG")
            .output()
    };
    let migrate = cli(&["migrate"])?;
    if !migrate.status.success() {
        return Err(format!("migrate: {}", String::from_utf8_lossy(&migrate.stderr)).into());
    }
    let name = format!("bench-{port}");
    let out = cli(&["token", "create", "--name", &name, "--role", "agent"])?;
    if !out.status.success() {
        return Err(format!("token: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let token = String::from_utf8(out.stdout)?.trim().to_string();
    let mut command = Command::new(&bin);
    command
        .arg("--config")
        .arg(dir.join("rightsdesk.toml"))
        .arg("serve")
        .env("RIGHTSDESK_DATABASE_URL", database_url)
        .env("RIGHTSDESK_METRICS_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::null());
    match statement_log {
        Some(path) => {
            command
                .env("RUST_LOG", "warn,sqlx::query=debug,rightsdesk=info")
                .stderr(std::fs::File::create(path)?);
        }
        None => {
            command.env_remove("RUST_LOG").stderr(Stdio::inherit());
        }
    }
    let child = command.spawn()?;
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

/// Enter a staff request for an address and start it in the same call (`start: true`);
/// returns its reference.
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
        .json(&json!({
            "kind": kind,
            "email": address,
            "verification_note": "benchmark",
            "start": true,
        }))
        .send()
        .await?;
    if r.status() != 201 {
        return Err(format!("create {kind}: {} {}", r.status(), r.text().await?).into());
    }
    let v: Value = r.json().await?;
    let reference = v["reference"].as_str().ok_or("no reference")?.to_string();
    if let Some(why) = v["start_refused"].as_str() {
        return Err(format!("start {reference}: {why}").into());
    }
    Ok(reference)
}

/// Submit one request for customer `i` and wait until it is final: its reference, its
/// final status, and the time from submission to the status seen.
async fn one_request(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    kind: &str,
    i: i64,
) -> Result<(String, String, Duration), BoxError> {
    let t = Instant::now();
    let reference = submit(client, base, token, kind, i).await?;
    let status = wait_final(client, base, token, &reference).await?;
    Ok((reference, status, t.elapsed()))
}

async fn wait_final(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    reference: &str,
) -> Result<String, BoxError> {
    // The status call answers once the request's version moves past the one given
    // (`?version=&wait=`): a call per change, not a poll every few milliseconds that
    // would load the very service and database it measures. It is not audited (it shows
    // no personal data), so it adds no commit either.
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut seen: Option<i64> = None;
    while Instant::now() < deadline {
        let wait = seen
            .map(|v| format!("?version={v}&wait=20"))
            .unwrap_or_default();
        let r = client
            .get(format!("{base}/api/v1/requests/{reference}/status{wait}"))
            .bearer_auth(token)
            .send()
            .await?;
        if r.status() != 200 {
            return Err(
                format!("status of {reference}: {} {}", r.status(), r.text().await?).into(),
            );
        }
        let v: Value = r.json().await?;
        if v["final"] == true {
            return Ok(v["status"].as_str().unwrap_or_default().to_string());
        }
        seen = v["version"].as_i64();
    }
    Err(format!("{reference} did not finish within 300 s").into())
}

/// The staff API's view of a request.
async fn view(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    reference: &str,
) -> Result<Value, BoxError> {
    Ok(client
        .get(format!("{base}/api/v1/requests/{reference}"))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?)
}

/// The request's own record of how long it took: `created_at` to `completed_at` as the
/// service stored them (without the HTTP round trips and the poll's granularity, but
/// still with the poll's load on the service, which runs beside the request).
async fn server_side(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    reference: &str,
) -> Result<String, BoxError> {
    let v = view(client, base, token, reference).await?;
    let at = |field: &str| {
        v[field]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    };
    match (at("created_at"), at("completed_at")) {
        (Some(created), Some(completed)) => {
            let ms = (completed - created).num_microseconds().unwrap_or(0) as f64 / 1000.0;
            Ok(format!("{ms:.2} ms"))
        }
        _ => Err(format!("{reference}: no created_at/completed_at in the view").into()),
    }
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

/// Rows of personal data one customer's access finds, per table (17 in all).
const ACCESS_TABLES: &[(&str, i64)] = &[
    ("address", 2),
    ("customer", 1),
    ("login", 5),
    ("orders", 3),
    ("payment_card", 1),
    ("report", 1),
    ("service_request", 1),
    ("visit", 3),
];

/// The rows an access request's task found per table, from its evidence (tables with
/// none left out); empty for a request that is not an access.
async fn access_tables(
    rd: &mut PgConnection,
    reference: &str,
) -> Result<std::collections::BTreeMap<String, i64>, BoxError> {
    let (kind, evidence): (String, Option<String>) = sqlx::query_as(
        "SELECT r.kind, t.evidence FROM tasks t JOIN requests r ON r.id = t.request_id WHERE r.reference = $1",
    )
    .bind(reference)
    .fetch_one(&mut *rd)
    .await?;
    let mut out = std::collections::BTreeMap::new();
    if kind != "access" {
        return Ok(out);
    }
    let v: Value = serde_json::from_str(evidence.as_deref().unwrap_or("null"))?;
    for t in v["tables"].as_array().into_iter().flatten() {
        let n = t["rows"].as_i64().unwrap_or(-1);
        if n != 0 {
            out.insert(t["table"].as_str().unwrap_or("?").to_string(), n);
        }
    }
    Ok(out)
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

/// `peer-workload --end-to-end [--with-advised-indexes]`: load the workload once as a
/// template, then run the service on a fresh copy of it (and, with advised indexes, on a
/// second copy after running the index advisor's statements), and print the tables.
pub async fn end_to_end(
    customers: i64,
    base_url: &str,
    with_advised_indexes: bool,
) -> Result<(), BoxError> {
    if customers < 1000 {
        return Err("--end-to-end needs --customers >= 1000".into());
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut admin = PgConnection::connect(base_url).await?;
    let version: String = sqlx::query_scalar("SELECT version()")
        .fetch_one(&mut admin)
        .await?;
    println!("PostgreSQL: {version}");
    let id = uuid::Uuid::new_v4().simple().to_string();
    let template = format!("rd_bench_{id}_template");
    let load = super::load_product(
        &mut admin,
        &template,
        &with_database(base_url, &template),
        customers,
    )
    .await;
    let result = match load {
        Ok(took) => {
            println!(
                "peer workload: N = {customers} customers loaded into {template} in {:.1} s (the template of every run's copy)",
                took.as_secs_f64()
            );
            as_given(&with_database(base_url, &template)).await?;
            let mut runs = vec![("on the workload as given", false)];
            if with_advised_indexes {
                runs.push(("with the index advisor's statements applied", true));
            }
            let mut all = Vec::new();
            let mut outcome = Ok(());
            for (n, (label, advised)) in runs.into_iter().enumerate() {
                let product = format!("rd_bench_{id}_product_{n}");
                let r = one_run(
                    customers,
                    &mut admin,
                    base_url,
                    (&template, &product),
                    advised,
                    n == 0,
                )
                .await;
                let _ = sqlx::query(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {product} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await;
                match r {
                    Ok(f) => {
                        print_table(customers, label, &f);
                        all.push((label, f));
                    }
                    Err(e) => {
                        outcome = Err(e);
                        break;
                    }
                }
            }
            if all.len() > 1 {
                println!();
                println!("Both runs, Rightsdesk:");
                println!(
                    "| run | one access | one erasure | 100 + 100 together | peak RSS | CPU during the batch: service / PostgreSQL |"
                );
                println!("|---|---|---|---|---|---|");
                for (label, f) in &all {
                    println!(
                        "| {label} | {:.3} s | {:.3} s | {:.2} s | {:.0} MB | {:.1} s / {:.1} s |",
                        f.access.as_secs_f64(),
                        f.erasure.as_secs_f64(),
                        f.batch.as_secs_f64(),
                        f.peak_rss_mb,
                        f.batch_cpu_s,
                        f.batch_db_cpu_s.0 + f.batch_db_cpu_s.1
                    );
                }
            }
            outcome
        }
        Err(e) => Err(e),
    };
    sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {template} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    println!("dropped the benchmark's databases");
    result
}

/// Drop the secondary indexes the workload as given does not have (see
/// [`WORKLOAD_INDEXES`]; primary keys stay), then `ANALYZE`.
async fn as_given(url: &str) -> Result<(), BoxError> {
    let mut conn = PgConnection::connect(url).await?;
    let extra: Vec<String> = sqlx::query_scalar(
        "SELECT i.indexname::text FROM pg_indexes i \
         WHERE i.schemaname = 'public' AND i.indexname <> ALL($1) \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c \
             WHERE c.conindid = ('public.' || quote_ident(i.indexname))::regclass) \
         ORDER BY 1",
    )
    .bind(WORKLOAD_INDEXES)
    .fetch_all(&mut conn)
    .await?;
    for name in &extra {
        sqlx::raw_sql(AssertSqlSafe(format!("DROP INDEX public.\"{name}\"")))
            .execute(&mut conn)
            .await?;
    }
    // VACUUM as well: a product database in use has its rows' visibility settled; a
    // freshly loaded one would have the first requests' scans do that work instead.
    sqlx::raw_sql("VACUUM ANALYZE").execute(&mut conn).await?;
    println!(
        "workload as given: dropped the indexes the shared bench's workload does not have: {}",
        extra.join(", ")
    );
    conn.close().await?;
    Ok(())
}

/// One run: copy the template to `product`, optionally create the advised indexes, run
/// the service on it with a fresh store database, and (on the first run) count the
/// statements of one access and one erasure.
async fn one_run(
    customers: i64,
    admin: &mut PgConnection,
    base_url: &str,
    (template, product): (&str, &str),
    advised: bool,
    count_statements: bool,
) -> Result<Figures, BoxError> {
    sqlx::query(AssertSqlSafe(format!(
        "CREATE DATABASE {product} TEMPLATE {template}"
    )))
    .execute(&mut *admin)
    .await?;
    let product_url = with_database(base_url, product);
    if advised {
        create_advised_indexes(&product_url).await?;
    }
    // The copy (about 400 MB at N = 100,000) is written through the WAL: its checkpoint
    // belongs to the setup, not to the requests measured next.
    // (It needs a superuser or `pg_checkpoint`; without, the run goes on as before.)
    if let Err(e) = sqlx::query("CHECKPOINT").execute(&mut *admin).await {
        println!("no CHECKPOINT after the copy ({e}): the copy's writes may overlap the run");
    }
    run(
        customers,
        admin,
        base_url,
        (product, &product_url),
        count_statements,
    )
    .await
}

/// Run what the index advisor (`rightsdesk check`) advises for the peer data map on the
/// product database, then `ANALYZE`.
async fn create_advised_indexes(product_url: &str) -> Result<(), BoxError> {
    let url = product_url.to_string();
    let decl = rightsdesk::connectors::datamap::parse_str_with_env(
        "datamap/peer.toml",
        PEER_DATAMAP,
        &|_| Some(url.clone()),
    )
    .map_err(|p| format!("peer data map: {p:?}"))?;
    let connector = rightsdesk::connectors::SqlConnector::connect(decl)?;
    let advice = connector.index_advisor().await?;
    drop(connector);
    let mut conn = PgConnection::connect(product_url).await?;
    println!(
        "index advisor ({} statement(s), as `rightsdesk check` prints them):",
        advice.len()
    );
    let t = Instant::now();
    for a in &advice {
        println!("  {}", a.statement);
        sqlx::raw_sql(AssertSqlSafe(a.statement.clone()))
            .execute(&mut conn)
            .await?;
    }
    sqlx::raw_sql("ANALYZE").execute(&mut conn).await?;
    println!(
        "  created and analysed in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    conn.close().await?;
    Ok(())
}

/// `admin` may create databases; `sibling_url` names any database on the same server.
async fn run(
    customers: i64,
    admin: &mut PgConnection,
    sibling_url: &str,
    (product_name, product_url): (&str, &str),
    count_statements: bool,
) -> Result<Figures, BoxError> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let rd_name = format!("rd_bench_{id}_service");
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {rd_name}")))
        .execute(&mut *admin)
        .await?;
    let rd_url = with_database(sibling_url, &rd_name);
    let dir = std::env::temp_dir().join(format!("rd-bench-{id}"));
    std::fs::create_dir_all(&dir)?;
    let mut result = measure(
        customers,
        &dir,
        sibling_url,
        (&rd_name, &rd_url),
        (product_name, product_url),
    )
    .await;
    if count_statements && result.is_ok() {
        // The figures stand; the count is printed by itself.
        if let Err(e) = statements_of_one_request(&dir, &rd_url, product_url).await {
            result = Err(format!("counting statements: {e}").into());
        }
    }
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
    admin_url: &str,
    (rd_name, rd_url): (&str, &str),
    (product_name, product_url): (&str, &str),
) -> Result<Figures, BoxError> {
    let (service, token) = start(dir, rd_url, product_url, None).await?;
    let pid = service.child.id();
    let base = service.base.clone();
    let client = reqwest::Client::new();
    let mut rd = PgConnection::connect(rd_url).await?;
    let mut product = PgConnection::connect(product_url).await?;
    let mut own_pids = Vec::new();
    for conn in [&mut rd, &mut product] {
        let own: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut *conn)
            .await?;
        own_pids.push(own);
    }
    let db_cpu = DbCpu::start(
        admin_url,
        vec![rd_name.to_string(), product_name.to_string()],
        own_pids,
    )
    .await?;
    let db_split = |before: &HashMap<String, f64>, after: &HashMap<String, f64>| {
        let d = |name: &str| {
            after.get(name).copied().unwrap_or(0.0) - before.get(name).copied().unwrap_or(0.0)
        };
        (d(rd_name), d(product_name))
    };

    // Warm-up (not timed): one access, so pools and the catalogue read are done.
    let warm = submit(&client, &base, &token, "access", 4).await?;
    wait_final(&client, &base, &token, &warm).await?;

    // One access request at a time: created -> completed with its export package ready.
    // Each single request is measured SINGLE_RUNS times, on customers the batch does not
    // touch; the figure is the median (one sample on a shared machine is mostly noise).
    let cpu0 = db_cpu.totals().await?;
    let mut accesses = Vec::new();
    for i in SINGLE_ACCESS_FROM..SINGLE_ACCESS_FROM + SINGLE_RUNS {
        let (reference, status, took) = one_request(&client, &base, &token, "access", i).await?;
        let rows = access_rows(&mut rd, &reference).await?;
        if status != "completed" || rows != 17 {
            return Err(format!("one access: {status}, {rows} rows (want completed, 17)").into());
        }
        println!(
            "service: one access request {} ({rows} rows, export ready; {} by the service's own clock)",
            super::ms(took),
            server_side(&client, &base, &token, &reference).await?
        );
        accesses.push(took);
    }
    let access = median(&mut accesses);
    let cpu1 = db_cpu.totals().await?;

    // One erasure at a time: created -> completed, exactly the 14 masked rows.
    let mut erasures = Vec::new();
    for i in SINGLE_ERASURE_FROM..SINGLE_ERASURE_FROM + SINGLE_RUNS {
        let (reference, status, took) = one_request(&client, &base, &token, "erasure", i).await?;
        let masked = masked_rows(&mut product, i).await?;
        if status != "completed" || masked != 14 {
            return Err(format!(
                "one erasure: {status}, {masked} masked rows (want completed, 14)"
            )
            .into());
        }
        println!(
            "service: one erasure request {} (14 rows masked; {} by the service's own clock)",
            super::ms(took),
            server_side(&client, &base, &token, &reference).await?
        );
        erasures.push(took);
    }
    let erasure = median(&mut erasures);
    let cpu2 = db_cpu.totals().await?;
    println!(
        "service: median of {SINGLE_RUNS}: one access {}, one erasure {}",
        super::ms(access),
        super::ms(erasure)
    );

    // 100 access + 100 erasure submitted together. Before and after, the store
    // database's statistics, once every backend has flushed them.
    tokio::time::sleep(STATS_FLUSH).await;
    let own_before = DbStats::read(&mut rd).await?;
    let step = (customers - 10) / 100;
    let access_ids: Vec<i64> = (0..100).map(|j| 10 + j * step).collect();
    let erase_ids: Vec<i64> = (0..100).map(|j| 11 + j * step).collect();
    let (_, cpu_before) = proc_usage(pid);
    let db_before = db_cpu.totals().await?;
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
    let mut bench_polls = 0;
    loop {
        bench_polls += 1;
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
    let db_after = db_cpu.totals().await?;
    tokio::time::sleep(STATS_FLUSH).await;
    let own = DbStats::read(&mut rd).await?.minus(&own_before);
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
    // Each access found exactly one customer's rows, table by table (the batch reads its
    // subjects together and splits the rows per subject).
    let mut exact = 0;
    for reference in &references {
        let tables = access_tables(&mut rd, reference).await?;
        if tables.is_empty() {
            continue;
        }
        if tables
            != ACCESS_TABLES
                .iter()
                .map(|(t, n)| (t.to_string(), *n))
                .collect()
        {
            return Err(format!("batch: access {reference} found {tables:?}").into());
        }
        exact += 1;
    }
    if exact != 100 {
        return Err(format!("batch: {exact} of 100 accesses found one customer's rows").into());
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
        "service: 100 access + 100 erasure together {:.2} s; verified 200 completed, 1400 rows masked, accessed customers untouched, each access exactly its customer's 17 rows",
        batch.as_secs_f64()
    );
    drop(db_cpu);
    drop(service);
    Ok(Figures {
        access,
        erasure,
        batch,
        peak_rss_mb,
        batch_cpu_s: cpu_after - cpu_before,
        total_cpu_s: cpu_after,
        batch_db_cpu_s: db_split(&db_before, &db_after),
        access_db_cpu_s: db_split(&cpu0, &cpu1),
        erasure_db_cpu_s: db_split(&cpu1, &cpu2),
        own,
        bench_polls,
    })
}

/// The CPU (utime + stime, seconds) of a process, `None` once it is gone.
fn proc_cpu(pid: i32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// The PostgreSQL backends serving some databases, sampled every 25 ms (module docs).
struct DbCpu {
    sampler: Arc<tokio::sync::Mutex<Sampler>>,
    task: tokio::task::JoinHandle<()>,
}

struct Sampler {
    conn: PgConnection,
    databases: Vec<String>,
    exclude: Vec<i32>,
    /// (pid, backend start in µs) -> (database, CPU seconds at the last reading).
    seen: HashMap<(i32, i64), (String, f64)>,
}

impl Sampler {
    async fn sample(&mut self) -> Result<(), sqlx::Error> {
        let rows: Vec<(i32, String, i64)> = sqlx::query_as(
            "SELECT pid, datname::text, (extract(epoch FROM backend_start) * 1000000)::int8 \
             FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> ALL($2)",
        )
        .bind(&self.databases)
        .bind(&self.exclude)
        .fetch_all(&mut self.conn)
        .await?;
        for (pid, database, started) in rows {
            if let Some(cpu) = proc_cpu(pid) {
                self.seen.insert((pid, started), (database, cpu));
            }
        }
        Ok(())
    }
}

impl DbCpu {
    async fn start(
        admin_url: &str,
        databases: Vec<String>,
        exclude: Vec<i32>,
    ) -> Result<Self, BoxError> {
        let conn = PgConnection::connect(admin_url).await?;
        let sampler = Arc::new(tokio::sync::Mutex::new(Sampler {
            conn,
            databases,
            exclude,
            seen: HashMap::new(),
        }));
        let s = sampler.clone();
        let task = tokio::spawn(async move {
            loop {
                if s.lock().await.sample().await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        });
        Ok(Self { sampler, task })
    }

    /// CPU seconds so far of every backend seen, per database (sampled now).
    async fn totals(&self) -> Result<HashMap<String, f64>, BoxError> {
        let mut s = self.sampler.lock().await;
        s.sample().await?;
        let mut out = HashMap::new();
        for (database, cpu) in s.seen.values() {
            *out.entry(database.clone()).or_insert(0.0) += cpu;
        }
        Ok(out)
    }
}

impl Drop for DbCpu {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// PostgreSQL's statistics of the store database (cumulative counters).
#[derive(Default, Clone)]
pub struct DbStats {
    pub transactions: i64,
    /// Time the database's backends spent executing statements (ms).
    pub active_ms: f64,
    /// Per table: rows inserted, updated, deleted; sequential and index scans.
    pub tables: BTreeMap<String, [i64; 5]>,
}

impl DbStats {
    async fn read(conn: &mut PgConnection) -> Result<Self, BoxError> {
        let (transactions, active_ms): (i64, f64) = sqlx::query_as(
            "SELECT xact_commit + xact_rollback, coalesce(active_time, 0)::float8 \
             FROM pg_stat_database WHERE datname = current_database()",
        )
        .fetch_one(&mut *conn)
        .await?;
        let rows: Vec<(String, i64, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT relname::text, n_tup_ins, n_tup_upd, n_tup_del, coalesce(seq_scan, 0), \
             coalesce(idx_scan, 0) FROM pg_stat_user_tables",
        )
        .fetch_all(&mut *conn)
        .await?;
        Ok(Self {
            transactions,
            active_ms,
            tables: rows
                .into_iter()
                .map(|(t, a, b, c, d, e)| (t, [a, b, c, d, e]))
                .collect(),
        })
    }

    fn minus(&self, before: &Self) -> Self {
        let mut tables = BTreeMap::new();
        for (t, now) in &self.tables {
            let was = before.tables.get(t).copied().unwrap_or_default();
            let d: Vec<i64> = now.iter().zip(was).map(|(a, b)| a - b).collect();
            if d.iter().any(|v| *v != 0) {
                tables.insert(t.clone(), [d[0], d[1], d[2], d[3], d[4]]);
            }
        }
        Self {
            transactions: self.transactions - before.transactions,
            active_ms: self.active_ms - before.active_ms,
            tables,
        }
    }
}

/// Wait for a request to be final by reading the store directly (no API call, so the
/// service's statement log holds only the request's own work).
async fn wait_final_in_store(rd: &mut PgConnection, reference: &str) -> Result<(), BoxError> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let status: String = sqlx::query_scalar("SELECT status FROM requests WHERE reference = $1")
            .bind(reference)
            .fetch_one(&mut *rd)
            .await?;
        if matches!(
            status.as_str(),
            "completed" | "denied" | "withdrawn" | "expired"
        ) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Err(format!("{reference} did not finish within 120 s").into())
}

/// `--list-statements`: [`statements_of_one_request`] lists every statement too.
pub static LIST_STATEMENTS: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// One statement from the service's log.
struct Logged {
    /// The statement, or for a line of the service's own log (`--list-statements`
    /// shows them between the statements), `# ` and its message.
    sql: String,
    rows_affected: i64,
    secs: f64,
    /// When the driver logged it (as it ended), RFC 3339.
    at: Option<chrono::DateTime<chrono::FixedOffset>>,
}

fn read_statement_log(path: &Path) -> Result<Vec<Logged>, BoxError> {
    let text = std::fs::read_to_string(path)?;
    let mut out = Vec::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if v["target"] != "sqlx::query" {
            // The service logs JSON lines with the event's fields flattened.
            if let (Some(target), Some(message)) = (v["target"].as_str(), v["message"].as_str())
                && target.starts_with("rightsdesk")
            {
                let fields = v.as_object().map(|f| {
                    f.iter()
                        .filter(|(k, _)| {
                            !matches!(
                                k.as_str(),
                                "message" | "timestamp" | "level" | "target" | "span" | "spans"
                            )
                        })
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                });
                out.push(Logged {
                    sql: format!("# {message} {}", fields.unwrap_or_default()),
                    rows_affected: 0,
                    secs: 0.0,
                    at: v["timestamp"]
                        .as_str()
                        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()),
                });
            }
            continue;
        }
        let full = v["db.statement"].as_str().unwrap_or("").trim();
        let sql = if full.is_empty() {
            v["summary"].as_str().unwrap_or("")
        } else {
            full
        };
        out.push(Logged {
            sql: sql.split_whitespace().collect::<Vec<_>>().join(" "),
            rows_affected: v["rows_affected"].as_i64().unwrap_or(0),
            secs: v["elapsed_secs"].as_f64().unwrap_or(0.0),
            at: v["timestamp"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()),
        });
    }
    Ok(out)
}

/// The table a statement is about (the first after INSERT INTO / UPDATE / DELETE FROM /
/// FROM) and its verb; `None` for transaction control.
fn classify(sql: &str) -> Option<(String, String)> {
    let lower = sql.to_ascii_lowercase();
    let verb = lower.split_whitespace().next().unwrap_or("").to_string();
    if matches!(
        verb.as_str(),
        "begin" | "commit" | "rollback" | "savepoint" | "release"
    ) {
        return None;
    }
    let words: Vec<&str> = lower.split_whitespace().collect();
    let after = |kw: &str| {
        words
            .iter()
            .position(|w| *w == kw)
            .and_then(|i| words.get(i + 1))
            .map(|w| {
                let w = w.trim_matches(|c: char| c == '(' || c == ',' || c == ';');
                let w = w.rsplit('.').next().unwrap_or(w);
                w.trim_matches('"').to_string()
            })
    };
    let table = match verb.as_str() {
        "insert" => after("into"),
        "update" => after("update"),
        _ => after("from"),
    }
    .unwrap_or_else(|| "(none)".into());
    Some((table, verb.to_uppercase()))
}

/// Start the service again on the same store with its statement log on, run one access
/// and one erasure (not timed), and print what each sent to Rightsdesk's own database.
async fn statements_of_one_request(
    dir: &Path,
    rd_url: &str,
    product_url: &str,
) -> Result<(), BoxError> {
    let log = dir.join("statements.jsonl");
    let (service, token) = start(dir, rd_url, product_url, Some(&log)).await?;
    let client = reqwest::Client::new();
    let mut rd = PgConnection::connect(rd_url).await?;
    let base = service.base.clone();
    // Warm-up, not counted: the connector's catalogue read and the pools' connections
    // (an erasure's shared-row check grows the product pool for the next one).
    for (kind, i) in [("access", 8), ("erasure", 9)] {
        let warm = submit(&client, &base, &token, kind, i).await?;
        wait_final_in_store(&mut rd, &warm).await?;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut phases = Vec::new();
    for (kind, i) in [("access", 6), ("erasure", 7)] {
        let before = read_statement_log(&log)?.len();
        let reference = submit(&client, &base, &token, kind, i).await?;
        wait_final_in_store(&mut rd, &reference).await?;
        // Let the last job's bookkeeping (finishing the job) land in the log.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let after = read_statement_log(&log)?.len();
        phases.push((kind, before, after));
    }
    drop(service);
    let all = read_statement_log(&log)?;
    println!();
    println!(
        "Statements of one request to Rightsdesk's own database (a separate run with the driver's statement log on, not timed; the time is the driver's per statement, round trip included):"
    );
    for (kind, from, to) in phases {
        let part = &all[from.min(all.len())..to.min(all.len())];
        let mut own: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        let (mut own_n, mut own_s, mut product_n, mut control_n) = (0, 0.0, 0, 0);
        let (mut idle_claims, mut claims) = (0, 0);
        for l in part.iter().filter(|l| !l.sql.starts_with("# ")) {
            match classify(&l.sql) {
                None => control_n += 1,
                Some((table, _)) if PRODUCT_TABLES.contains(&table.as_str()) => product_n += 1,
                Some((table, verb)) => {
                    if table == "jobs" && l.sql.contains("SET status = 'running'") {
                        claims += 1;
                        if l.rows_affected == 0 {
                            idle_claims += 1;
                            continue;
                        }
                    }
                    own_n += 1;
                    own_s += l.secs;
                    *own.entry(table).or_default().entry(verb).or_insert(0) += 1;
                }
            }
        }
        println!(
            "one {kind}: {own_n} statements to our own tables ({:.2} ms), plus {idle_claims} job claims that found nothing ({claims} claims in all); {product_n} to the product database; {control_n} BEGIN/COMMIT (both databases)",
            own_s * 1000.0
        );
        for (table, verbs) in own {
            let list: Vec<String> = verbs.iter().map(|(v, n)| format!("{v} {n}")).collect();
            println!("  {table:<22} {}", list.join(", "));
        }
        if LIST_STATEMENTS.load(std::sync::atomic::Ordering::Relaxed) {
            list_statements(part);
        }
    }
    Ok(())
}

/// Every statement of one request: when it ended (ms after the first one began), its
/// own time, rows, and the start of its text.
fn list_statements(part: &[Logged]) {
    let began = part
        .iter()
        .filter_map(|l| {
            l.at.map(|t| t - chrono::Duration::microseconds((l.secs * 1e6) as i64))
        })
        .min();
    for l in part {
        let at = match (l.at, began) {
            (Some(t), Some(b)) => format!(
                "{:8.2}",
                (t - b).num_microseconds().unwrap_or(0) as f64 / 1000.0
            ),
            _ => "       -".into(),
        };
        let text: String = l.sql.chars().take(110).collect();
        println!(
            "    {at} ms {:7.2} ms {:>4} rows  {text}",
            l.secs * 1000.0,
            l.rows_affected
        );
    }
}

fn ratio(peer: f64, ours: f64) -> String {
    if ours > 0.0 {
        let r = peer / ours;
        if r >= 10.0 {
            format!("{r:.0}x")
        } else {
            format!("{r:.1}x")
        }
    } else {
        "-".into()
    }
}

fn goal(limit: f64, ours: f64, text: &str) -> String {
    format!("{text}: {}", if ours <= limit { "met" } else { "not met" })
}

pub fn print_table(customers: i64, label: &str, f: &Figures) {
    let (a, e, b) = (
        f.access.as_secs_f64(),
        f.erasure.as_secs_f64(),
        f.batch.as_secs_f64(),
    );
    let db_batch = f.batch_db_cpu_s.0 + f.batch_db_cpu_s.1;
    println!();
    println!(
        "End to end through the staff API, `rightsdesk serve` (PostgreSQL store) against N = {customers} customers, {label} (peer: N = 100,000):"
    );
    println!("| operation | Fides (2026-12-06) | Rightsdesk (this run) | ratio | goal (>= 50x) |");
    println!("|---|---|---|---|---|");
    println!(
        "| one access request | {PEER_ACCESS_S:.2} s | {a:.3} s | {} | {} |",
        ratio(PEER_ACCESS_S, a),
        goal(GOAL_ACCESS_S, a, "<= 0.020 s")
    );
    println!(
        "| one erasure request | {PEER_ERASURE_S:.2} s | {e:.3} s | {} | {} |",
        ratio(PEER_ERASURE_S, e),
        goal(GOAL_ERASURE_S, e, "<= 0.030 s")
    );
    println!(
        "| 100 access + 100 erasure submitted together | {PEER_BATCH_S:.1} s | {b:.2} s | {} | {} |",
        ratio(PEER_BATCH_S, b),
        goal(GOAL_BATCH_S, b, "<= 3.4 s")
    );
    println!(
        "| peak RSS of the service | {PEER_RSS} | {:.0} MB | {} | {} |",
        f.peak_rss_mb,
        ratio(PEER_RSS_MB, f.peak_rss_mb),
        goal(GOAL_RSS_MB, f.peak_rss_mb, "<= 64 MB")
    );
    println!(
        "| CPU during the batch: service / PostgreSQL | {PEER_CPU_SERVICE_S:.0} s / {PEER_CPU_DB_S:.0} s | {:.1} s / {db_batch:.1} s | {} / {} | |",
        f.batch_cpu_s,
        ratio(PEER_CPU_SERVICE_S, f.batch_cpu_s),
        ratio(PEER_CPU_DB_S, db_batch)
    );
    println!(
        "(times from creation to final status; one access = export package ready. PostgreSQL CPU = its backends serving the service's connections: store {:.1} s + product {:.1} s during the batch; single access {:.0} + {:.0} ms, single erasure {:.0} + {:.0} ms. Service CPU over the whole run: {:.1} s.)",
        f.batch_db_cpu_s.0,
        f.batch_db_cpu_s.1,
        f.access_db_cpu_s.0 * 1000.0,
        f.access_db_cpu_s.1 * 1000.0,
        f.erasure_db_cpu_s.0 * 1000.0,
        f.erasure_db_cpu_s.1 * 1000.0,
        f.total_cpu_s
    );
    let per = |v: f64| v / 200.0;
    let own = &f.own;
    println!();
    println!(
        "Rightsdesk's own database work per request in the batch (store database, PostgreSQL's statistics over the batch / 200 requests):"
    );
    println!(
        "  database time (active_time): {:.2} ms per request (goal <= {GOAL_OWN_DB_MS} ms: {}); backend CPU {:.2} ms; {:.1} transactions (incl. the benchmark's {} completion polls = {:.2} per request)",
        per(own.active_ms),
        if per(own.active_ms) <= GOAL_OWN_DB_MS {
            "met"
        } else {
            "not met"
        },
        per(f.batch_db_cpu_s.0 * 1000.0),
        per(own.transactions as f64),
        f.bench_polls,
        per(f.bench_polls as f64)
    );
    println!("  per request | rows inserted | updated | deleted | seq scans | index scans");
    for (table, [ins, upd, del, seq, idx]) in &own.tables {
        println!(
            "  {table:<24} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2}",
            per(*ins as f64),
            per(*upd as f64),
            per(*del as f64),
            per(*seq as f64),
            per(*idx as f64)
        );
    }
}
