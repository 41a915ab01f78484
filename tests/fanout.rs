//! Fan-out through the service: a staff-started request runs one task per connector of
//! the data map against a real product database; the dry run shows what the erasure then
//! touches, the task stores evidence (0 rows left), and shared rows stay untouched.

mod common;

use std::time::Duration;

use common::product::{create_and_start, product, wait_for_status};
use common::{Backend, Options, TestApp, json, spawn_app_with};
use rightsdesk::domain::staff::Role;
use serde_json::{Value, json};
use sqlx::SqlitePool;

async fn count(pool: &SqlitePool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

async fn erasure_runs_through_the_connector(backend: Backend) {
    let product_dir = tempfile::tempdir().unwrap();
    let (pool, datamap) = product(product_dir.path()).await;
    let opts = Options::datamap(datamap);
    let Some(app) = spawn_app_with(backend, opts).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let products_before: Vec<(i64, String, i64)> =
        sqlx::query_as("SELECT id, name, price_cents FROM products ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();

    let (s, v) = json(app.post_json(&agent, "/api/v1/requests", &json!({"kind": "erasure", "email": "Ada@Example.com", "verification_note": "signed letter"})).await).await;
    assert_eq!(s, 201, "{v}");
    let reference = v["reference"].as_str().unwrap().to_string();

    // Dry run first: nothing changes.
    let (s, preview) = json(
        app.get(&agent, &format!("/api/v1/requests/{reference}/preview"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{preview}");
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM customers WHERE email = 'ada@example.com'"
        )
        .await,
        1
    );
    let tables = preview["connectors"][0]["tables"]
        .as_array()
        .unwrap()
        .clone();
    let rows_of = |t: &str| {
        tables
            .iter()
            .find(|x| x["table"] == t)
            .map(|x| x["rows"].as_u64().unwrap())
            .unwrap()
    };
    assert_eq!(preview["connectors"][0]["name"], "shop");
    assert_eq!(rows_of("customers"), 1);
    assert_eq!(rows_of("orders"), 2);
    assert_eq!(rows_of("newsletter"), 2);

    let (s, v) = json(
        app.post_empty(&agent, &format!("/api/v1/requests/{reference}/start"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "in_progress");
    let v = wait_for_status(&app, &agent, &reference, "review").await;
    let task = &v["tasks"][0];
    assert_eq!(task["connector"], "shop");
    assert_eq!(task["operation"], "erase");
    assert_eq!(task["status"], "succeeded", "{task}");
    let evidence = task["evidence"]["tables"].as_array().unwrap();
    assert!(evidence.iter().all(|t| t["rows_left"] == 0), "{evidence:?}");
    // The dry run showed exactly what the erasure then did.
    for t in evidence {
        let name = t["table"].as_str().unwrap();
        if t["action"] != "retain" {
            assert_eq!(
                t["rows_affected"].as_u64().unwrap(),
                rows_of(name),
                "table {name}"
            );
        }
    }
    assert!(
        !v["tasks"].to_string().contains("ada@"),
        "task evidence holds counts, not data"
    );

    // The product database: Ada's rows are gone, everyone else's and the shared ones stay.
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM customers WHERE email = 'ada@example.com'"
        )
        .await,
        0
    );
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM orders WHERE customer_id = 1").await,
        0
    );
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM newsletter WHERE email = 'ada@example.com'"
        )
        .await,
        0
    );
    assert_eq!(count(&pool, "SELECT COUNT(*) FROM customers").await, 2);
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM addresses WHERE id = 1").await,
        1,
        "Bob still lives there"
    );
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM invoices WHERE billing_email = 'ada@example.com'"
        )
        .await,
        0,
        "masked"
    );
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM invoices").await,
        4,
        "invoices are retained, anonymized"
    );
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM consents WHERE email = 'ada@example.com'"
        )
        .await,
        1,
        "retained"
    );
    let products_after: Vec<(i64, String, i64)> =
        sqlx::query_as("SELECT id, name, price_cents FROM products ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        products_before, products_after,
        "the shared catalogue is never touched"
    );

    // Completing tells the subject what is kept and why.
    let (s, v) = json(
        app.post_empty(&agent, &format!("/api/v1/requests/{reference}/complete"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    app.stop().await;
}

async fn access_request_auto_completes(backend: Backend) {
    let product_dir = tempfile::tempdir().unwrap();
    let (_pool, datamap) = product(product_dir.path()).await;
    let opts = Options::datamap(datamap);
    let Some(app) = spawn_app_with(backend, opts).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let (_, v) = json(app.post_json(&agent, "/api/v1/requests", &json!({"kind": "access", "email": "bob@example.com", "verification_note": "id checked"})).await).await;
    let reference = v["reference"].as_str().unwrap().to_string();
    let (s, _) = json(
        app.post_empty(&agent, &format!("/api/v1/requests/{reference}/start"))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    let v = wait_for_status(&app, &agent, &reference, "completed").await;
    let task = &v["tasks"][0];
    assert_eq!(task["status"], "succeeded");
    let rows = task["evidence"]["rows"].as_u64().unwrap();
    assert!(
        rows >= 5,
        "Bob's customer, orders, items, addresses, invoice, newsletter: {task}"
    );
    let events: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["create", "start", "tasks_done", "complete"]);
    app.stop().await;
}

/// An app on the shop product whose jobs are tried once (a failed task goes to review
/// at once), and the product database with `newsletter` renamed away: the data map's
/// table is missing, so a task touching it fails. [`retry_until_succeeded`] renames it
/// back and retries.
async fn app_with_a_table_missing(
    backend: Backend,
    product_dir: &std::path::Path,
) -> Option<(TestApp, SqlitePool)> {
    let (pool, datamap) = product(product_dir).await;
    let opts = Options {
        configure: Box::new(move |c| {
            c.datamap_dir = datamap;
            c.jobs.max_attempts = 1;
        }),
        handlers: Vec::new(),
    };
    let app = spawn_app_with(backend, opts).await?;
    sqlx::query("ALTER TABLE newsletter RENAME TO newsletter_old")
        .execute(&pool)
        .await
        .unwrap();
    Some((app, pool))
}

/// Put the missing table back, retry task `id` of `reference`, and return the request's
/// view once the task succeeded (failing at once if it fails again).
async fn retry_until_succeeded(
    app: &TestApp,
    pool: &SqlitePool,
    agent: &str,
    reference: &str,
    id: &str,
) -> Value {
    sqlx::query("ALTER TABLE newsletter_old RENAME TO newsletter")
        .execute(pool)
        .await
        .unwrap();
    let (s, r) = json(
        app.post_empty(
            agent,
            &format!("/api/v1/requests/{reference}/tasks/{id}/retry"),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{r}");
    for _ in 0..100 {
        let (_, v) = json(
            app.get(agent, &format!("/api/v1/requests/{reference}"))
                .await,
        )
        .await;
        if v["tasks"][0]["status"] == "succeeded" {
            return v;
        }
        assert_ne!(v["tasks"][0]["status"], "failed", "{v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the retried task did not succeed");
}

async fn failed_task_goes_to_review_and_can_be_retried(backend: Backend) {
    let product_dir = tempfile::tempdir().unwrap();
    // The product database loses a table the data map declares.
    let Some((app, pool)) = app_with_a_table_missing(backend, product_dir.path()).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let reference = create_and_start(&app, &agent, "erasure", "cy@example.com").await;
    let v = wait_for_status(&app, &agent, &reference, "review").await;
    let task = v["tasks"][0].clone();
    assert_eq!(task["status"], "failed", "{task}");
    let error = task["error"].as_str().unwrap();
    assert!(
        error.contains("newsletter") && !error.contains("cy@"),
        "{error}"
    );
    let cy = "SELECT COUNT(*) FROM customers WHERE email = 'cy@example.com'";
    assert_eq!(count(&pool, cy).await, 1, "nothing half-done");

    let id = task["id"].as_str().unwrap();
    retry_until_succeeded(&app, &pool, &agent, &reference, id).await;
    assert_eq!(count(&pool, cy).await, 0);
    app.stop().await;
}

/// A retried access task starts by removing what an earlier attempt stored (a first
/// attempt has nothing to remove and sends no delete): the result holds the retry's rows
/// only, every part readable.
async fn a_retried_access_replaces_what_an_earlier_attempt_stored(backend: Backend) {
    let product_dir = tempfile::tempdir().unwrap();
    let Some((app, pool)) = app_with_a_table_missing(backend, product_dir.path()).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let reference = create_and_start(&app, &agent, "access", "bob@example.com").await;
    let v = wait_for_status(&app, &agent, &reference, "review").await;
    let id = v["tasks"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(v["tasks"][0]["status"], "failed", "{v}");
    // What an interrupted attempt could have left: a part at the first number.
    app.state
        .store
        .append_result_parts(
            &id,
            &[rightsdesk::store::ResultPart {
                seq: 0,
                table_name: "left_by_an_earlier_attempt".into(),
                columns: vec!["x".into()],
                row_count: 1,
                rows_ct: "not a sealed value".into(),
            }],
        )
        .await
        .unwrap();

    retry_until_succeeded(&app, &pool, &agent, &reference, &id).await;
    let task = app.state.store.task(&id).await.unwrap().unwrap();
    let result = rightsdesk::services::task_results::load(&app.state, &task)
        .await
        .expect("every part readable");
    let tables: Vec<&str> = result.tables.iter().map(|t| t.table.as_str()).collect();
    assert!(
        !tables.contains(&"left_by_an_earlier_attempt"),
        "{tables:?}"
    );
    assert!(tables.contains(&"customers"), "{tables:?}");
    app.stop().await;
}

/// After a product database is restored from a backup taken before an erasure,
/// `rightsdesk ledger replay` erases the subject again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledger_replay_reapplies_erasures_after_a_restore() {
    let product_dir = tempfile::tempdir().unwrap();
    let (pool, datamap) = product(product_dir.path()).await;
    let backup = product_dir.path().join("backup.db");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "VACUUM INTO '{}'",
        backup.display()
    )))
    .execute(&pool)
    .await
    .unwrap();
    let datamap_for_app = datamap.clone();
    let opts = Options {
        configure: Box::new(move |c| c.datamap_dir = datamap_for_app),
        handlers: Vec::new(),
    };
    let app = spawn_app_with(Backend::Sqlite, opts).await.unwrap();
    let agent = app.token(Role::Agent).await;
    let reference = create_and_start(&app, &agent, "erasure", "ada@example.com").await;
    wait_for_status(&app, &agent, &reference, "review").await;
    let database_url = app.database_url.clone();
    let app_dir = app.stop().await;
    let key_file = app_dir.path().join("test.key");
    pool.close().await;

    // Restore the product database from the backup: Ada is back.
    let db = product_dir.path().join("shop.db");
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    std::fs::copy(&backup, &db).unwrap();
    let url = format!("sqlite://{}", db.display());
    let restored = SqlitePool::connect(&url).await.unwrap();
    assert_eq!(
        count(
            &restored,
            "SELECT COUNT(*) FROM customers WHERE email = 'ada@example.com'"
        )
        .await,
        1
    );
    restored.close().await;

    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(
        cwd.path().join("rightsdesk.toml"),
        format!(
            "database_url = \"{database_url}\"\nsecret_key_file = \"{}\"\ndatamap_dir = \"{}\"\ndata_dir = \"{}\"\n",
            key_file.display(),
            datamap.display(),
            cwd.path().join("data").display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rightsdesk"))
        .args(["ledger", "replay", "--since", "2026-01-01", "--json"])
        .current_dir(cwd.path())
        .env_remove("RIGHTSDESK_SECRET_KEY")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report[0]["request"], reference.as_str());
    assert!(report[0]["rows_changed"].as_u64().unwrap() > 0, "{report}");
    let restored = SqlitePool::connect(&url).await.unwrap();
    assert_eq!(
        count(
            &restored,
            "SELECT COUNT(*) FROM customers WHERE email = 'ada@example.com'"
        )
        .await,
        0
    );
    assert_eq!(count(&restored, "SELECT COUNT(*) FROM customers").await, 2);
}

backend_fn_tests!(
    erasure_runs_through_the_connector,
    access_request_auto_completes,
    failed_task_goes_to_review_and_can_be_retried,
    a_retried_access_replaces_what_an_earlier_attempt_stored,
);

/// Erasure tasks of one connector that are ready at the same time run together (a
/// PostgreSQL product database): one worker claims them all. A subject whose erasure a
/// trigger refuses fails alone: the others reach review with their rows masked, her task
/// goes back to the queue, and once the trigger is gone the retry erases her too. Access
/// tasks ready at the same time are read together, each export holding its own rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasures_ready_together_run_together_and_a_failure_is_retried_alone() {
    use common::product::{Engine, ProductDb};
    use rightsdesk::jobs::{JobHandler, WorkerPool};
    let Some(db) = ProductDb::fresh(Engine::Postgres, "rd_fan").await else {
        return;
    };
    db.exec(
        "CREATE TABLE addresses (id INT PRIMARY KEY, street VARCHAR(100));\n\
         CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL, \
         address_id INT REFERENCES addresses (id));\n\
         INSERT INTO addresses VALUES (1, 'One Street'), (4, 'Four Street'), \
         (100, 'Shared Street'), (5, 'Five Street');\n\
         INSERT INTO customers VALUES (1, 'c1@example.com', 1), (2, 'c2@example.com', 100), \
         (3, 'c3@example.com', 100), (4, 'c4@example.com', 4), (5, 'c5@example.com', 5), \
         (6, 'c6@example.com', 100);\n\
         CREATE SEQUENCE tried;\n\
         CREATE FUNCTION frozen() RETURNS trigger AS $$ BEGIN PERFORM nextval('tried'); \
         IF OLD.email = 'c3@example.com' THEN RAISE EXCEPTION 'this customer is frozen'; END IF; \
         RETURN NEW; END $$ LANGUAGE plpgsql;\n\
         CREATE TRIGGER frozen BEFORE UPDATE ON customers FOR EACH ROW EXECUTE FUNCTION frozen();",
    )
    .await;
    let datamap = tempfile::tempdir().unwrap();
    std::fs::write(
        datamap.path().join("frozen.toml"),
        format!(
            "name = \"frozen\"\nkind = \"postgres\"\nurl = \"{}\"\n\n\
             [[tables]]\nname = \"customers\"\nprimary_key = \"id\"\nidentities = {{ email = \"email\" }}\n\
             erase = \"anonymize\"\n[tables.fields]\n\
             email = {{ category = \"contact.email\", mask = \"hash\" }}\n\n\
             [[tables]]\nname = \"addresses\"\nprimary_key = \"id\"\n\
             via = {{ id = \"customers.address_id\" }}\nerase = \"anonymize\"\n[tables.fields]\n\
             street = {{ category = \"contact.address\", mask = \"null\" }}\n",
            db.url
        ),
    )
    .unwrap();
    let dir = datamap.path().to_path_buf();
    // No workers while the requests are started, so that their tasks are ready together.
    let opts = Options {
        configure: Box::new(move |c| {
            c.datamap_dir = dir;
            c.jobs.workers = 0;
        }),
        handlers: Vec::new(),
    };
    let Some(app) = spawn_app_with(Backend::Sqlite, opts).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let mut references = Vec::new();
    for i in 1..=4 {
        references
            .push(create_and_start(&app, &agent, "erasure", &format!("c{i}@example.com")).await);
    }
    let mut accesses = Vec::new();
    for i in 5..=6 {
        accesses.push(create_and_start(&app, &agent, "access", &format!("c{i}@example.com")).await);
    }
    let queued = app.queued_jobs().await;
    let batched: Vec<_> = queued
        .iter()
        .filter(|j| j.batch_key.as_deref() == Some("erase:frozen"))
        .collect();
    assert_eq!(
        batched.len(),
        4,
        "every erasure task may run with the others"
    );
    assert_eq!(
        queued
            .iter()
            .filter(|j| j.batch_key.as_deref() == Some("access:frozen"))
            .count(),
        2
    );

    let mut state = app.state.clone();
    let mut config = (*state.config).clone();
    config.jobs.workers = 1;
    state.config = std::sync::Arc::new(config);
    let handlers: rightsdesk::jobs::Handlers = std::sync::Arc::new(
        [(
            rightsdesk::services::fanout::RUN_TASK.to_string(),
            std::sync::Arc::new(rightsdesk::services::fanout::RunTask)
                as std::sync::Arc<dyn JobHandler>,
        )]
        .into_iter()
        .collect(),
    );
    let workers = WorkerPool::start(state, handlers);
    for i in [0, 1, 3] {
        let v = wait_for_status(&app, &agent, &references[i], "review").await;
        assert_eq!(v["tasks"][0]["status"], "succeeded", "{v}");
        assert_eq!(
            v["tasks"][0]["evidence"]["tables"][0]["rows_left"], 0,
            "{v}"
        );
    }
    for (reference, street) in accesses.iter().zip(["Five Street", "Shared Street"]) {
        let v = wait_for_status(&app, &agent, reference, "completed").await;
        assert_eq!(v["tasks"][0]["status"], "succeeded", "{v}");
        assert_eq!(v["tasks"][0]["evidence"]["rows"], 2, "{v}");
        let task = app
            .state
            .store
            .task(v["tasks"][0]["id"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
        let rows = rightsdesk::services::task_results::load(&app.state, &task)
            .await
            .unwrap();
        let text = serde_json::to_string(&rows).unwrap();
        assert!(text.contains(street), "{reference}: its own address");
        assert_eq!(text.matches("@example.com").count(), 1, "only its own row");
    }
    // c3's task failed once and waits for its retry.
    let retried = app
        .queued_job("c3's job is back in the queue", |j| {
            j.batch_key.as_deref() == Some("erase:frozen") && j.attempts == 1
        })
        .await;
    assert_eq!(retried.payload.0["reference"], references[2].as_str());
    assert!(
        retried
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("customers")),
        "{:?}",
        retried.last_error
    );
    let rows = db
        .texts(
            "SELECT c.id::text, (c.email LIKE '%@example.com')::text, COALESCE(a.street, 'NULL') \
             FROM customers c JOIN addresses a ON a.id = c.address_id ORDER BY c.id",
        )
        .await;
    assert_eq!(
        rows,
        [
            ["1", "false", "NULL"],
            ["2", "false", "Shared Street"],
            ["3", "true", "Shared Street"],
            ["4", "false", "NULL"],
            ["5", "true", "Five Street"],
            ["6", "true", "Shared Street"],
        ],
        "the others are erased; the address c2 shares with c3 is kept; c5 and c6 were only read"
    );
    // Rows the trigger saw (a sequence does not roll back): each subject's row once when
    // erased alone, plus at least one in the batch that was tried first and undone.
    let tried = db.texts("SELECT last_value::text FROM tried").await;
    let tried: i64 = tried[0][0].parse().unwrap();
    assert!(tried >= 5, "the batch was tried first: {tried} row updates");

    db.exec("DROP TRIGGER frozen ON customers").await;
    app.clock.advance(chrono::TimeDelta::minutes(10));
    app.state.queue.wake();
    let v = wait_for_status(&app, &agent, &references[2], "review").await;
    assert_eq!(v["tasks"][0]["status"], "succeeded", "{v}");
    let left = db
        .texts("SELECT COUNT(*)::text FROM customers WHERE email LIKE '%@example.com' AND id <= 4")
        .await;
    assert_eq!(left, [["0"]]);
    workers.shutdown(Duration::from_secs(5)).await;
    app.stop().await;
    drop(db);
}
