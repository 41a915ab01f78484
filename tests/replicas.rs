//! Many replicas on one PostgreSQL database, proven with real processes: three
//! `rightsdesk serve` processes share a fresh Rightsdesk database and a PostgreSQL product
//! database whose erasures are slow (a trigger sleeps on every deleted customer). 300
//! erasure requests are entered and started across the replicas; one replica is SIGKILLed
//! in the middle of the fan-out. Then: every request completes, every task succeeded once
//! with its evidence and one ledger entry, every customer row was deleted once, nothing
//! stays claimed by the dead replica, each scheduled tick ran once, each email arrived
//! once (one whose send the kill interrupted may arrive twice: SMTP is at-least-once).
//! PostgreSQL only: skipped without RIGHTSDESK_TEST_POSTGRES_URL (fails under CI).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::smtp;
use serde_json::{Value, json};
use sqlx::{PgPool, Row};

const REQUESTS: usize = 300;
/// Seconds the product database sleeps per deleted customer.
const SLOW: &str = "0.25";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rightsdesk")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn subject(i: usize) -> String {
    format!("replica-subject-{i:03}@example.com")
}

const PRODUCT_SCHEMA: &str = r#"
CREATE TABLE customers (
    id BIGINT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT
);
CREATE TABLE orders (
    id BIGINT PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    total NUMERIC NOT NULL
);
-- Every deleted customer row, to prove each was deleted once.
CREATE TABLE deletions (
    customer_id BIGINT NOT NULL,
    at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE FUNCTION slow_delete() RETURNS trigger AS $$
BEGIN
    PERFORM pg_sleep(__SLOW__);
    INSERT INTO deletions (customer_id) VALUES (OLD.id);
    RETURN OLD;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER customers_slow_delete BEFORE DELETE ON customers
    FOR EACH ROW EXECUTE FUNCTION slow_delete();
"#;

const DATAMAP: &str = r#"name = "shop"
kind = "postgres"
url = "__URL__"
max_connections = 4

[[tables]]
name = "customers"
primary_key = "id"
identities = { email = "email" }
erase = "delete"
[tables.fields]
email = { category = "contact.email" }
name = { category = "name" }

[[tables]]
name = "orders"
primary_key = "id"
via = { customer_id = "customers.id" }
erase = "delete"
"#;

struct Replica {
    child: Child,
    base: String,
    log: std::path::PathBuf,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, n: usize, database_url: &str) -> Replica {
    let port = free_port();
    let log = dir.join(format!("replica-{n}.log"));
    let child = Command::new(bin())
        .arg("--config")
        .arg(dir.join("rightsdesk.toml"))
        .arg("serve")
        .current_dir(dir)
        .env("RIGHTSDESK_DATABASE_URL", database_url)
        .env("RIGHTSDESK_LISTEN", format!("127.0.0.1:{port}"))
        .env("RIGHTSDESK_METRICS_LISTEN", "127.0.0.1:0")
        .env("RIGHTSDESK_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("RIGHTSDESK_DATA_DIR", dir.join(format!("data-{n}")))
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log).expect("log file")))
        .spawn()
        .expect("start rightsdesk serve");
    Replica {
        child,
        base: format!("http://127.0.0.1:{port}"),
        log,
    }
}

async fn wait_ready(client: &reqwest::Client, r: &Replica) {
    for _ in 0..300 {
        if let Ok(resp) = client.get(format!("{}/readyz", r.base)).send().await
            && resp.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("replica {} never became ready", r.base);
}

/// The worker id a replica logged when its job workers started.
fn worker_id(r: &Replica) -> String {
    let log = std::fs::read_to_string(&r.log).expect("replica log");
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["message"] == "job workers started")
        .and_then(|v| v["worker"].as_str().map(String::from))
        .expect("the replica logged its worker id")
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_survive_a_sigkill_mid_fanout() {
    common::install_crypto();
    let Some(base) = common::postgres_url() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let rd_db = common::fresh_postgres_database(&base).await;
    let product_db = common::fresh_postgres_database(&base).await;
    let (rd_url, product_url) = (rd_db.url.clone(), product_db.url.clone());

    // The product: one customer (and two orders) per subject; deleting a customer is slow.
    let product = PgPool::connect(&product_url).await.expect("product db");
    sqlx::raw_sql(sqlx::AssertSqlSafe(
        PRODUCT_SCHEMA.replace("__SLOW__", SLOW),
    ))
    .execute(&product)
    .await
    .expect("product schema");
    sqlx::query(
        "INSERT INTO customers (id, email, name) \
         SELECT g, format('replica-subject-%s@example.com', lpad(g::text, 3, '0')), 'Customer ' || g \
         FROM generate_series(0, $1 - 1) g",
    )
    .bind(REQUESTS as i64)
    .execute(&product)
    .await
    .expect("customers");
    sqlx::query(
        "INSERT INTO orders (id, customer_id, total) \
         SELECT g, g / 2, 10 + g FROM generate_series(0, $1 * 2 - 1) g",
    )
    .bind(REQUESTS as i64)
    .execute(&product)
    .await
    .expect("orders");

    std::fs::create_dir_all(dir.join("datamap")).expect("datamap dir");
    std::fs::write(
        dir.join("datamap/shop.toml"),
        DATAMAP.replace("__URL__", &product_url),
    )
    .expect("datamap");
    std::fs::write(dir.join("secret.key"), "22".repeat(32)).expect("key");
    let sink = smtp::start().await;
    let config = format!(
        r#"datamap_dir = "{datamap}"
secret_key_file = "{key}"
log_format = "json"
log_level = "info"

[email]
transport = "smtp"
smtp_url = "smtp://{smtp}"
privacy_team = "privacy-team@example.com"

[workflow]
auto_start = ["access"]
auto_complete = ["access", "erasure"]

[jobs]
workers = 4
lease = "5s"
poll_interval = "200ms"
shutdown_grace = "2s"

[schedules]
deadline_sweep = "*/5 * * * * *"
"#,
        datamap = dir.join("datamap").display(),
        key = dir.join("secret.key").display(),
        smtp = sink.addr,
    );
    std::fs::write(dir.join("rightsdesk.toml"), config).expect("config");

    // Migrate once, then start three replicas on the same database.
    let migrate = Command::new(bin())
        .arg("--config")
        .arg(dir.join("rightsdesk.toml"))
        .arg("migrate")
        .current_dir(dir)
        .env("RIGHTSDESK_DATABASE_URL", &rd_url)
        .env("RIGHTSDESK_DATA_DIR", dir.join("data-migrate"))
        .output()
        .expect("migrate");
    assert!(migrate.status.success(), "migrate failed");
    assert!(
        dir.join("data-migrate/initial-admin-password").is_file(),
        "migrate creates the initial admin"
    );
    let token = {
        let out = Command::new(bin())
            .arg("--config")
            .arg(dir.join("rightsdesk.toml"))
            .args(["token", "create", "--name", "replicas", "--role", "agent"])
            .current_dir(dir)
            .env("RIGHTSDESK_DATABASE_URL", &rd_url)
            .env("RIGHTSDESK_DATA_DIR", dir.join("data-migrate"))
            .output()
            .expect("token create");
        assert!(out.status.success(), "token create failed");
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_string()
    };
    let mut replicas: Vec<Option<Replica>> = (0..3).map(|n| Some(start(dir, n, &rd_url))).collect();
    let client = reqwest::Client::new();
    for r in replicas.iter().flatten() {
        wait_ready(&client, r).await;
    }
    let started_at = Instant::now();
    let victim_worker = worker_id(replicas[2].as_ref().expect("replica 2"));

    // 300 erasures, entered and started round-robin on the three replicas, a few at once.
    let bases: Vec<String> = replicas.iter().flatten().map(|r| r.base.clone()).collect();
    let mut references = vec![String::new(); REQUESTS];
    let mut killed = false;
    let mut victim_claims: Vec<String> = Vec::new();
    let rd = PgPool::connect(&rd_url).await.expect("rightsdesk db");
    for chunk_start in (0..REQUESTS).step_by(20) {
        let mut set = tokio::task::JoinSet::new();
        for i in chunk_start..(chunk_start + 20).min(REQUESTS) {
            // After the kill, only the survivors take requests.
            let base = if killed {
                bases[i % 2].clone()
            } else {
                bases[i % 3].clone()
            };
            let (client, token) = (client.clone(), token.clone());
            set.spawn(async move {
                let r = client
                    .post(format!("{base}/api/v1/requests"))
                    .bearer_auth(&token)
                    .json(&json!({"kind": "erasure", "email": subject(i), "verification_note": "signed letter"}))
                    .send()
                    .await
                    .expect("create");
                assert_eq!(r.status(), 201);
                let v: Value = r.json().await.expect("json");
                let reference = v["reference"].as_str().expect("reference").to_string();
                let r = client
                    .post(format!("{base}/api/v1/requests/{reference}/start"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("start");
                assert_eq!(r.status(), 200);
                (i, reference)
            });
        }
        while let Some(done) = set.join_next().await {
            let (i, reference) = done.expect("task");
            references[i] = reference;
        }
        // SIGKILL replica 2 in the middle of the fan-out, once it holds claimed work.
        if !killed && chunk_start >= 100 {
            let claimed: Vec<String> = sqlx::query_scalar(
                "SELECT id FROM jobs WHERE status = 'running' AND lease_owner = $1",
            )
            .bind(&victim_worker)
            .fetch_all(&rd)
            .await
            .expect("claims");
            if !claimed.is_empty() || chunk_start >= 200 {
                let victim = replicas[2].take().expect("replica 2");
                let pid = victim.child.id().to_string();
                let status = Command::new("kill")
                    .args(["-KILL", &pid])
                    .status()
                    .expect("kill");
                assert!(status.success());
                drop(victim);
                victim_claims = claimed;
                killed = true;
            }
        }
    }
    assert!(killed, "replica 2 was killed");
    assert!(
        !victim_claims.is_empty(),
        "the killed replica held claimed jobs (the test must kill mid-fan-out)"
    );

    // Every request reaches its final status.
    let deadline = Instant::now() + Duration::from_secs(150);
    loop {
        let done = count(
            &rd,
            "SELECT COUNT(*) FROM requests WHERE status = 'completed'",
        )
        .await;
        if done == REQUESTS as i64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {done} of {REQUESTS} requests completed"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // And the emails those completions queued went out.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pending = count(&rd, "SELECT COUNT(*) FROM outbox WHERE status <> 'sent'").await;
        if pending == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{pending} emails not sent");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let elapsed = started_at.elapsed();

    // Every task succeeded once in effect: one task per request, succeeded, with evidence;
    // one ledger entry per task; every customer row deleted exactly once.
    assert_eq!(
        count(&rd, "SELECT COUNT(*) FROM tasks").await,
        REQUESTS as i64
    );
    assert_eq!(
        count(
            &rd,
            "SELECT COUNT(*) FROM tasks WHERE status = 'succeeded' AND evidence IS NOT NULL"
        )
        .await,
        REQUESTS as i64
    );
    assert_eq!(
        count(&rd, "SELECT COUNT(*) FROM erasure_ledger").await,
        REQUESTS as i64
    );
    assert_eq!(
        count(&rd, "SELECT COUNT(DISTINCT task_id) FROM erasure_ledger").await,
        REQUESTS as i64
    );
    for t in ["customers", "orders"] {
        assert_eq!(
            count(&product, &format!("SELECT COUNT(*) FROM {t}")).await,
            0,
            "{t} left"
        );
    }
    assert_eq!(
        count(&product, "SELECT COUNT(*) FROM deletions").await,
        REQUESTS as i64
    );
    assert_eq!(
        count(
            &product,
            "SELECT COUNT(DISTINCT customer_id) FROM deletions"
        )
        .await,
        REQUESTS as i64
    );

    // Nothing is left claimed by the dead replica; the jobs it held were finished by others.
    let held: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM jobs WHERE status IN ('running', 'queued') AND lease_owner = $1",
    )
    .bind(&victim_worker)
    .fetch_one(&rd)
    .await
    .expect("held");
    assert_eq!(held, 0);
    for id in &victim_claims {
        let row = sqlx::query("SELECT status, lease_owner FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&rd)
            .await
            .expect("job");
        let status: String = row.get("status");
        let owner: Option<String> = row.get("lease_owner");
        assert_eq!(status, "done", "job {id} the dead replica held");
        assert_ne!(owner.as_deref(), Some(victim_worker.as_str()));
    }
    assert_eq!(
        count(&rd, "SELECT COUNT(*) FROM jobs WHERE status = 'dead'").await,
        0
    );

    // Each scheduled tick ran once: one job per time slot, none running twice.
    let ticks: Vec<(Option<String>, String, i32)> = sqlx::query_as(
        "SELECT dedupe_key, status, attempts FROM jobs WHERE kind = 'deadlines.sweep' ORDER BY dedupe_key",
    )
    .fetch_all(&rd)
    .await
    .expect("ticks");
    let min_ticks = (elapsed.as_secs() / 5).saturating_sub(2) as usize;
    assert!(
        ticks.len() >= min_ticks.max(2),
        "{} ticks in {elapsed:?}",
        ticks.len()
    );
    let mut slots = BTreeMap::new();
    for (key, _, _) in &ticks {
        *slots.entry(key.clone()).or_insert(0) += 1;
    }
    assert!(slots.values().all(|n| *n == 1), "a tick enqueued twice");
    assert!(ticks.iter().all(|(k, _, _)| k.is_some()));

    // Each email arrived once: per recipient and subject line one message, as many
    // messages as the outbox sent.
    let sent = count(&rd, "SELECT COUNT(*) FROM outbox WHERE status = 'sent'").await;
    let mails = sink.messages();
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for m in &mails {
        let subject_line = smtp::header(&m.data, "subject").unwrap_or_default();
        *seen.entry((m.to.join(","), subject_line)).or_insert(0) += 1;
    }
    // SMTP has no transactions: a replica killed after the relay accepted a message but
    // before it recorded the send leaves the job to be retried, and that one message goes
    // out again (at-least-once). Only email jobs the dead replica held may repeat, once.
    let dead_email_jobs: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE id = ANY($1) AND kind = 'email.send'")
            .bind(&victim_claims)
            .fetch_one(&rd)
            .await
            .expect("email jobs of the dead replica");
    let repeats: usize = seen.values().map(|n| n - 1).sum();
    assert!(
        seen.values().all(|n| *n <= 2) && repeats as i64 <= dead_email_jobs,
        "emails sent more than once beyond the killed replica's in-flight sends ({dead_email_jobs}): {:?}",
        seen.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    assert_eq!(seen.len() as i64, sent, "every sent outbox message arrived");
    assert_eq!(mails.len(), seen.len() + repeats);
    assert!(sent >= 2 * REQUESTS as i64, "received and completed emails");
    eprintln!(
        "{REQUESTS} erasures on 3 replicas (one SIGKILLed holding {} jobs) in {elapsed:?}; {} ticks; {sent} emails ({repeats} repeated after the kill)",
        victim_claims.len(),
        ticks.len()
    );
}
