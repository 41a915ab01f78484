//! Connector engine: data-map parsing and validation, and access, erasure (with dry run),
//! rectification, restriction and objection against real product databases: SQLite
//! (a file per test), PostgreSQL (`RIGHTSDESK_TEST_POSTGRES_URL`) and MariaDB/MySQL
//! (`RIGHTSDESK_TEST_MYSQL_URL`), each test on a fresh database.
//!
//! The product schema is `tests/fixtures/shop_*.sql` with `shop_data.sql`: customers ->
//! orders -> order_items, customers.address_id and orders.shipping_address_id ->
//! addresses, shared products, and two subjects (Ada and Bob) sharing an address.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use hmac::{Hmac, KeyInit, Mac};
use proptest::prelude::*;
use rightsdesk::connectors::datamap::{
    self, AgeUnit, ConnectorDecl, DatamapProblem, IdentityType, RetentionAction,
};
use rightsdesk::connectors::{
    Connector, ConnectorError, ConnectorKind, EraseAction, ErasureEvidence, Identity, Mask,
    SqlConnector,
};
use serde_json::{Value, json};
use sha2::Sha256;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}")).expect("fixture file")
}

/// The `hash` mask as the service computes it: hex HMAC-SHA256 under the deployment key.
fn hasher(value: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"test-deployment-key").expect("key");
    mac.update(value.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn ada() -> Identity {
    Identity::from_email("  Ada@Example.com ")
}

// ---------------------------------------------------------------------------------------
// Test databases.

use common::product::{Engine, ProductDb as TestDb};

impl TestDb {
    /// A fresh, empty database, or `None` when the engine's service is not configured.
    async fn empty(engine: Engine) -> Option<Self> {
        Self::fresh(engine, "rd_conn").await
    }

    /// The shop schema and rows, with Ada's avatar (binary) set per dialect.
    async fn shop(engine: Engine) -> Option<Self> {
        let db = Self::empty(engine).await?;
        let (schema, avatar) = match engine {
            Engine::Sqlite => ("shop_sqlite.sql", "X'0102FF'"),
            Engine::Postgres => ("shop_postgres.sql", "'\\x0102ff'::bytea"),
            Engine::MySql => ("shop_mysql.sql", "X'0102FF'"),
        };
        db.exec(&fixture(schema)).await;
        db.exec(&fixture("shop_data.sql")).await;
        db.exec(&format!(
            "UPDATE customers SET avatar = {avatar} WHERE id = 1"
        ))
        .await;
        Some(db)
    }

    /// A table, row by row as text keyed by its key columns: the byte-for-byte view used
    /// to prove rows unchanged (SQLite's `quote()` keeps the storage class visible).
    async fn dump(&self, table: &str, key: &[&str]) -> BTreeMap<String, String> {
        let columns = self.column_names(table).await;
        let cast = |c: &str| match self.engine {
            Engine::Sqlite => format!("quote(\"{c}\")"),
            Engine::Postgres => format!("CAST(\"{c}\" AS TEXT)"),
            Engine::MySql => format!("CAST(`{c}` AS CHAR)"),
        };
        let key_sql: Vec<String> = key.iter().map(|c| cast(c)).collect();
        let all_sql: Vec<String> = columns
            .iter()
            .map(|c| match self.engine {
                // Binary columns are not UTF-8: compare MySQL values as hex.
                Engine::MySql => format!("HEX(`{c}`)"),
                _ => cast(c),
            })
            .collect();
        let sql = format!(
            "SELECT {}, {} FROM {table}",
            key_sql.join(", "),
            all_sql.join(", ")
        );
        self.texts(sql)
            .await
            .into_iter()
            .map(|row| (row[..key.len()].join("|"), row[key.len()..].join("|")))
            .collect()
    }

    async fn column_names(&self, table: &str) -> Vec<String> {
        let sql = match self.engine {
            Engine::Sqlite => format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"),
            Engine::Postgres => format!(
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = '{table}' \
                 ORDER BY ordinal_position"
            ),
            Engine::MySql => format!(
                "SELECT COLUMN_NAME FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{table}' \
                 ORDER BY ORDINAL_POSITION"
            ),
        };
        self.texts(sql)
            .await
            .into_iter()
            .map(|r| r[0].clone())
            .collect()
    }

    /// `SELECT COUNT(*) FROM {from_where}`.
    async fn count(&self, from_where: &str) -> String {
        let sql = format!(
            "SELECT {} FROM {from_where}",
            cast_text(self.engine, "COUNT(*)")
        );
        self.texts(sql).await[0][0].clone()
    }

    /// A data-map file for this database: the fixture with its `kind` set to the engine
    /// and its `${VAR}` pointing at this database.
    fn decl(&self, toml_fixture: &str) -> ConnectorDecl {
        let text = fixture(toml_fixture)
            .replace(
                "kind = \"sqlite\"",
                &format!("kind = \"{}\"", self.engine.kind()),
            )
            .replace(
                "kind = \"postgres\"",
                &format!("kind = \"{}\"", self.engine.kind()),
            );
        let url = self.url.clone();
        datamap::parse_str_with_env(&format!("datamap/{toml_fixture}"), &text, &|_| {
            Some(url.clone())
        })
        .unwrap_or_else(|p| panic!("fixture data map is valid: {p:?}"))
    }

    fn connector(&self, toml_fixture: &str) -> SqlConnector {
        SqlConnector::connect(self.decl(toml_fixture)).expect("connector")
    }

    async fn snapshot(&self) -> BTreeMap<&'static str, BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        for (table, key) in SHOP_TABLES {
            out.insert(*table, self.dump(table, key).await);
        }
        out
    }
}

const SHOP_TABLES: &[(&str, &[&str])] = &[
    ("products", &["id"]),
    ("addresses", &["id"]),
    ("customers", &["id"]),
    ("orders", &["id"]),
    ("order_items", &["order_id", "line_no"]),
    ("invoices", &["id"]),
    ("newsletter", &["email", "list"]),
    ("consents", &["id"]),
];

/// Three tests per scenario: `scenario::sqlite`, `scenario::postgres`, `scenario::mariadb`.
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
    access_returns_exactly_the_subjects_rows,
    erasure_deletes_in_foreign_key_order_and_keeps_shared_rows,
    erasure_twice_is_idempotent,
    preview_shows_the_rows_erasure_touches,
    anonymize_applies_null_redact_and_hash_masks,
    rectification_refuses_other_fields_before_changing_anything,
    restriction_and_objection_set_the_declared_columns,
    check_catalog_reports_missing_tables_and_columns,
);

fn keys(rows: &[serde_json::Map<String, Value>], key: &[&str]) -> Vec<Value> {
    rows.iter()
        .map(|r| {
            if key.len() == 1 {
                r[key[0]].clone()
            } else {
                Value::Array(key.iter().map(|k| r[*k].clone()).collect())
            }
        })
        .collect()
}

async fn access_returns_exactly_the_subjects_rows(engine: Engine) {
    let Some(db) = TestDb::shop(engine).await else {
        return;
    };
    let shop = db.connector("shop_datamap.toml");
    // Through the trait, as the request workflow will call it.
    let connector: &dyn Connector = &shop;
    assert_eq!(connector.name(), "shop");
    connector.test().await.expect("the database answers");
    let access = connector.access(&ada()).await.expect("access");
    let table = |name: &str| {
        &access
            .tables
            .iter()
            .find(|t| t.table == name)
            .unwrap_or_else(|| panic!("table {name} listed"))
            .rows
    };
    let names: Vec<&str> = access.tables.iter().map(|t| t.table.as_str()).collect();
    assert_eq!(
        names,
        [
            "customers",
            "orders",
            "order_items",
            "addresses",
            "invoices",
            "newsletter",
            "consents"
        ]
    );

    // Typed values, identical on every engine; password_hash is `export = false`.
    assert_eq!(
        Value::Object(table("customers")[0].clone()),
        json!({
            "id": 1, "email": "ada@example.com", "name": "Ada Lovelace", "phone": "+44 1",
            "created_at": "2024-01-02T10:00:00Z", "marketing_opt_out": false,
            "processing_restricted": false, "address_id": 1, "avatar": "AQL/"
        })
    );
    assert_eq!(table("customers").len(), 1);
    assert_eq!(keys(table("orders"), &["id"]), [json!(10), json!(11)]);
    assert_eq!(
        Value::Object(table("orders")[0].clone()),
        json!({"id": 10, "customer_id": 1, "shipping_address_id": 3,
               "placed_at": "2024-02-01T09:00:00Z", "total": 33.0, "note": "leave at reception"})
    );
    assert_eq!(
        keys(table("order_items"), &["order_id", "line_no"]),
        [json!([10, 1]), json!([10, 2]), json!([11, 1])]
    );
    // The shared home (1) and office (3) are Ada's data too: exported, not erased.
    assert_eq!(
        keys(table("addresses"), &["id"]),
        [json!(1), json!(3), json!(5)]
    );
    assert_eq!(keys(table("invoices"), &["id"]), [json!(100), json!(101)]);
    assert_eq!(table("invoices")[1]["issued_on"], json!("2024-02-02"));
    assert_eq!(
        keys(table("newsletter"), &["email", "list"]),
        [
            json!(["ada@example.com", "offers"]),
            json!(["ada@example.com", "weekly"])
        ]
    );
    assert_eq!(keys(table("consents"), &["id"]), [json!(1)]);
    assert_eq!(access.row_count(), 14);

    // `find` has every column and says which rows are shared.
    let found = shop.find(&ada()).await.expect("find");
    let customers = found.table("customers").expect("customers");
    assert!(customers.rows[0].values.contains_key("password_hash"));
    let addresses = found.table("addresses").expect("addresses");
    let shared: Vec<(Value, bool)> = addresses
        .rows
        .iter()
        .map(|r| (r.key[0].clone(), r.shared))
        .collect();
    assert_eq!(
        shared,
        [(json!(1), true), (json!(3), true), (json!(5), false)]
    );

    // Nobody: every table listed, nothing in it.
    let nobody = shop
        .access(&Identity::from_email("nobody@example.com"))
        .await
        .expect("access");
    assert_eq!(nobody.row_count(), 0);
    assert_eq!(nobody.tables.len(), 7);
    db.finish(&[&shop]).await;
}

/// What erasing Ada must change, per table: deleted keys and anonymized keys.
fn ada_erasure() -> (BTreeMap<&'static str, Vec<&'static str>>, Vec<&'static str>) {
    let deleted = BTreeMap::from([
        ("customers", vec!["1"]),
        ("orders", vec!["10", "11"]),
        ("order_items", vec!["10|1", "10|2", "11|1"]),
        ("addresses", vec!["5"]),
        (
            "newsletter",
            vec!["ada@example.com|offers", "ada@example.com|weekly"],
        ),
    ]);
    (deleted, vec!["100", "101"])
}

fn unquote(engine: Engine, key: &str) -> String {
    if engine == Engine::Sqlite {
        key.split('|')
            .map(|p| p.trim_matches('\''))
            .collect::<Vec<_>>()
            .join("|")
    } else {
        key.to_string()
    }
}

fn evidence_row(e: &ErasureEvidence, table: &str) -> (EraseAction, u64, u64, u64) {
    let t = e
        .tables
        .iter()
        .find(|t| t.table == table)
        .unwrap_or_else(|| panic!("evidence for {table}"));
    (t.action, t.rows_affected, t.rows_kept, t.rows_left)
}

async fn erasure_deletes_in_foreign_key_order_and_keeps_shared_rows(engine: Engine) {
    let Some(db) = TestDb::shop(engine).await else {
        return;
    };
    let shop = db.connector("shop_datamap.toml");
    let before = db.snapshot().await;
    let evidence = shop.erase(&ada(), &hasher).await.expect("erasure succeeds");
    let after = db.snapshot().await;

    assert_eq!(
        evidence_row(&evidence, "order_items"),
        (EraseAction::Delete, 3, 0, 0)
    );
    assert_eq!(
        evidence_row(&evidence, "orders"),
        (EraseAction::Delete, 2, 0, 0)
    );
    assert_eq!(
        evidence_row(&evidence, "customers"),
        (EraseAction::Delete, 1, 0, 0)
    );
    // Home (1, Bob lives there too) and office (3, Bob's order ships there) are kept.
    assert_eq!(
        evidence_row(&evidence, "addresses"),
        (EraseAction::Delete, 1, 2, 0)
    );
    assert_eq!(
        evidence_row(&evidence, "invoices"),
        (EraseAction::Anonymize, 2, 0, 0)
    );
    assert_eq!(
        evidence_row(&evidence, "newsletter"),
        (EraseAction::Delete, 2, 0, 0)
    );
    assert_eq!(
        evidence_row(&evidence, "consents"),
        (EraseAction::Retain, 0, 1, 0)
    );
    assert!(evidence.is_complete());

    // Every row that is not Ada's is byte-for-byte what it was; Ada's rows are gone
    // (or, for invoices, changed); products are untouched.
    let (deleted, anonymized) = ada_erasure();
    for (table, rows) in &before {
        for (key, row) in rows {
            let plain = unquote(engine, key);
            let is_deleted = deleted
                .get(table)
                .is_some_and(|d| d.contains(&plain.as_str()));
            let is_masked = *table == "invoices" && anonymized.contains(&plain.as_str());
            match after[table].get(key) {
                None => assert!(is_deleted, "{table} {plain} must not be deleted"),
                Some(_) if is_deleted => panic!("{table} {plain} must be deleted"),
                Some(now) if is_masked => assert_ne!(now, row, "{table} {plain} masked"),
                Some(now) => assert_eq!(now, row, "{table} {plain} unchanged"),
            }
        }
        assert!(
            after[table].len() <= rows.len(),
            "no rows appear in {table}"
        );
    }
    assert_eq!(before["products"], after["products"]);
    assert_eq!(
        db.count("customers WHERE address_id = 1").await,
        "1",
        "Bob still lives at the shared address"
    );
    assert!(
        shop.access(&ada())
            .await
            .expect("access")
            .tables
            .iter()
            .all(|t| { t.table == "consents" || t.rows.is_empty() }),
        "only the retained consent is left"
    );
    db.finish(&[&shop]).await;
}

async fn erasure_twice_is_idempotent(engine: Engine) {
    let Some(db) = TestDb::shop(engine).await else {
        return;
    };
    let shop = db.connector("shop_datamap.toml");
    shop.erase(&ada(), &hasher).await.expect("first erasure");
    let after_first = db.snapshot().await;
    let second = shop.erase(&ada(), &hasher).await.expect("second erasure");
    assert!(
        second.tables.iter().all(|t| t.rows_affected == 0),
        "{second:?}"
    );
    assert!(second.is_complete());
    assert_eq!(
        evidence_row(&second, "consents"),
        (EraseAction::Retain, 0, 1, 0)
    );
    assert_eq!(db.snapshot().await, after_first);
    db.finish(&[&shop]).await;
}

async fn preview_shows_the_rows_erasure_touches(engine: Engine) {
    let Some(db) = TestDb::shop(engine).await else {
        return;
    };
    let shop = db.connector("shop_datamap.toml");
    let before = db.snapshot().await;
    let preview = shop.preview_erasure(&ada()).await.expect("preview");
    assert_eq!(db.snapshot().await, before, "a dry run changes nothing");

    let preview_keys: BTreeMap<&str, Vec<Value>> = preview
        .tables
        .iter()
        .map(|t| (t.table.as_str(), t.keys.iter().map(|k| json!(k)).collect()))
        .collect();
    assert_eq!(preview_keys["addresses"], [json!([5])]);
    assert_eq!(preview_keys["invoices"], [json!([100]), json!([101])]);
    assert_eq!(preview_keys["consents"], [json!([1])]);
    let invoices = preview
        .tables
        .iter()
        .find(|t| t.table == "invoices")
        .unwrap();
    assert_eq!(
        invoices.fields,
        BTreeMap::from([
            ("billing_email".to_string(), Mask::Hash),
            ("billing_name".to_string(), Mask::Redact),
            ("customer_id".to_string(), Mask::Null),
        ])
    );
    assert_eq!(
        invoices.retain_reason.as_deref(),
        Some("Invoices are kept for 10 years under tax law")
    );

    let evidence = shop.erase(&ada(), &hasher).await.expect("erasure");
    let after = db.snapshot().await;
    for t in &preview.tables {
        let e = evidence.tables.iter().find(|e| e.table == t.table).unwrap();
        assert_eq!(t.action, e.action);
        if t.action != EraseAction::Retain {
            assert_eq!(t.rows, e.rows_affected, "{}: preview = erasure", t.table);
            assert_eq!(t.kept, e.rows_kept, "{}", t.table);
        }
        // The previewed keys are exactly the rows that disappeared or changed.
        let (_, key) = SHOP_TABLES.iter().find(|(n, _)| *n == t.table).unwrap();
        let changed: BTreeSet<String> = before[t.table.as_str()]
            .iter()
            .filter(|(k, v)| after[t.table.as_str()].get(*k) != Some(*v))
            .map(|(k, _)| unquote(engine, k))
            .collect();
        let previewed: BTreeSet<String> = if t.action == EraseAction::Retain {
            BTreeSet::new()
        } else {
            t.keys
                .iter()
                .map(|k| {
                    k.iter()
                        .map(|v| match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect::<Vec<_>>()
                        .join("|")
                })
                .collect()
        };
        assert_eq!(
            previewed,
            changed,
            "{} ({} key columns)",
            t.table,
            key.len()
        );
    }
    db.finish(&[&shop]).await;
}

async fn anonymize_applies_null_redact_and_hash_masks(engine: Engine) {
    let Some(db) = TestDb::shop(engine).await else {
        return;
    };
    let shop = db.connector("shop_datamap.toml");
    let before = db.dump("invoices", &["id"]).await;
    shop.erase(&ada(), &hasher).await.expect("erasure");
    let rows = db
        .texts(format!(
            "SELECT {}, billing_email, billing_name, {}, {} FROM invoices \
             WHERE id IN (100, 101) ORDER BY id",
            cast_text(engine, "id"),
            cast_text(engine, "customer_id"),
            cast_text(engine, "amount_cents")
        ))
        .await;
    let hashed = hasher("ada@example.com");
    assert_eq!(hashed.len(), 64);
    // hash (joinable: both invoices get the same value), redact, null; amounts kept.
    assert_eq!(
        rows,
        [
            ["100", hashed.as_str(), "[erased]", "NULL", "3300"],
            ["101", hashed.as_str(), "[erased]", "NULL", "800"],
        ]
    );
    let after = db.dump("invoices", &["id"]).await;
    for id in ["200", "300"] {
        assert_eq!(before.get(id), after.get(id), "invoice {id} untouched");
    }
    db.finish(&[&shop]).await;
}

fn cast_text(engine: Engine, column: &str) -> String {
    match engine {
        Engine::Sqlite => format!("CAST({column} AS TEXT)"),
        Engine::Postgres => format!("CAST({column} AS TEXT)"),
        Engine::MySql => format!("CAST({column} AS CHAR)"),
    }
}

async fn rectification_refuses_other_fields_before_changing_anything(engine: Engine) {
    let Some(db) = TestDb::shop(engine).await else {
        return;
    };
    let shop = db.connector("shop_datamap.toml");
    let before = db.snapshot().await;

    // `email` is declared but not rectifiable; `name` is: nothing may change.
    let refused = shop
        .rectify(
            &ada(),
            &[
                ("name".into(), json!("Ada King")),
                ("email".into(), json!("ada.king@example.com")),
            ],
        )
        .await
        .expect_err("a non-rectifiable field is refused");
    assert!(matches!(refused, ConnectorError::CorrectionRefused { .. }));
    let message = refused.to_string();
    assert!(
        message.contains("\"email\"") && message.contains("rectif"),
        "{message}"
    );
    assert!(
        !message.contains("ada.king"),
        "no values in errors: {message}"
    );
    // An undeclared column, and a value that does not fit its column, are refused too.
    assert!(
        shop.rectify(&ada(), &[("password_hash".into(), json!("x"))])
            .await
            .is_err()
    );
    let bad_value = shop
        .rectify(
            &ada(),
            &[
                ("name".into(), json!("Ada King")),
                ("customers.phone".into(), json!({"not": "text"})),
            ],
        )
        .await
        .expect_err("a value of the wrong type is refused");
    assert!(matches!(bad_value, ConnectorError::InvalidValue { .. }));
    assert_eq!(db.snapshot().await, before, "nothing changed");

    // Allowed corrections change only Ada's rows; the shared address is not hers alone.
    let report = shop
        .rectify(
            &ada(),
            &[
                ("customers.name".into(), json!("Ada King")),
                ("street".into(), json!("5 Harbour View")),
            ],
        )
        .await
        .expect("rectification");
    let per_table: Vec<(&str, u64, u64)> = report
        .tables
        .iter()
        .map(|t| (t.table.as_str(), t.rows_affected, t.rows_skipped))
        .collect();
    assert_eq!(per_table, [("customers", 1, 0), ("addresses", 1, 2)]);
    assert_eq!(
        db.texts("SELECT name FROM customers ORDER BY id").await,
        [["Ada King"], ["Bob Babbage"], ["Cy Somerville"]]
    );
    assert_eq!(
        db.texts("SELECT street FROM addresses ORDER BY id").await,
        [
            ["1 Shared Lane"],
            ["2 Cy Road"],
            ["3 Office Park"],
            ["4 Bob Works"],
            ["5 Harbour View"]
        ]
    );
    db.finish(&[&shop]).await;
}

async fn restriction_and_objection_set_the_declared_columns(engine: Engine) {
    let Some(db) = TestDb::shop(engine).await else {
        return;
    };
    let shop = db.connector("shop_datamap.toml");
    let flags = || {
        db.texts(format!(
            "SELECT {}, {} FROM customers ORDER BY id",
            cast_text(engine, "processing_restricted"),
            cast_text(engine, "marketing_opt_out")
        ))
    };
    let (t, f) = match engine {
        Engine::Postgres => ("true", "false"),
        _ => ("1", "0"),
    };
    let restricted = shop.restrict(&ada(), false).await.expect("restrict");
    let restricted = restricted.expect("a restriction is declared");
    assert_eq!(restricted.table, "customers");
    assert_eq!(restricted.rows_affected, 1);
    assert_eq!(flags().await, [[t, f], [f, f], [f, t]]);

    shop.object(&ada())
        .await
        .expect("object")
        .expect("declared");
    assert_eq!(flags().await, [[t, t], [f, f], [f, t]]);

    shop.restrict(&ada(), true)
        .await
        .expect("lift")
        .expect("declared");
    assert_eq!(flags().await, [[f, t], [f, f], [f, t]]);
    db.finish(&[&shop]).await;
}

async fn check_catalog_reports_missing_tables_and_columns(engine: Engine) {
    let Some(db) = TestDb::shop(engine).await else {
        return;
    };
    let good = db.decl("shop_datamap.toml");
    assert_eq!(
        rightsdesk::connectors::check_catalog(&good, &db.pool)
            .await
            .expect("catalogue readable"),
        Vec::<DatamapProblem>::new()
    );

    let text = format!(
        "name = \"shop\"\nkind = \"{}\"\nurl = \"${{RIGHTSDESK_DM_U}}\"\n\
         [[tables]]\nname = \"customers\"\nprimary_key = \"id\"\n\
         identities = {{ email = \"emial\" }}\nerase = \"delete\"\n\
         [[tables]]\nname = \"wishlists\"\nprimary_key = \"id\"\n\
         via = {{ customer_id = \"customers.id\" }}\nerase = \"delete\"\n\
         [[tables]]\nname = \"invoices\"\nprimary_key = \"id\"\n\
         via = {{ customer_id = \"customers.idd\" }}\nerase = \"anonymize\"\n\
         [tables.fields]\namount_cents = {{ mask = \"hash\" }}\n",
        engine.kind()
    );
    let url = db.url.clone();
    let decl = datamap::parse_str_with_env("datamap/shop.toml", &text, &|_| Some(url.clone()))
        .expect("statically valid");
    let problems: Vec<String> = rightsdesk::connectors::check_catalog(&decl, &db.pool)
        .await
        .expect("catalogue readable")
        .iter()
        .map(ToString::to_string)
        .collect();
    let mask_type = match engine {
        Engine::Sqlite => "INTEGER",
        Engine::Postgres => "int4",
        Engine::MySql => "int(11)",
    };
    assert_eq!(
        problems,
        [
            "datamap/shop.toml: tables[0].identities.email: column \"emial\" not found in table \"customers\" of the database",
            "datamap/shop.toml: tables[2].via.customer_id: column \"idd\" not found in table \"customers\" of the database",
            "datamap/shop.toml: tables[1].name: table \"wishlists\" not found in the database",
            &format!(
                "datamap/shop.toml: tables[2].fields.amount_cents.mask: mask \"hash\" needs a text column, but \"invoices.amount_cents\" is {mask_type}"
            ),
        ]
    );

    // The engine refuses to run on a table the database does not have.
    let broken = SqlConnector::with_pool(decl, db.pool.clone()).expect("connector");
    let err = broken.access(&ada()).await.expect_err("missing table");
    assert!(
        matches!(err, ConnectorError::MissingTable { ref table, .. } if table == "wishlists"),
        "{err}"
    );
    db.finish(&[]).await;
}

// ---------------------------------------------------------------------------------------
// The peer workload's data map (shared bench): 17 rows found, 14 rows masked, nothing else.

async fn load_peer(db: &TestDb, customers: i64) {
    let schema = match db.engine {
        Engine::Postgres => fixture("peer_schema_postgres.sql"),
        Engine::MySql => fixture("peer_schema_mysql.sql"),
        Engine::Sqlite => fixture("peer_schema_sqlite.sql"),
    };
    db.exec(&schema).await;
    // Every value is a function of i, as in the bench's data file (which is psql-only).
    let mut sql = String::from("INSERT INTO product (id, name, description, url, price) VALUES ");
    sql += &(1..=6)
        .map(|p| format!("({p}, 'Cookie {p}', 'Synthetic product {p}', 'https://example.invalid/p/{p}', '20.00')"))
        .collect::<Vec<_>>()
        .join(", ");
    sql += ";\n";
    for i in 1..=customers {
        let email = format!("customer-{i}@example.com");
        sql += &format!(
            "INSERT INTO address (id, house, street, city, state, zip) VALUES \
             ({}, {i}, 'Home Street {i}', 'City {i}', 'NY', '{:05}'), \
             ({}, {i}, 'Billing Avenue {i}', 'City {i}', 'NY', '{:05}');\n",
            2 * i - 1,
            i * 7,
            2 * i,
            i * 7 + 1
        );
        sql += &format!(
            "INSERT INTO customer (id, email, name, created, address_id) VALUES \
             ({i}, '{email}', 'Customer {i}', '2020-01-01 00:{i:02}:00', {});\n",
            2 * i - 1
        );
        sql += &format!(
            "INSERT INTO payment_card (id, name, ccn, code, preferred, customer_id, billing_address_id) \
             VALUES ('pay_{i}', 'Card of customer {i}', {}, {}, true, {i}, {});\n",
            4_000_000_000_000_000i64 + i,
            i % 1000,
            2 * i
        );
        for k in 1..=3 {
            sql += &format!(
                "INSERT INTO orders (id, customer_id, shipping_address_id, payment_card_id) \
                 VALUES ('ord_{i}_{k}', {i}, {}, 'pay_{i}');\n\
                 INSERT INTO order_item (order_id, item_no, product_id, quantity) VALUES \
                 ('ord_{i}_{k}', 1, {}, 1), ('ord_{i}_{k}', 2, {}, 2);\n\
                 INSERT INTO visit (email, last_visit) VALUES ('{email}', '2021-0{k}-01 10:00:00');\n",
                2 * i,
                k,
                k + 3
            );
        }
        for k in 1..=5 {
            sql += &format!(
                "INSERT INTO login (id, customer_id, time) VALUES ({}, {i}, '2021-02-0{k} 08:00:00');\n",
                5 * (i - 1) + k
            );
        }
        sql += &format!(
            "INSERT INTO report (id, email, name, year, month, total_visits) \
             VALUES ({i}, '{email}', 'Customer {i}', 2021, 1, 10);\n\
             INSERT INTO service_request (id, email, alt_email, opened, closed, employee_id) \
             VALUES ('sr_{i}', '{email}', 'alt-{email}', '2021-01-01', NULL, 1);\n"
        );
    }
    for j in 1..=3 {
        sql += &format!(
            "INSERT INTO address (id, house, street, city, state, zip) VALUES \
             ({}, {j}, 'Office Road', 'Office City', 'NY', '10001');\n\
             INSERT INTO employee (id, email, name, address_id) VALUES \
             ({j}, 'employee-{j}@example.com', 'Employee {j}', {});\n",
            2 * customers + j,
            2 * customers + j
        );
    }
    db.exec(&sql).await;
}

const PEER_TABLES: &[(&str, &[&str])] = &[
    ("product", &["id"]),
    ("address", &["id"]),
    ("customer", &["id"]),
    ("employee", &["id"]),
    ("payment_card", &["id"]),
    ("orders", &["id"]),
    ("order_item", &["order_id", "item_no"]),
    ("visit", &["email", "last_visit"]),
    ("login", &["id"]),
    ("service_request", &["id"]),
    ("report", &["id"]),
];

async fn peer_workload(engine: Engine) {
    let Some(db) = TestDb::empty(engine).await else {
        return;
    };
    load_peer(&db, 3).await;
    let peer = db.connector("peer_datamap.toml");
    let who = Identity::from_email("customer-2@example.com");

    let access = peer.access(&who).await.expect("access");
    let counts: BTreeMap<&str, usize> = access
        .tables
        .iter()
        .map(|t| (t.table.as_str(), t.rows.len()))
        .collect();
    assert_eq!(
        counts,
        BTreeMap::from([
            ("address", 2),
            ("customer", 1),
            ("login", 5),
            ("orders", 3),
            ("payment_card", 1),
            ("report", 1),
            ("service_request", 1),
            ("visit", 3)
        ])
    );
    assert_eq!(access.row_count(), 17);

    let mut before = BTreeMap::new();
    for (table, key) in PEER_TABLES {
        before.insert(*table, db.dump(table, key).await);
    }
    let evidence = peer.erase(&who, &hasher).await.expect("erasure");
    let affected: u64 = evidence.tables.iter().map(|t| t.rows_affected).sum();
    assert_eq!(affected, 14, "{evidence:?}");
    assert!(evidence.is_complete());

    let mut changed = BTreeMap::new();
    for (table, key) in PEER_TABLES {
        let after = db.dump(table, key).await;
        assert_eq!(after.len(), before[table].len(), "{table}: nothing deleted");
        let n = before[table]
            .iter()
            .filter(|(k, v)| after.get(*k) != Some(*v))
            .count();
        changed.insert(*table, n);
    }
    assert_eq!(
        changed,
        BTreeMap::from([
            ("address", 2),
            ("customer", 1),
            ("employee", 0),
            ("login", 5),
            ("order_item", 0),
            ("orders", 0),
            ("payment_card", 1),
            ("product", 0),
            ("report", 1),
            ("service_request", 1),
            ("visit", 3)
        ])
    );
    let h = hasher("customer-2@example.com");
    assert_eq!(
        db.texts("SELECT email, name FROM customer WHERE id = 2")
            .await,
        [[h.clone(), "NULL".to_string()]]
    );
    assert_eq!(
        db.count("visit WHERE email = 'customer-1@example.com'")
            .await,
        "3"
    );
    assert_eq!(
        db.texts("SELECT alt_email FROM service_request WHERE id = 'sr_2'")
            .await,
        [[hasher("alt-customer-2@example.com")]]
    );
    db.finish(&[&peer]).await;
}

#[tokio::test]
async fn peer_workload_data_map_finds_17_rows_and_masks_14_sqlite() {
    peer_workload(Engine::Sqlite).await
}

#[tokio::test]
async fn peer_workload_data_map_finds_17_rows_and_masks_14_postgres() {
    peer_workload(Engine::Postgres).await
}

#[tokio::test]
async fn peer_workload_data_map_finds_17_rows_and_masks_14_mariadb() {
    peer_workload(Engine::MySql).await
}

/// The statement log without the index walks of identity columns (PostgreSQL, a plain
/// index under a code-point collation: `SELECT 0 AS rd_walk, …`, one per round), and how
/// many walk rounds there were.
fn split_walks(statements: Vec<String>) -> (Vec<String>, usize) {
    let (walks, rest): (Vec<String>, Vec<String>) = statements
        .into_iter()
        .partition(|s| s.starts_with("SELECT rd_w.n AS rd_walk"));
    (rest, walks.len())
}

/// Issue 19 item 1: the shared-row check (`SELECT col, COUNT(*) ... GROUP BY col`) only
/// decides what an erasure may touch. On the peer data map (addresses reached through
/// three referencing columns, nothing reached through addresses) access and the streamed
/// access that portability and exports use never send it; the preview and the erasure
/// do, so the statement log would show it if access did.
async fn access_never_counts_shared_rows(engine: Engine) {
    let Some(db) = TestDb::fresh(engine, "rd_conn").await else {
        return;
    };
    load_peer(&db, 3).await;
    let peer = db.connector("peer_datamap.toml");
    let who = Identity::from_email("Customer-2@Example.com");
    let counts_references = |statements: &[String]| {
        statements
            .iter()
            .filter(|s| s.contains("COUNT(*)") && s.contains("GROUP BY"))
            .cloned()
            .collect::<Vec<_>>()
    };

    let (access, statements) =
        rightsdesk::connectors::sql::with_statement_log(peer.access(&who)).await;
    let (statements, walks) = split_walks(statements);
    // The fixture's email columns have plain indexes only: on PostgreSQL (`C.UTF-8`)
    // the case-blind match walks them, a few rounds for all four tables at once.
    match engine {
        Engine::Postgres => assert!((1..=4).contains(&walks), "{walks} walk rounds"),
        _ => assert_eq!(walks, 0),
    }
    assert_eq!(access.expect("access").row_count(), 17);
    assert!(
        counts_references(&statements).is_empty(),
        "access ran {statements:#?}"
    );
    assert_eq!(statements.len(), 8, "one SELECT per table: {statements:#?}");

    let mut sink = Streamed::default();
    let (counts, statements) =
        rightsdesk::connectors::sql::with_statement_log(peer.access_into(&who, &mut sink)).await;
    let counts = counts.expect("streamed access");
    assert_eq!(counts.tables.iter().map(|t| t.rows).sum::<u64>(), 17);
    assert_eq!(sink.rows["address"].len(), 2);
    assert!(
        counts_references(&statements).is_empty(),
        "streamed access ran {statements:#?}"
    );

    // The same log sees the check where it belongs: each of the three referencing
    // columns counted once, all in one statement; on PostgreSQL, with connections free in
    // the pool, one statement per referencing table, sent side by side (their sequential
    // scans run at the same time).
    let each_once = |counted: &[String]| {
        for column in ["address_id", "shipping_address_id", "billing_address_id"] {
            let quoted = [format!("\"{column}\""), format!("`{column}`")];
            assert_eq!(
                counted
                    .iter()
                    .filter(|s| quoted.iter().any(|q| s.contains(q.as_str())))
                    .count(),
                1,
                "{column}: {counted:#?}"
            );
        }
    };
    let (preview, statements) =
        rightsdesk::connectors::sql::with_statement_log(peer.preview_erasure(&who)).await;
    preview.expect("preview");
    let counted = counts_references(&statements);
    // As many statements as free connections allow (the preview's own and those idle).
    let most = if engine == Engine::Postgres { 3 } else { 1 };
    assert!(
        (1..=most).contains(&counted.len()),
        "preview: {statements:#?}"
    );
    each_once(&counted);
    // Three connections used at once and given back: free for the erasure's counts.
    let (a, b, c) = tokio::join!(peer.access(&who), peer.access(&who), peer.access(&who));
    for found in [a, b, c] {
        assert_eq!(found.expect("access").row_count(), 17);
    }
    let (evidence, statements) =
        rightsdesk::connectors::sql::with_statement_log(peer.erase(&who, &hasher)).await;
    let evidence = evidence.expect("erasure");
    assert!(evidence.is_complete(), "{evidence:?}");
    let counted = counts_references(&statements);
    let side_by_side = if engine == Engine::Postgres { 3 } else { 1 };
    assert_eq!(
        counted.len(),
        side_by_side,
        "erasure counts references once, before it acts: {statements:#?}"
    );
    each_once(&counted);
    db.finish(&[&peer]).await;
}

on_every_engine!(access_never_counts_shared_rows);

/// A connector named `name` on `db` (PostgreSQL) for its `customers` (identity: email,
/// hashed on erasure) and the `addresses` they reference (street nulled), up to eight
/// connections.
/// Erase `who` through `connector`, expect complete evidence, and return the shared-row
/// check's count statements the erasure sent.
async fn erase_and_counts(connector: &SqlConnector, who: &Identity) -> Vec<String> {
    let (evidence, statements) =
        rightsdesk::connectors::sql::with_statement_log(connector.erase(who, &hasher)).await;
    let evidence = evidence.expect("erasure");
    assert!(evidence.is_complete(), "{evidence:?}");
    statements
        .into_iter()
        .filter(|s| s.contains("COUNT(*)") && s.contains("GROUP BY"))
        .collect()
}

/// The tables of [`customers_and_addresses`], empty.
const CUSTOMERS_AND_ADDRESSES: &str = "CREATE TABLE addresses (id INT PRIMARY KEY, street VARCHAR(100));\n\
     CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL, \
     address_id INT REFERENCES addresses (id));\n\
     CREATE INDEX customers_email ON customers (email);\n";

fn customers_and_addresses(db: &TestDb, name: &str) -> SqlConnector {
    let text = format!(
        "name = \"{name}\"\nkind = \"postgres\"\nurl = \"${{RIGHTSDESK_DM_DATABASE_URL}}\"\n\
         max_connections = 8\n\n\
         [[tables]]\nname = \"customers\"\nprimary_key = \"id\"\nidentities = {{ email = \"email\" }}\n\
         erase = \"anonymize\"\n[tables.fields]\n\
         email = {{ category = \"contact.email\", mask = \"hash\" }}\n\n\
         [[tables]]\nname = \"addresses\"\nprimary_key = \"id\"\n\
         via = {{ id = \"customers.address_id\" }}\nerase = \"anonymize\"\n[tables.fields]\n\
         street = {{ category = \"contact.address\", mask = \"null\" }}\n"
    );
    let url = db.url.clone();
    let decl = datamap::parse_str_with_env(&format!("datamap/{name}.toml"), &text, &|_| {
        Some(url.clone())
    })
    .expect("data map");
    SqlConnector::connect(decl).expect("connector")
}

/// The shared-row check's counts filter a sequential scan: on PostgreSQL more than four
/// values go as a semi-join on a `VALUES` list (few as equalities), and both count what
/// `IN` would: of a subject's six addresses the one another customer shares is kept.
#[tokio::test]
async fn many_counted_values_keep_exactly_the_shared_row() {
    let Some(db) = TestDb::empty(Engine::Postgres).await else {
        return;
    };
    let mut sql = String::from(CUSTOMERS_AND_ADDRESSES);
    for i in 1..=6 {
        sql += &format!(
            "INSERT INTO addresses VALUES ({i}, 'Street {i}');\n\
             INSERT INTO customers VALUES ({i}, 'many@example.com', {i});\n"
        );
    }
    sql += "INSERT INTO customers VALUES (100, 'other@example.com', 4);\n";
    db.exec(&sql).await;
    let many = customers_and_addresses(&db, "many");
    let who = Identity::from_email("many@example.com");
    let counted = erase_and_counts(&many, &who).await;
    assert!(!counted.is_empty());
    assert!(
        counted.iter().all(|s| s.contains("(VALUES ")),
        "{counted:#?}"
    );
    let streets = db
        .texts("SELECT id::text, COALESCE(street, 'NULL') FROM addresses ORDER BY id")
        .await;
    let want: Vec<Vec<String>> = (1..=6)
        .map(|i| {
            let street = if i == 4 {
                "Street 4".to_string()
            } else {
                "NULL".into()
            };
            vec![i.to_string(), street]
        })
        .collect();
    assert_eq!(streets, want);
    db.finish(&[&many]).await;
}

/// Issue 19: on PostgreSQL a large referencing table without an index on the counted
/// column is counted in block ranges on free connections, side by side; the last range
/// is open-ended, so a row written after the catalogue's size estimate still makes its
/// address shared (kept, not masked).
#[tokio::test]
async fn a_large_table_is_counted_in_block_ranges_and_misses_no_row() {
    let Some(db) = TestDb::empty(Engine::Postgres).await else {
        return;
    };
    // Customer 1 lives at address 1; 150,000 others at address 2 (about 1,100 pages),
    // then, after the size estimate, 20,000 more and one at customer 1's address.
    db.exec(&format!(
        "{CUSTOMERS_AND_ADDRESSES}\
         INSERT INTO addresses VALUES (1, 'Own Street 1'), (2, 'Other Street 2');\n\
         INSERT INTO customers VALUES (1, 'c1@example.com', 1);\n\
         INSERT INTO customers SELECT g, 'other-' || g || '@example.com', 2 \
         FROM generate_series(2, 150001) g;"
    ))
    .await;
    db.exec("VACUUM ANALYZE customers").await;
    db.exec(
        "INSERT INTO customers SELECT g, 'late-' || g || '@example.com', 2 \
         FROM generate_series(150002, 170001) g;\n\
         INSERT INTO customers VALUES (170002, 'late-shared@example.com', 1);",
    )
    .await;
    let pages = db
        .texts("SELECT relpages::text FROM pg_class WHERE relname = 'customers'")
        .await;
    let pages: i64 = pages[0][0].parse().expect("pages");
    assert!(pages >= 1024, "customers spans {pages} pages");
    let late = db
        .texts("SELECT (ctid::text::point)[0]::bigint::text FROM customers WHERE id = 170002")
        .await;
    let block: i64 = late[0][0].parse().expect("block");
    assert!(
        block >= pages,
        "the late row is in block {block}, the estimate {pages}"
    );

    let ranges = customers_and_addresses(&db, "ranges");
    let who = Identity::from_email("c1@example.com");
    // The preview's check finds no idle connection beside its own: it counts alone and
    // the pool opens one more in the background for the next check (`SqlPool::warm`).
    ranges.preview_erasure(&who).await.expect("preview");
    let rightsdesk::connectors::sql::SqlPool::Postgres(pool) = ranges.pool() else {
        panic!("a PostgreSQL pool");
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while pool.num_idle() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the pool grew to {} connections, {} idle",
            pool.size(),
            pool.num_idle()
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let counted = erase_and_counts(&ranges, &who).await;
    assert_eq!(
        counted.len(),
        2,
        "customers in two block ranges: {counted:#?}"
    );
    assert!(
        counted.iter().all(|s| s.contains("ctid >=")),
        "{counted:#?}"
    );
    assert_eq!(
        counted.iter().filter(|s| !s.contains("ctid <")).count(),
        1,
        "the last range is open-ended: {counted:#?}"
    );
    // The late customer lives at customer 1's address: it is kept.
    let streets = db
        .texts("SELECT id::text, coalesce(street, 'NULL') FROM addresses ORDER BY id")
        .await;
    assert_eq!(
        streets,
        vec![
            vec!["1".to_string(), "Own Street 1".to_string()],
            vec!["2".to_string(), "Other Street 2".to_string()],
        ]
    );
    let email = db.texts("SELECT email FROM customers WHERE id = 1").await;
    assert_ne!(
        email[0][0], "c1@example.com",
        "the subject's own row is masked"
    );
    db.finish(&[&ranges]).await;
}

/// Issue 16 (erasure ratio): on PostgreSQL and SQLite an erasure's reads go to the
/// database one round trip per level of the data map, not one per table. The peer data
/// map has three levels (customer, visit, report, service_request by identity; then
/// payment_card, orders, login through customer; then address through all three), so
/// the locked reads are 3 statements plus the shared-row count, then the 7 `UPDATE`s, then
/// ONE statement for the whole search after the erasure (identity searches and every
/// changed row read again by key). MariaDB keeps one statement per search (its `UNION`
/// merges types and collations): 9 reads, 7 updates, 7 reads after. Either way the
/// evidence is exact and the rows are masked.
async fn erasure_reads_one_round_trip_per_level(engine: Engine) {
    let Some(db) = TestDb::fresh(engine, "rd_conn").await else {
        return;
    };
    load_peer(&db, 3).await;
    let peer = db.connector("peer_datamap.toml");
    let who = Identity::from_email("Customer-2@Example.com");
    let before_other = db.dump("customer", &["id"]).await;
    let (evidence, statements) =
        rightsdesk::connectors::sql::with_statement_log(peer.erase(&who, &hasher)).await;
    // The identity columns' index walks (PostgreSQL: before the reads and again for the
    // search after the erasure) are counted apart.
    let (statements, walks) = split_walks(statements);
    match engine {
        Engine::Postgres => assert!((2..=8).contains(&walks), "{walks} walk rounds"),
        _ => assert_eq!(walks, 0),
    }
    let evidence = evidence.expect("erasure");
    assert!(evidence.is_complete(), "{evidence:?}");
    let changed: u64 = evidence.tables.iter().map(|t| t.rows_affected).sum();
    assert_eq!(changed, 14, "{evidence:?}");
    let found: u64 = evidence.tables.iter().filter_map(|t| t.rows_found).sum();
    assert_eq!(found, 17, "{evidence:?}");
    assert!(
        evidence.tables.iter().all(|t| t.rows_left == 0),
        "{evidence:?}"
    );
    // PostgreSQL sends the seven masking `UPDATE`s as one statement (`WITH rd_m0 AS
    // (UPDATE …), …`).
    let is_write = |s: &String| {
        s.starts_with("UPDATE") || s.starts_with("DELETE") || s.starts_with("WITH rd_m0 AS (UPDATE")
    };
    let writes = statements.iter().filter(|s| is_write(s)).count();
    let first_write = statements.iter().position(is_write).expect("an UPDATE");
    let updates: usize = statements
        .iter()
        .filter(|s| is_write(s))
        .map(|s| s.matches("UPDATE ").count())
        .sum();
    assert_eq!(updates, 7, "{statements:#?}");
    let reads_after = statements.len() - first_write - writes;
    let (reads_before, after, write_statements) = match engine {
        Engine::MySql => (9, 7, 7),
        Engine::Sqlite => (4, 1, 7),
        Engine::Postgres => (4, 1, 1),
    };
    assert_eq!(writes, write_statements, "{statements:#?}");
    // The shared-row count is one of the reads before; on PostgreSQL it may be one
    // statement per referencing table, side by side, when the pool has connections free.
    let counts = statements[..first_write]
        .iter()
        .filter(|s| s.contains("COUNT(*)") && s.contains("GROUP BY"))
        .count();
    let most = if engine == Engine::Postgres { 3 } else { 1 };
    assert!((1..=most).contains(&counts), "{statements:#?}");
    assert_eq!(first_write - (counts - 1), reads_before, "{statements:#?}");
    assert_eq!(reads_after, after, "{statements:#?}");
    // Only the subject's customer row changed.
    let after_other = db.dump("customer", &["id"]).await;
    let changed_rows: Vec<&String> = before_other
        .iter()
        .filter(|(k, v)| after_other.get(*k) != Some(v))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(changed_rows, ["2"], "{after_other:?}");
    assert_eq!(
        db.count(&format!(
            "customer WHERE id = 2 AND email = '{}' AND name IS NULL",
            hasher("customer-2@example.com")
        ))
        .await,
        "1"
    );
    db.finish(&[&peer]).await;
}

on_every_engine!(erasure_reads_one_round_trip_per_level);

/// Issue 16 item 6: a subject with more rows in a table than one page (here 4 rows a
/// page) is previewed and erased with the table's matches streamed and only their keys
/// kept: every row is deleted or masked, case variants are the subject's and the accent
/// variant is not, and the evidence counts are exact. The row cap still stops a subject
/// with too many rows.
async fn large_subject_is_erased_in_pages(engine: Engine) {
    let Some(db) = TestDb::empty(engine).await else {
        return;
    };
    db.exec(
        "CREATE TABLE events (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL, page VARCHAR(100));\n\
         CREATE TABLE notes (id INT PRIMARY KEY, email VARCHAR(100), body VARCHAR(100));",
    )
    .await;
    let mut sql = String::new();
    for i in 1..=23 {
        let email = if i % 2 == 0 {
            "Big.Subject@Example.com"
        } else {
            "big.subject@example.com"
        };
        sql += &format!(
            "INSERT INTO events (id, email, page) VALUES ({}, '{email}', '/p/{i}');\n",
            3 * i
        );
    }
    for i in 1..=5 {
        sql += &format!(
            "INSERT INTO events (id, email, page) VALUES ({}, 'other-{i}@example.com', '/o');\n",
            3 * i + 1
        );
    }
    sql += "INSERT INTO events (id, email, page) VALUES (2, 'big.subjéct@example.com', '/a');\n";
    for i in 1..=11 {
        sql += &format!(
            "INSERT INTO notes (id, email, body) VALUES ({i}, 'BIG.subject@example.com', 'note {i}');\n"
        );
    }
    sql += "INSERT INTO notes (id, email, body) VALUES (100, 'other@example.com', 'kept');\n";
    db.exec(&sql).await;
    let text = format!(
        "name = \"big\"\nkind = \"{}\"\nurl = \"${{RIGHTSDESK_DM_BIG_DATABASE_URL}}\"\n\
         max_connections = 2\n\n\
         [[tables]]\nname = \"events\"\nprimary_key = \"id\"\nidentities = {{ email = \"email\" }}\n\
         erase = \"delete\"\n\n\
         [[tables]]\nname = \"notes\"\nprimary_key = \"id\"\nidentities = {{ email = \"email\" }}\n\
         erase = \"anonymize\"\n[tables.fields]\n\
         email = {{ category = \"contact.email\", mask = \"hash\" }}\n\
         body = {{ category = \"activity\", mask = \"null\" }}\n",
        engine.kind()
    );
    let url = db.url.clone();
    let decl = datamap::parse_str_with_env("datamap/big.toml", &text, &|_| Some(url.clone()))
        .expect("data map");
    let big = SqlConnector::connect(decl).expect("connector");
    big.set_page_rows(4);
    let who = Identity::from_email("big.subject@example.com");

    // The preview counts every row and lists keys (all of them here: fewer than its
    // limit), though it never held a table's rows.
    let (preview, statements) =
        rightsdesk::connectors::sql::with_statement_log(big.preview_erasure(&who)).await;
    let preview = preview.expect("preview");
    let table = |name: &str| {
        preview
            .tables
            .iter()
            .find(|t| t.table == name)
            .expect("table")
    };
    assert_eq!(table("events").rows, 23, "{statements:#?}");
    assert_eq!(table("events").keys.len(), 23);
    assert!(!table("events").keys.contains(&vec![json!(2)]));
    assert_eq!(table("notes").rows, 11);
    assert!(
        statements.iter().any(|s| s.contains("LIMIT 5")),
        "a probe of one page and one row: {statements:#?}"
    );

    // Too many rows for the cap: the erasure stops and changes nothing.
    big.set_max_rows_per_subject(30);
    let refused = big.erase(&who, &hasher).await;
    assert!(
        matches!(&refused, Err(e) if e.to_string().contains("max_rows_per_subject")),
        "{refused:?}"
    );
    assert_eq!(db.count("events").await, "29");
    big.set_max_rows_per_subject(5_000_000);

    let (evidence, statements) =
        rightsdesk::connectors::sql::with_statement_log(big.erase(&who, &hasher)).await;
    let evidence = evidence.expect("erasure");
    assert!(evidence.is_complete(), "{evidence:?}");
    let events = evidence
        .tables
        .iter()
        .find(|t| t.table == "events")
        .expect("events");
    assert_eq!(
        (events.rows_found, events.rows_affected, events.rows_left),
        (Some(23), 23, 0),
        "{evidence:?}"
    );
    let notes = evidence
        .tables
        .iter()
        .find(|t| t.table == "notes")
        .expect("notes");
    assert_eq!(
        (notes.rows_found, notes.rows_affected, notes.rows_left),
        (Some(11), 11, 0),
        "{evidence:?}"
    );
    // Deleted and masked in chunks, never one statement for all rows.
    let deletes = statements
        .iter()
        .filter(|s| s.starts_with("DELETE"))
        .count();
    assert_eq!(deletes, 1, "23 keys fit one chunk: {statements:#?}");
    assert_eq!(db.count("events").await, "6");
    assert_eq!(db.count("events WHERE id = 2").await, "1");
    assert_eq!(
        db.count(&format!(
            "notes WHERE email = '{}' AND body IS NULL",
            hasher("BIG.subject@example.com")
        ))
        .await,
        "11"
    );
    assert_eq!(
        db.count("notes WHERE id = 100 AND body = 'kept'").await,
        "1"
    );

    // Running it again finds nothing more to do.
    let again = big.erase(&who, &hasher).await.expect("again");
    assert!(again.is_complete(), "{again:?}");
    assert!(
        again.tables.iter().all(|t| t.rows_affected == 0),
        "{again:?}"
    );
    db.finish(&[&big]).await;
}

on_every_engine!(large_subject_is_erased_in_pages);

/// PostgreSQL sends an erasure's masking `UPDATE`s as one statement: with a subject of
/// 12,000 rows whose values are each hashed (3 parameters a row), the statement would
/// pass the parameter limit, so it is cut in two, and every row is still masked exactly
/// once with exact counts; another person's row is untouched.
#[tokio::test]
async fn many_masked_rows_go_in_statements_under_the_parameter_limit() {
    let Some(db) = TestDb::empty(Engine::Postgres).await else {
        return;
    };
    db.exec(
        "CREATE TABLE leads (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL, name VARCHAR(100));\n\
         CREATE INDEX leads_email ON leads (email);\n\
         CREATE TABLE notes (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL, body VARCHAR(100));\n\
         CREATE INDEX notes_email ON notes (email);\n\
         INSERT INTO leads VALUES (1, 'Many@Example.com', 'Many'), (2, 'other@example.com', 'Other');\n\
         INSERT INTO notes SELECT i, 'many@example.com', 'note ' || i FROM generate_series(1, 12000) i;\n\
         INSERT INTO notes VALUES (20000, 'other@example.com', 'kept');",
    )
    .await;
    let text = "name = \"many\"\nkind = \"postgres\"\nurl = \"${RIGHTSDESK_DM_MANY_DATABASE_URL}\"\n\n\
         [[tables]]\nname = \"leads\"\nprimary_key = \"id\"\nidentities = { email = \"email\" }\n\
         erase = \"anonymize\"\n[tables.fields]\n\
         email = { category = \"contact.email\", mask = \"hash\" }\n\
         name = { category = \"name\", mask = \"null\" }\n\n\
         [[tables]]\nname = \"notes\"\nprimary_key = \"id\"\nidentities = { email = \"email\" }\n\
         erase = \"anonymize\"\n[tables.fields]\n\
         email = { category = \"contact.email\", mask = \"hash\" }\n\
         body = { category = \"activity\", mask = \"hash\" }\n";
    let url = db.url.clone();
    let decl = datamap::parse_str_with_env("datamap/many.toml", text, &|_| Some(url.clone()))
        .expect("data map");
    let many = SqlConnector::connect(decl).expect("connector");
    // Held in memory as one page, so every row goes through the merged statements.
    many.set_page_rows(100_000);
    let who = Identity::from_email("many@example.com");
    let (evidence, statements) =
        rightsdesk::connectors::sql::with_statement_log(many.erase(&who, &hasher)).await;
    let evidence = evidence.expect("erasure");
    assert!(evidence.is_complete(), "{evidence:?}");
    let counts = |name: &str| {
        let t = evidence.tables.iter().find(|t| t.table == name).unwrap();
        (t.rows_found, t.rows_affected, t.rows_left)
    };
    assert_eq!(counts("leads"), (Some(1), 1, 0));
    assert_eq!(counts("notes"), (Some(12_000), 12_000, 0));
    let merged: Vec<&String> = statements
        .iter()
        .filter(|s| s.starts_with("WITH rd_m0 AS (UPDATE"))
        .collect();
    assert_eq!(merged.len(), 2, "cut once at the parameter limit");
    assert!(
        statements.iter().all(|s| !s.starts_with("UPDATE")),
        "no UPDATE sent alone"
    );
    let left = db
        .texts(
            "SELECT COUNT(*)::text FROM notes WHERE body LIKE 'note %' OR email = 'many@example.com'",
        )
        .await;
    assert_eq!(left[0][0], "0");
    let other = db
        .texts("SELECT email, body FROM notes WHERE id = 20000")
        .await;
    assert_eq!(other, [["other@example.com", "kept"]]);
    let leads = db
        .texts("SELECT id::text, name FROM leads ORDER BY id")
        .await;
    assert_eq!(leads, [["1", "NULL"], ["2", "Other"]]);
    db.finish(&[&many]).await;
}

/// The index walk needs the column's comparison and its sort to agree on code-point
/// order: a `citext` column (case-blind sort) with a plain index is searched with
/// `lower()` instead, and still finds every case variant of the address and only them;
/// a `varchar` beside it is walked.
#[tokio::test]
async fn a_citext_column_is_not_walked_and_still_matches() {
    let Some(db) = TestDb::empty(Engine::Postgres).await else {
        return;
    };
    db.exec(
        "CREATE EXTENSION IF NOT EXISTS citext;\n\
         CREATE TABLE contacts (id INT PRIMARY KEY, email CITEXT NOT NULL);\n\
         CREATE INDEX contacts_email ON contacts (email);\n\
         CREATE TABLE leads (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL);\n\
         CREATE INDEX leads_email ON leads (email);\n\
         INSERT INTO contacts VALUES (1, 'Mixed.Case@Example.com'), (2, 'mixed.case@example.com'), \
             (3, 'MIXED.CASE@EXAMPLE.COM'), (4, 'mixed.case@exämple.com'), (5, 'other@example.com');\n\
         INSERT INTO leads VALUES (1, 'Mixed.Case@Example.com'), (2, 'other@example.com');",
    )
    .await;
    let text = "name = \"ci\"\nkind = \"postgres\"\nurl = \"${RIGHTSDESK_DM_CI_DATABASE_URL}\"\n\n\
         [[tables]]\nname = \"contacts\"\nprimary_key = \"id\"\nidentities = { email = \"email\" }\n\
         erase = \"delete\"\n\n\
         [[tables]]\nname = \"leads\"\nprimary_key = \"id\"\nidentities = { email = \"email\" }\n\
         erase = \"delete\"\n";
    let url = db.url.clone();
    let decl = datamap::parse_str_with_env("datamap/ci.toml", text, &|_| Some(url.clone()))
        .expect("data map");
    let ci = SqlConnector::connect(decl).expect("connector");
    let who = Identity::from_email("mixed.case@example.com");
    let (access, statements) =
        rightsdesk::connectors::sql::with_statement_log(ci.access(&who)).await;
    let access = access.expect("access");
    let found = |name: &str| -> Vec<i64> {
        let mut ids: Vec<i64> = access
            .tables
            .iter()
            .find(|t| t.table == name)
            .expect("table")
            .rows
            .iter()
            .map(|r| r["id"].as_i64().expect("id"))
            .collect();
        ids.sort_unstable();
        ids
    };
    assert_eq!(found("contacts"), [1, 2, 3]);
    assert_eq!(found("leads"), [1]);
    let walks: Vec<&String> = statements
        .iter()
        .filter(|s| s.starts_with("SELECT rd_w.n AS rd_walk"))
        .collect();
    assert!(
        !walks.is_empty(),
        "the varchar column is walked: {statements:#?}"
    );
    assert!(
        walks.iter().all(|s| !s.contains("\"contacts\"")),
        "the citext column is not: {walks:#?}"
    );
    assert!(
        statements
            .iter()
            .any(|s| s.contains("FROM \"contacts\"") && s.contains("lower(\"email\")")),
        "{statements:#?}"
    );
    db.finish(&[&ci]).await;
}

/// Erasures of one connector running side by side send their shared-row counts together
/// (PostgreSQL): six subjects erased at once, two of them sharing an address. The shared
/// address is kept for both, every other address and every subject's row is masked,
/// and no erasure sends more than one count (merged ones fewer).
#[tokio::test]
async fn erasures_side_by_side_count_shared_rows_together() {
    let Some(db) = TestDb::empty(Engine::Postgres).await else {
        return;
    };
    let mut sql = format!(
        "{CUSTOMERS_AND_ADDRESSES}INSERT INTO addresses VALUES (100, 'Shared Street 1');\n"
    );
    for i in 1..=6 {
        let address = if i <= 2 { 100 } else { i };
        if address == i {
            sql += &format!("INSERT INTO addresses VALUES ({i}, 'Own Street {i}');\n");
        }
        sql += &format!("INSERT INTO customers VALUES ({i}, 'c{i}@example.com', {address});\n");
    }
    db.exec(&sql).await;
    let side = customers_and_addresses(&db, "side");
    let who: Vec<Identity> = (1..=6)
        .map(|i| Identity::from_email(&format!("C{i}@Example.com")))
        .collect();
    let erase = |i: usize| side.erase(&who[i], &hasher);
    let (results, statements) = rightsdesk::connectors::sql::with_statement_log(async {
        let (a, b, c, d, e, f) =
            tokio::join!(erase(0), erase(1), erase(2), erase(3), erase(4), erase(5));
        [a, b, c, d, e, f]
    })
    .await;
    for evidence in results {
        let evidence = evidence.expect("erasure");
        assert!(evidence.is_complete(), "{evidence:?}");
    }
    let counts = statements
        .iter()
        .filter(|s| s.contains("COUNT(*)") && s.contains("GROUP BY"))
        .count();
    assert!((1..=6).contains(&counts), "{counts} count statements");
    let streets = db
        .texts("SELECT a.id::text, COALESCE(a.street, 'NULL') FROM addresses a ORDER BY a.id")
        .await;
    let mut want: Vec<Vec<String>> = (3..=6)
        .map(|i| vec![i.to_string(), "NULL".into()])
        .collect();
    want.push(vec!["100".into(), "Shared Street 1".into()]);
    assert_eq!(streets, want);
    let left = db
        .texts("SELECT COUNT(*)::text FROM customers WHERE email LIKE '%@example.com'")
        .await;
    assert_eq!(left, [["0"]]);
    db.finish(&[&side]).await;
}

/// Several subjects erased together (one traversal for all, PostgreSQL) leave the
/// database and the evidence exactly as erasing them one after the other does: the home
/// Ada shares with Bob is kept by Ada's erasure (Bob still lives there) and erased by
/// Bob's, like her office where Bob's gift was sent. The batch's shared-row counts are
/// counted once, as for one subject.
#[tokio::test]
async fn erasing_subjects_together_leaves_what_erasing_each_in_turn_leaves() {
    let Some(together) = TestDb::shop(Engine::Postgres).await else {
        return;
    };
    let Some(in_turn) = TestDb::shop(Engine::Postgres).await else {
        return;
    };
    let whos = [
        ada(),
        Identity::from_email("bob@example.com"),
        Identity::from_email("Cy@Example.com"),
    ];
    let (a, b) = (
        together.connector("shop_datamap.toml"),
        in_turn.connector("shop_datamap.toml"),
    );
    let counts = |statements: &[String]| {
        statements
            .iter()
            .filter(|s| s.contains("COUNT(*)") && s.contains("GROUP BY"))
            .count()
    };
    let (batch, batch_statements) =
        rightsdesk::connectors::sql::with_statement_log(a.erase_together(&whos, &hasher)).await;
    let batch = batch
        .expect("the batch succeeds")
        .expect("the subjects go together");
    let mut alone = Vec::new();
    let mut first_counts = 0;
    for who in &whos {
        let (evidence, statements) =
            rightsdesk::connectors::sql::with_statement_log(b.erase(who, &hasher)).await;
        if alone.is_empty() {
            first_counts = counts(&statements);
        }
        alone.push(evidence.expect("erasure"));
    }
    assert_eq!(batch, alone);
    assert!(batch.iter().all(ErasureEvidence::is_complete));
    assert_eq!(together.snapshot().await, in_turn.snapshot().await);
    assert_eq!(
        evidence_row(&batch[0], "addresses"),
        (EraseAction::Delete, 1, 2, 0),
        "Ada keeps the home and office Bob still uses"
    );
    assert_eq!(
        evidence_row(&batch[1], "addresses"),
        (EraseAction::Delete, 3, 0, 0),
        "Bob's erasure, after Ada's, erases them"
    );
    assert_eq!(together.count("addresses").await, "0");
    assert_eq!(together.count("products").await, "3");
    assert!(first_counts >= 1);
    assert_eq!(
        counts(&batch_statements),
        first_counts,
        "the reference counts of three subjects cost what one subject's do"
    );
    together.finish(&[&a]).await;
    in_turn.finish(&[&b]).await;
}

/// Subjects read together (one traversal for all, PostgreSQL) get exactly what each gets
/// when read alone: the home Ada and Bob share is in both exports, Cy's rows in neither.
#[tokio::test]
async fn reading_subjects_together_gives_each_what_reading_alone_gives() {
    let Some(db) = TestDb::shop(Engine::Postgres).await else {
        return;
    };
    let shop = db.connector("shop_datamap.toml");
    let whos = [ada(), Identity::from_email("bob@example.com")];
    let together = shop
        .access_together(&whos)
        .await
        .expect("reads")
        .expect("the subjects go together");
    for (who, got) in whos.iter().zip(&together) {
        assert!(*got == shop.access(who).await.expect("access alone"));
    }
    let text = |r: &rightsdesk::connectors::AccessResult| serde_json::to_string(r).unwrap();
    for got in &together {
        assert!(text(got).contains("1 Shared Lane"));
        assert!(!text(got).contains("cy@example.com"));
    }
    assert!(text(&together[0]).contains("5 Holiday Cove"));
    assert!(!text(&together[1]).contains("5 Holiday Cove"));
    db.finish(&[&shop]).await;
}

/// A row that two subjects of a batch would both change (a ticket one customer opened
/// about the other) sends them one after the other: the batch changes nothing, and
/// erased in turn the first masks the ticket and the second finds it already masked.
#[tokio::test]
async fn a_row_two_subjects_would_change_sends_them_one_after_the_other() {
    let Some(db) = TestDb::empty(Engine::Postgres).await else {
        return;
    };
    db.exec(
        "CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(100));\n\
         CREATE TABLE tickets (id INT PRIMARY KEY, opened_by INT, about INT, note VARCHAR(100));\n\
         INSERT INTO customers VALUES (1, 'a@example.com'), (2, 'b@example.com'), (3, 'c@example.com');\n\
         INSERT INTO tickets VALUES (1, 1, 2, 'a about b'), (2, 1, NULL, 'a alone'), \
         (3, 3, NULL, 'c alone');",
    )
    .await;
    let text = "name = \"tickets\"\nkind = \"postgres\"\nurl = \"${RIGHTSDESK_DM_T_DATABASE_URL}\"\n\n\
         [[tables]]\nname = \"customers\"\nprimary_key = \"id\"\nidentities = { email = \"email\" }\n\
         erase = \"anonymize\"\n[tables.fields]\n\
         email = { category = \"contact.email\", mask = \"hash\" }\n\n\
         [[tables]]\nname = \"tickets\"\nprimary_key = \"id\"\n\
         via = { opened_by = \"customers.id\", about = \"customers.id\" }\nerase = \"anonymize\"\n\
         [tables.fields]\nnote = { category = \"content\", mask = \"null\" }\n";
    let url = db.url.clone();
    let decl = datamap::parse_str_with_env("datamap/tickets.toml", text, &|_| Some(url.clone()))
        .expect("data map");
    let tickets = SqlConnector::connect(decl).expect("connector");
    let whos = [
        Identity::from_email("a@example.com"),
        Identity::from_email("b@example.com"),
    ];
    assert!(
        tickets
            .erase_together(&whos, &hasher)
            .await
            .expect("no error")
            .is_none(),
        "the batch is given up"
    );
    assert_eq!(db.count("tickets WHERE note IS NOT NULL").await, "3");
    let results = tickets.erase_many(&whos, &hasher).await;
    let a = results[0].as_ref().expect("a erased");
    let b = results[1].as_ref().expect("b erased");
    assert!(a.is_complete() && b.is_complete(), "{a:?} {b:?}");
    assert_eq!(
        evidence_row(a, "tickets"),
        (EraseAction::Anonymize, 2, 0, 0)
    );
    assert_eq!(
        evidence_row(b, "tickets"),
        (EraseAction::Anonymize, 0, 0, 0)
    );
    assert_eq!(
        db.texts("SELECT id::text FROM tickets WHERE note IS NOT NULL")
            .await,
        [["3"]]
    );
    assert_eq!(
        db.count("customers WHERE email LIKE '%@example.com'").await,
        "1"
    );
    db.finish(&[&tickets]).await;
}

/// A batch where one subject's erasure fails (a trigger refuses to change her row) is
/// rolled back and erased subject by subject: the others are erased, she is not, and the
/// address she shares with an erased subject is kept for her.
#[tokio::test]
async fn one_failing_subject_leaves_the_others_of_its_batch_erased() {
    let Some(db) = TestDb::empty(Engine::Postgres).await else {
        return;
    };
    db.exec(&format!(
        "{CUSTOMERS_AND_ADDRESSES}\
         INSERT INTO addresses VALUES (1, 'One Street'), (4, 'Four Street'), \
         (100, 'Shared Street');\n\
         INSERT INTO customers VALUES (1, 'c1@example.com', 1), (2, 'c2@example.com', 100), \
         (3, 'c3@example.com', 100), (4, 'c4@example.com', 4);\n\
         CREATE FUNCTION frozen() RETURNS trigger AS $$ BEGIN \
         IF OLD.email = 'c3@example.com' THEN RAISE EXCEPTION 'this customer is frozen'; END IF; \
         RETURN NEW; END $$ LANGUAGE plpgsql;\n\
         CREATE TRIGGER frozen BEFORE UPDATE ON customers FOR EACH ROW EXECUTE FUNCTION frozen();"
    ))
    .await;
    let frozen = customers_and_addresses(&db, "frozen");
    assert!(frozen.runs_together());
    let whos: Vec<Identity> = (1..=4)
        .map(|i| Identity::from_email(&format!("c{i}@example.com")))
        .collect();
    let results = frozen.erase_many(&whos, &hasher).await;
    assert_eq!(results.len(), 4);
    for (i, result) in results.iter().enumerate() {
        if i == 2 {
            let e = result.as_ref().expect_err("c3's erasure fails");
            assert!(
                e.to_string().contains("customers"),
                "the error names the table: {e}"
            );
        } else {
            let evidence = result.as_ref().expect("the others are erased");
            assert!(evidence.is_complete(), "{evidence:?}");
        }
    }
    let c2 = results[1].as_ref().expect("c2 erased");
    assert_eq!(
        evidence_row(c2, "addresses"),
        (EraseAction::Anonymize, 0, 1, 0),
        "the address c2 shares with c3 is kept"
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
        ]
    );
    db.finish(&[&frozen]).await;
}

/// Where a shared row leads on to other tables, access still checks it, so that it is
/// exported but not followed: a parcel sent to the address Ada shares with Bob is not
/// Ada's, one sent to her own holiday address is.
async fn access_does_not_follow_a_shared_row(engine: Engine) {
    let Some(db) = TestDb::shop(engine).await else {
        return;
    };
    db.exec(
        "CREATE TABLE parcels (id INT PRIMARY KEY, address_id INT NOT NULL, recipient VARCHAR(100));\n\
         INSERT INTO parcels (id, address_id, recipient) VALUES \
         (1, 1, 'Bob, 1 Shared Lane'), (2, 5, 'Ada, 5 Holiday Cove');",
    )
    .await;
    let mut text = fixture("shop_datamap.toml").replace(
        "kind = \"sqlite\"",
        &format!("kind = \"{}\"", engine.kind()),
    );
    text.push_str(
        "\n[[tables]]\nname = \"parcels\"\nprimary_key = \"id\"\n\
         via = { address_id = \"addresses.id\" }\nerase = \"delete\"\n",
    );
    let url = db.url.clone();
    let decl = datamap::parse_str_with_env("datamap/shop.toml", &text, &|_| Some(url.clone()))
        .expect("data map");
    let shop = SqlConnector::connect(decl).expect("connector");

    let (access, statements) =
        rightsdesk::connectors::sql::with_statement_log(shop.access(&ada())).await;
    let access = access.expect("access");
    let table = |name: &str| {
        access
            .tables
            .iter()
            .find(|t| t.table == name)
            .map(|t| keys(&t.rows, &["id"]))
            .unwrap_or_default()
    };
    assert_eq!(table("addresses"), [json!(1), json!(3), json!(5)]);
    assert_eq!(table("parcels"), [json!(2)], "{access:?}");
    assert!(
        statements.iter().any(|s| s.contains("COUNT(*)")),
        "{statements:#?}"
    );

    let mut sink = Streamed::default();
    shop.access_into(&ada(), &mut sink)
        .await
        .expect("streamed access");
    assert_eq!(sink.rows["parcels"].len(), 1, "{:?}", sink.rows["parcels"]);
    assert!(sink.rows["parcels"][0].contains("Holiday Cove"));
    assert_eq!(sink.rows["addresses"].len(), 3);
    db.finish(&[&shop]).await;
}

on_every_engine!(access_does_not_follow_a_shared_row);

// ---------------------------------------------------------------------------------------
// Property: after erasing X, every row not reachable from X is unchanged, and access for
// X returns exactly the rows reachable from X (computed here independently).

const PROP_SCHEMA: &str = "
CREATE TABLE addresses (id INTEGER PRIMARY KEY, street TEXT NOT NULL);
CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT,
                        address_id INTEGER REFERENCES addresses (id));
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers (id),
                     note TEXT, total REAL);
CREATE TABLE order_items (order_id INTEGER NOT NULL REFERENCES orders (id), line_no INTEGER NOT NULL,
                          product_id INTEGER NOT NULL REFERENCES products (id), qty INTEGER NOT NULL,
                          PRIMARY KEY (order_id, line_no));
";

const PROP_DATAMAP: &str = r#"
name = "prop"
kind = "sqlite"
url = "${RIGHTSDESK_DM_PROP_URL}"
[[tables]]
name = "customers"
primary_key = "id"
identities = { email = "email" }
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
name = "addresses"
primary_key = "id"
via = { id = "customers.address_id" }
erase = "delete"
"#;

const EMAILS: [&str; 5] = [
    "x@example.com",
    "y@example.com",
    "z@example.com",
    "X@Example.com", // stored mixed-case: a case variant, so X's (DESIGN "Identity matching")
    "w@example.com",
];

#[derive(Debug, Clone)]
struct Dataset {
    addresses: usize,
    products: usize,
    customers: Vec<(usize, Option<usize>, String)>,
    orders: Vec<(usize, String, f64)>,
    items: Vec<(usize, usize, i64)>,
}

fn dataset() -> impl Strategy<Value = Dataset> {
    (
        1usize..5,
        1usize..4,
        prop::collection::vec(
            (0usize..5, prop::option::of(0usize..5), "[a-zA-Z' ]{0,8}"),
            0..8,
        ),
        prop::collection::vec((0usize..8, "[a-z\\-]{0,6}", -100.0f64..100.0), 0..10),
        prop::collection::vec((0usize..10, 0usize..4, 1i64..5), 0..15),
    )
        .prop_map(|(addresses, products, customers, orders, items)| Dataset {
            addresses,
            products,
            customers,
            orders,
            items,
        })
}

struct Inserted {
    /// (id, email, address)
    customers: Vec<(i64, &'static str, Option<i64>)>,
    /// (id, customer)
    orders: Vec<(i64, i64)>,
    /// (order, line)
    items: Vec<(i64, i64)>,
}

async fn insert_dataset(pool: &sqlx::SqlitePool, d: &Dataset) -> Inserted {
    let mut out = Inserted {
        customers: Vec::new(),
        orders: Vec::new(),
        items: Vec::new(),
    };
    for a in 1..=d.addresses as i64 {
        sqlx::query("INSERT INTO addresses (id, street) VALUES (?, ?)")
            .bind(a)
            .bind(format!("{a} Street"))
            .execute(pool)
            .await
            .unwrap();
    }
    for p in 1..=d.products as i64 {
        sqlx::query("INSERT INTO products (id, name) VALUES (?, ?)")
            .bind(p)
            .bind(format!("Product {p}"))
            .execute(pool)
            .await
            .unwrap();
    }
    for (i, (email, address, name)) in d.customers.iter().enumerate() {
        let id = i as i64 + 1;
        let address = address.map(|a| (a % d.addresses) as i64 + 1);
        sqlx::query("INSERT INTO customers (id, email, name, address_id) VALUES (?, ?, ?, ?)")
            .bind(id)
            .bind(EMAILS[*email])
            .bind(name)
            .bind(address)
            .execute(pool)
            .await
            .unwrap();
        out.customers.push((id, EMAILS[*email], address));
    }
    if !out.customers.is_empty() {
        for (i, (customer, note, total)) in d.orders.iter().enumerate() {
            let id = 100 + i as i64;
            let customer = (customer % out.customers.len()) as i64 + 1;
            sqlx::query("INSERT INTO orders (id, customer_id, note, total) VALUES (?, ?, ?, ?)")
                .bind(id)
                .bind(customer)
                .bind(note)
                .bind(total)
                .execute(pool)
                .await
                .unwrap();
            out.orders.push((id, customer));
        }
    }
    if !out.orders.is_empty() {
        let mut lines: BTreeMap<i64, i64> = BTreeMap::new();
        for (order, product, qty) in &d.items {
            let order = out.orders[order % out.orders.len()].0;
            let line = lines.entry(order).or_insert(0);
            *line += 1;
            sqlx::query(
                "INSERT INTO order_items (order_id, line_no, product_id, qty) VALUES (?, ?, ?, ?)",
            )
            .bind(order)
            .bind(*line)
            .bind((product % d.products) as i64 + 1)
            .bind(qty)
            .execute(pool)
            .await
            .unwrap();
            out.items.push((order, *line));
        }
    }
    out
}

async fn quoted_rows(pool: &sqlx::SqlitePool, table: &str) -> BTreeMap<String, String> {
    let columns: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
    )))
    .fetch_all(pool)
    .await
    .unwrap();
    let pk = if table == "order_items" {
        "quote(order_id) || '|' || quote(line_no)".to_string()
    } else {
        "quote(id)".to_string()
    };
    let all: Vec<String> = columns.iter().map(|c| format!("quote(\"{c}\")")).collect();
    let sql = format!("SELECT {pk}, {} FROM {table}", all.join(" || '|' || "));
    sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

/// What a streamed access hands over, each row as its JSON text.
#[derive(Default)]
struct Streamed {
    current: String,
    rows: BTreeMap<String, Vec<String>>,
}

#[async_trait::async_trait]
impl rightsdesk::connectors::RowSink for Streamed {
    async fn table(&mut self, table: &str) -> Result<(), rightsdesk::connectors::SinkError> {
        self.current = table.to_string();
        self.rows.entry(table.to_string()).or_default();
        Ok(())
    }
    async fn row(
        &mut self,
        row: serde_json::Map<String, Value>,
    ) -> Result<(), rightsdesk::connectors::SinkError> {
        let text = Value::Object(row).to_string();
        self.rows
            .entry(self.current.clone())
            .or_default()
            .push(text);
        Ok(())
    }
}

const PROP_TABLES: [&str; 5] = [
    "addresses",
    "products",
    "customers",
    "orders",
    "order_items",
];

async fn erase_property_case(d: Dataset) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("p.db").display());
    let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
        .unwrap()
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
    sqlx::raw_sql(PROP_SCHEMA).execute(&pool).await.unwrap();
    let ins = insert_dataset(&pool, &d).await;

    // Reachability from X, computed from what was inserted.
    let x = "x@example.com";
    let x_customers: BTreeSet<i64> = ins
        .customers
        .iter()
        .filter(|c| c.1.to_lowercase() == x)
        .map(|c| c.0)
        .collect();
    let x_orders: BTreeSet<i64> = ins
        .orders
        .iter()
        .filter(|o| x_customers.contains(&o.1))
        .map(|o| o.0)
        .collect();
    let x_items: BTreeSet<(i64, i64)> = ins
        .items
        .iter()
        .filter(|i| x_orders.contains(&i.0))
        .copied()
        .collect();
    let x_addresses: BTreeSet<i64> = ins
        .customers
        .iter()
        .filter(|c| c.1.to_lowercase() == x)
        .filter_map(|c| c.2)
        .collect();
    let others_addresses: BTreeSet<i64> = ins
        .customers
        .iter()
        .filter(|c| c.1.to_lowercase() != x)
        .filter_map(|c| c.2)
        .collect();

    let decl = datamap::parse_str_with_env("prop.toml", PROP_DATAMAP, &|_| Some(url.clone()))
        .expect("valid data map");
    let conn = SqlConnector::with_pool(decl, pool.clone().into()).unwrap();
    let who = Identity::from_email(x);

    let access = conn.access(&who).await.unwrap();
    // The streamed access (pages, only parent values kept) finds the same rows.
    let mut streamed = Streamed::default();
    conn.access_into(&who, &mut streamed).await.unwrap();
    for t in &access.tables {
        let mut whole: Vec<String> = t
            .rows
            .iter()
            .map(|r| Value::Object(r.clone()).to_string())
            .collect();
        whole.sort();
        let mut got = streamed.rows.remove(&t.table).unwrap_or_default();
        got.sort();
        prop_assert_eq!(got, whole, "streamed access of {}", t.table);
    }
    let ids = |table: &str, key: &[&str]| -> BTreeSet<Vec<i64>> {
        access
            .tables
            .iter()
            .find(|t| t.table == table)
            .unwrap()
            .rows
            .iter()
            .map(|r| key.iter().map(|k| r[*k].as_i64().unwrap()).collect())
            .collect()
    };
    let single = |s: &BTreeSet<i64>| s.iter().map(|v| vec![*v]).collect::<BTreeSet<_>>();
    prop_assert_eq!(ids("customers", &["id"]), single(&x_customers));
    prop_assert_eq!(ids("orders", &["id"]), single(&x_orders));
    prop_assert_eq!(
        ids("order_items", &["order_id", "line_no"]),
        x_items
            .iter()
            .map(|(o, l)| vec![*o, *l])
            .collect::<BTreeSet<_>>()
    );
    prop_assert_eq!(ids("addresses", &["id"]), single(&x_addresses));

    let mut before = BTreeMap::new();
    for t in PROP_TABLES {
        before.insert(t, quoted_rows(&pool, t).await);
    }
    let evidence = conn.erase(&who, &hasher).await.unwrap();
    prop_assert!(evidence.is_complete());

    // Erased: X's customers, orders and items, and X's addresses no one else uses.
    let erased: BTreeMap<&str, BTreeSet<String>> = BTreeMap::from([
        (
            "customers",
            x_customers.iter().map(|i| i.to_string()).collect(),
        ),
        ("orders", x_orders.iter().map(|i| i.to_string()).collect()),
        (
            "order_items",
            x_items.iter().map(|(o, l)| format!("{o}|{l}")).collect(),
        ),
        (
            "addresses",
            x_addresses
                .difference(&others_addresses)
                .map(|i| i.to_string())
                .collect(),
        ),
        ("products", BTreeSet::new()),
    ]);
    for t in PROP_TABLES {
        let after = quoted_rows(&pool, t).await;
        for (key, row) in &before[t] {
            if erased[t].contains(key) {
                prop_assert!(!after.contains_key(key), "{} {} must be erased", t, key);
            } else {
                prop_assert_eq!(after.get(key), Some(row), "{} {} unchanged", t, key);
            }
        }
        prop_assert_eq!(after.len(), before[t].len() - erased[t].len());
    }
    // And again: nothing more changes.
    let again = conn.erase(&who, &hasher).await.unwrap();
    prop_assert!(again.tables.iter().all(|t| t.rows_affected == 0));
    pool.close().await;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn erasure_changes_only_rows_reachable_from_the_subject_sqlite(d in dataset()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(erase_property_case(d))?;
    }
}

// ---------------------------------------------------------------------------------------
// Data-map parsing and validation (no database).

fn parse(text: &str) -> Result<ConnectorDecl, Vec<DatamapProblem>> {
    datamap::parse_str_with_env("datamap/app.toml", text, &|name| {
        (name == "RIGHTSDESK_DM_APP_DATABASE_URL")
            .then(|| "postgres://app:secret@db/app".to_string())
    })
}

fn problems(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(_) => Vec::new(),
        Err(p) => p.iter().map(ToString::to_string).collect(),
    }
}

const HEADER: &str =
    "name = \"app\"\nkind = \"postgres\"\nurl = \"${RIGHTSDESK_DM_APP_DATABASE_URL}\"\n";

const CUSTOMERS: &str = "[[tables]]\nname = \"customers\"\nprimary_key = \"id\"\n\
                         identities = { email = \"email\" }\nerase = \"delete\"\n";

#[test]
fn design_example_parses_into_typed_declarations() {
    let text = r#"
name = "app"
kind = "postgres"
url = "${RIGHTSDESK_DM_APP_DATABASE_URL}"        # ${VAR} is read from the environment
max_connections = 4

[[tables]]
name = "customers"
primary_key = "id"
identities = { email = "email" }   # identity type -> column
erase = "delete"                   # delete | anonymize | retain
[tables.fields]                    # columns worth describing; others are exported as they are
email = { category = "contact.email", mask = "hash" }
name = { category = "name", rectify = true }
password_hash = { export = false, reason = "security credential" }

[[tables]]
name = "orders"
primary_key = "id"
via = { customer_id = "customers.id" }   # rows whose customer_id is among found customers.id
erase = "anonymize"                      # masked fields below; identity columns must have a mask
retain_reason = "Invoices are kept 10 years under tax law"
[tables.fields]
shipping_address = { category = "contact.address", mask = "null" }

[restriction]
table = "customers"
set = { processing_restricted = true }
[objection]
table = "customers"
set = { marketing_opt_out = true }

[[retention]]
name = "stale-leads"
table = "customers"
age_column = "last_activity_at"
max_age = "24 months"
action = "delete"            # delete | anonymize (uses the table's field masks)
batch_size = 5000
schedule = "0 30 3 * * *"    # sec min hour day month weekday
filter = { status = "lead" }
"#;
    let decl = parse(text).expect("valid");
    assert_eq!(decl.name(), "app");
    assert_eq!(decl.kind(), ConnectorKind::Postgres);
    assert_eq!(decl.file(), "datamap/app.toml");
    assert_eq!(decl.max_connections(), 4);
    let url = decl.url().expect("url");
    assert_eq!(url.expose(), "postgres://app:secret@db/app");
    assert_eq!(format!("{url:?}"), "[redacted]");
    assert!(
        !format!("{decl:?}").contains("secret"),
        "Debug hides the URL"
    );

    let customers = &decl.tables()[0];
    assert_eq!(customers.primary_key, ["id"]);
    assert_eq!(customers.identities[&IdentityType::Email], "email");
    assert_eq!(customers.erase, EraseAction::Delete);
    assert_eq!(customers.mask_of("email"), Some(Mask::Hash));
    assert!(customers.is_rectifiable("name"));
    assert!(!customers.is_exported("password_hash"));
    assert!(
        customers.is_exported("created_at"),
        "undeclared columns are exported"
    );
    let orders = &decl.tables()[1];
    assert_eq!(orders.via[0].column, "customer_id");
    assert_eq!(orders.via[0].parents[0].to_string(), "customers.id");
    assert_eq!(orders.erase, EraseAction::Anonymize);
    assert_eq!(
        orders.retain_reason.as_deref(),
        Some("Invoices are kept 10 years under tax law")
    );
    assert_eq!(decl.traversal_order(), &[0, 1]);
    assert_eq!(decl.restriction().expect("restriction").table, "customers");
    assert_eq!(decl.objection().expect("objection").set.len(), 1);
    assert_eq!(decl.rectifiable_fields(), ["customers.name"]);

    let r = &decl.retention()[0];
    assert_eq!(r.name, "stale-leads");
    assert_eq!((r.max_age.amount, r.max_age.unit), (24, AgeUnit::Months));
    assert_eq!(r.action, RetentionAction::Delete);
    assert_eq!(r.batch_size, 5000);
    assert_eq!(r.schedule.as_deref(), Some("0 30 3 * * *"));
    assert_eq!(r.filter.len(), 1);
}

#[test]
fn peer_workload_data_map_is_expressible() {
    let text = fixture("peer_datamap.toml");
    let decl = datamap::parse_str_with_env("datamap/peer.toml", &text, &|_| {
        Some("postgres://u@h/db".into())
    })
    .expect("valid");
    let (_, address) = decl.table("address").expect("address");
    assert_eq!(
        address.via[0].parents.len(),
        3,
        "one column fed by three parents"
    );
    let (_, visit) = decl.table("visit").expect("visit");
    assert_eq!(visit.primary_key, ["email", "last_visit"], "composite key");
    // Parents come before children: customer before orders before address.
    let pos = |name: &str| {
        let (i, _) = decl.table(name).unwrap();
        decl.traversal_order().iter().position(|&t| t == i).unwrap()
    };
    assert!(pos("customer") < pos("orders") && pos("orders") < pos("address"));
    assert!(pos("payment_card") < pos("address"));
}

#[test]
fn other_kinds_get_their_own_typed_settings() {
    let decl = parse(
        "name = \"cache\"\nkind = \"redis\"\nurl = \"redis://cache:6379\"\n\
         [[keys]]\npattern = \"session:{email}\"\n",
    )
    .expect("valid");
    assert_eq!(decl.kind(), ConnectorKind::Redis);
    assert_eq!(
        decl.redis_settings().expect("redis").keys[0].pattern,
        "session:{email}"
    );
    assert!(decl.tables().is_empty());
    let manual = parse(
        "name = \"vendor\"\nkind = \"manual\"\nemail = \"privacy@vendor.example\"\ninstructions = \"email them\"\n",
    )
    .expect("manual needs no url");
    assert!(manual.url().is_none());
    assert_eq!(
        manual.manual_settings().expect("manual").email,
        "privacy@vendor.example"
    );
    assert_eq!(
        problems("name = \"hook\"\nkind = \"http\"\n"),
        [
            "datamap/app.toml: url: missing key: a http connector needs a url",
            "datamap/app.toml: secret: missing key: an http connector needs a signing secret (secret = \"${VAR}\")"
        ]
    );
}

#[test]
fn missing_environment_variable_names_file_and_key() {
    let text =
        "name = \"app\"\nkind = \"postgres\"\nurl = \"${RIGHTSDESK_DM_TEST_SURELY_UNSET}\"\n";
    let err = datamap::parse_str("datamap/app.toml", text).expect_err("missing variable");
    assert_eq!(
        err.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["datamap/app.toml: url: environment variable RIGHTSDESK_DM_TEST_SURELY_UNSET is not set"]
    );
    assert_eq!(
        problems("name = \"app\"\nkind = \"postgres\"\nurl = \"mysql://x\"\n"),
        [
            "datamap/app.toml: url: a postgres connector needs a URL starting with postgres:// or postgresql://"
        ]
    );
}

#[test]
fn duplicate_table_names_are_reported() {
    let text = format!("{HEADER}{CUSTOMERS}{CUSTOMERS}");
    assert_eq!(
        problems(&text),
        [
            "datamap/app.toml: tables[1].name: table \"customers\" is declared twice (first as tables[0])"
        ]
    );
}

#[test]
fn duplicate_connector_names_across_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{HEADER}{CUSTOMERS}");
    std::fs::write(dir.path().join("a.toml"), &text).unwrap();
    std::fs::write(dir.path().join("b.toml"), &text).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a data map").unwrap();
    let err = datamap::load_dir_with_env(dir.path(), &|_| Some("postgres://h/db".into()))
        .expect_err("duplicate");
    assert_eq!(err.len(), 1);
    assert_eq!(err[0].key, "name");
    assert!(err[0].file.ends_with("b.toml"));
    assert!(err[0].message.contains("already declared in") && err[0].message.contains("a.toml"));
}

#[test]
fn load_dir_of_a_missing_or_empty_directory_is_an_empty_data_map() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        datamap::load_dir(dir.path(), &[])
            .expect("empty")
            .is_empty()
    );
    assert!(
        datamap::load_dir(&dir.path().join("nope"), &[])
            .expect("missing")
            .is_empty()
    );
    let text = format!("{HEADER}{CUSTOMERS}");
    std::fs::write(dir.path().join("app.toml"), text).unwrap();
    let map = datamap::load_dir_with_env(dir.path(), &|_| Some("postgres://h/db".into()))
        .expect("one connector");
    assert_eq!(map.connectors().len(), 1);
    assert!(map.connector("app").is_some());
}

#[test]
fn via_to_an_undeclared_table_is_reported_with_its_key() {
    let text = format!(
        "{HEADER}{CUSTOMERS}[[tables]]\nname = \"orders\"\nprimary_key = \"id\"\n\
         via = {{ customer_id = \"customers.id\" }}\nerase = \"delete\"\n\
         [[tables]]\nname = \"invoices\"\nprimary_key = \"id\"\n\
         via = {{ customer_id = \"custmers.id\", order_id = \"orders\" }}\nerase = \"delete\"\n"
    );
    assert_eq!(
        problems(&text),
        [
            "datamap/app.toml: tables[2].via.customer_id: unknown table \"custmers\"",
            "datamap/app.toml: tables[2].via.order_id: expected \"table.column\", found \"orders\"",
        ]
    );
}

#[test]
fn via_cycles_are_reported() {
    let text = format!(
        "{HEADER}{CUSTOMERS}[[tables]]\nname = \"a\"\nprimary_key = \"id\"\n\
         via = {{ b_id = \"b.id\", customer_id = \"customers.id\" }}\nerase = \"delete\"\n\
         [[tables]]\nname = \"b\"\nprimary_key = \"id\"\n\
         via = {{ a_id = \"a.id\" }}\nerase = \"delete\"\n"
    );
    let p = problems(&text);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].starts_with("datamap/app.toml: tables["), "{p:?}");
    assert!(p[0].contains("via edges form a cycle: "), "{p:?}");
    assert!(
        p[0].contains("a -> b -> a") || p[0].contains("b -> a -> b"),
        "{p:?}"
    );

    let self_loop = format!(
        "{HEADER}{CUSTOMERS}[[tables]]\nname = \"staff\"\nprimary_key = \"id\"\n\
         identities = {{ email = \"email\" }}\nvia = {{ manager_id = \"staff.id\" }}\nerase = \"delete\"\n"
    );
    assert_eq!(
        problems(&self_loop),
        ["datamap/app.toml: tables[1].via.manager_id: via edges form a cycle: staff -> staff"]
    );
}

#[test]
fn a_table_without_identity_path_is_reported() {
    let text = format!(
        "{HEADER}{CUSTOMERS}[[tables]]\nname = \"orphans\"\nprimary_key = \"id\"\nerase = \"delete\"\n"
    );
    assert_eq!(
        problems(&text),
        [
            "datamap/app.toml: tables[1]: table \"orphans\" has no identity path: declare `identities` or `via`"
        ]
    );
}

#[test]
fn anonymized_identity_columns_need_a_mask() {
    let text = format!(
        "{HEADER}[[tables]]\nname = \"visits\"\nprimary_key = [\"email\", \"at\"]\n\
         identities = {{ email = \"email\" }}\nerase = \"anonymize\"\n\
         [tables.fields]\nip = {{ mask = \"null\" }}\n\
         [[tables]]\nname = \"notes\"\nprimary_key = \"id\"\nvia = {{ email = \"visits.email\" }}\n\
         erase = \"anonymize\"\n\
         [[tables]]\nname = \"kept\"\nprimary_key = \"id\"\nvia = {{ email = \"visits.email\" }}\n\
         erase = \"retain\"\n"
    );
    assert_eq!(
        problems(&text),
        [
            "datamap/app.toml: tables[0].identities.email: table \"visits\" is anonymized, so its identity column \"email\" needs a mask in [tables.fields]",
            "datamap/app.toml: tables[1].erase: \"anonymize\" needs at least one field with a mask",
            "datamap/app.toml: tables[2].retain_reason: a retained table needs a reason (it is told to the subject, GDPR art. 17(3))",
        ]
    );
}

#[test]
fn unknown_mask_kinds_and_unknown_keys_name_file_line_and_key() {
    let text = format!("{HEADER}{CUSTOMERS}[tables.fields]\nemail = {{ mask = \"scramble\" }}\n");
    let err = parse(&text).expect_err("unknown mask");
    assert_eq!(err.len(), 1);
    assert_eq!(err[0].file, "datamap/app.toml");
    assert_eq!(err[0].line, Some(10));
    assert_eq!(err[0].key, "tables[0].fields.email.mask");
    assert!(err[0].message.contains("scramble"), "{}", err[0]);
    assert!(
        err[0].message.contains("hash"),
        "the allowed masks are listed"
    );

    let typo = format!("{HEADER}{CUSTOMERS}erasee = \"delete\"\n");
    let err = parse(&typo).expect_err("unknown key");
    assert_eq!(err[0].key, "tables[0].erasee");
    assert_eq!(err[0].line, Some(9));
    assert!(
        err[0]
            .to_string()
            .starts_with("datamap/app.toml: line 9: tables[0].erasee: unknown field")
    );

    let top = format!("{HEADER}colour = \"blue\"\n{CUSTOMERS}");
    let err = parse(&top).expect_err("unknown top-level key");
    assert_eq!(err[0].key, "colour");
    assert_eq!(err[0].line, Some(4));

    let kind = "name = \"app\"\nkind = \"oracle\"\nurl = \"x\"\n";
    let err = parse(kind).expect_err("unknown kind");
    assert_eq!((err[0].key.as_str(), err[0].line), ("kind", Some(2)));

    let identity = format!(
        "{HEADER}[[tables]]\nname = \"t\"\nprimary_key = \"id\"\n\
         identities = {{ phone = \"phone\" }}\nerase = \"delete\"\n"
    );
    assert_eq!(
        problems(&identity),
        [
            "datamap/app.toml: tables[0].identities.phone: unknown identity type \"phone\" (supported: email)"
        ]
    );
}

#[test]
fn retention_is_parsed_and_checked() {
    let text = format!(
        "{HEADER}{CUSTOMERS}[[retention]]\nname = \"old\"\ntable = \"leads\"\n\
         age_column = \"last_activity_at\"\nmax_age = \"24 moons\"\naction = \"anonymize\"\n\
         schedule = \"every night\"\nbatch_size = 0\n\
         [[retention]]\nname = \"old-customers\"\ntable = \"customers\"\n\
         age_column = \"created_at\"\nmax_age = \"2 years\"\naction = \"anonymize\"\n"
    );
    assert_eq!(
        problems(&text),
        [
            "datamap/app.toml: retention[0].table: unknown table \"leads\"",
            "datamap/app.toml: retention[0].max_age: \"24 moons\" is not an age such as \"24 months\", \"2 years\" or \"90d\"",
            "datamap/app.toml: retention[0].batch_size: must be between 1 and 100000",
            "datamap/app.toml: retention[0].schedule: expected six cron fields: sec min hour day month weekday",
            "datamap/app.toml: retention[1].action: \"anonymize\" uses the field masks of table \"customers\", which declares none",
        ]
    );
    let ok = format!(
        "{HEADER}{CUSTOMERS}[[retention]]\nname = \"old\"\ntable = \"customers\"\n\
         age_column = \"created_at\"\nmax_age = \"90d\"\naction = \"delete\"\n"
    );
    let decl = parse(&ok).expect("valid");
    let r = &decl.retention()[0];
    assert_eq!((r.max_age.amount, r.max_age.unit), (90, AgeUnit::Days));
    assert_eq!(r.batch_size, 1000, "default batch size");
    assert_eq!(r.schedule, None);
}

#[test]
fn restriction_and_objection_must_name_declared_tables() {
    let text = format!(
        "{HEADER}{CUSTOMERS}[restriction]\ntable = \"users\"\nset = {{ restricted = true }}\n\
         [objection]\ntable = \"customers\"\nset = {{ opt_out = [1, 2] }}\n"
    );
    assert_eq!(
        problems(&text),
        [
            "datamap/app.toml: restriction.table: unknown table \"users\"",
            "datamap/app.toml: objection.set.opt_out: must be a boolean, a number or a string",
        ]
    );
}

#[test]
fn all_problems_are_reported_at_once() {
    let text = format!(
        "{HEADER}{CUSTOMERS}[[tables]]\nname = \"orders\"\nprimary_key = \"id\"\n\
         via = {{ customer_id = \"custmers.id\" }}\nerase = \"delete\"\n\
         [[tables]]\nname = \"orphans\"\nprimary_key = []\nerase = \"delete\"\n\
         [[retention]]\nname = \"r\"\ntable = \"nope\"\nage_column = \"at\"\nmax_age = \"1d\"\n\
         action = \"delete\"\n"
    );
    let p = problems(&text);
    assert_eq!(p.len(), 4, "{p:#?}");
}

#[test]
fn malformed_toml_gives_file_and_line() {
    let cases = [
        (
            "name = \"app\"\nkind = \"postgres\nurl = \"x\"\n",
            2,
            "kind",
        ),
        (
            "name = \"app\"\nkind = \"postgres\"\nurl = \"x\"\n[[tables]]\nname = \"a\"\nprimary_key = \n",
            6,
            "tables[0].primary_key",
        ),
        ("name = \"app\"\n[[tables]\n", 2, ""),
        ("name = \"app\"\nname = \"again\"\n", 2, "name"),
    ];
    for (text, line, key) in cases {
        let err = parse(text).expect_err("malformed");
        assert_eq!(err.len(), 1, "{err:?}");
        assert_eq!(err[0].file, "datamap/app.toml");
        assert_eq!(err[0].line, Some(line), "{text:?}: {}", err[0]);
        assert_eq!(err[0].key, key, "{text:?}: {}", err[0]);
        assert!(err[0].to_string().contains(&format!("line {line}")));
    }
    let wrong_type = format!("{HEADER}max_connections = \"four\"\n");
    let err = parse(&wrong_type).expect_err("wrong type");
    assert_eq!(
        (err[0].key.as_str(), err[0].line),
        ("max_connections", Some(4))
    );
    assert_eq!(
        problems("url = \"x\"\n"),
        ["datamap/app.toml: kind: missing key (postgres, mysql, sqlite, redis, http or manual)"]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the file holds, parsing answers with a declaration or problems.
    #[test]
    fn parsing_never_panics(
        cut in 0usize..2000,
        insert in "[\\[\\]{}=\"'.,#a-z0-9 \n\\\\]{0,12}",
        random in "\\PC{0,200}",
    ) {
        let valid = fixture("shop_datamap.toml");
        let mut at = cut.min(valid.len());
        while !valid.is_char_boundary(at) {
            at -= 1;
        }
        let mutated = format!("{}{insert}{}", &valid[..at], &valid[at..]);
        for text in [mutated.as_str(), random.as_str()] {
            if let Err(problems) = parse(text) {
                prop_assert!(!problems.is_empty());
                for p in problems {
                    prop_assert_eq!(p.file.as_str(), "datamap/app.toml");
                }
            }
        }
    }
}
