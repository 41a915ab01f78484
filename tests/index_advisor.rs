//! The index advisor (`rightsdesk check`, the portal's connectors page) on real product
//! databases: SQLite (a file per test), PostgreSQL (`RIGHTSDESK_TEST_POSTGRES_URL`) and
//! MariaDB (`RIGHTSDESK_TEST_MYSQL_URL`). A fixture schema where some of the columns the
//! engine filters on are indexed and some are not: the advisor names exactly the missing
//! ones, and once their statements have run, none. Also: a test database's guard drops
//! it, also when the test fails.

mod common;

use std::collections::BTreeSet;

use common::database::{Server, TestDatabase, database_exists};
use common::product::{Engine, ProductDb};
use rightsdesk::connectors::datamap;
use rightsdesk::connectors::{Identity, IndexAdvice, SqlConnector};
use serde_json::Value;

/// The schema, per engine. Indexed: customers' identity match, order_items by the first
/// column of their key, tickets.customer_id (first of two), visits' via and age columns,
/// sessions' via column, newsletter.email (a plain index, which only a case-blind
/// collation's search can use). Not indexed: customers.address_id (counted), orders'
/// via column (only a partial index where the engine has them) and age column, tickets'
/// age column (second in its index), sessions' age column (on SQLite a date, which no
/// index on the column serves).
fn schema(engine: Engine) -> String {
    let (ts, age) = match engine {
        Engine::Postgres => ("TIMESTAMP", "TIMESTAMP"),
        Engine::MySql => ("DATETIME", "DATETIME"),
        // Unix seconds: SQLite compares an integer age column as it is.
        Engine::Sqlite => ("TIMESTAMP", "INTEGER"),
    };
    let email_index = match engine {
        Engine::MySql => "CREATE INDEX customers_email ON customers (email);",
        _ => "CREATE INDEX customers_email_lower ON customers (lower(email));",
    };
    let partial = match engine {
        Engine::MySql => "",
        _ => "CREATE INDEX orders_recent_customer ON orders (customer_id) WHERE id > 1000;",
    };
    let opts = match engine {
        Engine::MySql => " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        _ => "",
    };
    // Under a code-point collation (the database's `C.UTF-8`) a PostgreSQL plain index
    // serves the match (searched by ranges); a linguistic one needs `lower(email)`.
    let linguistic = match engine {
        Engine::Postgres => " COLLATE \"und-x-icu\"",
        _ => "",
    };
    format!(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(254) NOT NULL, address_id INTEGER){opts};
         {email_index}
         CREATE TABLE addresses (id INTEGER PRIMARY KEY, street VARCHAR(200)){opts};
         CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, created_at {age}){opts};
         {partial}
         CREATE TABLE order_items (order_id INTEGER NOT NULL, line_no INTEGER NOT NULL,
             sku VARCHAR(40), PRIMARY KEY (order_id, line_no)){opts};
         CREATE TABLE tickets (id INTEGER PRIMARY KEY, customer_id INTEGER, opened_at {age}){opts};
         CREATE INDEX tickets_customer_opened ON tickets (customer_id, opened_at);
         CREATE TABLE visits (id INTEGER PRIMARY KEY, customer_id INTEGER, seen_at {age}){opts};
         CREATE INDEX visits_customer ON visits (customer_id);
         CREATE INDEX visits_seen ON visits (seen_at);
         CREATE TABLE sessions (id INTEGER PRIMARY KEY, customer_id INTEGER, started_at {ts}){opts};
         CREATE INDEX sessions_customer ON sessions (customer_id);
         CREATE TABLE newsletter (id INTEGER PRIMARY KEY, email VARCHAR(254){linguistic}){opts};
         CREATE INDEX newsletter_email ON newsletter (email);"
    )
}

/// Rows: 3 customers, 2 addresses, 5 orders, 7 order items, 4 tickets, 6 visits,
/// 2 sessions, 3 newsletter subscriptions.
fn rows(engine: Engine) -> String {
    let (old, new) = match engine {
        Engine::Sqlite => ("1600000000", "1790000000"),
        _ => ("'2020-09-13 12:26:40'", "'2026-09-21 12:53:20'"),
    };
    let session = "'2020-09-13 12:26:40'";
    format!(
        "INSERT INTO addresses (id, street) VALUES (1, 'Main St 1'), (2, 'Side St 2');
         INSERT INTO customers (id, email, address_id) VALUES
             (1, 'ada@example.com', 1), (2, 'bob@example.com', 1), (3, 'cy@example.com', 2);
         INSERT INTO orders (id, customer_id, created_at) VALUES
             (1, 1, {old}), (2, 1, {new}), (3, 2, {old}), (4, 3, {new}), (5, 3, {new});
         INSERT INTO order_items (order_id, line_no, sku) VALUES
             (1, 1, 'a'), (1, 2, 'b'), (2, 1, 'c'), (3, 1, 'd'), (4, 1, 'e'), (5, 1, 'f'), (5, 2, 'g');
         INSERT INTO tickets (id, customer_id, opened_at) VALUES
             (1, 1, {old}), (2, 2, {new}), (3, 3, {old}), (4, 3, {new});
         INSERT INTO visits (id, customer_id, seen_at) VALUES
             (1, 1, {old}), (2, 1, {new}), (3, 2, {new}), (4, 2, {old}), (5, 3, {new}), (6, 3, {new});
         INSERT INTO sessions (id, customer_id, started_at) VALUES (1, 1, {session}), (2, 3, {session});
         INSERT INTO newsletter (id, email) VALUES
             (1, 'ada@example.com'), (2, 'dee@example.com'), (3, 'eve@example.com');"
    )
}

const DATAMAP: &str = r#"
name = "shop"
kind = "KIND"
url = "${RIGHTSDESK_DM_SHOP_URL}"

[[tables]]
name = "customers"
primary_key = "id"
identities = { email = "email" }
erase = "delete"

[[tables]]
name = "addresses"
primary_key = "id"
via = { id = "customers.address_id" }
erase = "delete"

[[tables]]
name = "orders"
primary_key = "id"
via = { customer_id = "customers.id" }
erase = "delete"

[[tables]]
name = "order_items"
primary_key = ["order_id", "line_no"]
via = { order_id = "orders.id" }
erase = "delete"

[[tables]]
name = "tickets"
primary_key = "id"
via = { customer_id = "customers.id" }
erase = "delete"

[[tables]]
name = "visits"
primary_key = "id"
via = { customer_id = "customers.id" }
erase = "delete"

[[tables]]
name = "sessions"
primary_key = "id"
via = { customer_id = "customers.id" }
erase = "delete"

[[tables]]
name = "newsletter"
primary_key = "id"
identities = { email = "email" }
erase = "delete"

[[retention]]
name = "old-orders"
table = "orders"
age_column = "created_at"
max_age = "24 months"
action = "delete"
batch_size = 100

[[retention]]
name = "old-tickets"
table = "tickets"
age_column = "opened_at"
max_age = "24 months"
action = "delete"
batch_size = 100

[[retention]]
name = "old-visits"
table = "visits"
age_column = "seen_at"
max_age = "24 months"
action = "delete"
batch_size = 100

[[retention]]
name = "old-sessions"
table = "sessions"
age_column = "started_at"
max_age = "24 months"
action = "delete"
batch_size = 100
"#;

fn datamap_text(db: &ProductDb) -> String {
    DATAMAP
        .replace("KIND", db.engine.kind())
        .replace("${RIGHTSDESK_DM_SHOP_URL}", &db.url)
}

fn connector(db: &ProductDb) -> SqlConnector {
    let decl = datamap::parse_str("datamap/shop.toml", &datamap_text(db))
        .unwrap_or_else(|p| panic!("data map is valid: {p:?}"));
    SqlConnector::connect(decl).expect("connector")
}

/// The fixture on a fresh database, with statistics gathered where the engine keeps them.
async fn fixture(engine: Engine) -> Option<ProductDb> {
    let db = ProductDb::fresh(engine, "rd_advice").await?;
    db.exec(&schema(engine)).await;
    db.exec(&rows(engine)).await;
    match engine {
        Engine::Postgres => db.exec("ANALYZE").await,
        Engine::MySql => {
            db.exec(
                "ANALYZE TABLE customers, addresses, orders, order_items, tickets, visits, \
                 sessions, newsletter",
            )
            .await
        }
        Engine::Sqlite => {}
    }
    Some(db)
}

/// `(table, what is compared, uses)` of each piece of advice.
fn advised(advice: &[IndexAdvice]) -> BTreeSet<(String, String, String)> {
    advice
        .iter()
        .map(|a| {
            let uses = serde_json::to_value(&a.uses).expect("uses");
            (a.table.clone(), a.compares.clone(), uses.to_string())
        })
        .collect()
}

fn expected(engine: Engine) -> BTreeSet<(String, String, String)> {
    let mut want = vec![
        ("customers", "address_id", r#"["reference_count"]"#),
        ("orders", "customer_id", r#"["via"]"#),
        ("orders", "created_at", r#"["retention_age"]"#),
        ("tickets", "opened_at", r#"["retention_age"]"#),
    ];
    match engine {
        // Under the linguistic collation the match is `lower(email)`: a plain index
        // does not serve it.
        Engine::Postgres => {
            want.push(("newsletter", "lower(email)", r#"["identity"]"#));
            want.push(("sessions", "started_at", r#"["retention_age"]"#));
        }
        // A SQLite date is compared through an expression no index serves: not advised.
        Engine::Sqlite => want.push(("newsletter", "lower(email)", r#"["identity"]"#)),
        // MariaDB's default collation is case-blind: the plain email indexes serve.
        Engine::MySql => want.push(("sessions", "started_at", r#"["retention_age"]"#)),
    }
    want.into_iter()
        .map(|(t, c, u)| (t.to_string(), c.to_string(), u.to_string()))
        .collect()
}

/// Rows per table as inserted by [`rows`].
fn row_count(table: &str) -> u64 {
    match table {
        "customers" | "newsletter" => 3,
        "orders" => 5,
        "tickets" => 4,
        "sessions" => 2,
        other => panic!("no count for {other}"),
    }
}

async fn advises_exactly_the_missing_indexes(engine: Engine) {
    let Some(db) = fixture(engine).await else {
        return;
    };
    let shop = connector(&db);
    let advice = shop.index_advisor().await.expect("advice");
    assert_eq!(advised(&advice), expected(engine), "{advice:#?}");
    for a in &advice {
        let form = match engine {
            Engine::Postgres => "CREATE INDEX CONCURRENTLY ",
            Engine::Sqlite => "CREATE INDEX IF NOT EXISTS ",
            Engine::MySql => "CREATE INDEX ",
        };
        assert!(a.statement.starts_with(form), "{a:?}");
        // PostgreSQL and MariaDB after ANALYZE, SQLite by counting: the real row count
        // (InnoDB's figure is an estimate, so only its presence is checked there).
        match engine {
            Engine::MySql => assert!(a.rows.is_some(), "{a:?}"),
            _ => assert_eq!(a.rows, Some(row_count(&a.table)), "{a:?}"),
        }
        let line = a.to_string();
        assert!(
            line.contains(&format!("\"{}.{}\"", a.table, a.column)),
            "{line}"
        );
        assert!(line.ends_with(&a.statement), "{line}");
    }

    // The advised statements, run as printed, leave nothing to advise.
    for a in &advice {
        db.exec(&a.statement).await;
    }
    let after = shop.index_advisor().await.expect("advice");
    assert!(after.is_empty(), "{after:#?}");

    // And the engine still finds the same rows (a fresh one, as after a restart).
    let fresh = connector(&db);
    let found = fresh
        .access(&Identity::from_email("ADA@example.com"))
        .await
        .expect("access");
    let count = |t: &str| {
        found
            .tables
            .iter()
            .find(|x| x.table == t)
            .map_or(0, |x| x.rows.len())
    };
    assert_eq!(
        (
            count("customers"),
            count("orders"),
            count("order_items"),
            count("newsletter")
        ),
        (1, 2, 3, 1)
    );
    db.finish(&[&shop, &fresh]).await;
}

mod advises_exactly_the_missing_indexes {
    use super::*;
    #[tokio::test]
    async fn sqlite() {
        super::advises_exactly_the_missing_indexes(Engine::Sqlite).await
    }
    #[tokio::test]
    async fn postgres() {
        super::advises_exactly_the_missing_indexes(Engine::Postgres).await
    }
    #[tokio::test]
    async fn mariadb() {
        super::advises_exactly_the_missing_indexes(Engine::MySql).await
    }
}

fn run_check(dir: &std::path::Path, json: bool) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_rightsdesk"));
    cmd.arg("check");
    if json {
        cmd.arg("--json");
    }
    cmd.current_dir(dir)
        .env_remove("RIGHTSDESK_SECRET_KEY")
        .env_remove("RIGHTSDESK_CONFIG")
        .env_remove("RIGHTSDESK_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run rightsdesk")
}

/// `rightsdesk check` prints the advice (and still passes); `--json` gives it to scripts
/// as structured data, the same set the engine computes.
async fn cli_check_prints_the_advice_and_json_for_scripts(engine: Engine) {
    let Some(db) = fixture(engine).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("datamap")).unwrap();
    std::fs::write(dir.path().join("datamap/shop.toml"), datamap_text(&db)).unwrap();

    let out = run_check(dir.path(), false);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let advice_lines: Vec<&str> = text.lines().filter(|l| l.contains("advice: ")).collect();
    assert_eq!(advice_lines.len(), expected(engine).len(), "{text}");
    assert!(
        text.contains("reference-count column \"customers.address_id\" has no index"),
        "{text}"
    );

    let out = run_check(dir.path(), true);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["ok"], true, "{v:#}");
    let c = &v["connectors"][0];
    assert_eq!(c["name"], "shop");
    let indexes: Vec<IndexAdvice> =
        serde_json::from_value(c["indexes"].clone()).expect("indexes as IndexAdvice");
    assert_eq!(advised(&indexes), expected(engine), "{v:#}");
    let statements: BTreeSet<String> = indexes.iter().map(|i| i.statement.clone()).collect();
    let shop = connector(&db);
    let engine_statements: BTreeSet<String> = shop
        .index_advisor()
        .await
        .expect("advice")
        .into_iter()
        .map(|a| a.statement)
        .collect();
    assert_eq!(statements, engine_statements);
    db.finish(&[&shop]).await;
}

mod cli_check_prints_the_advice_and_json_for_scripts {
    use super::*;
    #[tokio::test]
    async fn sqlite() {
        super::cli_check_prints_the_advice_and_json_for_scripts(Engine::Sqlite).await
    }
    #[tokio::test]
    async fn postgres() {
        super::cli_check_prints_the_advice_and_json_for_scripts(Engine::Postgres).await
    }
}

/// A test database's guard drops it: when the guard goes away normally, and when the
/// test holding it panics with a connection still open.
async fn guard_drops_the_database(server: Server) {
    let var = match server {
        Server::Postgres => "RIGHTSDESK_TEST_POSTGRES_URL",
        Server::MySql => "RIGHTSDESK_TEST_MYSQL_URL",
    };
    let Some(base) = common::service_url(var) else {
        return;
    };
    let db = TestDatabase::create(server, &base, "rd_guard").await;
    let name = db.name().to_string();
    assert!(database_exists(server, &base, &name).await);
    drop(db);
    assert!(!database_exists(server, &base, &name).await, "{name} left");

    // A failing test: the guard is dropped while unwinding, inside the test's runtime,
    // with a pool still connected to the database.
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let url = base.clone();
    let failed = tokio::spawn(async move {
        let db = TestDatabase::create(server, &url, "rd_guard").await;
        let _ = tx.send(db.name().to_string());
        let _open: Box<dyn std::any::Any + Send> = match server {
            Server::Postgres => Box::new(sqlx::PgPool::connect(&db.url).await.expect("pool")),
            Server::MySql => Box::new(sqlx::MySqlPool::connect(&db.url).await.expect("pool")),
        };
        panic!("the test fails while its database is in use");
    })
    .await;
    assert!(failed.is_err_and(|e| e.is_panic()));
    let name = rx.await.expect("name");
    assert!(!database_exists(server, &base, &name).await, "{name} left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guard_drops_the_postgres_database_also_on_panic() {
    guard_drops_the_database(Server::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guard_drops_the_mariadb_database_also_on_panic() {
    guard_drops_the_database(Server::MySql).await
}

/// The spawned app's PostgreSQL database outlives `stop()` as long as what it returns,
/// and is gone after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_app_keeps_its_database_until_dropped() {
    let Some(app) = common::spawn_app(common::Backend::Postgres).await else {
        return;
    };
    let base = common::postgres_url().expect("url");
    let url = app.database_url.clone();
    let name = url
        .rsplit('/')
        .next()
        .and_then(|s| s.split('?').next())
        .expect("name")
        .to_string();
    let stopped = app.stop().await;
    assert!(stopped.path().exists());
    assert!(database_exists(Server::Postgres, &base, &name).await);
    drop(stopped);
    assert!(!database_exists(Server::Postgres, &base, &name).await);
}
