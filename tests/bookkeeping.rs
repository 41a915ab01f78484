//! Our own bookkeeping per request (issue 19 item 4): the statements one access request
//! sends to Rightsdesk's own database (PostgreSQL) from creation until it is completed,
//! counted from the driver's statement events (`sqlx::query`), not timed.
//!
//! The test's own reads (waiting for the request to finish) run in a span named
//! `test_wait` and are left out; everything else on the test's thread is the service:
//! the staff API calls, the job workers, the export and the completion.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::product::product;
use common::{Backend, Options, json, spawn_app_with};
use rightsdesk::domain::staff::Role;
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::{Event, Instrument, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

#[derive(Debug, Clone)]
struct Statement {
    sql: String,
    rows_affected: u64,
}

#[derive(Clone, Default)]
struct StatementLog(Arc<Mutex<Vec<Statement>>>);

#[derive(Default)]
struct Fields {
    summary: String,
    statement: String,
    rows_affected: u64,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_string(),
            "db.statement" => self.statement = value.to_string(),
            _ => {}
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "rows_affected" {
            self.rows_affected = value;
        }
    }
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

impl<S> Layer<S> for StatementLog
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        if ctx
            .event_scope(event)
            .is_some_and(|mut scope| scope.any(|s| s.name() == "test_wait"))
        {
            return;
        }
        let mut f = Fields::default();
        event.record(&mut f);
        let text = if f.statement.trim().is_empty() {
            f.summary
        } else {
            f.statement
        };
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Statement {
                sql: text.split_whitespace().collect::<Vec<_>>().join(" "),
                rows_affected: f.rows_affected,
            });
    }
}

/// The table a statement reads or writes first (`None` for BEGIN/COMMIT).
fn table_of(sql: &str) -> Option<String> {
    let lower = sql.to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let verb = *words.first()?;
    if matches!(verb, "begin" | "commit" | "rollback") {
        return None;
    }
    let kw = match verb {
        "insert" => "into",
        "update" => "update",
        _ => "from",
    };
    let i = words.iter().position(|w| *w == kw)?;
    Some(words.get(i + 1)?.trim_matches('"').to_string())
}

/// The statements of one access request's lifecycle through the staff API on a
/// PostgreSQL store (a SQLite product database, whose statements the log does not see:
/// its driver runs them on its own thread).
async fn lifecycle_statements() -> Option<Vec<Statement>> {
    let log = StatementLog::default();
    let subscriber = tracing_subscriber::registry().with(log.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    // One statement under this subscriber first: without it the driver's statement
    // events were not seen here (their callsites' interest is settled by the first use).
    let url = common::postgres_url()?;
    {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        let one: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(one, 1);
        c.close().await.unwrap();
    }

    let product_dir = tempfile::tempdir().unwrap();
    let (_pool, datamap) = product(product_dir.path()).await;
    let opts = Options {
        configure: Box::new(move |c| {
            c.datamap_dir = datamap;
            // Only waking finds work: a poll would add claims depending on the clock.
            c.jobs.poll_interval = rightsdesk::config::HumanDuration::parse("1h").unwrap();
        }),
        handlers: Vec::new(),
    };
    let app = spawn_app_with(Backend::Postgres, opts).await?;
    let agent = app.token(Role::Agent).await;
    // Settle: the scheduler's first sweeps and the workers' first look are not the
    // request's.
    tokio::time::sleep(Duration::from_millis(300)).await;
    log.0.lock().unwrap().clear();

    // Created and started in one call, as an agent filing requests does.
    let body = json!({
        "kind": "access",
        "email": "bob@example.com",
        "verification_note": "id checked",
        "start": true,
    });
    let (status, v) = json(app.post_json(&agent, "/api/v1/requests", &body).await).await;
    assert_eq!(status, 201, "{v}");
    // The answer shows what the call stored: both steps, the task, the receipt email.
    assert_eq!(v["status"], "in_progress", "{v}");
    assert_eq!(v["events"][1]["action"], "start", "{v}");
    assert_eq!(v["tasks"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["tasks"][0]["connector"], "shop", "{v}");
    assert_eq!(v["emails"][0]["template"], "received", "{v}");
    let reference = v["reference"].as_str().unwrap().to_string();
    let store = app.state.store.clone();
    let r = reference.clone();
    let completed = async move {
        for _ in 0..300 {
            let req = store.request_by_reference(&r).await.unwrap().unwrap();
            if req.status.as_str() == "completed" {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }
    .instrument(tracing::info_span!("test_wait"))
    .await;
    assert!(completed, "the access request never completed");
    // The last job's own bookkeeping (finishing it) and the completion email's job.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let statements = log.0.lock().unwrap().clone();
    app.stop().await;
    Some(statements)
}

#[tokio::test]
async fn one_access_request_sends_few_statements_to_our_own_database() {
    let Some(statements) = lifecycle_statements().await else {
        return;
    };
    let mut by_table: BTreeMap<String, usize> = BTreeMap::new();
    let (mut commits, mut claims, mut empty_claims) = (0, 0, 0);
    for s in &statements {
        match table_of(&s.sql) {
            None => commits += 1,
            Some(t) => {
                if t == "jobs" && s.sql.contains("SET status = 'running'") {
                    claims += 1;
                    if s.rows_affected == 0 {
                        empty_claims += 1;
                    }
                }
                *by_table.entry(t).or_default() += 1;
            }
        }
    }
    let count = |pred: &dyn Fn(&str) -> bool| statements.iter().filter(|s| pred(&s.sql)).count();
    let request_reads = count(&|sql| sql.starts_with("SELECT id, reference, kind, status"));
    let part_inserts = count(&|sql| sql.starts_with("INSERT INTO task_result_parts"));
    let listing: Vec<String> = statements
        .iter()
        .map(|s| s.sql.chars().take(120).collect())
        .collect();
    let report = format!(
        "{} statements ({commits} COMMIT), by table {by_table:?}, {request_reads} reads of the request, {part_inserts} INSERTs of result parts, {claims} job claims ({empty_claims} found nothing):\n{}",
        statements.len(),
        listing.join("\n")
    );
    println!("{report}");
    assert!(
        by_table.contains_key("requests") && by_table.contains_key("audit_pending"),
        "the log saw the lifecycle: {report}"
    );
    // The shop's rows (several tables, a few rows each) are one statement and one
    // commit, not one per table.
    assert_eq!(part_inserts, 1, "{report}");
    // Only the task's run reads the request: the duplicate check (same person, same
    // kind, still open) is part of the create-and-start's transaction, which works on the
    // request it stores, and the completion works on the copy the task's run read.
    assert_eq!(request_reads, 1, "{report}");
    // The audit entries are written in the request's own transactions (create, start,
    // completion), without the chain's lock; the sealer chains them afterwards, each of
    // its transactions taking every entry written during its gather (here up to three).
    let count_exact = |text: &str| count(&|sql| sql.starts_with(text));
    assert_eq!(count_exact("INSERT INTO audit_pending"), 3, "{report}");
    // The task's job starts the task and reads it in one statement.
    assert_eq!(
        count(&|sql| sql.starts_with("SELECT") && sql.contains("FROM tasks WHERE id = $1")),
        0,
        "{report}"
    );
    // The task's first attempt has no earlier result to delete.
    assert_eq!(count_exact("DELETE FROM task_result_parts"), 0, "{report}");
    // Two writes of the request: entered already started (one INSERT), and the tasks'
    // end with the automatic completion in one UPDATE, each with its two events in one
    // statement (create and start; tasks_done and complete) and one read of who hears
    // of it.
    assert_eq!(count_exact("INSERT INTO requests"), 1, "{report}");
    assert_eq!(count_exact("UPDATE requests"), 1, "{report}");
    let event_rows: u64 = statements
        .iter()
        .filter(|s| s.sql.starts_with("INSERT INTO request_events"))
        .map(|s| s.rows_affected)
        .sum();
    assert_eq!(count_exact("INSERT INTO request_events"), 2, "{report}");
    assert_eq!(event_rows, 4, "{report}");
    assert_eq!(
        count_exact("SELECT id, events FROM webhook_endpoints"),
        1,
        "{report}"
    );
    assert_eq!(count_exact("SELECT 'webhook'"), 1, "{report}");
    // The create-and-start holds its person's lock while it checks for an open request
    // of theirs and stores this one.
    assert_eq!(
        count_exact("SELECT pg_advisory_xact_lock(hashtextextended"),
        1,
        "{report}"
    );
    // A request stored by this very call has no link or identity check to look for
    // before it starts, and the answer shows what the call stored: its timeline, email
    // and task are not read back, nor links or appeals it cannot have.
    for table in ["identity_checks", "request_links", "appeals"] {
        assert!(!by_table.contains_key(table), "{table}: {report}");
    }
    assert_eq!(
        count_exact("SELECT at, actor, action, from_status"),
        0,
        "{report}"
    );
    let seals = count_exact("DELETE FROM audit_pending");
    // A seal that found its entries taken by the one before it writes no chain link.
    let sealing = statements
        .iter()
        .filter(|s| s.sql.starts_with("DELETE FROM audit_pending") && s.rows_affected > 0)
        .count();
    let locks = count_exact("SELECT pg_advisory_xact_lock(7261001)");
    assert!((1..=3).contains(&seals), "{report}");
    assert!(sealing >= 1, "{report}");
    assert_eq!(
        locks, seals,
        "only the sealer takes the chain's lock: {report}"
    );
    assert_eq!(by_table.get("audit_log"), Some(&(2 * sealing)), "{report}");
    // Each seal: the lock, the entries taken, the chain's head and new links when it
    // took any, its COMMIT.
    let sealer = locks + seals + 2 * sealing + seals;
    // Transactions of the request: create-and-start, and the task's finish with the
    // tasks' end and the completion (the sealer's left out). The result parts are one
    // statement without a transaction of its own; the export's row and the emails' marks
    // are one statement each.
    assert!(commits >= locks, "{report}");
    assert!(count_exact("COMMIT") - seals <= 2, "{report}");
    let at = |text: &str| statements.iter().position(|s| s.sql.starts_with(text));
    let (Some(completion), Some(finish)) =
        (at("UPDATE requests"), at("UPDATE tasks SET status = $2"))
    else {
        panic!("the completion and the task's finish: {report}");
    };
    assert_eq!(count_exact("UPDATE tasks SET status = $2"), 1, "{report}");
    assert!(
        completion < finish
            && !statements[completion..finish]
                .iter()
                .any(|s| s.sql.starts_with("COMMIT")),
        "the task's finish is stored in the completion's transaction: {report}"
    );
    // Three jobs (the connector task, two emails): each found by a woken worker, which
    // wakes another only when its claim saw one more job due, and looks once more after
    // its job; never every idle worker for every job.
    assert!(claims - empty_claims >= 3, "{report}");
    assert!(empty_claims <= claims - empty_claims, "{report}");
    // Everything but the job claims (each email's send reads the request's language: the
    // subject may have switched it since the email was queued).
    assert!(statements.len() - claims - sealer <= 35, "{report}");
}
