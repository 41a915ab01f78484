//! Product databases for connector-driven tests: [`ProductDb`], a fresh database on
//! SQLite, PostgreSQL or MariaDB that is dropped when it goes away (also when the test
//! fails); and the shop fixture in SQLite with a data map pointing at it.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use rightsdesk::connectors::{SqlConnector, SqlPool};
use serde_json::Value;
use sqlx::{Row, SqlitePool};

use super::database::{Server, TestDatabase};
use super::{TestApp, json};

/// The engine of a product database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
    MySql,
}

impl Engine {
    /// The connector `kind` of the data map.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
            Self::MySql => "mysql",
        }
    }
}

/// A fresh, empty product database: a SQLite file in a temporary directory, or a new
/// database on the test PostgreSQL or MariaDB server. Whatever happens to the test, the
/// file or database is gone when this is dropped; [`ProductDb::finish`] closes the pools
/// first, so the normal end needs no force.
pub struct ProductDb {
    pub engine: Engine,
    pub url: String,
    pub pool: SqlPool,
    _dir: Option<tempfile::TempDir>,
    database: Option<TestDatabase>,
}

impl ProductDb {
    /// A fresh database named `{prefix}_{uuid}` (server engines), or `None` when the
    /// engine's service is not configured (under `CI=true` that fails the test).
    pub async fn fresh(engine: Engine, prefix: &str) -> Option<Self> {
        Some(match engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().expect("tempdir");
                let url = format!("sqlite://{}", dir.path().join("product.db").display());
                let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
                    .expect("sqlite url")
                    .create_if_missing(true)
                    .foreign_keys(true);
                let pool = sqlx::SqlitePool::connect_with(opts).await.expect("sqlite");
                Self {
                    engine,
                    url,
                    pool: pool.into(),
                    _dir: Some(dir),
                    database: None,
                }
            }
            Engine::Postgres => {
                let base = super::service_url("RIGHTSDESK_TEST_POSTGRES_URL")?;
                let database = TestDatabase::create(Server::Postgres, &base, prefix).await;
                let pool = sqlx::PgPool::connect(&database.url)
                    .await
                    .expect("postgres pool");
                Self {
                    engine,
                    url: database.url.clone(),
                    pool: pool.into(),
                    _dir: None,
                    database: Some(database),
                }
            }
            Engine::MySql => {
                let base = super::service_url("RIGHTSDESK_TEST_MYSQL_URL")?;
                let database = TestDatabase::create(Server::MySql, &base, prefix).await;
                let pool = sqlx::MySqlPool::connect(&database.url)
                    .await
                    .expect("mysql pool");
                Self {
                    engine,
                    url: database.url.clone(),
                    pool: pool.into(),
                    _dir: None,
                    database: Some(database),
                }
            }
        })
    }

    /// The server-side database's name (`None` on SQLite).
    pub fn database_name(&self) -> Option<&str> {
        self.database.as_ref().map(TestDatabase::name)
    }

    /// Run SQL (one or more statements, no binds).
    pub async fn exec(&self, sql: &str) {
        let q = || sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()));
        match &self.pool {
            SqlPool::Postgres(p) => q().execute(p).await.map(drop),
            SqlPool::MySql(p) => q().execute(p).await.map(drop),
            SqlPool::Sqlite(p) => q().execute(p).await.map(drop),
        }
        .unwrap_or_else(|e| panic!("SQL runs: {sql}: {e}"));
    }

    /// Rows of a query, every column as text (NULL as "NULL").
    pub async fn texts(&self, sql: impl AsRef<str>) -> Vec<Vec<String>> {
        fn text_rows<R: Row>(rows: Vec<R>) -> Vec<Vec<String>>
        where
            usize: sqlx::ColumnIndex<R>,
            String: for<'r> sqlx::Decode<'r, R::Database>,
        {
            rows.iter()
                .map(|r| {
                    (0..r.len())
                        .map(|i| {
                            r.try_get_unchecked::<Option<String>, _>(i)
                                .expect("text column")
                                .unwrap_or_else(|| "NULL".into())
                        })
                        .collect()
                })
                .collect()
        }
        let q = sqlx::AssertSqlSafe(sql.as_ref().to_string());
        match &self.pool {
            SqlPool::Postgres(p) => text_rows(sqlx::query(q).fetch_all(p).await.expect("query")),
            SqlPool::MySql(p) => text_rows(sqlx::query(q).fetch_all(p).await.expect("query")),
            SqlPool::Sqlite(p) => text_rows(sqlx::query(q).fetch_all(p).await.expect("query")),
        }
    }

    /// Close the connectors' and our own pools, then drop the database.
    pub async fn finish(self, connectors: &[&SqlConnector]) {
        for c in connectors {
            c.pool().close().await;
        }
        self.pool.close().await;
    }
}

/// A product database (SQLite) with the shop fixture, and a data map pointing at it.
pub async fn product(dir: &Path) -> (SqlitePool, std::path::PathBuf) {
    let db = dir.join("shop.db");
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let pool = SqlitePool::connect(&url).await.unwrap();
    for file in [
        "tests/fixtures/shop_sqlite.sql",
        "tests/fixtures/shop_data.sql",
    ] {
        let sql = std::fs::read_to_string(file).unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&pool)
            .await
            .unwrap();
    }
    let datamap = dir.join("datamap");
    std::fs::create_dir_all(&datamap).unwrap();
    let toml = std::fs::read_to_string("tests/fixtures/shop_datamap.toml")
        .unwrap()
        .replace(
            "${RIGHTSDESK_DM_SHOP_DATABASE_URL}",
            &format!("sqlite://{}", db.display()),
        );
    std::fs::write(datamap.join("shop.toml"), toml).unwrap();
    (pool, datamap)
}

pub async fn wait_for_status(app: &TestApp, token: &str, reference: &str, want: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..150 {
        let (_, v) = json(
            app.get(token, &format!("/api/v1/requests/{reference}"))
                .await,
        )
        .await;
        if v["status"] == want {
            return v;
        }
        last = v;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("request never reached {want}: {last}");
}

/// A staff-entered request of `kind` for `email`, started at once; returns its reference.
pub async fn create_and_start(app: &TestApp, token: &str, kind: &str, email: &str) -> String {
    let body =
        serde_json::json!({"kind": kind, "email": email, "verification_note": "checked in person"});
    let (status, v) = json(app.post_json(token, "/api/v1/requests", &body).await).await;
    assert_eq!(status, 201, "{v}");
    let reference = v["reference"].as_str().expect("reference").to_string();
    let (status, v) = json(
        app.post_empty(token, &format!("/api/v1/requests/{reference}/start"))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    reference
}
