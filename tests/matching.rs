//! Identity matching on every engine and collation (DESIGN "Identity matching"): a case
//! variant of the subject's address is found by preview, access (streamed and whole) and
//! erasure; an accent, decomposed or padded variant is never touched, in either
//! direction; the erasure evidence lists rows found, changed and left per table, and
//! cannot be fooled by a change the database undoes; `check`'s index advice names each
//! identity column without a usable index and its statement makes the advice go away.
//!
//! Real servers: SQLite (a file per test), PostgreSQL (`RIGHTSDESK_TEST_POSTGRES_URL`) and
//! MariaDB/MySQL (`RIGHTSDESK_TEST_MYSQL_URL`), each with its default collation and a
//! binary one (PostgreSQL `C`, MariaDB `utf8mb4_bin`, SQLite `BINARY` vs `NOCASE`), each
//! test on a fresh database dropped at the end.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use hmac::{Hmac, KeyInit, Mac};
use rightsdesk::clock::Clock;
use rightsdesk::connectors::datamap::{self, ConnectorDecl};
use rightsdesk::connectors::{
    Connector, EraseAction, ErasureEvidence, ErasureTable, Identity, RowSink, SqlConnector, SqlPool,
};
use serde_json::{Map, Value};
use sha2::Sha256;
use sqlx::Row;

fn hasher(value: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"test-deployment-key").expect("key");
    mac.update(value.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The subject whose address is stored in mixed case (and exactly) in `example.com`.
fn plain() -> Identity {
    Identity::from_email("mixed.case@example.com")
}

/// The accent variant's owner: another person, `exämple.com` (also stored as A-label).
fn accented() -> Identity {
    Identity::from_email("mixed.case@exämple.com")
}

/// leads: id -> stored email. 1, 2 are `plain`; 3, 4, 5 are `accented` (5 as A-label);
/// 6 is someone else; 7 has a trailing space, 8 is decomposed (a + U+0308): neither
/// matches byte for byte once lower-cased.
const LEADS: &[(i64, &str)] = &[
    (1, "Mixed.Case@Example.com"),
    (2, "mixed.case@example.com"),
    (3, "mixed.case@exämple.com"),
    (4, "MIXED.CASE@EXÄMPLE.COM"),
    (5, "Mixed.Case@XN--EXMPLE-CUA.com"),
    (6, "other@example.com"),
    (7, "mixed.case@example.com "),
    (8, "mixed.case@exa\u{308}mple.com"),
];
/// newsletter: id -> stored email (1 is `plain`, 2 is `accented`).
const NEWSLETTER: &[(i64, &str)] = &[
    (1, "MIXED.CASE@example.com"),
    (2, "Mixed.Case@Exämple.com"),
    (3, "other@example.com"),
];
/// Visits of lead 1 beyond the two every lead has: more than one page of the streamed
/// access (2,000 rows).
const MANY_VISITS: i64 = 2500;

use common::product::{Engine, ProductDb as TestDb};

/// One collation setup: `binary` is the engine's binary collation on the email columns.
#[derive(Debug, Clone, Copy)]
struct Setup {
    engine: Engine,
    binary: bool,
}

impl Setup {
    fn collate(self) -> &'static str {
        match (self.engine, self.binary) {
            (_, false) => "",
            (Engine::Sqlite, true) => "",
            (Engine::Postgres, true) => " COLLATE \"C\"",
            (Engine::MySql, true) => " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
        }
    }

    /// SQLite's default is already binary; its other setup is `NOCASE` with an index.
    fn sqlite_nocase(self) -> &'static str {
        match (self.engine, self.binary) {
            (Engine::Sqlite, false) => " COLLATE NOCASE",
            _ => "",
        }
    }

    fn schema(self) -> String {
        let c = format!("{}{}", self.collate(), self.sqlite_nocase());
        let table_opts = if self.engine == Engine::MySql {
            " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        } else {
            ""
        };
        format!(
            "CREATE TABLE leads (id INTEGER PRIMARY KEY, email VARCHAR(254){c}, name VARCHAR(100)){table_opts};
             CREATE INDEX leads_email ON leads (email);
             CREATE TABLE visits (id INTEGER PRIMARY KEY, lead_id INTEGER, page VARCHAR(200)){table_opts};
             CREATE INDEX visits_lead ON visits (lead_id);
             CREATE TABLE newsletter (id INTEGER PRIMARY KEY, email VARCHAR(254){c}){table_opts};
             CREATE INDEX newsletter_email ON newsletter (email);"
        )
    }
}

const DATAMAP: &str = r#"
name = "crm"
kind = "KIND"
url = "${RIGHTSDESK_DM_CRM_URL}"

[[tables]]
name = "leads"
primary_key = "id"
identities = { email = "email" }
erase = "delete"

[[tables]]
name = "visits"
primary_key = "id"
via = { lead_id = "leads.id" }
erase = "ERASE_VISITS"
[tables.fields]
page = { category = "activity", mask = "null" }

[[tables]]
name = "newsletter"
primary_key = "id"
identities = { email = "email" }
erase = "anonymize"
[tables.fields]
email = { category = "contact.email", mask = "null" }
"#;

impl TestDb {
    /// The CRM schema and rows (see [`LEADS`], [`NEWSLETTER`]).
    async fn crm(setup: Setup) -> Option<Self> {
        let db = Self::fresh(setup.engine, "rd_match").await?;
        for stmt in setup.schema().split(';').filter(|s| !s.trim().is_empty()) {
            db.exec(stmt).await;
        }
        for (id, email) in LEADS {
            db.insert(
                "INSERT INTO leads (id, email, name) VALUES (?, ?, 'n')",
                *id,
                email,
            )
            .await;
        }
        for (id, email) in NEWSLETTER {
            db.insert(
                "INSERT INTO newsletter (id, email) VALUES (?, ?)",
                *id,
                email,
            )
            .await;
        }
        let mut visits: Vec<(i64, i64)> = Vec::new();
        for (lead, _) in LEADS {
            visits.push((lead * 10 + 1, *lead));
            visits.push((lead * 10 + 2, *lead));
        }
        for i in 0..MANY_VISITS {
            visits.push((100_000 + i, 1));
        }
        for chunk in visits.chunks(500) {
            let values: Vec<String> = chunk
                .iter()
                .map(|(id, lead)| format!("({id}, {lead}, '/page/{id}')"))
                .collect();
            db.exec(&format!(
                "INSERT INTO visits (id, lead_id, page) VALUES {}",
                values.join(", ")
            ))
            .await;
        }
        Some(db)
    }

    /// An insert with `?` placeholders for an id and a text (bound, so any byte is kept).
    async fn insert(&self, sql: &str, id: i64, text: &str) {
        match &self.pool {
            SqlPool::Postgres(p) => {
                let sql = sql.replacen('?', "$1", 1).replacen('?', "$2", 1);
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .bind(text)
                    .execute(p)
                    .await
                    .map(drop)
            }
            SqlPool::MySql(p) => sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .bind(id)
                .bind(text)
                .execute(p)
                .await
                .map(drop),
            SqlPool::Sqlite(p) => sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .bind(id)
                .bind(text)
                .execute(p)
                .await
                .map(drop),
        }
        .expect("insert");
    }

    /// `id -> text` of a two-column query (the text decoded as bytes, compared exactly).
    async fn pairs(&self, sql: &str) -> BTreeMap<i64, Option<Vec<u8>>> {
        fn collect<R: Row>(rows: Vec<R>) -> BTreeMap<i64, Option<Vec<u8>>>
        where
            usize: sqlx::ColumnIndex<R>,
            i64: for<'r> sqlx::Decode<'r, R::Database>,
            String: for<'r> sqlx::Decode<'r, R::Database>,
        {
            rows.iter()
                .map(|r| {
                    let id: i64 = r.try_get_unchecked(0).expect("id");
                    let v: Option<String> = r.try_get_unchecked(1).expect("text");
                    (id, v.map(String::into_bytes))
                })
                .collect()
        }
        let q = sqlx::AssertSqlSafe(sql.to_string());
        match &self.pool {
            SqlPool::Postgres(p) => collect(sqlx::query(q).fetch_all(p).await.expect("query")),
            SqlPool::MySql(p) => collect(sqlx::query(q).fetch_all(p).await.expect("query")),
            SqlPool::Sqlite(p) => collect(sqlx::query(q).fetch_all(p).await.expect("query")),
        }
    }

    async fn leads(&self) -> BTreeMap<i64, Option<Vec<u8>>> {
        let cast = match self.engine {
            Engine::MySql => "CAST(id AS SIGNED)",
            Engine::Postgres => "CAST(id AS BIGINT)",
            Engine::Sqlite => "id",
        };
        self.pairs(&format!("SELECT {cast}, email FROM leads"))
            .await
    }

    async fn newsletter(&self) -> BTreeMap<i64, Option<Vec<u8>>> {
        let cast = match self.engine {
            Engine::MySql => "CAST(id AS SIGNED)",
            Engine::Postgres => "CAST(id AS BIGINT)",
            Engine::Sqlite => "id",
        };
        self.pairs(&format!("SELECT {cast}, email FROM newsletter"))
            .await
    }

    /// lead_id -> number of visits.
    async fn visits_per_lead(&self) -> BTreeMap<i64, Option<Vec<u8>>> {
        let (a, b) = match self.engine {
            Engine::MySql => ("CAST(lead_id AS SIGNED)", "CAST(COUNT(*) AS CHAR)"),
            Engine::Postgres => ("CAST(lead_id AS BIGINT)", "CAST(COUNT(*) AS TEXT)"),
            Engine::Sqlite => ("lead_id", "CAST(COUNT(*) AS TEXT)"),
        };
        self.pairs(&format!(
            "SELECT {a}, {b} FROM visits WHERE page IS NOT NULL GROUP BY lead_id"
        ))
        .await
    }

    fn decl(&self, erase_visits: &str) -> ConnectorDecl {
        let text = DATAMAP
            .replace("KIND", self.engine.kind())
            .replace("ERASE_VISITS", erase_visits);
        let url = self.url.clone();
        datamap::parse_str_with_env("datamap/crm.toml", &text, &|_| Some(url.clone()))
            .unwrap_or_else(|p| panic!("data map is valid: {p:?}"))
    }

    fn connector(&self, erase_visits: &str) -> SqlConnector {
        SqlConnector::connect(self.decl(erase_visits)).expect("connector")
    }
}

/// A sink that keeps what it is given, as the service's part writer would store it.
#[derive(Default)]
struct Collected {
    tables: Vec<String>,
    rows: BTreeMap<String, Vec<Map<String, Value>>>,
    current: String,
}

#[async_trait]
impl RowSink for Collected {
    async fn table(&mut self, table: &str) -> Result<(), rightsdesk::connectors::SinkError> {
        self.tables.push(table.to_string());
        self.current = table.to_string();
        self.rows.entry(table.to_string()).or_default();
        Ok(())
    }
    async fn row(
        &mut self,
        row: Map<String, Value>,
    ) -> Result<(), rightsdesk::connectors::SinkError> {
        self.rows.entry(self.current.clone()).or_default().push(row);
        Ok(())
    }
}

fn ids(rows: &[Map<String, Value>]) -> BTreeSet<i64> {
    rows.iter()
        .map(|r| r["id"].as_i64().expect("integer id"))
        .collect()
}

fn table<'e>(e: &'e ErasureEvidence, name: &str) -> &'e ErasureTable {
    e.tables
        .iter()
        .find(|t| t.table == name)
        .unwrap_or_else(|| panic!("evidence for {name}"))
}

/// Leads (and visits, newsletter rows) each subject owns.
fn owned(who: &str) -> (BTreeSet<i64>, BTreeSet<i64>) {
    match who {
        "plain" => ([1, 2].into(), [1].into()),
        _ => ([3, 4, 5].into(), [2].into()),
    }
}

async fn case_variants_match_and_accent_variants_never_do(setup: Setup) {
    let Some(db) = TestDb::crm(setup).await else {
        return;
    };
    let crm = db.connector("delete");
    let leads_before = db.leads().await;
    let newsletter_before = db.newsletter().await;

    for (label, who) in [("plain", plain()), ("accented", accented())] {
        let (leads, letters) = owned(label);
        let visits: usize = leads.len() * 2
            + if leads.contains(&1) {
                MANY_VISITS as usize
            } else {
                0
            };

        // Preview: exactly the subject's rows, per table.
        let preview = crm.preview_erasure(&who).await.expect("preview");
        let p = |name: &str| {
            preview
                .tables
                .iter()
                .find(|t| t.table == name)
                .unwrap_or_else(|| panic!("preview lists {name}"))
        };
        let keys: BTreeSet<i64> = p("leads")
            .keys
            .iter()
            .map(|k| k[0].as_i64().unwrap())
            .collect();
        assert_eq!(keys, leads, "{label}: preview of leads on {setup:?}");
        assert_eq!(
            p("visits").rows as usize,
            visits,
            "{label}: preview of visits"
        );
        let keys: BTreeSet<i64> = p("newsletter")
            .keys
            .iter()
            .map(|k| k[0].as_i64().unwrap())
            .collect();
        assert_eq!(keys, letters, "{label}: preview of newsletter");

        // Access, whole and streamed (in pages of 2,000), find the same rows.
        let whole = crm.access(&who).await.expect("access");
        let mut streamed = Collected::default();
        let counts = (&crm as &dyn Connector)
            .access_into(&who, &mut streamed)
            .await
            .expect("streamed access");
        for t in &whole.tables {
            let s = &streamed.rows[&t.table];
            assert_eq!(
                ids(s),
                ids(&t.rows),
                "{label}: streamed {} = whole",
                t.table
            );
            assert_eq!(
                s.len(),
                t.rows.len(),
                "{label}: no row twice in {}",
                t.table
            );
        }
        assert_eq!(
            ids(&streamed.rows["leads"]),
            leads,
            "{label}: access to leads"
        );
        assert_eq!(
            streamed.rows["visits"].len(),
            visits,
            "{label}: access to visits"
        );
        assert_eq!(
            ids(&streamed.rows["newsletter"]),
            letters,
            "{label}: newsletter"
        );
        assert_eq!(
            counts.row_count() as usize,
            leads.len() + visits + letters.len()
        );
        // The stored value is exported as it is (binary-collation text too), not as the
        // canonical form.
        for r in streamed.rows["leads"].iter() {
            let id = r["id"].as_i64().unwrap();
            let stored = LEADS.iter().find(|(i, _)| *i == id).unwrap().1;
            assert_eq!(r["email"], Value::String(stored.to_string()));
        }
    }

    // Erasure of the plain subject: its rows go, nobody else's change by a byte.
    let evidence = crm.erase(&plain(), &hasher).await.expect("erasure");
    assert!(evidence.is_complete(), "{evidence:?}");
    let leads = table(&evidence, "leads");
    assert_eq!(
        (leads.rows_found, leads.rows_affected, leads.rows_left),
        (Some(2), 2, 0)
    );
    let visits = table(&evidence, "visits");
    let n = 4 + MANY_VISITS as u64;
    assert_eq!(
        (visits.rows_found, visits.rows_affected, visits.rows_left),
        (Some(n), n, 0)
    );
    let letters = table(&evidence, "newsletter");
    assert_eq!(
        (
            letters.action,
            letters.rows_found,
            letters.rows_affected,
            letters.rows_left
        ),
        (EraseAction::Anonymize, Some(1), 1, 0)
    );
    assert!(leads.left_reason.is_none() && visits.left_reason.is_none());

    let mut expected = leads_before.clone();
    expected.remove(&1);
    expected.remove(&2);
    assert_eq!(
        db.leads().await,
        expected,
        "only leads 1 and 2 are gone on {setup:?}"
    );
    let after = db.newsletter().await;
    assert_eq!(after[&2], newsletter_before[&2]);
    assert_eq!(after[&3], newsletter_before[&3]);
    // (A `hash` mask on binary-collation text is covered in tests/connectors_storage.rs.)
    assert_eq!(
        after[&1], None,
        "the plain subject's newsletter address is masked"
    );
    let visits_left = db.visits_per_lead().await;
    assert!(!visits_left.contains_key(&1) && !visits_left.contains_key(&2));
    for lead in 3..=8 {
        assert_eq!(
            visits_left[&lead],
            Some(b"2".to_vec()),
            "visits of lead {lead}"
        );
    }

    // The same search finds nothing of the plain subject now; the accented one is whole.
    let again = crm.access(&plain()).await.expect("access after erasure");
    assert_eq!(again.row_count(), 0, "{again:?}");
    let other = crm
        .access(&accented())
        .await
        .expect("access of the other subject");
    assert_eq!(other.row_count(), 3 + 6 + 1);
    db.finish(&[&crm]).await;
}

/// A database that undoes the masking (a trigger puts the old value back): the rows
/// reached through a deleted parent are no longer reachable by traversal, so only
/// reading them again by primary key shows that they are not erased.
async fn evidence_cannot_be_fooled_by_an_undone_mask(setup: Setup) {
    let Some(db) = TestDb::crm(setup).await else {
        return;
    };
    match setup.engine {
        Engine::Sqlite => {
            db.exec(
                "CREATE TRIGGER keep_page AFTER UPDATE OF page ON visits \
                 WHEN new.page IS NULL BEGIN \
                 UPDATE visits SET page = old.page WHERE id = new.id; END",
            )
            .await
        }
        Engine::Postgres => {
            db.exec(
                "CREATE FUNCTION keep_page() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN NEW.page := OLD.page; RETURN NEW; END $$",
            )
            .await;
            db.exec(
                "CREATE TRIGGER keep_page BEFORE UPDATE ON visits \
                 FOR EACH ROW EXECUTE FUNCTION keep_page()",
            )
            .await
        }
        Engine::MySql => {
            db.exec(
                "CREATE TRIGGER keep_page BEFORE UPDATE ON visits \
                 FOR EACH ROW SET NEW.page = OLD.page",
            )
            .await
        }
    }
    let crm = db.connector("anonymize");
    let evidence = crm.erase(&plain(), &hasher).await.expect("erasure runs");
    let visits = table(&evidence, "visits");
    let n = 4 + MANY_VISITS as u64;
    assert_eq!(visits.rows_found, Some(n));
    assert_eq!(
        visits.rows_left, n,
        "every undone row is left: {evidence:?}"
    );
    let why = visits.left_reason.as_deref().expect("a reason");
    assert!(why.contains("read again by primary key"), "{why}");
    assert!(!evidence.is_complete());
    // The parent rows really are gone (so traversal alone would have found nothing).
    assert_eq!(table(&evidence, "leads").rows_left, 0);
    assert!(!db.leads().await.contains_key(&1));
    db.finish(&[&crm]).await;
}

/// `check` names the identity columns whose match no index serves, with a statement
/// that creates one; after running it the advice is gone and matching is unchanged.
async fn index_advice_names_the_column_and_its_statement(setup: Setup) {
    let Some(db) = TestDb::crm(setup).await else {
        return;
    };
    let crm = db.connector("delete");
    let advice = crm.index_advice().await.expect("advice");
    // A case-insensitive collation's plain index serves the match (MariaDB default,
    // SQLite NOCASE), and so does a PostgreSQL plain index under a code-point collation
    // (the database's `C.UTF-8`, or `C`: the index is walked); elsewhere both identity
    // columns need one.
    let served = !setup.binary || setup.engine == Engine::Postgres;
    if served {
        assert!(advice.is_empty(), "{advice:?}");
    }
    if setup.engine == Engine::Postgres {
        // Walking the plain index finds the case variants and leaves the accent variant.
        assert_eq!(leads_accessed(&crm, &plain()).await, [1, 2].into());
        assert_eq!(leads_accessed(&crm, &accented()).await, [3, 4, 5].into());
        // A linguistic collation does not sort case variants by code point: there the
        // `lower()` index is advised.
        for table in ["leads", "newsletter"] {
            db.exec(&format!(
                "ALTER TABLE {table} ALTER COLUMN email TYPE VARCHAR(254) COLLATE \"und-x-icu\""
            ))
            .await;
        }
    }
    let linguistic = db.connector("delete");
    let advice = linguistic.index_advice().await.expect("advice");
    if !served || setup.engine == Engine::Postgres {
        assert_eq!(advice.len(), 2, "{advice:?}");
        for (a, column) in advice.iter().zip(["leads.email", "newsletter.email"]) {
            assert!(a.contains(&format!("\"{column}\"")), "{a}");
            let statement = a.split("create one with: ").nth(1).expect("a statement");
            db.exec(statement).await;
        }
        assert_eq!(
            linguistic.index_advice().await.expect("advice"),
            Vec::<String>::new()
        );
    }
    // A new engine (as after a restart) uses the index and finds the same rows.
    let fresh = db.connector("delete");
    assert_eq!(leads_accessed(&fresh, &plain()).await, [1, 2].into());
    assert_eq!(leads_accessed(&fresh, &accented()).await, [3, 4, 5].into());
    db.finish(&[&crm, &linguistic, &fresh]).await;
}

/// The ids of the `leads` rows an access for `who` returns.
async fn leads_accessed(crm: &SqlConnector, who: &Identity) -> BTreeSet<i64> {
    let found = crm.access(who).await.expect("access");
    let leads = &found
        .tables
        .iter()
        .find(|t| t.table == "leads")
        .expect("leads")
        .rows;
    ids(leads)
}

/// Per scenario: `default` and `binary` collation on SQLite, PostgreSQL and MariaDB.
macro_rules! on_every_engine_and_collation {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            use super::*;
            #[tokio::test]
            async fn sqlite_nocase() {
                super::$scenario(Setup { engine: Engine::Sqlite, binary: false }).await
            }
            #[tokio::test]
            async fn sqlite_binary() {
                super::$scenario(Setup { engine: Engine::Sqlite, binary: true }).await
            }
            #[tokio::test]
            async fn postgres_default() {
                super::$scenario(Setup { engine: Engine::Postgres, binary: false }).await
            }
            #[tokio::test]
            async fn postgres_c() {
                super::$scenario(Setup { engine: Engine::Postgres, binary: true }).await
            }
            #[tokio::test]
            async fn mariadb_default() {
                super::$scenario(Setup { engine: Engine::MySql, binary: false }).await
            }
            #[tokio::test]
            async fn mariadb_bin() {
                super::$scenario(Setup { engine: Engine::MySql, binary: true }).await
            }
        }
    )*};
}

on_every_engine_and_collation!(
    case_variants_match_and_accent_variants_never_do,
    evidence_cannot_be_fooled_by_an_undone_mask,
    index_advice_names_the_column_and_its_statement,
);

/// Intake refuses a look-alike address with a message a person understands, and keeps
/// an internationalised address in its canonical form.
#[tokio::test]
async fn intake_refuses_mixed_script_addresses() {
    let Some(app) = common::spawn_app(common::Backend::Sqlite).await else {
        return;
    };
    let resp = app
        .client
        .post(app.url("/api/v1/intake"))
        .json(&serde_json::json!({ "kind": "access", "email": "alice@ex\u{430}mple.com" }))
        .send()
        .await
        .expect("intake answers");
    let body = common::problem(resp, 422).await;
    let text = body.to_string();
    assert!(text.contains("email"), "{text}");
    assert!(text.contains("writing systems"), "{text}");
    let resp = app
        .client
        .post(app.url("/api/v1/intake"))
        .json(&serde_json::json!({ "kind": "access", "email": " Alice@EXÄMPLE.com " }))
        .send()
        .await
        .expect("intake answers");
    assert_eq!(resp.status().as_u16(), 202);
    app.stop().await;
}

/// `connectors.max_rows_per_subject`: an access through the service that would read
/// more rows fails its task at once, saying why (no retry can help); the same cap stops a
/// preview or erasure traversal before it holds more rows.
#[tokio::test]
async fn row_cap_fails_the_task_with_a_clear_error() {
    let product_dir = tempfile::tempdir().unwrap();
    let (_pool, datamap) = common::product::product(product_dir.path()).await;
    let opts = common::Options {
        configure: Box::new(move |c| {
            c.datamap_dir = datamap;
            c.connectors.max_rows_per_subject = 3;
        }),
        handlers: Vec::new(),
    };
    let Some(app) = common::spawn_app_with(common::Backend::Sqlite, opts).await else {
        return;
    };
    let agent = app.token(rightsdesk::domain::staff::Role::Agent).await;
    let reference =
        common::product::create_and_start(&app, &agent, "access", "ADA@example.com").await;
    let v = common::product::wait_for_status(&app, &agent, &reference, "review").await;
    let task = &v["tasks"][0];
    assert_eq!(task["status"], "failed", "{task}");
    let error = task["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("more than 3 rows") && error.contains("connectors.max_rows_per_subject"),
        "{error}"
    );
    app.stop().await;

    let Some(db) = TestDb::crm(Setup {
        engine: Engine::Sqlite,
        binary: true,
    })
    .await
    else {
        return;
    };
    let crm = db.connector("delete");
    crm.set_max_rows_per_subject(100);
    let err = crm
        .preview_erasure(&plain())
        .await
        .expect_err("over the cap");
    assert!(err.to_string().contains("more than 100 rows"), "{err}");
    let err = crm
        .erase(&plain(), &hasher)
        .await
        .expect_err("over the cap");
    assert!(err.to_string().contains("max_rows_per_subject"), "{err}");
    assert_eq!(db.leads().await.len(), LEADS.len(), "nothing was erased");
    db.finish(&[&crm]).await;
}

/// `rightsdesk check` names an identity column whose match no index serves and prints
/// the statement that creates it, as advice: the check still passes.
#[tokio::test]
async fn cli_check_prints_the_create_index_statement() {
    let Some(db) = TestDb::crm(Setup {
        engine: Engine::Sqlite,
        binary: true,
    })
    .await
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("datamap")).unwrap();
    let toml = DATAMAP
        .replace("KIND", "sqlite")
        .replace("ERASE_VISITS", "delete")
        .replace("${RIGHTSDESK_DM_CRM_URL}", &db.url);
    std::fs::write(dir.path().join("datamap/crm.toml"), toml).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rightsdesk"))
        .arg("check")
        .current_dir(dir.path())
        .env_remove("RIGHTSDESK_SECRET_KEY")
        .env_remove("RIGHTSDESK_CONFIG")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run rightsdesk");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("identity column \"leads.email\""), "{text}");
    assert!(
        text.contains(
            "CREATE INDEX IF NOT EXISTS \"leads_email_lower_idx\" ON \"leads\" (lower(\"email\"));"
        ),
        "{text}"
    );
    db.exec("CREATE INDEX \"leads_email_lower_idx\" ON \"leads\" (lower(\"email\"))")
        .await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rightsdesk"))
        .args(["check", "--json"])
        .current_dir(dir.path())
        .env_remove("RIGHTSDESK_SECRET_KEY")
        .env_remove("RIGHTSDESK_CONFIG")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run rightsdesk");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let advice = v.to_string();
    assert!(!advice.contains("leads.email"), "{advice}");
    assert!(advice.contains("newsletter.email"), "{advice}");
    db.finish(&[]).await;
}

/// Legal holds use the canonical address; a hold placed before intake canonicalised
/// internationalised domains (its blind index taken of the `xn--` spelling as typed)
/// still stops an erasure of the same person typed in Unicode, and a hold on the real
/// address is not touched by an accent variant.
#[tokio::test]
async fn legal_holds_match_every_spelling_and_no_variant() {
    let Some(app) = common::spawn_app(common::Backend::Sqlite).await else {
        return;
    };
    let state = &app.state;
    let old_style = rightsdesk::store::LegalHold {
        id: "hold-before-canonical".into(),
        email_ct: state.keys.encrypt("alice@xn--exmple-cua.com"),
        email_index: state.keys.blind_index("alice@xn--exmple-cua.com"),
        reason_ct: state.keys.encrypt("litigation"),
        created_by: "test".into(),
        created_at: app.clock.now(),
        released_by: None,
        released_at: None,
    };
    let audit = rightsdesk::store::NewAudit {
        at: app.clock.now(),
        actor: "test".into(),
        action: "hold.create".into(),
        request_ref: None,
        client_addr: None,
        detail: serde_json::json!({}),
    };
    state
        .store
        .insert_legal_hold(&old_style, &audit)
        .await
        .expect("hold stored");
    let held = |email: &'static str| async move {
        rightsdesk::services::retention::holds::active_for(state, email)
            .await
            .expect("hold lookup")
    };
    assert_eq!(
        held("Alice@EXÄMPLE.com").await.as_deref(),
        Some("hold-before-canonical")
    );
    assert_eq!(
        held("alice@xn--exmple-cua.com").await.as_deref(),
        Some("hold-before-canonical")
    );
    assert_eq!(
        held("alice@example.com").await,
        None,
        "an accent variant is not held"
    );

    // A hold placed now, typed as an A-label, is stored under the canonical address.
    let view = rightsdesk::services::retention::holds::create(
        state,
        "bob@XN--EXMPLE-CUA.COM",
        "audit",
        "test",
        None,
    )
    .await
    .expect("hold placed");
    assert_eq!(
        held("bob@exämple.com").await.as_deref(),
        Some(view.id.as_str())
    );
    assert_eq!(held("bob@example.com").await, None);
    app.stop().await;
}
