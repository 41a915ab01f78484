//! How the SQL connector stores and reads what product databases hold, on real servers
//! (SQLite per test file, PostgreSQL `RIGHTSDESK_TEST_POSTGRES_URL`, MariaDB/MySQL
//! `RIGHTSDESK_TEST_MYSQL_URL`, a fresh database each):
//!
//! - text with a binary collation is text (masked, exported as text); binary columns
//!   export as base64 and can only be nulled;
//! - DESIGN's customers (`delete`) / orders (`anonymize` via `customer_id`) with foreign
//!   keys enforced: the kept orders' reference is nulled, and the preview says so; a NOT
//!   NULL reference is refused with what to declare;
//! - a constraint the data map does not know fails the erasure at once, naming the
//!   connector, table and constraint, without the row's values;
//! - SQLite dates stored as TEXT, INTEGER Unix seconds and REAL Julian days in retention
//!   ages and exports; a value that is not a date is reported and its row kept.

mod common;

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use rightsdesk::connectors::datamap::{self, ConnectorDecl};
use rightsdesk::connectors::sql::{HeldRows, PurgeCursor};
use rightsdesk::connectors::{
    ConnectorError, EraseAction, Identity, Mask, SqlConnector, check_catalog,
};
use rightsdesk::domain::staff::Role;
use serde_json::{Value, json};
use sha2::Sha256;

fn hasher(value: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"test-deployment-key").expect("key");
    mac.update(value.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn ada() -> Identity {
    Identity::from_email("ada@example.com")
}

use common::product::{Engine, ProductDb as Db};

impl Db {
    /// A fresh, empty database, or `None` when the engine's service is not configured.
    async fn empty(engine: Engine) -> Option<Self> {
        Self::fresh(engine, "rd_store").await
    }

    /// A text cast in this engine's SQL.
    fn text(&self, expr: &str) -> String {
        match self.engine {
            Engine::MySql => format!("CAST({expr} AS CHAR)"),
            _ => format!("CAST({expr} AS TEXT)"),
        }
    }

    fn decl(&self, text: &str) -> ConnectorDecl {
        let text = text.replace(
            "kind = \"sqlite\"",
            &format!("kind = \"{}\"", self.engine.kind()),
        );
        let url = self.url.clone();
        datamap::parse_str_with_env("datamap/shop.toml", &text, &|_| Some(url.clone()))
            .unwrap_or_else(|p| panic!("data map parses: {p:?}"))
    }

    fn connector(&self, text: &str) -> SqlConnector {
        SqlConnector::connect(self.decl(text)).expect("connector")
    }
}

macro_rules! on_every_engine {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            use super::*;
            #[tokio::test]
            async fn sqlite() {
                super::$scenario(Engine::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                super::$scenario(Engine::Postgres).await
            }
            #[tokio::test]
            async fn mariadb() {
                super::$scenario(Engine::MySql).await
            }
        }
    )*};
}

on_every_engine!(
    kept_rows_referencing_deleted_rows_are_nulled,
    a_not_null_reference_to_a_deleted_table_is_refused,
    a_constraint_the_data_map_does_not_know_fails_once_and_names_it,
    binary_columns_can_only_be_nulled,
    a_declared_date_type_is_for_sqlite_columns,
);

// ---------------------------------------------------------------------------------------
// DESIGN's customers / orders, with foreign keys enforced.

/// customers -> orders (kept, anonymized) and invoices (retained), foreign keys declared
/// at table level (InnoDB ignores inline REFERENCES).
fn shop_schema(orders_customer: &str) -> String {
    format!(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(254) NOT NULL, \
             name VARCHAR(100));
         CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER {orders_customer}, \
             shipping_address VARCHAR(200), total INTEGER NOT NULL, \
             CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id));
         CREATE TABLE invoices (id INTEGER PRIMARY KEY, customer_id INTEGER, \
             amount INTEGER NOT NULL, \
             CONSTRAINT invoices_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id));
         INSERT INTO customers (id, email, name) VALUES (1, 'ada@example.com', 'Ada'), \
             (2, 'bob@example.com', 'Bob');
         INSERT INTO orders (id, customer_id, shipping_address, total) VALUES \
             (10, 1, '1 Analytical Lane', 100), (11, 1, '1 Analytical Lane', 50), \
             (12, 2, '2 Difference Road', 70);
         INSERT INTO invoices (id, customer_id, amount) VALUES (20, 1, 100), (21, 2, 70);"
    )
}

const DESIGN_MAP: &str = r#"
name = "app"
kind = "sqlite"
url = "${RIGHTSDESK_DM_APP_URL}"

[[tables]]
name = "customers"
primary_key = "id"
identities = { email = "email" }
erase = "delete"
[tables.fields]
email = { category = "contact.email", mask = "hash" }
name = { category = "name", rectify = true }

[[tables]]
name = "orders"
primary_key = "id"
via = { customer_id = "customers.id" }
erase = "anonymize"
retain_reason = "Invoices are kept 10 years under tax law"
[tables.fields]
shipping_address = { category = "contact.address", mask = "null" }

[[tables]]
name = "invoices"
primary_key = "id"
via = { customer_id = "customers.id" }
erase = "retain"
retain_reason = "Invoices are kept 10 years under tax law"
"#;

async fn kept_rows_referencing_deleted_rows_are_nulled(engine: Engine) {
    let Some(db) = Db::empty(engine).await else {
        return;
    };
    db.exec(&shop_schema("NULL")).await;
    let app = db.connector(DESIGN_MAP);

    // `check` passes and says what the erasure will do to the references.
    let found = app.check_connector(Utc::now()).await.expect("check runs");
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    assert_eq!(found.notes.len(), 2, "{:?}", found.notes);
    assert!(
        found.notes[0].contains("\"orders\"")
            && found.notes[0].contains("\"orders.customer_id\" to NULL"),
        "{:?}",
        found.notes
    );
    assert!(found.notes[1].contains("\"invoices\""), "{:?}", found.notes);

    // The preview says the reference is nulled, in both kept tables.
    let preview = app.preview_erasure(&ada()).await.expect("preview");
    let table = |name: &str| {
        preview
            .tables
            .iter()
            .find(|t| t.table == name)
            .unwrap_or_else(|| panic!("{name} previewed"))
    };
    assert_eq!(
        (table("customers").action, table("customers").rows),
        (EraseAction::Delete, 1)
    );
    let orders = table("orders");
    assert_eq!((orders.action, orders.rows), (EraseAction::Anonymize, 2));
    assert_eq!(orders.implied_null, ["customer_id"]);
    assert_eq!(orders.fields.get("customer_id"), Some(&Mask::Null));
    assert_eq!(orders.fields.get("shipping_address"), Some(&Mask::Null));
    let invoices = table("invoices");
    assert_eq!((invoices.action, invoices.rows), (EraseAction::Retain, 1));
    assert_eq!(invoices.implied_null, ["customer_id"]);
    let shown = serde_json::to_value(&preview).expect("preview JSON");
    assert_eq!(shown["tables"][1]["implied_null"], json!(["customer_id"]));
    assert_eq!(
        db.texts("SELECT id FROM customers WHERE id = 1")
            .await
            .len(),
        1,
        "the preview changes nothing"
    );

    // The erasure completes: the customer is gone, the kept rows reference nothing.
    let evidence = app.erase(&ada(), &hasher).await.expect("erasure succeeds");
    assert!(evidence.is_complete(), "{evidence:?}");
    let ev = |name: &str| {
        evidence
            .tables
            .iter()
            .find(|t| t.table == name)
            .unwrap_or_else(|| panic!("{name} in evidence"))
    };
    assert_eq!(ev("customers").rows_affected, 1);
    assert_eq!(ev("orders").rows_affected, 2);
    assert_eq!(ev("orders").implied_null, ["customer_id"]);
    assert_eq!(ev("invoices").rows_affected, 1);
    assert_eq!(ev("invoices").implied_null, ["customer_id"]);

    let cid = db.text("customer_id");
    let total = db.text("total");
    assert!(
        db.texts("SELECT id FROM customers WHERE id = 1")
            .await
            .is_empty()
    );
    assert_eq!(
        db.texts(&format!(
            "SELECT {}, {cid}, {}, {total} FROM orders ORDER BY id",
            db.text("id"),
            db.text("shipping_address")
        ))
        .await,
        [
            ["10", "NULL", "NULL", "100"],
            ["11", "NULL", "NULL", "50"],
            ["12", "2", "2 Difference Road", "70"],
        ]
    );
    assert_eq!(
        db.texts(&format!(
            "SELECT {}, {cid}, {} FROM invoices ORDER BY id",
            db.text("id"),
            db.text("amount")
        ))
        .await,
        [["20", "NULL", "100"], ["21", "2", "70"]]
    );
    // Bob is untouched.
    assert_eq!(
        db.texts("SELECT email FROM customers").await,
        [["bob@example.com"]]
    );
    db.finish(&[&app]).await;
}

async fn a_not_null_reference_to_a_deleted_table_is_refused(engine: Engine) {
    let Some(db) = Db::empty(engine).await else {
        return;
    };
    db.exec(&shop_schema("NOT NULL")).await;
    let app = db.connector(DESIGN_MAP);
    let want = "declare erase = \"delete\" for table \"orders\", or erase = \"anonymize\" \
                for table \"customers\", or allow NULL in \"orders.customer_id\"";

    let problems = check_catalog(app.decl(), app.pool()).await.expect("check");
    let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(problems[0].key, "tables[1].via.customer_id");
    assert!(shown[0].contains(want), "{}", shown[0]);
    let found = app.check_connector(Utc::now()).await.expect("check");
    assert_eq!(found.problems.len(), 1, "{:?}", found.problems);

    let e = app
        .preview_erasure(&ada())
        .await
        .expect_err("the preview refuses");
    assert!(e.to_string().contains(want), "{e}");
    let e = app.erase(&ada(), &hasher).await.expect_err("refused");
    assert!(matches!(e, ConnectorError::Failed { .. }), "{e:?}");
    assert!(e.to_string().contains(want), "{e}");
    // Nothing changed.
    assert_eq!(db.texts("SELECT email FROM customers").await.len(), 2);
    assert_eq!(
        db.texts("SELECT id FROM orders WHERE shipping_address IS NULL")
            .await
            .len(),
        0
    );
    db.finish(&[&app]).await;
}

// ---------------------------------------------------------------------------------------
// Database errors.

const TICKETS: &str =
    "CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(254) NOT NULL);
     CREATE TABLE tickets (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, \
         CONSTRAINT tickets_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id));
     INSERT INTO customers (id, email) VALUES (1, 'ada@example.com');
     INSERT INTO tickets (id, customer_id) VALUES (7, 1);";

/// `tickets` is not in the data map: the database refuses the customer's delete.
const CUSTOMERS_ONLY: &str = r#"
name = "shop"
kind = "sqlite"
url = "${RIGHTSDESK_DM_SHOP_URL}"

[[tables]]
name = "customers"
primary_key = "id"
identities = { email = "email" }
erase = "delete"
"#;

async fn a_constraint_the_data_map_does_not_know_fails_once_and_names_it(engine: Engine) {
    let Some(db) = Db::empty(engine).await else {
        return;
    };
    db.exec(TICKETS).await;
    let shop = db.connector(CUSTOMERS_ONLY);
    let e = shop.erase(&ada(), &hasher).await.expect_err("refused");
    assert!(
        matches!(e, ConnectorError::DatabaseRefused { .. }),
        "a constraint is not retried: {e:?}"
    );
    let message = e.to_string();
    assert!(message.starts_with("connector \"shop\": "), "{message}");
    assert!(message.contains("table \"customers\""), "{message}");
    assert!(message.contains("foreign key"), "{message}");
    assert!(message.contains("not retried"), "{message}");
    assert!(
        message.contains("tables whose foreign keys reference \"customers\": \"tickets\""),
        "{message}"
    );
    match engine {
        // SQLite does not name the constraint; its own message is kept.
        Engine::Sqlite => assert!(
            message.contains("FOREIGN KEY constraint failed"),
            "{message}"
        ),
        Engine::Postgres | Engine::MySql => {
            assert!(message.contains("tickets_customer_fk"), "{message}")
        }
    }
    // The database's message is kept, its details (PostgreSQL's "Key (id)=(1)") are not.
    assert!(!message.contains("ada@example.com"), "{message}");
    assert!(!message.contains("Key ("), "{message}");
    assert_eq!(db.texts("SELECT id FROM customers").await.len(), 1);
    db.finish(&[&shop]).await;
}

/// The app on SQLite with a SQLite product database built from `schema` and the data
/// map `map` (its `${..}` URL pointing at that database).
async fn app_with_product(
    schema: &str,
    map: &str,
) -> (common::TestApp, sqlx::SqlitePool, tempfile::TempDir) {
    let product = tempfile::tempdir().expect("tempdir");
    let path = product.path().join("shop.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let pool = sqlx::SqlitePool::connect(&url).await.expect("product db");
    sqlx::raw_sql(sqlx::AssertSqlSafe(schema.to_string()))
        .execute(&pool)
        .await
        .expect("schema");
    let datamap = product.path().join("datamap");
    std::fs::create_dir_all(&datamap).expect("datamap dir");
    let map = map
        .replace(
            "${RIGHTSDESK_DM_SHOP_URL}",
            &format!("sqlite://{}", path.display()),
        )
        .replace(
            "${RIGHTSDESK_DM_APP_URL}",
            &format!("sqlite://{}", path.display()),
        );
    std::fs::write(datamap.join("shop.toml"), map).expect("datamap");
    let opts = common::Options::datamap(datamap);
    let app = common::spawn_app_with(common::Backend::Sqlite, opts)
        .await
        .expect("a SQLite app");
    (app, pool, product)
}

/// Through the service: the task fails at its first attempt with the named constraint.
#[tokio::test]
async fn a_refused_erasure_task_fails_without_retrying() {
    let (app, pool, _product) = app_with_product(TICKETS, CUSTOMERS_ONLY).await;
    let agent = app.token(Role::Agent).await;
    let reference =
        common::product::create_and_start(&app, &agent, "erasure", "ada@example.com").await;
    let v = common::product::wait_for_status(&app, &agent, &reference, "review").await;
    let task = &v["tasks"][0];
    assert_eq!(task["status"], "failed", "{v}");
    assert_eq!(task["attempts"], 1, "not retried: {v}");
    let error = task["error"].as_str().expect("an error");
    assert!(
        error.contains("connector \"shop\"")
            && error.contains("table \"customers\"")
            && error.contains("FOREIGN KEY constraint failed"),
        "{error}"
    );
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(left, 1, "nothing was deleted");
    pool.close().await;
    drop(app);
}

/// Through the service: the staff preview shows the implied null, the erasure task
/// succeeds with it in its evidence, and the kept order no longer references anyone.
#[tokio::test]
async fn the_preview_and_the_evidence_show_the_nulled_reference() {
    let (app, pool, _product) = app_with_product(&shop_schema("NULL"), DESIGN_MAP).await;
    let agent = app.token(Role::Agent).await;
    let reference =
        common::product::create_and_start(&app, &agent, "erasure", "ada@example.com").await;
    let v = common::product::wait_for_status(&app, &agent, &reference, "review").await;
    let task = &v["tasks"][0];
    assert_eq!(task["status"], "succeeded", "{v}");
    let evidence = task.to_string();
    assert!(
        evidence.contains("\"implied_null\":[\"customer_id\"]"),
        "{v}"
    );
    let orders: Vec<(i64, Option<i64>)> =
        sqlx::query_as("SELECT id, customer_id FROM orders ORDER BY id")
            .fetch_all(&pool)
            .await
            .expect("orders");
    assert_eq!(orders, [(10, None), (11, None), (12, Some(2))]);

    // A second subject, previewed before anything runs.
    let body = json!({"kind": "erasure", "email": "bob@example.com",
                      "verification_note": "checked in person"});
    let (status, v) = common::json(app.post_json(&agent, "/api/v1/requests", &body).await).await;
    assert_eq!(status, 201, "{v}");
    let bob = v["reference"].as_str().expect("reference");
    let (status, preview) = common::json(
        app.get(&agent, &format!("/api/v1/requests/{bob}/preview"))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    let tables = &preview["connectors"][0]["tables"];
    assert_eq!(tables[1]["table"], "orders", "{preview}");
    assert_eq!(tables[1]["fields"]["customer_id"], "null", "{preview}");
    assert_eq!(
        tables[1]["implied_null"],
        json!(["customer_id"]),
        "{preview}"
    );
    assert_eq!(tables[2]["table"], "invoices", "{preview}");
    assert_eq!(
        tables[2]["implied_null"],
        json!(["customer_id"]),
        "{preview}"
    );
    pool.close().await;
    drop(app);
}

// ---------------------------------------------------------------------------------------
// Binary text and binary columns.

/// MariaDB: text columns with binary collations (`utf8mb4_bin`, `VARCHAR .. BINARY`)
/// beside a genuinely binary one.
const MEMBERS_MYSQL: &str = "CREATE TABLE members (
    id INT PRIMARY KEY,
    email VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    handle VARCHAR(64) BINARY,
    bio TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
    avatar VARBINARY(16),
    KEY members_email (email)
) ENGINE = InnoDB;
INSERT INTO members VALUES (1, 'ada@example.com', 'AdaL', 'Countess ✓', X'0102FF'),
    (2, 'bob@example.com', 'Bob', 'b', NULL);";

const MEMBERS_MAP: &str = r#"
name = "club"
kind = "mysql"
url = "${RIGHTSDESK_DM_CLUB_URL}"

[[tables]]
name = "members"
primary_key = "id"
identities = { email = "email" }
erase = "anonymize"
retain_reason = "Membership records are kept for the club's accounts"
[tables.fields]
email = { category = "contact.email", mask = "hash" }
handle = { category = "name", mask = "hash" }
bio = { category = "free_text", mask = "redact" }
avatar = { category = "photo", mask = "null" }
"#;

#[tokio::test]
async fn binary_collation_text_is_masked_and_exported_as_text_on_mariadb() {
    let Some(db) = Db::empty(Engine::MySql).await else {
        return;
    };
    db.exec(MEMBERS_MYSQL).await;
    let club = db.connector(MEMBERS_MAP);
    let problems = check_catalog(club.decl(), club.pool())
        .await
        .expect("check");
    assert!(problems.is_empty(), "{problems:?}");

    let access = club.access(&ada()).await.expect("access");
    assert_eq!(
        Value::Object(access.tables[0].rows[0].clone()),
        json!({"id": 1, "email": "ada@example.com", "handle": "AdaL", "bio": "Countess ✓",
               "avatar": "AQL/"}),
        "binary-collation text is text; a binary column is base64"
    );

    let evidence = club.erase(&ada(), &hasher).await.expect("erasure");
    assert!(evidence.is_complete(), "{evidence:?}");
    assert_eq!(evidence.tables[0].rows_affected, 1);
    assert_eq!(
        db.texts("SELECT email, handle, bio, HEX(avatar) FROM members ORDER BY id")
            .await,
        [
            vec![
                hasher("ada@example.com"),
                hasher("AdaL"),
                "[erased]".into(),
                "NULL".into()
            ],
            vec![
                "bob@example.com".into(),
                "Bob".into(),
                "b".into(),
                "NULL".into()
            ],
        ]
    );
    // Running it again finds nothing left to mask.
    let again = club.erase(&ada(), &hasher).await.expect("second erasure");
    assert!(again.is_complete());
    assert_eq!(again.tables[0].rows_affected, 0);
    db.finish(&[&club]).await;
}

async fn binary_columns_can_only_be_nulled(engine: Engine) {
    let Some(db) = Db::empty(engine).await else {
        return;
    };
    let blob = match engine {
        Engine::Sqlite => "BLOB",
        Engine::Postgres => "BYTEA",
        Engine::MySql => "VARBINARY(16)",
    };
    db.exec(&format!(
        "CREATE TABLE members (id INTEGER PRIMARY KEY, email VARCHAR(254) NOT NULL, \
         avatar {blob}, photo {blob})"
    ))
    .await;
    let map = MEMBERS_MAP
        .replace("kind = \"mysql\"", "kind = \"sqlite\"")
        .replace("handle = { category = \"name\", mask = \"hash\" }\n", "")
        .replace(
            "bio = { category = \"free_text\", mask = \"redact\" }\n",
            "",
        )
        .replace(
            "avatar = { category = \"photo\", mask = \"null\" }",
            "avatar = { category = \"photo\", mask = \"redact\" }\n\
             photo = { category = \"photo\", mask = \"null\" }",
        );
    let club = db.connector(&map);
    let problems = check_catalog(club.decl(), club.pool())
        .await
        .expect("check");
    let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown.len(),
        1,
        "only the redact mask on a binary column: {shown:?}"
    );
    assert_eq!(problems[0].key, "tables[0].fields.avatar.mask");
    assert!(
        shown[0].contains("binary column") && shown[0].contains("mask = \"null\""),
        "{}",
        shown[0]
    );
    db.finish(&[&club]).await;
}

// ---------------------------------------------------------------------------------------
// SQLite dates.

/// Visits whose `seen` (declared TEXT) holds SQLite's text forms (ISO 8601 with `T` and
/// a zone, `YYYY-MM-DD HH:MM:SS[.SSS]`, a date alone), a value that is not a date and a
/// NULL; `pings.at` (declared DATETIME) holds INTEGER Unix seconds (and a whole Julian
/// day, which DATETIME's affinity stores as an INTEGER: ambiguous, so not a date) and
/// `beats.at` (REAL,
/// declared `type = "timestamp"` in the data map) Julian days. (A TEXT column turns a
/// number into text, so numbers live in columns of other affinities.)
const VISITS: &str = "
CREATE TABLE visits (id INTEGER PRIMARY KEY, email TEXT NOT NULL, seen TEXT);
INSERT INTO visits (id, email, seen) VALUES
    (1, 'ada@example.com', '2020-01-01 10:00:00'),
    (2, 'bob@example.com', '2020-01-01T10:00:00Z'),
    (3, 'bob@example.com', '2020-01-01 12:00:00.123+02:00'),
    (4, 'bob@example.com', '2020-01-01'),
    (5, 'bob@example.com', '2025-11-30 23:59:59'),
    (6, 'ada@example.com', '2026-06-01 08:30:00.250'),
    (7, 'bob@example.com', '2026-06-01T08:00:00Z'),
    (8, 'bob@example.com', '2025-12-01 00:00:01'),
    (9, 'bob@example.com', 'last tuesday'),
    (10, 'bob@example.com', NULL);
CREATE TABLE pings (id INTEGER PRIMARY KEY, email TEXT NOT NULL, at DATETIME NOT NULL);
INSERT INTO pings VALUES (1, 'ada@example.com', 1577872800), (2, 'ada@example.com', 1780300800),
    (3, 'bob@example.com', 2458850.0);
CREATE TABLE beats (id INTEGER PRIMARY KEY, email TEXT NOT NULL, at REAL NOT NULL);
INSERT INTO beats VALUES (1, 'ada@example.com', 2458850.0), (2, 'ada@example.com', 2461192.5);
";

const VISITS_MAP: &str = r#"
name = "site"
kind = "sqlite"
url = "${RIGHTSDESK_DM_SITE_URL}"

[[tables]]
name = "visits"
primary_key = "id"
identities = { email = "email" }
erase = "delete"
[tables.fields]
seen = { category = "activity.visit_time", type = "timestamp" }

[[tables]]
name = "pings"
primary_key = "id"
identities = { email = "email" }
erase = "delete"

[[tables]]
name = "beats"
primary_key = "id"
identities = { email = "email" }
erase = "delete"
[tables.fields]
at = { type = "timestamp" }

[[retention]]
name = "old-visits"
table = "visits"
age_column = "seen"
max_age = "365d"
action = "delete"
batch_size = 2

[[retention]]
name = "old-pings"
table = "pings"
age_column = "at"
max_age = "365d"
action = "delete"

[[retention]]
name = "old-beats"
table = "beats"
age_column = "at"
max_age = "365d"
action = "delete"
"#;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("timestamp")
}

/// Every batch of a policy until no due rows are left: (matched, purged).
async fn purge(
    site: &SqlConnector,
    policy: usize,
    now: DateTime<Utc>,
    dry_run: bool,
) -> (u64, u64) {
    let decl = &site.decl().retention()[policy];
    let mut cursor = PurgeCursor::default();
    let (mut matched, mut purged) = (0, 0);
    while !cursor.is_done() {
        let b = site
            .purge_batch(
                decl,
                decl.max_age.cutoff(now),
                &mut cursor,
                &HeldRows::default(),
                &hasher,
                dry_run,
            )
            .await
            .expect("purge batch");
        matched += b.matched;
        purged += b.purged;
    }
    (matched, purged)
}

#[tokio::test]
async fn sqlite_dates_in_text_integer_and_real_are_aged_and_exported() {
    let Some(db) = Db::empty(Engine::Sqlite).await else {
        return;
    };
    db.exec(VISITS).await;
    let site = db.connector(VISITS_MAP);
    let now = at("2026-12-01T00:00:00Z");

    // Exports: RFC 3339 in UTC, whichever form the value is stored in.
    let access = site.access(&ada()).await.expect("access");
    let seen: Vec<&Value> = access.tables[0].rows.iter().map(|r| &r["seen"]).collect();
    assert_eq!(
        seen,
        [
            &json!("2020-01-01T10:00:00Z"),
            &json!("2026-06-01T08:30:00.250Z")
        ]
    );
    let pings: Vec<&Value> = access.tables[1].rows.iter().map(|r| &r["at"]).collect();
    assert_eq!(
        pings,
        [
            &json!("2020-01-01T10:00:00Z"),
            &json!("2026-06-01T08:00:00Z")
        ]
    );
    let beats: Vec<&Value> = access.tables[2].rows.iter().map(|r| &r["at"]).collect();
    assert_eq!(
        beats,
        [
            &json!("2020-01-01T12:00:00Z"),
            &json!("2026-06-01T00:00:00Z")
        ]
    );

    // The value that is not a date is reported, by `check` (sampled) and to the run.
    assert_eq!(
        site.unparseable_ages(&site.decl().retention()[0], None)
            .await
            .expect("count"),
        1
    );
    let found = site.check_connector(now).await.expect("check");
    let shown: Vec<String> = found.problems.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert_eq!(found.problems[0].key, "retention[0].age_column");
    assert!(
        shown[0].contains("1 of the first 10000 values of \"visits.seen\" are not dates"),
        "{}",
        shown[0]
    );
    assert_eq!(found.problems[1].key, "retention[1].age_column");

    // Dry run, then the purge: the five old values go, whatever their text form; recent
    // ones, the value that is not a date and the NULL stay.
    assert_eq!(purge(&site, 0, now, true).await, (5, 5));
    assert_eq!(db.texts("SELECT id FROM visits").await.len(), 10, "dry run");
    assert_eq!(purge(&site, 0, now, false).await, (5, 5));
    assert_eq!(
        db.texts("SELECT CAST(id AS TEXT) FROM visits ORDER BY id")
            .await,
        [["6"], ["7"], ["8"], ["9"], ["10"]]
    );
    // INTEGER Unix seconds and REAL Julian days in columns typed as timestamps.
    assert_eq!(purge(&site, 1, now, false).await, (1, 1));
    assert_eq!(
        db.texts("SELECT CAST(id AS TEXT) FROM pings ORDER BY id")
            .await,
        [["2"], ["3"]]
    );
    assert_eq!(purge(&site, 2, now, false).await, (1, 1));
    assert_eq!(
        db.texts("SELECT CAST(id AS TEXT) FROM beats").await,
        [["2"]]
    );
    // Still reported, still kept.
    assert_eq!(
        site.unparseable_ages(&site.decl().retention()[0], None)
            .await
            .expect("count"),
        1
    );
    db.finish(&[&site]).await;
}

#[tokio::test]
async fn a_sqlite_text_age_column_without_a_type_fails_check_with_the_fix() {
    let Some(db) = Db::empty(Engine::Sqlite).await else {
        return;
    };
    db.exec(VISITS).await;
    let map = VISITS_MAP.replace(
        "seen = { category = \"activity.visit_time\", type = \"timestamp\" }",
        "seen = { category = \"activity.visit_time\" }",
    );
    let site = db.connector(&map);
    let found = site
        .check_connector(at("2026-12-01T00:00:00Z"))
        .await
        .expect("check");
    let shown: Vec<String> = found
        .problems
        .iter()
        .filter(|p| p.key == "retention[0]")
        .map(ToString::to_string)
        .collect();
    assert_eq!(shown.len(), 1, "{:?}", found.problems);
    assert!(
        shown[0].contains("retention \"old-visits\" cannot run")
            && shown[0].contains("seen = { type = \"timestamp\" }"),
        "{}",
        shown[0]
    );
    assert_eq!(db.texts("SELECT id FROM visits").await.len(), 10);
    db.finish(&[&site]).await;
}

async fn a_declared_date_type_is_for_sqlite_columns(engine: Engine) {
    let Some(db) = Db::empty(engine).await else {
        return;
    };
    db.exec(
        "CREATE TABLE visits (id INTEGER PRIMARY KEY, email VARCHAR(254) NOT NULL, \
         seen VARCHAR(40), stamped TIMESTAMP NULL)",
    )
    .await;
    let map = r#"
name = "site"
kind = "sqlite"
url = "${RIGHTSDESK_DM_SITE_URL}"

[[tables]]
name = "visits"
primary_key = "id"
identities = { email = "email" }
erase = "delete"
[tables.fields]
seen = { type = "timestamp" }
stamped = { type = "timestamp" }
"#;
    let site = db.connector(map);
    let problems = check_catalog(site.decl(), site.pool())
        .await
        .expect("check");
    let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
    if engine == Engine::Sqlite {
        assert!(shown.is_empty(), "{shown:?}");
    } else {
        // PostgreSQL and MySQL type their columns: a text column is not made a date.
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert_eq!(problems[0].key, "tables[0].fields.seen.type");
        assert!(
            shown[0].contains("use a date or timestamp column type"),
            "{}",
            shown[0]
        );
    }
    db.finish(&[&site]).await;
}
