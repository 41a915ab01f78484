//! `rightsdesk-bench large-subject --rows N`: one subject with N rows in one table (a
//! busy account, a bot's visits), stored as case variants of the address, beside other
//! subjects' rows. An access request for that subject goes end to end through the real
//! `rightsdesk serve` (staff API: created -> completed with the export package built),
//! and the service's peak RSS (VmHWM) is read from /proc. The baseline is PostgreSQL
//! itself: `COPY (SELECT … WHERE lower(email) = …) TO STDOUT` of the same rows, read by
//! this program. Rows per second are printed side by side.
//!
//! With `--operation erasure` the request is an erasure (the table is declared
//! `erase = "delete"`) and the baseline is a hand-written `DELETE … WHERE lower(email) = …`
//! of the same rows in a copy of the table. First the erasure's dry run (`GET
//! /api/v1/requests/{ref}/preview` of the request before it is started) is timed and
//! the service's peak RSS read after it; then the request is started. Both stream the table's
//! matches (issue 16 item 6): the erasure keeps only the keys of the rows it changes
//! (8 bytes a row here), so the same 64 MB bound is checked after each.

use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tokio_stream::StreamExt;

use super::service::{proc_usage, start_with, submit_for};
use super::{BoxError, with_database};

/// The subject as staff type it; the product stores it as `Big.Subject@Example.com`.
const SUBJECT: &str = "big.subject@example.com";
/// Rows of other subjects in the same table.
const OTHERS: i64 = 100_000;
/// The bound the issue sets for the service's peak RSS.
const RSS_LIMIT_MB: f64 = 64.0;

const DATAMAP: &str = r#"name = "events"
kind = "postgres"
url = "PRODUCT_URL"
max_connections = 2

[[tables]]
name = "events"
primary_key = "id"
identities = { email = "email" }
erase = "delete"
"#;

/// What the request for the large subject is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Operation {
    Access,
    Erasure,
}

pub async fn run(
    rows: i64,
    operation: Operation,
    base_url: &str,
    keep: bool,
) -> Result<(), BoxError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let product_name = format!("rd_bench_{id}_big");
    let rd_name = format!("rd_bench_{id}_rd");
    let mut admin = PgConnection::connect(base_url).await?;
    for name in [&product_name, &rd_name] {
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await?;
    }
    let product_url = with_database(base_url, &product_name);
    let rd_url = with_database(base_url, &rd_name);
    let dir = std::env::temp_dir().join(format!("rd-bench-{id}"));
    std::fs::create_dir_all(&dir)?;
    let result = match operation {
        Operation::Access => measure(rows, &dir, &product_url, &rd_url).await,
        Operation::Erasure => measure_erasure(rows, &dir, &product_url, &rd_url).await,
    };
    let _ = std::fs::remove_dir_all(&dir);
    if !keep {
        for name in [&product_name, &rd_name] {
            sqlx::query(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await?;
        }
    }
    result
}

/// The subject's rows and the others', about 120 bytes per row; the subject's rows
/// first, then the others', interleaved ids so that neither is one contiguous range.
fn load_sql(rows: i64, table: &str) -> String {
    format!(
        "CREATE TABLE {table} (id BIGINT PRIMARY KEY, email TEXT NOT NULL, kind TEXT NOT NULL, \
           page TEXT NOT NULL, at TIMESTAMPTZ NOT NULL);
         INSERT INTO {table} SELECT g * 2, 'Big.Subject@Example.com', 'visit', \
           '/docs/page-' || (g % 997) || '?ref=campaign-' || (g % 13), \
           timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second' \
           FROM generate_series(1, {rows}) g;
         INSERT INTO {table} SELECT g * 2 + 1, 'other-' || g || '@example.com', 'visit', \
           '/pricing', timestamptz '2026-01-01 00:00:00+00' \
           FROM generate_series(1, {OTHERS}) g;
         CREATE INDEX {table}_email_lower ON {table} (lower(email));
         ANALYZE {table};"
    )
}

async fn measure_erasure(
    rows: i64,
    dir: &std::path::Path,
    product_url: &str,
    rd_url: &str,
) -> Result<(), BoxError> {
    let mut product = PgConnection::connect(product_url).await?;
    let t = Instant::now();
    sqlx::raw_sql(AssertSqlSafe(format!(
        "{}\n{}",
        load_sql(rows, "events"),
        load_sql(rows, "events_hand")
    )))
    .execute(&mut product)
    .await?;
    println!(
        "large subject: {rows} rows of one subject + {OTHERS} others loaded twice (events, events_hand) in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // Baseline: one hand-written DELETE of the same rows in the copy.
    let t = Instant::now();
    let deleted = sqlx::query(AssertSqlSafe(format!(
        "DELETE FROM events_hand WHERE lower(email) = '{SUBJECT}'"
    )))
    .execute(&mut product)
    .await?
    .rows_affected();
    let hand_time = t.elapsed();
    if deleted != rows as u64 {
        return Err(format!("the hand-written DELETE removed {deleted} rows, want {rows}").into());
    }

    let datamap = DATAMAP.replace("PRODUCT_URL", product_url);
    let (service, token) = start_with(dir, rd_url, "events.toml", &datamap).await?;
    let pid = service.child.id();
    let client = reqwest::Client::new();
    let (rss_idle, _) = proc_usage(pid);

    // The dry run, on a request that is entered and not started.
    let created: Value = client
        .post(format!("{}/api/v1/requests", service.base))
        .bearer_auth(&token)
        .json(&serde_json::json!({"kind": "erasure", "email": SUBJECT, "verification_note": "benchmark"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let dry = created["reference"]
        .as_str()
        .ok_or("no reference")?
        .to_string();
    let t = Instant::now();
    let preview: Value = client
        .get(format!("{}/api/v1/requests/{dry}/preview", service.base))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let preview_time = t.elapsed();
    let (rss_preview, _) = proc_usage(pid);
    let previewed = preview["connectors"][0]["tables"][0]["rows"]
        .as_i64()
        .unwrap_or(-1);
    if previewed != rows {
        return Err(format!("the preview counted {previewed} rows, want {rows}").into());
    }

    // The erasure: the same request, started (a second one would be a duplicate).
    let t = Instant::now();
    let started = client
        .post(format!("{}/api/v1/requests/{dry}/start", service.base))
        .bearer_auth(&token)
        .send()
        .await?;
    if started.status() != 200 {
        return Err(format!("start {dry}: {}", started.status()).into());
    }
    let reference = dry;
    let deadline = Instant::now() + Duration::from_secs(3600);
    let request = loop {
        let v: Value = client
            .get(format!("{}/api/v1/requests/{reference}", service.base))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        match v["status"].as_str() {
            Some("completed") => break v,
            Some(s @ ("denied" | "withdrawn" | "expired")) => {
                return Err(format!("the erasure request ended {s}").into());
            }
            Some("review") if v["tasks"][0]["status"] == "failed" => {
                return Err(format!("the erasure task failed: {}", v["tasks"][0]["error"]).into());
            }
            _ => {}
        }
        if Instant::now() > deadline {
            return Err("the erasure request did not complete within an hour".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let ours = t.elapsed();
    let (peak_rss, cpu) = proc_usage(pid);
    drop(service);
    let left: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT count(*) FROM events WHERE lower(email) = '{SUBJECT}'"
    )))
    .fetch_one(&mut product)
    .await?;
    let others: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&mut product)
        .await?;
    if left != 0 || others != OTHERS {
        return Err(format!(
            "after the erasure {left} rows of the subject and {others} rows in all are left (want 0 and {OTHERS})"
        )
        .into());
    }
    let evidence = &request["tasks"][0]["evidence"];
    println!("evidence: {evidence}");

    let per_s = |n: i64, d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
    println!();
    println!(
        "One subject, {rows} rows in one table (PostgreSQL), erasure end to end through `rightsdesk serve`:"
    );
    println!("| | rows | time | rows/s |");
    println!("|---|---|---|---|");
    println!(
        "| Rightsdesk: erasure request, created -> completed (traversal with row locks, DELETE by key in batches, evidence) | {rows} | {:.1} s | {:.0} |",
        ours.as_secs_f64(),
        per_s(rows, ours)
    );
    println!(
        "| hand-written `DELETE FROM … WHERE lower(email) = …` | {deleted} | {:.1} s | {:.0} |",
        hand_time.as_secs_f64(),
        per_s(rows, hand_time)
    );
    println!(
        "| Rightsdesk: erasure dry run (`GET …/preview`, rows counted while streamed) | {previewed} | {:.1} s | {:.0} |",
        preview_time.as_secs_f64(),
        per_s(rows, preview_time)
    );
    println!(
        "service peak RSS (VmHWM): {rss_preview:.1} MB after the dry run, {peak_rss:.1} MB after the erasure (limit {RSS_LIMIT_MB:.0} MB; {rss_idle:.1} MB when ready); service CPU {cpu:.1} s"
    );
    if peak_rss > RSS_LIMIT_MB {
        return Err(format!("peak RSS {peak_rss:.1} MB is over {RSS_LIMIT_MB:.0} MB").into());
    }
    Ok(())
}

async fn measure(
    rows: i64,
    dir: &std::path::Path,
    product_url: &str,
    rd_url: &str,
) -> Result<(), BoxError> {
    let mut product = PgConnection::connect(product_url).await?;
    let t = Instant::now();
    sqlx::raw_sql(AssertSqlSafe(load_sql(rows, "events")))
        .execute(&mut product)
        .await?;
    println!(
        "large subject: {rows} rows of one subject + {OTHERS} others loaded in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // Baseline: PostgreSQL's own COPY of the same rows, read to the end.
    let t = Instant::now();
    let mut copied = 0i64;
    let mut bytes = 0usize;
    {
        let mut stream = product
            .copy_out_raw(&format!(
                "COPY (SELECT * FROM events WHERE lower(email) = '{SUBJECT}' ORDER BY id) TO STDOUT"
            ))
            .await?;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            bytes += chunk.len();
            copied += chunk.iter().filter(|&&b| b == b'\n').count() as i64;
        }
    }
    let copy_time = t.elapsed();
    if copied != rows {
        return Err(format!("COPY returned {copied} rows, want {rows}").into());
    }

    // Ours: an access request through the service, until its export package is built.
    let datamap = DATAMAP.replace("PRODUCT_URL", product_url);
    let (service, token) = start_with(dir, rd_url, "events.toml", &datamap).await?;
    let pid = service.child.id();
    let client = reqwest::Client::new();
    let (rss_idle, _) = proc_usage(pid);
    let t = Instant::now();
    let reference = submit_for(&client, &service.base, &token, "access", SUBJECT).await?;
    let deadline = Instant::now() + Duration::from_secs(3600);
    let request = loop {
        let v: Value = client
            .get(format!("{}/api/v1/requests/{reference}", service.base))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        match v["status"].as_str() {
            Some("completed") => break v,
            Some(s @ ("denied" | "withdrawn" | "expired")) => {
                return Err(format!("the access request ended {s}").into());
            }
            Some("review") if v["tasks"][0]["status"] == "failed" => {
                return Err(format!("the access task failed: {}", v["tasks"][0]["error"]).into());
            }
            _ => {}
        }
        if Instant::now() > deadline {
            return Err("the access request did not complete within an hour".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let ours = t.elapsed();
    let (peak_rss, cpu) = proc_usage(pid);
    drop(service);
    let found = request["tasks"][0]["evidence"]["rows"]
        .as_i64()
        .unwrap_or(-1);
    if found != rows {
        return Err(format!("the access found {found} rows, want {rows}").into());
    }

    let per_s = |n: i64, d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
    println!();
    println!(
        "One subject, {rows} rows in one table (PostgreSQL), access end to end through `rightsdesk serve`:"
    );
    println!("| | rows | time | rows/s |");
    println!("|---|---|---|---|");
    println!(
        "| Rightsdesk: access request, created -> completed (rows read in pages of 2,000, encrypted result parts, export ZIP built) | {rows} | {:.1} s | {:.0} |",
        ours.as_secs_f64(),
        per_s(rows, ours)
    );
    println!(
        "| PostgreSQL `COPY (SELECT … WHERE lower(email) = …) TO STDOUT`, read by the client ({:.0} MB) | {copied} | {:.1} s | {:.0} |",
        bytes as f64 / 1e6,
        copy_time.as_secs_f64(),
        per_s(copied, copy_time)
    );
    println!(
        "service peak RSS (VmHWM): {peak_rss:.1} MB (limit {RSS_LIMIT_MB:.0} MB; {rss_idle:.1} MB when ready); service CPU {cpu:.1} s"
    );
    if peak_rss > RSS_LIMIT_MB {
        return Err(format!("peak RSS {peak_rss:.1} MB is over {RSS_LIMIT_MB:.0} MB").into());
    }
    Ok(())
}
