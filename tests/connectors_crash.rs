//! An SQL erasure that fails between batches (the product database aborts a statement
//! after earlier batches ran in the same transaction, as a dropped connection would):
//! nothing is half-erased, the job is retried with backoff, and the retried erasure
//! ends with every row of the subject gone, the evidence showing 0 rows left, and one
//! ledger entry.

mod common;

use std::time::Duration;

use chrono::TimeDelta;
use common::product::{create_and_start, product, wait_for_status};
use common::{Backend, Options, json, spawn_app_with};
use rightsdesk::domain::staff::Role;
use rightsdesk::store::PageRequest;
use sqlx::SqlitePool;

async fn count(pool: &SqlitePool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_interrupted_between_batches_is_retried_to_a_clean_end() {
    let dir = tempfile::tempdir().unwrap();
    let (pool, datamap) = product(dir.path()).await;
    // 2,500 more orders for Ada: the orders delete takes three batches, and customers are
    // deleted after them (children first), so the abort comes after those batches ran.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1000 UNION ALL SELECT i + 1 FROM n WHERE i < 3499) \
         INSERT INTO orders (id, customer_id, shipping_address_id, placed_at, total, note) \
         SELECT i, 1, NULL, '2024-03-01 10:00:00', 1.0, NULL FROM n",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::raw_sql(
        "CREATE TABLE crash_switch (armed INTEGER NOT NULL); INSERT INTO crash_switch VALUES (1);
         CREATE TRIGGER crash BEFORE DELETE ON customers
         WHEN (SELECT armed FROM crash_switch) = 1
         BEGIN SELECT RAISE(ABORT, 'simulated crash'); END;",
    )
    .execute(&pool)
    .await
    .unwrap();
    let ada_orders = count(&pool, "SELECT COUNT(*) FROM orders WHERE customer_id = 1").await;
    assert_eq!(ada_orders, 2502);

    let opts = Options::datamap(datamap);
    let app = spawn_app_with(Backend::Sqlite, opts).await.expect("app");
    let agent = app.token(Role::Agent).await;
    let reference = create_and_start(&app, &agent, "erasure", "ada@example.com").await;

    // The first attempt fails and is rolled back whole.
    let mut failed = false;
    for _ in 0..150 {
        let jobs = app
            .state
            .store
            .list_jobs(
                None,
                PageRequest {
                    page: 1,
                    per_page: 100,
                },
            )
            .await
            .unwrap();
        if jobs
            .items
            .iter()
            .any(|j| j.kind == "connector.run" && j.last_error.is_some())
        {
            failed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(failed, "the first attempt did not fail");
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM orders WHERE customer_id = 1").await,
        ada_orders,
        "the batches that ran before the failure were rolled back"
    );
    assert_eq!(count(&pool, "SELECT COUNT(*) FROM customers").await, 3);
    let (_, v) = json(
        app.get(&agent, &format!("/api/v1/requests/{reference}"))
            .await,
    )
    .await;
    assert_eq!(v["status"], "in_progress");

    // The database recovers; the retry (after its backoff) finishes the job.
    sqlx::query("UPDATE crash_switch SET armed = 0")
        .execute(&pool)
        .await
        .unwrap();
    app.clock.advance(TimeDelta::hours(2));
    app.state.queue.wake();
    let v = wait_for_status(&app, &agent, &reference, "review").await;
    let task = &v["tasks"][0];
    assert_eq!(task["status"], "succeeded", "{v}");
    assert_eq!(task["attempts"], 2, "{task}");
    let tables = task["evidence"]["tables"].as_array().unwrap();
    assert!(tables.iter().all(|t| t["rows_left"] == 0), "{tables:?}");
    let orders = tables.iter().find(|t| t["table"] == "orders").unwrap();
    assert_eq!(orders["rows_affected"], 2502);
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM orders WHERE customer_id = 1").await,
        0
    );
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM customers WHERE email = 'ada@example.com'"
        )
        .await,
        0
    );
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM orders").await,
        3,
        "others' orders stay"
    );
    assert_eq!(count(&pool, "SELECT COUNT(*) FROM products").await, 3);
    let ledger = app
        .state
        .store
        .ledger_since(common::t("2000-01-01T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(ledger.len(), 1, "one erasure, one ledger entry");
    app.stop().await;
}
