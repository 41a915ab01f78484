//! The three sqlx backends behind one enum: pools, held connections, transactions, and
//! running a built statement on any of them. Everything above this file is written once.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{
    MySql, MySqlConnection, MySqlPool, PgConnection, PgPool, Postgres, Row, Sqlite,
    SqliteConnection, SqlitePool, Transaction,
};

use super::statement::{Dialect, Stmt};
use super::value::{SqlValue, decode_mysql, decode_pg, decode_sqlite};
use crate::connectors::ConnectorError;
use crate::connectors::datamap::{ConnectorDecl, ConnectorKind};

const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

tokio::task_local! {
    /// The statements run against product databases while [`with_statement_log`] runs.
    static STATEMENT_LOG: std::sync::Arc<std::sync::Mutex<Vec<String>>>;
}

/// Run `f`, recording the SQL text of every statement a connector sends to a product
/// database from within it (same task): what an operation really costs, for tests and
/// diagnostics. Outside such a scope nothing is recorded.
pub async fn with_statement_log<F: std::future::Future>(f: F) -> (F::Output, Vec<String>) {
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let out = STATEMENT_LOG.scope(log.clone(), f).await;
    let statements = std::mem::take(&mut *log.lock().unwrap_or_else(|e| e.into_inner()));
    (out, statements)
}

fn log_statement(stmt: &Stmt) {
    let _ = STATEMENT_LOG.try_with(|log| {
        log.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(stmt.sql.clone());
    });
}

/// A connection pool to one product database.
#[derive(Clone)]
pub enum SqlPool {
    Postgres(PgPool),
    MySql(MySqlPool),
    Sqlite(SqlitePool),
}

/// The pools' own `Debug` prints connect options; these stay out of logs.
impl std::fmt::Debug for SqlPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Self::Postgres(_) => "Postgres",
            Self::MySql(_) => "MySql",
            Self::Sqlite(_) => "Sqlite",
        };
        write!(f, "SqlPool::{kind}")
    }
}

impl From<PgPool> for SqlPool {
    fn from(pool: PgPool) -> Self {
        Self::Postgres(pool)
    }
}

impl From<MySqlPool> for SqlPool {
    fn from(pool: MySqlPool) -> Self {
        Self::MySql(pool)
    }
}

impl From<SqlitePool> for SqlPool {
    fn from(pool: SqlitePool) -> Self {
        Self::Sqlite(pool)
    }
}

/// PostgreSQL: one statement that names every declared table and finds no row, run on
/// each new connection. A new server process loads what it knows of a table (columns,
/// indexes) the first time a statement names it: 0.4-0.9 ms against 0.1-0.3 for the
/// same statement after, on the peer workload's tables. The pool hands out its idle
/// connections in turn, and the shared-row check opens more, so an erasure's traversal
/// often ran on a connection that had only counted before, and paid it table by table
/// on its way. Measured interleaved on the peer workload (three rounds): single erasures
/// 27.6-45.3 ms (medians of five 29.3-31.9) before, 26.2-31.2 (28.4-30.4) after, the
/// first erasure of a run apart; a difference near the spread between runs. Not checked
/// statement by statement: in a manual check a locking read's first run on a new
/// connection stayed slow (0.9-1.2 ms) after this statement, so part of that first-run
/// cost is something else (plans, row locks).
fn first_touch(decl: &ConnectorDecl) -> String {
    decl.tables()
        .iter()
        .map(|t| {
            format!(
                "SELECT 1 FROM {} WHERE false",
                Dialect::Postgres.quote(&t.name)
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

impl SqlPool {
    /// A pool for the declared connector that connects on first use, so a product
    /// database that is down does not stop Rightsdesk from starting.
    pub fn connect_lazy(decl: &ConnectorDecl) -> Result<Self, ConnectorError> {
        let refuse = |reason: &str| ConnectorError::Connect {
            connector: decl.name().to_string(),
            reason: reason.to_string(),
        };
        let url = decl.url().ok_or_else(|| refuse("no url is declared"))?;
        // Parse errors can quote the URL, which holds the password: say only that it failed.
        let bad_url = |_| refuse("the url is not a valid connection URL for this kind");
        let max = decl.max_connections();
        Ok(match decl.kind() {
            ConnectorKind::Postgres => {
                let warm = Arc::new(first_touch(decl));
                Self::Postgres(
                    PgPoolOptions::new()
                        .max_connections(max)
                        .acquire_timeout(ACQUIRE_TIMEOUT)
                        .after_connect(move |conn, _| {
                            let warm = warm.clone();
                            Box::pin(async move {
                                // A table missing from the database fails the statement:
                                // the connection is fine all the same, and the check of
                                // the data map says what is missing.
                                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(warm.as_str()))
                                    .execute(&mut *conn)
                                    .await;
                                Ok(())
                            })
                        })
                        .connect_lazy_with(
                            PgConnectOptions::from_str(url.expose()).map_err(bad_url)?,
                        ),
                )
            }
            ConnectorKind::Mysql => Self::MySql(
                MySqlPoolOptions::new()
                    .max_connections(max)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_lazy_with(
                        MySqlConnectOptions::from_str(url.expose()).map_err(bad_url)?,
                    ),
            ),
            ConnectorKind::Sqlite => Self::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(max)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_lazy_with(
                        SqliteConnectOptions::from_str(url.expose())
                            .map_err(bad_url)?
                            .foreign_keys(true)
                            .busy_timeout(Duration::from_secs(10)),
                    ),
            ),
            kind => {
                return Err(ConnectorError::Unsupported {
                    connector: decl.name().to_string(),
                    kind,
                });
            }
        })
    }

    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Self::Postgres(_) => Dialect::Postgres,
            Self::MySql(_) => Dialect::MySql,
            Self::Sqlite(_) => Dialect::Sqlite,
        }
    }

    pub(crate) fn kind(&self) -> ConnectorKind {
        match self {
            Self::Postgres(_) => ConnectorKind::Postgres,
            Self::MySql(_) => ConnectorKind::Mysql,
            Self::Sqlite(_) => ConnectorKind::Sqlite,
        }
    }

    pub async fn close(&self) {
        match self {
            Self::Postgres(p) => p.close().await,
            Self::MySql(p) => p.close().await,
            Self::Sqlite(p) => p.close().await,
        }
    }

    pub(crate) async fn acquire(&self) -> Result<Held, sqlx::Error> {
        Ok(match self {
            Self::Postgres(p) => Held::Pg(p.acquire().await?),
            Self::MySql(p) => Held::My(p.acquire().await?),
            Self::Sqlite(p) => Held::Lite(p.acquire().await?),
        })
    }

    /// Open up to `n` more connections in the background, never past the pool's
    /// maximum, and leave them idle for the next operation that wants several at once
    /// (see `references::count_references_side_by_side`). `busy` is set while it runs, so
    /// that asks made meanwhile open nothing more.
    pub(crate) fn warm(&self, n: usize, busy: Arc<AtomicBool>) {
        let room = match self {
            Self::Postgres(p) => p.options().get_max_connections().saturating_sub(p.size()),
            Self::MySql(p) => p.options().get_max_connections().saturating_sub(p.size()),
            Self::Sqlite(p) => p.options().get_max_connections().saturating_sub(p.size()),
        };
        let n = n.min(usize::try_from(room).unwrap_or(0));
        if n == 0 || busy.swap(true, Ordering::AcqRel) {
            return;
        }
        let pool = self.clone();
        tokio::spawn(async move {
            // Dropped at once: back to the pool, idle.
            let _opened = futures_util::future::join_all((0..n).map(|_| pool.acquire())).await;
            busy.store(false, Ordering::Release);
        });
    }

    /// A connection if one is free at once; never waits for one to come back.
    pub(crate) fn try_acquire(&self) -> Option<Held> {
        match self {
            Self::Postgres(p) => p.try_acquire().map(Held::Pg),
            Self::MySql(p) => p.try_acquire().map(Held::My),
            Self::Sqlite(p) => p.try_acquire().map(Held::Lite),
        }
    }

    pub(crate) async fn begin(&self) -> Result<SqlTx, sqlx::Error> {
        Ok(match self {
            Self::Postgres(p) => SqlTx::Pg(p.begin().await?),
            Self::MySql(p) => SqlTx::My(p.begin().await?),
            // Take the write lock up front: a deferred transaction that reads and then
            // writes fails when another writer committed in between.
            Self::Sqlite(p) => SqlTx::Lite(p.begin_with("BEGIN IMMEDIATE").await?),
        })
    }
}

/// One connection taken from the pool for the length of an operation.
pub(crate) enum Held {
    Pg(PoolConnection<Postgres>),
    My(PoolConnection<MySql>),
    Lite(PoolConnection<Sqlite>),
}

impl Held {
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            Self::Pg(c) => Conn::Pg(c),
            Self::My(c) => Conn::My(c),
            Self::Lite(c) => Conn::Lite(c),
        }
    }
}

/// A transaction; dropped without `commit` it rolls back.
pub(crate) enum SqlTx {
    Pg(Transaction<'static, Postgres>),
    My(Transaction<'static, MySql>),
    Lite(Transaction<'static, Sqlite>),
}

impl SqlTx {
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            Self::Pg(t) => Conn::Pg(t),
            Self::My(t) => Conn::My(t),
            Self::Lite(t) => Conn::Lite(t),
        }
    }

    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Pg(t) => t.commit().await,
            Self::My(t) => t.commit().await,
            Self::Lite(t) => t.commit().await,
        }
    }
}

/// Rows of a query as they arrive (see [`Conn::fetch_stream`]).
pub(crate) type RowStream<'s> = std::pin::Pin<
    Box<dyn tokio_stream::Stream<Item = Result<Vec<SqlValue>, sqlx::Error>> + Send + 's>,
>;

/// A borrowed connection of any backend (inside a transaction or not).
pub(crate) enum Conn<'c> {
    Pg(&'c mut PgConnection),
    My(&'c mut MySqlConnection),
    Lite(&'c mut SqliteConnection),
}

/// Bind every value of a statement onto a sqlx query of whichever backend.
macro_rules! bound {
    ($stmt:expr) => {{
        let Stmt { sql, binds, .. } = $stmt;
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for v in binds {
            q = match v {
                SqlValue::Null => q.bind(None::<String>),
                SqlValue::Bool(b) => q.bind(b),
                SqlValue::Int(i) => q.bind(i),
                SqlValue::Float(f) => q.bind(f),
                SqlValue::Text(s) => q.bind(s),
                SqlValue::Bytes(b) => q.bind(b),
                SqlValue::TimestampTz(t) => q.bind(t),
                SqlValue::Timestamp(t) => q.bind(t),
                SqlValue::Date(d) => q.bind(d),
                SqlValue::Time(t) => q.bind(t),
                SqlValue::Json(j) => q.bind(sqlx::types::Json(j)),
            };
        }
        q
    }};
}

impl Conn<'_> {
    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Self::Pg(_) => Dialect::Postgres,
            Self::My(_) => Dialect::MySql,
            Self::Lite(_) => Dialect::Sqlite,
        }
    }

    /// Run a query and decode every column of every row.
    pub(crate) async fn fetch(&mut self, stmt: Stmt) -> Result<Vec<Vec<SqlValue>>, sqlx::Error> {
        log_statement(&stmt);
        match self {
            Self::Pg(c) => {
                let rows = bound!(stmt).fetch_all(&mut **c).await?;
                rows.iter()
                    .map(|r| (0..r.len()).map(|i| decode_pg(r, i)).collect())
                    .collect()
            }
            Self::My(c) => {
                let rows = bound!(stmt).fetch_all(&mut **c).await?;
                rows.iter()
                    .map(|r| (0..r.len()).map(|i| decode_mysql(r, i)).collect())
                    .collect()
            }
            Self::Lite(c) => {
                let rows = bound!(stmt).fetch_all(&mut **c).await?;
                rows.iter()
                    .map(|r| (0..r.len()).map(|i| decode_sqlite(r, i)).collect())
                    .collect()
            }
        }
    }

    /// Run a query and decode its rows one by one as the database sends them, so a
    /// large result is never held whole (the connection is busy until the stream ends).
    pub(crate) fn fetch_stream<'s>(&'s mut self, stmt: Stmt) -> RowStream<'s> {
        use tokio_stream::StreamExt;
        log_statement(&stmt);
        match self {
            Self::Pg(c) => Box::pin(
                bound!(stmt)
                    .fetch(&mut **c)
                    .map(|r| r.and_then(|r| (0..r.len()).map(|i| decode_pg(&r, i)).collect())),
            ),
            Self::My(c) => Box::pin(
                bound!(stmt)
                    .fetch(&mut **c)
                    .map(|r| r.and_then(|r| (0..r.len()).map(|i| decode_mysql(&r, i)).collect())),
            ),
            Self::Lite(c) => Box::pin(
                bound!(stmt)
                    .fetch(&mut **c)
                    .map(|r| r.and_then(|r| (0..r.len()).map(|i| decode_sqlite(&r, i)).collect())),
            ),
        }
    }

    /// Run a statement; the number of rows it changed.
    pub(crate) async fn execute(&mut self, stmt: Stmt) -> Result<u64, sqlx::Error> {
        log_statement(&stmt);
        Ok(match self {
            Self::Pg(c) => bound!(stmt).execute(&mut **c).await?.rows_affected(),
            Self::My(c) => bound!(stmt).execute(&mut **c).await?.rows_affected(),
            Self::Lite(c) => bound!(stmt).execute(&mut **c).await?.rows_affected(),
        })
    }

    /// A catalogue query whose columns are all text.
    pub(crate) async fn fetch_text(
        &mut self,
        sql: &'static str,
    ) -> Result<Vec<Vec<String>>, sqlx::Error> {
        fn text_rows<R: Row>(rows: &[R]) -> Result<Vec<Vec<String>>, sqlx::Error>
        where
            usize: sqlx::ColumnIndex<R>,
            String: for<'r> sqlx::Decode<'r, R::Database>,
        {
            rows.iter()
                .map(|r| {
                    (0..r.len())
                        // Unchecked: information_schema reports some text columns with
                        // binary collations, which the checked decode refuses.
                        .map(|i| r.try_get_unchecked::<Option<String>, _>(i))
                        .map(|v| v.map(Option::unwrap_or_default))
                        .collect()
                })
                .collect()
        }
        match self {
            Self::Pg(c) => text_rows(&sqlx::query(sql).fetch_all(&mut **c).await?),
            Self::My(c) => text_rows(&sqlx::query(sql).fetch_all(&mut **c).await?),
            Self::Lite(c) => text_rows(&sqlx::query(sql).fetch_all(&mut **c).await?),
        }
    }
}
