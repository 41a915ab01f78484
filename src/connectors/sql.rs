//! The SQL connector engine for product databases (PostgreSQL, MySQL/MariaDB, SQLite):
//! traversal from an identity through the declared `via` edges, and access, erasure
//! (with dry run and evidence), rectification, restriction and objection on what it finds.
//!
//! Traversal visits the tables in topological order (parents first), so one pass is the
//! fixpoint; each table costs one `SELECT` per chunk of at most 1000 key values, on one
//! connection. Erasure, rectification, restriction and objection each run in one
//! transaction per connector and change rows only by primary key, in batches.
//!
//! **Shared rows.** A row reached through a `via` edge whose parent column points at the
//! row's primary key (`addresses.id` via `customers.address_id`) is a row that others may
//! reference too. Before acting on it, the engine counts the referencing rows in the
//! database: if rows outside the subject's found set reference it, it is *shared*: it is
//! exported (it is the subject's data too) but not followed further, not erased and not
//! rectified. A row to be deleted is also kept while the subject's own retained rows
//! still reference it (a retained order's shipping address), because deleting it would
//! break that reference. Such rows are reported as `kept`. Access and portability run
//! the check only for tables whose rows lead on to other tables (a shared row is
//! exported either way; following it would reach other people's rows); the search after
//! an erasure does not repeat it.
//!
//! **Delete order.** Deletes run children first: from the `via` edges (a table whose `via`
//! column points at its parent's key references the parent; a table reached by its own
//! key through a parent's column is referenced by that parent), plus every foreign key
//! between declared tables that the catalogue reports. Anonymization runs before any
//! delete, so a masked (nulled) foreign-key column no longer blocks its parent's delete.

mod advisor;
mod backend;
mod batch;
mod catalog;
mod large;
mod matching;
mod purge;
mod references;
mod statement;
mod stream;
mod together;
mod value;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::optout::OptOutScope;

pub use advisor::{FilterUse, IndexAdvice};
pub use backend::{SqlPool, with_statement_log};
pub use purge::{BatchOutcome, HeldRows, PurgeCursor, PurgeError};

use self::backend::Conn;
use self::catalog::Catalog;
use self::matching::Matching;
use self::references::Counted;
use self::statement::{CHUNK, Dialect, Stmt, rows_per_statement};
use self::value::{ColumnClass, ColumnInfo, SqlValue, coerce, expected_form, to_json};
use super::datamap::{
    ConnectorDecl, DatamapProblem, Edge, EraseAction, IdentityType, Mask, ScalarValue, SetDecl,
    TableDecl,
};
use super::{
    AccessCounts, AccessResult, Connector, ConnectorError, ErasureEvidence, ErasureTable, Found,
    FoundRow, FoundTable, Hasher, Identity, Preview, PreviewTable, RectifyReport, RectifyTable,
    RowSink, SetReport, TableRows,
};

/// Values of a date column that `check` reads to find ones that are not dates.
const DATE_SAMPLE: u32 = 10_000;
/// Due rows one dry-run batch of a retention policy reads during `check`.
const CHECK_BATCH: u32 = 100;

/// What `rightsdesk check` found for one SQL connector (see
/// [`SqlConnector::check_connector`]).
#[derive(Debug, Default)]
pub struct CheckFindings {
    /// Problems that make `check` fail (file and key of the data map).
    pub problems: Vec<DatamapProblem>,
    /// Things the erasure will do that the data map leaves implicit.
    pub notes: Vec<String>,
}

/// Length of the `hash` mask's output (hex HMAC-SHA256), used to recognise values that
/// are already masked when no hasher is at hand (the dry run).
const HASH_HEX_LEN: usize = 64;

/// Check the data map of `decl` against the live database behind `pool`: every declared
/// table and column must exist, and `hash` masks need text columns. Problems are
/// reported like data-map problems (file and key); an `Err` means the check could not run.
pub async fn check_catalog(
    decl: &ConnectorDecl,
    pool: &SqlPool,
) -> Result<Vec<DatamapProblem>, ConnectorError> {
    let fail = |e: sqlx::Error| database_error(decl.name(), "reading the catalogue", &e);
    let mut held = pool.acquire().await.map_err(fail)?;
    let catalog = Catalog::load_for(&mut held.conn(), decl)
        .await
        .map_err(fail)?;
    Ok(catalog::check(decl, &catalog))
}

/// A database error as a connector error: `DatabaseRefused` (not retried) when running
/// the same statement again cannot succeed, `Database` (retried) otherwise.
fn database_error(connector: &str, operation: &str, e: &sqlx::Error) -> ConnectorError {
    let (connector, operation, reason) =
        (connector.to_string(), operation.to_string(), describe(e));
    if is_permanent(e) {
        ConnectorError::DatabaseRefused {
            connector,
            operation,
            reason,
        }
    } else {
        ConnectorError::Database {
            connector,
            operation,
            reason,
        }
    }
}

/// Errors that a retry cannot fix: integrity constraints, data exceptions, undefined
/// tables or columns, types that do not decode. Lost connections, lock timeouts,
/// deadlocks and a busy SQLite database are transient.
fn is_permanent(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            use sqlx::error::ErrorKind;
            if matches!(
                db.kind(),
                ErrorKind::UniqueViolation
                    | ErrorKind::ForeignKeyViolation
                    | ErrorKind::NotNullViolation
                    | ErrorKind::CheckViolation
            ) {
                return true;
            }
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // Primary result codes: BUSY, LOCKED, NOMEM, IOERR, FULL, CANTOPEN, PROTOCOL
                // may pass; everything else (ERROR, CONSTRAINT, MISMATCH...) will not, but
                // a trigger's RAISE (CONSTRAINT_TRIGGER, 1811), which is the product's
                // own rule and may depend on data that changes.
                let code: i64 = db.code().and_then(|c| c.parse().ok()).unwrap_or(0);
                return code != 1811 && !matches!(code & 0xff, 5 | 6 | 7 | 10 | 13 | 14 | 15);
            }
            // PostgreSQL and MySQL SQLSTATE classes: 22 data exception, 23 integrity
            // constraint, 42 syntax or undefined object, 0A feature not supported. A
            // trigger's own error (P0001 RAISE, MySQL SIGNAL 45000) is retried, as above.
            db.code()
                .is_some_and(|c| matches!(c.get(..2), Some("22" | "23" | "42" | "0A")))
        }
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::Decode(_) => true,
        _ => false,
    }
}

/// The database's own message, where it carries no row values: PostgreSQL keeps values
/// out of the message (they are in its DETAIL, never read here) except in data
/// exceptions (class 22: "invalid input syntax for type integer: \"…\""), which are left
/// out; MySQL quotes values in single quotes ("Duplicate entry '…' for key '…'"), so
/// every quoted part but the names of keys, columns, tables and constraints is elided.
fn database_message(db: &dyn sqlx::error::DatabaseError) -> Option<String> {
    let message = db.message();
    let shown = if db
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .is_some()
    {
        if db.code().is_some_and(|c| c.starts_with("22")) {
            return None;
        }
        message.to_string()
    } else if db
        .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
        .is_some()
    {
        elide_quoted_values(message)
    } else if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // SQLite names tables and columns ("UNIQUE constraint failed: users.email").
        message.to_string()
    } else {
        return None;
    };
    let one_line: String = shown
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(300)
        .collect();
    (!one_line.is_empty()).then_some(one_line)
}

/// `'…'` parts replaced by `'…'`, unless the word before names a schema object.
fn elide_quoted_values(message: &str) -> String {
    const NAMES: [&str; 8] = [
        "key",
        "column",
        "table",
        "constraint",
        "index",
        "database",
        "field",
        "function",
    ];
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find('\'') {
        let (before, after) = rest.split_at(start);
        out.push_str(before);
        let Some(end) = after[1..].find('\'') else {
            out.push_str("'…");
            return out;
        };
        let quoted = &after[..end + 2];
        let word = out
            .trim_end()
            .rsplit(|c: char| !c.is_ascii_alphanumeric())
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if NAMES.contains(&word.as_str()) {
            out.push_str(quoted);
        } else {
            out.push_str("'…'");
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// A database error described by its kind, constraint, code and the database's own
/// message with any row values taken out (see [`database_message`]): messages can quote
/// row values (MySQL's "Duplicate entry 'ada@example.com'"), which must not reach logs
/// or tasks.
fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => {
            let what = match db.kind() {
                sqlx::error::ErrorKind::UniqueViolation => "a unique constraint was violated",
                sqlx::error::ErrorKind::ForeignKeyViolation => {
                    "a foreign key constraint was violated"
                }
                sqlx::error::ErrorKind::NotNullViolation => "a NOT NULL constraint was violated",
                sqlx::error::ErrorKind::CheckViolation => "a check constraint was violated",
                _ => "the database refused the statement",
            };
            let mut s = what.to_string();
            if let Some(c) = db.constraint() {
                s.push_str(&format!(" (constraint {c})"));
            }
            if let Some(code) = db.code() {
                s.push_str(&format!(" [code {code}]"));
            }
            if let Some(m) = database_message(db.as_ref()) {
                s.push_str(&format!(": {m}"));
            }
            s
        }
        sqlx::Error::Io(io) => format!("i/o error ({})", io.kind()),
        sqlx::Error::Tls(_) => "TLS error".to_string(),
        sqlx::Error::PoolTimedOut => "timed out waiting for a database connection".to_string(),
        sqlx::Error::PoolClosed => "the connection pool is closed".to_string(),
        sqlx::Error::Configuration(_) => "invalid connection settings".to_string(),
        sqlx::Error::ColumnDecode { index, .. } => format!("cannot decode column {index}"),
        sqlx::Error::TypeNotFound { type_name } => {
            format!("column type {type_name} is not supported")
        }
        sqlx::Error::Protocol(_) => "database protocol error".to_string(),
        _ => "database driver error".to_string(),
    }
}

/// One row found by traversal, with what the shared-row check learnt about it.
struct RowFound {
    values: Vec<SqlValue>,
    /// Matched the identity directly (never shared).
    by_identity: bool,
    /// Referenced by rows outside the subject's found set.
    shared: bool,
    /// Would still be referenced after the erasure (shared, or by retained rows).
    still_referenced: bool,
}

/// One table's found rows, deduplicated by primary key.
struct TableFound {
    columns: Vec<ColumnInfo>,
    key: Vec<usize>,
    rows: Vec<RowFound>,
    index: HashMap<Vec<SqlValue>, usize>,
}

impl TableFound {
    fn key_of(&self, row: &RowFound) -> Vec<SqlValue> {
        self.key.iter().map(|&k| row.values[k].clone()).collect()
    }

    fn key_columns(&self) -> Vec<&ColumnInfo> {
        self.key.iter().map(|&k| &self.columns[k]).collect()
    }

    fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Row indices in primary-key order, so that answers are stable.
    fn sorted(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.rows.len()).collect();
        order.sort_by_cached_key(|&i| self.key_of(&self.rows[i]));
        order
    }

    fn key_json(&self, row: &RowFound) -> Vec<serde_json::Value> {
        self.key
            .iter()
            .map(|&k| to_json(&row.values[k], self.columns[k].class))
            .collect()
    }
}

/// Where a traversal runs the shared-row check (see the module documentation): its
/// reference counts are the most expensive statements of a traversal.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SharedCheck {
    /// Every table reached by its own key (erasure, its preview, `find`): the check
    /// decides what an erasure may touch.
    All,
    /// Only tables whose rows lead on to other tables (access and portability): a shared
    /// row is exported either way, but is not followed into other people's rows.
    WhereFollowed,
    /// Nowhere: the search after an erasure, whose kept rows were decided before it.
    Never,
}

/// Traversal result, indexed like [`ConnectorDecl::tables`].
struct Traversal {
    tables: Vec<TableFound>,
    /// Per table, the rows read again by primary key when the traversal was asked to
    /// (the search after an erasure), whether or not the search itself found them.
    reread: Vec<Vec<Vec<SqlValue>>>,
    /// Per table, whether a probe found it large (its rows are not in `tables`).
    large: Vec<bool>,
}

/// One step of a traversal: the searches it sends (table, which of its searches), and
/// the tables complete after it.
type Step = (Vec<(usize, Part)>, Vec<usize>);

/// Which of a table's searches a traversal step sends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    /// All of them, keys to read again attached to every search.
    All,
    /// The identity search (with keys to read again) and the keys read alone.
    Identity,
    /// The `via` searches.
    Via,
}

/// One search statement of a traversal (see [`SqlConnector::traverse_with`]).
struct Query {
    table: usize,
    /// `None`: the identity search; otherwise one chunk of `via` conditions (column,
    /// values), or none at all for a statement that only reads keys again.
    via: Option<Vec<(usize, Vec<SqlValue>)>>,
    /// Primary keys read again in the same statement (`… OR key IN (…)`).
    keys: Option<Vec<Vec<SqlValue>>>,
    lock: bool,
    /// A probe of a table that may be large (see [`large`]): at most this many rows.
    limit: Option<usize>,
}

/// How a traversal reads a table.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Read {
    /// Every row it finds.
    Full,
    /// At most a page and one row: more, and the table is large (see [`large`]); its
    /// rows are then left out of the traversal.
    Probe,
    /// Not at all (a large table, handled by [`large`]).
    Skip,
}

/// What an erasure does to one table.
struct TablePlan {
    table: usize,
    action: EraseAction,
    /// Rows to delete or mask (for `retain`: none).
    targets: Vec<usize>,
    kept: u64,
}

/// Reference counts of the shared-row check kept by a traversal: per edge (index in
/// [`ConnectorDecl::edges`]), value -> referencing rows.
type Totals = HashMap<usize, HashMap<SqlValue, i64>>;

/// A reverse edge of the shared-row check: the edge, the column of the reached table
/// that the parent's column points at, and the parent's column.
struct SharedEdge {
    edge: usize,
    child_column: usize,
    parent_column: usize,
}

/// One table's rows to mask: what was found, the plan, and the masks per column.
type MaskWork<'a> = (&'a TableFound, &'a TablePlan, Vec<(usize, Mask)>);

/// The engine for one declared SQL connector.
pub struct SqlConnector {
    decl: ConnectorDecl,
    pool: SqlPool,
    catalog: std::sync::Mutex<Option<Arc<Catalog>>>,
    matching: std::sync::Mutex<Option<Arc<Matching>>>,
    /// `connectors.max_rows_per_subject`: rows one traversal may hold.
    max_rows: std::sync::atomic::AtomicU64,
    /// Rows of one table above which preview and erasure handle it in bounded memory
    /// (see [`large`]).
    page_rows: std::sync::atomic::AtomicUsize,
    /// Shared-row counts of erasures running side by side, sent together (PostgreSQL).
    coalescer: references::Coalescer,
    /// Set while the pool opens connections for the next shared-row check.
    warming: Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for SqlConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlConnector")
            .field("name", &self.decl.name())
            .field("pool", &self.pool)
            .finish()
    }
}

impl SqlConnector {
    /// The engine for `decl`, with a pool that connects on first use.
    pub fn connect(decl: ConnectorDecl) -> Result<Self, ConnectorError> {
        let pool = SqlPool::connect_lazy(&decl)?;
        Self::with_pool(decl, pool)
    }

    /// The engine for `decl` over an existing pool (of the declared kind).
    pub fn with_pool(decl: ConnectorDecl, pool: SqlPool) -> Result<Self, ConnectorError> {
        if !decl.kind().is_sql() {
            return Err(ConnectorError::Unsupported {
                connector: decl.name().to_string(),
                kind: decl.kind(),
            });
        }
        if pool.kind() != decl.kind() {
            return Err(ConnectorError::Connect {
                connector: decl.name().to_string(),
                reason: format!(
                    "the pool is a {} pool but the connector is declared {}",
                    pool.kind(),
                    decl.kind()
                ),
            });
        }
        Ok(Self {
            decl,
            pool,
            catalog: std::sync::Mutex::new(None),
            matching: std::sync::Mutex::new(None),
            max_rows: std::sync::atomic::AtomicU64::new(5_000_000),
            page_rows: std::sync::atomic::AtomicUsize::new(stream::PAGE),
            coalescer: references::Coalescer::default(),
            warming: Arc::default(),
        })
    }

    /// Set `connectors.max_rows_per_subject`: a preview, erasure or other traversal that
    /// finds more rows for one subject fails instead of holding them all.
    pub fn set_max_rows_per_subject(&self, max: u64) {
        self.max_rows
            .store(max, std::sync::atomic::Ordering::Relaxed);
    }

    /// Rows of one table above which preview and erasure stream that table's matches
    /// and keep only their keys (see [`large`]; default 2,000). For tests and tuning.
    pub fn set_page_rows(&self, rows: usize) {
        self.page_rows
            .store(rows.max(1), std::sync::atomic::Ordering::Relaxed);
    }

    fn page_rows(&self) -> usize {
        self.page_rows.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How an erasure or its preview reads each table first: tables that may be large
    /// are probed.
    fn probes(&self) -> Vec<Read> {
        (0..self.decl.tables().len())
            .map(|t| {
                if self.may_be_large(t) {
                    Read::Probe
                } else {
                    Read::Full
                }
            })
            .collect()
    }

    fn too_many_rows(&self) -> ConnectorError {
        ConnectorError::Failed {
            connector: self.decl.name().to_string(),
            reason: format!(
                "the subject has more than {} rows in this connector (connectors.max_rows_per_subject); the task stopped instead of exhausting memory",
                self.max_rows.load(std::sync::atomic::Ordering::Relaxed)
            ),
        }
    }

    pub fn decl(&self) -> &ConnectorDecl {
        &self.decl
    }

    /// A table's size in pages as the cached catalogue last read it (0: unknown, or
    /// not PostgreSQL).
    pub(crate) fn cached_pages(&self, table: &str) -> i64 {
        self.catalog
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map_or(0, |c| c.pages(table))
    }

    pub fn pool(&self) -> &SqlPool {
        &self.pool
    }

    fn db_err(&self, operation: impl Into<String>) -> impl FnOnce(sqlx::Error) -> ConnectorError {
        let connector = self.decl.name().to_string();
        let operation = operation.into();
        move |e| database_error(&connector, &operation, &e)
    }

    /// The catalogue, read once per connector (tables and columns do not change under a
    /// running service; a restart picks up migrations). A catalogue that lacks something
    /// the data map declares is not kept, so once the product database is fixed a retried
    /// task sees the fix without a restart.
    async fn catalog(&self, conn: &mut Conn<'_>) -> Result<Arc<Catalog>, ConnectorError> {
        if let Some(c) = self
            .catalog
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return Ok(c);
        }
        let loaded = Arc::new(
            Catalog::load_for(conn, &self.decl)
                .await
                .map_err(self.db_err("reading the catalogue"))?,
        );
        if catalog::check(&self.decl, &loaded).is_empty() {
            *self.catalog.lock().unwrap_or_else(|e| e.into_inner()) = Some(loaded.clone());
        }
        Ok(loaded)
    }

    /// How each identity column is searched for `who`: [`Self::matching`], with the
    /// columns searched by walking their index walked for this subject (a few index
    /// probes; see [`Matching::resolve`]). Every search phase resolves again, so the
    /// check after an erasure sees a variant stored meanwhile.
    async fn matching_for(
        &self,
        conn: &mut Conn<'_>,
        who: &Identity,
    ) -> Result<Arc<Matching>, ConnectorError> {
        let matching = self.matching(conn).await?;
        if !matching.walks() {
            return Ok(matching);
        }
        let resolved = matching
            .resolve(conn, who.spellings())
            .await
            .map_err(self.db_err("walking the index of an identity column"))?;
        Ok(Arc::new(resolved))
    }

    /// How each identity column is searched (see [`matching`]), read once per connector
    /// like the catalogue.
    async fn matching(&self, conn: &mut Conn<'_>) -> Result<Arc<Matching>, ConnectorError> {
        if let Some(m) = self
            .matching
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return Ok(m);
        }
        let loaded = Arc::new(
            Matching::load(conn, &self.decl)
                .await
                .map_err(self.db_err("reading the indexes of identity columns"))?,
        );
        *self.matching.lock().unwrap_or_else(|e| e.into_inner()) = Some(loaded.clone());
        Ok(loaded)
    }

    /// Check the data map against the live database (see [`check_catalog`]).
    pub async fn check_catalog(&self) -> Result<Vec<DatamapProblem>, ConnectorError> {
        check_catalog(&self.decl, &self.pool).await
    }

    /// Everything `rightsdesk check` verifies against the live database: the catalogue
    /// check (see [`check_catalog`]); on SQLite, a sample of every date column the data
    /// map relies on (retention ages, `type = ...` fields) for values that are not dates;
    /// and one dry-run batch of every retention policy (nothing is locked or changed),
    /// so a policy that cannot run fails `check` rather than its first run. Notes are
    /// what the erasure will do that the data map does not spell out.
    pub async fn check_connector(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<CheckFindings, ConnectorError> {
        let file = self.decl.file();
        let mut held = self
            .pool
            .acquire()
            .await
            .map_err(self.db_err("connecting"))?;
        let catalog = Catalog::load_for(&mut held.conn(), &self.decl)
            .await
            .map_err(self.db_err("reading the catalogue"))?;
        let mut problems = catalog::check(&self.decl, &catalog);
        let notes = catalog::notes(&self.decl, &catalog);
        if !problems.is_empty() {
            return Ok(CheckFindings { problems, notes });
        }

        let mut sampled: Vec<(String, String, String)> = Vec::new();
        for (i, r) in self.decl.retention().iter().enumerate() {
            sampled.push((
                r.table.clone(),
                r.age_column.clone(),
                format!("retention[{i}].age_column"),
            ));
        }
        for (i, t) in self.decl.tables().iter().enumerate() {
            for (c, f) in &t.fields {
                if f.value_type.is_some()
                    && !sampled.iter().any(|(st, sc, _)| *st == t.name && sc == c)
                {
                    sampled.push((
                        t.name.clone(),
                        c.clone(),
                        format!("tables[{i}].fields.{c}.type"),
                    ));
                }
            }
        }
        for (table, column, key) in sampled {
            let Some(info) = catalog.column(&table, &column) else {
                continue;
            };
            let n = self
                .count_unparseable(&mut held.conn(), &table, info, Some(DATE_SAMPLE))
                .await?;
            if n > 0 {
                problems.push(DatamapProblem::new(
                    file,
                    key,
                    format!(
                        "{n} of the first {DATE_SAMPLE} values of \"{table}.{column}\" are not dates \
                         (SQLite's forms are ISO 8601 text such as \"2024-01-31 09:30:00\", Unix \
                         seconds as INTEGER, Julian days as REAL); rows holding them are never \
                         purged by age: correct those values"
                    ),
                ));
            }
        }
        drop(held);

        // A dry run needs no key: the hash length only tells masked values apart.
        let dry_hasher = |_: &str| "0".repeat(HASH_HEX_LEN);
        for (i, r) in self.decl.retention().iter().enumerate() {
            let mut probe = r.clone();
            probe.batch_size = probe.batch_size.min(CHECK_BATCH);
            let outcome = self
                .purge_batch(
                    &probe,
                    r.max_age.cutoff(now),
                    &mut PurgeCursor::default(),
                    &HeldRows::default(),
                    &dry_hasher,
                    true,
                )
                .await;
            if let Err(e) = outcome {
                problems.push(DatamapProblem::new(
                    file,
                    format!("retention[{i}]"),
                    format!("retention \"{}\" cannot run: {e}", r.name),
                ));
            }
        }
        Ok(CheckFindings { problems, notes })
    }

    /// Whether the database answers.
    pub async fn test(&self) -> Result<(), ConnectorError> {
        let mut held = self
            .pool
            .acquire()
            .await
            .map_err(self.db_err("connecting"))?;
        let mut stmt = Stmt::new(self.pool.dialect());
        stmt.push("SELECT 1");
        held.conn()
            .fetch(stmt)
            .await
            .map_err(self.db_err("running SELECT 1"))?;
        Ok(())
    }

    /// Every row reachable from the identity, per declared table, all columns.
    pub async fn find(&self, who: &Identity) -> Result<Found, ConnectorError> {
        let tr = self.read_only_traversal(who).await?;
        Ok(Found {
            tables: self
                .decl
                .tables()
                .iter()
                .zip(&tr.tables)
                .map(|(decl, found)| FoundTable {
                    table: decl.name.clone(),
                    rows: found
                        .sorted()
                        .into_iter()
                        .map(|i| {
                            let row = &found.rows[i];
                            FoundRow {
                                key: found.key_json(row),
                                values: row_json(found, row, |_| true),
                                shared: row.shared,
                            }
                        })
                        .collect(),
                })
                .collect(),
        })
    }

    /// The subject's rows for an access export, without fields declared `export = false`.
    pub async fn access(&self, who: &Identity) -> Result<AccessResult, ConnectorError> {
        let tr = self
            .read_only_traversal_with(who, SharedCheck::WhereFollowed)
            .await?;
        Ok(self.access_result(&tr))
    }

    /// A traversal's rows as an access result: every table in data-map order, rows in
    /// primary-key order, without the fields declared `export = false`.
    fn access_result(&self, tr: &Traversal) -> AccessResult {
        AccessResult {
            tables: self
                .decl
                .tables()
                .iter()
                .zip(&tr.tables)
                .map(|(decl, found)| TableRows {
                    table: decl.name.clone(),
                    rows: found
                        .sorted()
                        .into_iter()
                        .map(|i| row_json(found, &found.rows[i], |c| decl.is_exported(c)))
                        .collect(),
                })
                .collect(),
        }
    }

    /// What [`erase`](Self::erase) would delete, mask and keep, changing nothing.
    ///
    /// A table with more matches than a page (see [`large`]) is counted while its rows
    /// stream past, and only the keys of its first rows are listed.
    pub async fn preview_erasure(&self, who: &Identity) -> Result<Preview, ConnectorError> {
        let mut held = self
            .pool
            .acquire()
            .await
            .map_err(self.db_err("connecting"))?;
        let catalog = self.catalog(&mut held.conn()).await?;
        let lock = vec![false; self.decl.tables().len()];
        let probes = self.probes();
        let tr = self
            .traverse_with(
                &mut held.conn(),
                &catalog,
                who,
                &lock,
                SharedCheck::All,
                None,
                false,
                Some(&probes),
            )
            .await?;
        let mut large_previews: HashMap<usize, large::LargePreview> = HashMap::new();
        for (t, _) in tr.large.iter().enumerate().filter(|(_, l)| **l) {
            let preview = self
                .preview_large(&mut held.conn(), t, &tr.tables[t], who)
                .await?;
            large_previews.insert(t, preview);
        }
        drop(held);
        let plans = self.plan(&tr, HASH_HEX_LEN)?;
        Ok(Preview {
            tables: plans
                .into_iter()
                .map(|p| {
                    let decl = &self.decl.tables()[p.table];
                    let found = &tr.tables[p.table];
                    let rows: Vec<usize> = match p.action {
                        EraseAction::Retain => found.sorted(),
                        _ => {
                            let targets: HashSet<usize> = p.targets.iter().copied().collect();
                            found
                                .sorted()
                                .into_iter()
                                .filter(|i| targets.contains(i))
                                .collect()
                        }
                    };
                    let implied = self.implied_columns(p.table);
                    let (count, keys) = match large_previews.remove(&p.table) {
                        Some(l) => (l.targets, l.keys),
                        None => (
                            rows.len() as u64,
                            rows.iter()
                                .map(|&i| found.key_json(&found.rows[i]))
                                .collect(),
                        ),
                    };
                    PreviewTable {
                        table: decl.name.clone(),
                        action: p.action,
                        rows: count,
                        kept: if p.action == EraseAction::Retain {
                            0
                        } else {
                            p.kept
                        },
                        keys,
                        fields: match p.action {
                            EraseAction::Anonymize => decl
                                .masks()
                                .map(|(c, m)| (c.to_string(), m))
                                .chain(implied.iter().map(|c| (c.clone(), Mask::Null)))
                                .collect(),
                            EraseAction::Retain => {
                                implied.iter().map(|c| (c.clone(), Mask::Null)).collect()
                            }
                            EraseAction::Delete => BTreeMap::new(),
                        },
                        implied_null: implied,
                        retain_reason: decl.retain_reason.clone(),
                    }
                })
                .collect(),
        })
    }

    /// Erase the subject's rows in one transaction: mask `anonymize` tables, then delete
    /// `delete` tables children first, leave `retain` tables; then traverse again inside
    /// the transaction and record what is left. Running it twice changes nothing more.
    ///
    /// `hasher` is the `hash` mask: the hex HMAC-SHA256 of a value under the deployment key.
    pub async fn erase(
        &self,
        who: &Identity,
        hasher: &Hasher,
    ) -> Result<ErasureEvidence, ConnectorError> {
        let hash_len = hasher("").len();
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(self.db_err("starting a transaction"))?;
        let catalog = self.catalog(&mut tx.conn()).await?;
        let lock = self.erase_locks();
        let tr = self
            .traverse_with(
                &mut tx.conn(),
                &catalog,
                who,
                &lock,
                SharedCheck::All,
                None,
                true,
                Some(&self.probes()),
            )
            .await?;
        let plans = self.plan(&tr, hash_len)?;
        let mut rows_so_far: u64 = tr.tables.iter().map(|f| f.rows.len() as u64).sum();
        let mut large_done: HashMap<usize, large::LargeErased> = HashMap::new();

        // Masks first (with the implied nulls of retained tables), so that no kept row
        // still references a row deleted below.
        let masking = self.mask_work(&tr, &plans)?;
        let counts = self
            .anonymize(&mut tx.conn(), &masking, hasher, hash_len)
            .await?;
        let mut affected: HashMap<usize, u64> = masking
            .iter()
            .zip(counts)
            .map(|((_, p, _), n)| (p.table, n))
            .collect();
        for p in plans
            .iter()
            .filter(|p| p.action == EraseAction::Anonymize && tr.large[p.table])
        {
            let done = self
                .erase_large(
                    &mut tx.conn(),
                    p.table,
                    &tr.tables[p.table],
                    who,
                    hasher,
                    hash_len,
                    &mut rows_so_far,
                )
                .await?;
            affected.insert(p.table, done.affected);
            large_done.insert(p.table, done);
        }
        let to_delete: Vec<&TablePlan> = plans
            .iter()
            .filter(|p| {
                p.action == EraseAction::Delete && (!p.targets.is_empty() || tr.large[p.table])
            })
            .collect();
        let order = self.delete_order(&catalog, &to_delete)?;
        for p in order {
            if tr.large[p.table] {
                let done = self
                    .erase_large(
                        &mut tx.conn(),
                        p.table,
                        &tr.tables[p.table],
                        who,
                        hasher,
                        hash_len,
                        &mut rows_so_far,
                    )
                    .await
                    .map_err(|e| self.name_referencing_tables(e, &catalog, p.table))?;
                affected.insert(p.table, done.affected);
                large_done.insert(p.table, done);
                continue;
            }
            let n = self
                .delete(&mut tx.conn(), &tr.tables[p.table], p)
                .await
                .map_err(|e| self.name_referencing_tables(e, &catalog, p.table))?;
            affected.insert(p.table, n);
        }

        // The evidence, inside the same transaction: what the same identity search and
        // traversal still find, and the rows acted on, read again by primary key in the
        // same statements (a row reached through a deleted or masked parent is no longer
        // reachable by traversal, so traversal alone could not see it).
        let no_lock = vec![false; self.decl.tables().len()];
        let skip_large: Vec<Read> = tr
            .large
            .iter()
            .map(|&l| if l { Read::Skip } else { Read::Full })
            .collect();
        let after = self
            .traverse_with(
                &mut tx.conn(),
                &catalog,
                who,
                &no_lock,
                SharedCheck::Never,
                Some((&tr, &plans)),
                true,
                Some(&skip_large),
            )
            .await?;
        // Large tables: their own search after every write (see `large`).
        let mut left_large: HashMap<usize, large::LargeLeft> = HashMap::new();
        for (&t, done) in &large_done {
            let left = self
                .large_left(&mut tx.conn(), t, &tr.tables[t], who, done, hash_len)
                .await?;
            left_large.insert(t, left);
        }
        tx.commit()
            .await
            .map_err(self.db_err("committing the erasure"))?;
        self.erasure_evidence(
            &tr,
            &plans,
            &after,
            &affected,
            &large_done,
            left_large,
            hash_len,
        )
    }

    /// The evidence of an erasure: per table of its `plans` (made from the traversal
    /// `tr` before it), what was found, changed and kept, and what the search `after` it
    /// (with the rows acted on read again) and the large tables' own searches
    /// (`left_large`) still find.
    #[allow(clippy::too_many_arguments)]
    fn erasure_evidence(
        &self,
        tr: &Traversal,
        plans: &[TablePlan],
        after: &Traversal,
        affected: &HashMap<usize, u64>,
        large_done: &HashMap<usize, large::LargeErased>,
        left_large: HashMap<usize, large::LargeLeft>,
        hash_len: usize,
    ) -> Result<ErasureEvidence, ConnectorError> {
        let mut not_erased: Vec<BTreeSet<Vec<SqlValue>>> = plans
            .iter()
            .map(|p| self.not_erased(&tr.tables[p.table], p, &after.reread[p.table], hash_len))
            .collect::<Result<_, _>>()?;
        let mut found_large: HashMap<usize, BTreeSet<Vec<SqlValue>>> = HashMap::new();
        for (t, left) in left_large {
            if let Some(i) = plans.iter().position(|p| p.table == t) {
                not_erased[i] = left.stale;
            }
            found_large.insert(t, left.found);
        }
        let again = self.plan(after, hash_len)?;
        // Rows kept before the erasure (shared with other people, or still referenced)
        // stay kept; every other row the search finds again is left.
        let kept_before: Vec<BTreeSet<Vec<SqlValue>>> = plans
            .iter()
            .map(|p| {
                let found = &tr.tables[p.table];
                let targets: HashSet<usize> = p.targets.iter().copied().collect();
                (0..found.rows.len())
                    .filter(|i| !targets.contains(i))
                    .map(|i| found.key_of(&found.rows[i]))
                    .collect()
            })
            .collect();
        Ok(ErasureEvidence {
            tables: plans
                .iter()
                .zip(again.iter().zip(not_erased))
                .zip(&kept_before)
                .map(|((p, (a, stale)), kept)| {
                    let decl = &self.decl.tables()[p.table];
                    let found_again = &after.tables[p.table];
                    let mut left = stale.clone();
                    for &i in &a.targets {
                        let key = found_again.key_of(&found_again.rows[i]);
                        if !kept.contains(&key) {
                            left.insert(key);
                        }
                    }
                    if let Some(found) = found_large.get(&p.table) {
                        left.extend(found.iter().cloned());
                    }
                    let newly = left.len() - stale.len();
                    let mut why = Vec::new();
                    if !stale.is_empty() {
                        why.push(match p.action {
                            EraseAction::Delete => format!(
                                "{} deleted row(s) still present when read again by primary key",
                                stale.len()
                            ),
                            _ => format!(
                                "{} masked row(s) still holding unmasked values when read again by primary key",
                                stale.len()
                            ),
                        });
                    }
                    if newly > 0 {
                        why.push(format!(
                            "{newly} row(s) still found by the identity search afterwards"
                        ));
                    }
                    ErasureTable {
                        table: decl.name.clone(),
                        action: p.action,
                        rows_found: Some(large_done.get(&p.table).map_or(
                            tr.tables[p.table].rows.len() as u64,
                            |done| done.found,
                        )),
                        rows_affected: affected.get(&p.table).copied().unwrap_or(0),
                        rows_kept: p.kept,
                        kept_reason: (p.kept > 0).then(|| kept_reason(p.action, decl)),
                        rows_left: left.len() as u64,
                        left_reason: (!why.is_empty()).then(|| why.join("; ")),
                        implied_null: self.implied_columns(p.table),
                        retain_reason: decl.retain_reason.clone(),
                    }
                })
                .collect(),
        })
    }

    /// Per table, whether an erasure reads it `FOR UPDATE` (every table it may change).
    fn erase_locks(&self) -> Vec<bool> {
        self.decl
            .tables()
            .iter()
            .map(|t| t.erase != EraseAction::Retain)
            .collect()
    }

    /// The tables whose planned rows an erasure masks (anonymised ones, and retained
    /// ones' implied nulls), with their masks.
    fn mask_work<'a>(
        &self,
        tr: &'a Traversal,
        plans: &'a [TablePlan],
    ) -> Result<Vec<MaskWork<'a>>, ConnectorError> {
        plans
            .iter()
            .filter(|p| {
                matches!(p.action, EraseAction::Anonymize | EraseAction::Retain)
                    && !p.targets.is_empty()
            })
            .map(|p| {
                let found = &tr.tables[p.table];
                Ok((found, p, self.erase_masks(p.table, found)?))
            })
            .collect()
    }

    /// The keys of a plan's target rows that are not erased when read again (`rows`):
    /// deleted rows still present, masked rows with a masked column not holding its mask.
    fn not_erased(
        &self,
        found: &TableFound,
        plan: &TablePlan,
        rows: &[Vec<SqlValue>],
        hash_len: usize,
    ) -> Result<BTreeSet<Vec<SqlValue>>, ConnectorError> {
        let mut left = BTreeSet::new();
        if plan.targets.is_empty() || plan.action == EraseAction::Retain {
            return Ok(left);
        }
        let decl = &self.decl.tables()[plan.table];
        let masks = match plan.action {
            EraseAction::Anonymize => self.masked_columns(decl, found)?,
            _ => Vec::new(),
        };
        for values in rows {
            let erased = !masks.is_empty()
                && masks
                    .iter()
                    .all(|&(c, m)| is_masked(&values[c], m, found.columns[c].class, hash_len));
            if !erased {
                left.insert(found.key.iter().map(|&k| values[k].clone()).collect());
            }
        }
        Ok(left)
    }

    /// Apply corrections `(field, value)` to the subject's rows. A field is `column`
    /// (every table where that column is declared `rectify = true`) or `table.column`.
    /// Any field not declared rectifiable, or a value that does not fit its column,
    /// refuses the whole request before anything changes.
    pub async fn rectify(
        &self,
        who: &Identity,
        corrections: &[(String, serde_json::Value)],
    ) -> Result<RectifyReport, ConnectorError> {
        let refuse = |reason: String| ConnectorError::CorrectionRefused {
            connector: self.decl.name().to_string(),
            reason,
        };
        let mut targets: BTreeMap<usize, Vec<(String, &serde_json::Value)>> = BTreeMap::new();
        for (field, value) in corrections {
            let shown = shown_field(field);
            let matches: Vec<(usize, &str)> = match field.split_once('.') {
                Some((table, column)) => self
                    .decl
                    .table(table)
                    .filter(|(_, t)| t.is_rectifiable(column))
                    .map(|(i, _)| (i, column))
                    .into_iter()
                    .collect(),
                None => self
                    .decl
                    .tables()
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| t.is_rectifiable(field))
                    .map(|(i, _)| (i, field.as_str()))
                    .collect(),
            };
            if matches.is_empty() {
                return Err(refuse(format!(
                    "field {shown} is not declared rectifiable (rectify = true) in this connector"
                )));
            }
            for (t, column) in matches {
                let entry = targets.entry(t).or_default();
                if entry.iter().any(|(c, _)| c == column) {
                    return Err(refuse(format!("field {shown} is corrected twice")));
                }
                entry.push((column.to_string(), value));
            }
        }
        if targets.is_empty() {
            return Ok(RectifyReport { tables: Vec::new() });
        }

        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(self.db_err("starting a transaction"))?;
        let catalog = self.catalog(&mut tx.conn()).await?;
        // Every value is converted before the first statement runs.
        let mut updates: Vec<(usize, Vec<(ColumnInfo, SqlValue)>)> = Vec::new();
        for (&t, sets) in &targets {
            let table = &self.decl.tables()[t];
            let mut converted = Vec::new();
            for (column, value) in sets {
                let info = self.column_info(&catalog, &table.name, column)?;
                let v = self.convert(&table.name, &info, value)?;
                converted.push((info, v));
            }
            updates.push((t, converted));
        }
        let mut lock = vec![false; self.decl.tables().len()];
        for (t, _) in &updates {
            lock[*t] = true;
        }
        let tr = self.traverse(&mut tx.conn(), &catalog, who, &lock).await?;
        let mut report = Vec::new();
        for (t, sets) in &updates {
            let found = &tr.tables[*t];
            let rows: Vec<usize> = (0..found.rows.len())
                .filter(|&i| !found.rows[i].shared)
                .collect();
            let n = self
                .update_rows(&mut tx.conn(), *t, found, &rows, sets, "correcting")
                .await?;
            report.push(RectifyTable {
                table: self.decl.tables()[*t].name.clone(),
                fields: sets.iter().map(|(c, _)| c.name.clone()).collect(),
                rows_affected: n,
                rows_skipped: (found.rows.len() - rows.len()) as u64,
            });
        }
        tx.commit()
            .await
            .map_err(self.db_err("committing the correction"))?;
        Ok(RectifyReport { tables: report })
    }

    /// Set the `[restriction]` columns on the subject's rows; with `lift`, set them
    /// back: booleans to their negation, any other declared value to NULL. `None` when
    /// the connector declares no restriction.
    pub async fn restrict(
        &self,
        who: &Identity,
        lift: bool,
    ) -> Result<Option<SetReport>, ConnectorError> {
        self.apply_set(who, self.decl.restriction(), lift).await
    }

    /// Set the `[objection]` columns on the subject's rows. `None` when the connector
    /// declares no objection.
    pub async fn object(&self, who: &Identity) -> Result<Option<SetReport>, ConnectorError> {
        self.apply_set(who, self.decl.objection(), false).await
    }

    /// Set the `[optout]` (sale) or `[limit_sensitive]` columns on the subject's rows;
    /// with `opt_in`, take them back: the declared `unset` values, else a boolean's
    /// negation, else NULL. `None` when the connector declares nothing for the scope.
    pub async fn opt_out(
        &self,
        who: &Identity,
        scope: OptOutScope,
        opt_in: bool,
    ) -> Result<Option<SetReport>, ConnectorError> {
        self.apply_set(who, self.decl.opt_out_set(scope), opt_in)
            .await
    }

    async fn apply_set(
        &self,
        who: &Identity,
        set: Option<&SetDecl>,
        lift: bool,
    ) -> Result<Option<SetReport>, ConnectorError> {
        let Some(set) = set else {
            return Ok(None);
        };
        let Some((t, table)) = self.decl.table(&set.table) else {
            return Err(ConnectorError::MissingTable {
                connector: self.decl.name().to_string(),
                table: set.table.clone(),
            });
        };
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(self.db_err("starting a transaction"))?;
        let catalog = self.catalog(&mut tx.conn()).await?;
        let mut sets = Vec::new();
        for (column, value) in &set.set {
            let info = self.column_info(&catalog, &table.name, column)?;
            let target = if lift {
                set.reversed(column, value)
            } else {
                Some(value.clone())
            };
            let json = match target {
                None => serde_json::Value::Null,
                Some(ScalarValue::Bool(b)) => serde_json::Value::Bool(b),
                Some(ScalarValue::Int(i)) => serde_json::Value::from(i),
                Some(ScalarValue::Float(f)) => serde_json::Value::from(f),
                Some(ScalarValue::Text(s)) => serde_json::Value::String(s),
            };
            let v = self.convert(&table.name, &info, &json)?;
            sets.push((info, v));
        }
        let mut lock = vec![false; self.decl.tables().len()];
        lock[t] = true;
        let tr = self.traverse(&mut tx.conn(), &catalog, who, &lock).await?;
        let found = &tr.tables[t];
        let rows: Vec<usize> = (0..found.rows.len())
            .filter(|&i| !found.rows[i].shared)
            .collect();
        let n = self
            .update_rows(&mut tx.conn(), t, found, &rows, &sets, "setting flags on")
            .await?;
        tx.commit()
            .await
            .map_err(self.db_err("committing the change"))?;
        Ok(Some(SetReport {
            table: table.name.clone(),
            columns: sets.iter().map(|(c, _)| c.name.clone()).collect(),
            rows_affected: n,
        }))
    }

    // -----------------------------------------------------------------------------------
    // Traversal.

    async fn read_only_traversal(&self, who: &Identity) -> Result<Traversal, ConnectorError> {
        self.read_only_traversal_with(who, SharedCheck::All).await
    }

    async fn read_only_traversal_with(
        &self,
        who: &Identity,
        shared_check: SharedCheck,
    ) -> Result<Traversal, ConnectorError> {
        let mut held = self
            .pool
            .acquire()
            .await
            .map_err(self.db_err("connecting"))?;
        let catalog = self.catalog(&mut held.conn()).await?;
        let lock = vec![false; self.decl.tables().len()];
        self.traverse_with(
            &mut held.conn(),
            &catalog,
            who,
            &lock,
            shared_check,
            None,
            false,
            None,
        )
        .await
    }

    fn column_info(
        &self,
        catalog: &Catalog,
        table: &str,
        column: &str,
    ) -> Result<ColumnInfo, ConnectorError> {
        if catalog.columns(table).is_none() {
            return Err(ConnectorError::MissingTable {
                connector: self.decl.name().to_string(),
                table: table.to_string(),
            });
        }
        catalog
            .column(table, column)
            .cloned()
            .ok_or_else(|| ConnectorError::MissingColumn {
                connector: self.decl.name().to_string(),
                table: table.to_string(),
                column: column.to_string(),
            })
    }

    fn convert(
        &self,
        table: &str,
        info: &ColumnInfo,
        value: &serde_json::Value,
    ) -> Result<SqlValue, ConnectorError> {
        coerce(value, info.class).ok_or_else(|| ConnectorError::InvalidValue {
            connector: self.decl.name().to_string(),
            table: table.to_string(),
            column: info.name.clone(),
            expected: expected_form(info.class).to_string(),
        })
    }

    fn missing_column(&self, table: &str, column: &str) -> ConnectorError {
        ConnectorError::MissingColumn {
            connector: self.decl.name().to_string(),
            table: table.to_string(),
            column: column.to_string(),
        }
    }

    /// Follow the data map from the identity: tables in topological order, each read once
    /// per chunk of values, rows deduplicated by key; then the shared-row check. Tables
    /// with `lock` set are read `FOR UPDATE` (PostgreSQL, MySQL; a SQLite write
    /// transaction already holds the database).
    async fn traverse(
        &self,
        conn: &mut Conn<'_>,
        catalog: &Catalog,
        who: &Identity,
        lock: &[bool],
    ) -> Result<Traversal, ConnectorError> {
        self.traverse_with(
            conn,
            catalog,
            who,
            lock,
            SharedCheck::All,
            None,
            false,
            None,
        )
        .await
    }

    /// [`Self::traverse`], with the shared-row check everywhere, only where it decides
    /// what is followed, or nowhere (see [`SharedCheck`]). With `reread`, each table's
    /// rows of those primary keys are read too, in the same statements as the table's
    /// searches where they fit (`… OR key IN (…)`), and returned apart in
    /// [`Traversal::reread`]; they join the traversal only when a search found them.
    ///
    /// With `batched`, statements that do not depend on each other go to the database
    /// together (see [`batch`]): first every table's identity search and keys to read
    /// again, then, level by level of the data map, the `via` searches of every table
    /// whose parents have been read. An erasure's reads cost one round trip per level
    /// instead of one per table.
    #[allow(clippy::too_many_arguments)]
    async fn traverse_with(
        &self,
        conn: &mut Conn<'_>,
        catalog: &Catalog,
        who: &Identity,
        lock: &[bool],
        shared_check: SharedCheck,
        reread: Option<(&Traversal, &[TablePlan])>,
        batched: bool,
        reads: Option<&[Read]>,
    ) -> Result<Traversal, ConnectorError> {
        self.traverse_recording(
            conn,
            catalog,
            who,
            lock,
            shared_check,
            reread,
            batched,
            reads,
            None,
        )
        .await
    }

    /// [`Self::traverse_with`], keeping the shared-row check's reference counts in
    /// `record` (see [`Self::mark_shared`]).
    #[allow(clippy::too_many_arguments)]
    async fn traverse_recording(
        &self,
        conn: &mut Conn<'_>,
        catalog: &Catalog,
        who: &Identity,
        lock: &[bool],
        shared_check: SharedCheck,
        reread: Option<(&Traversal, &[TablePlan])>,
        batched: bool,
        reads: Option<&[Read]>,
        mut record: Option<&mut Totals>,
    ) -> Result<Traversal, ConnectorError> {
        let dialect = conn.dialect();
        let page = self.page_rows();
        let read = |t: usize| reads.map_or(Read::Full, |r| r[t]);
        let mut large = vec![false; self.decl.tables().len()];
        let matching = self.matching_for(conn, who).await?;
        let max_rows = self.max_rows.load(std::sync::atomic::Ordering::Relaxed);
        let mut total: u64 = 0;
        let decls = self.decl.tables();
        let mut tables = Vec::with_capacity(decls.len());
        let mut read_again: Vec<Vec<Vec<SqlValue>>> = vec![Vec::new(); decls.len()];
        for t in decls {
            let columns = catalog
                .columns(&t.name)
                .ok_or_else(|| ConnectorError::MissingTable {
                    connector: self.decl.name().to_string(),
                    table: t.name.clone(),
                })?
                .to_vec();
            let key = t
                .primary_key
                .iter()
                .map(|k| {
                    columns
                        .iter()
                        .position(|c| c.name == *k)
                        .ok_or_else(|| self.missing_column(&t.name, k))
                })
                .collect::<Result<Vec<_>, _>>()?;
            tables.push(TableFound {
                columns,
                key,
                rows: Vec::new(),
                index: HashMap::new(),
            });
        }

        // The steps: which searches of which tables, and which tables are complete
        // after them (their shared-row check runs then).
        let batched = batched && batch::supported(dialect);
        let mut steps: Vec<Step> = Vec::new();
        if batched {
            let mut wave_of = vec![0usize; decls.len()];
            for &t in self.decl.traversal_order() {
                let mut w = 0;
                for via in &decls[t].via {
                    for parent in &via.parents {
                        if let Some((pi, _)) = self.decl.table(&parent.table) {
                            w = w.max(wave_of[pi] + 1);
                        }
                    }
                }
                wave_of[t] = w;
            }
            let order = self.decl.traversal_order();
            steps.push((
                order.iter().map(|&t| (t, Part::Identity)).collect(),
                Vec::new(),
            ));
            for w in 0..=wave_of.iter().copied().max().unwrap_or(0) {
                let wave: Vec<usize> = order.iter().copied().filter(|&t| wave_of[t] == w).collect();
                steps.push((wave.iter().map(|&t| (t, Part::Via)).collect(), wave));
            }
        } else {
            for &t in self.decl.traversal_order() {
                steps.push((vec![(t, Part::All)], vec![t]));
            }
        }

        for (parts, complete) in steps {
            let mut queries: Vec<Query> = Vec::new();
            for (t, part) in parts {
                match read(t) {
                    Read::Skip => {}
                    Read::Full => {
                        self.queries(t, part, &tables, lock, reread, None, &mut queries)?
                    }
                    Read::Probe => {
                        self.queries(t, part, &tables, lock, reread, Some(page + 1), &mut queries)?
                    }
                }
            }
            let identity_of: Vec<Vec<usize>> = decls
                .iter()
                .zip(&tables)
                .map(|(decl, found)| self.identity_columns(decl, found))
                .collect::<Result<_, _>>()?;
            let arms: Vec<batch::Arm<'_>> = queries
                .iter()
                .map(|q| {
                    let decl = &decls[q.table];
                    let found = &tables[q.table];
                    let identity_cols = &identity_of[q.table];
                    let matching = &matching;
                    let condition = move |s: &mut Stmt| {
                        let mut first = true;
                        match &q.via {
                            None => {
                                for &c in identity_cols {
                                    if !std::mem::take(&mut first) {
                                        s.push(" OR ");
                                    }
                                    let name = &found.columns[c].name;
                                    let m = matching.column(&decl.name, name);
                                    matching::push_search(s, dialect, name, &m, who.spellings());
                                }
                            }
                            Some(via) => {
                                for (c, values) in via {
                                    if !std::mem::take(&mut first) {
                                        s.push(" OR ");
                                    }
                                    s.column_in(&found.columns[*c], values);
                                }
                            }
                        }
                        if let Some(keys) = &q.keys {
                            if !first {
                                s.push(" OR ");
                            }
                            let key_cols = found.key_columns();
                            let keys: Vec<&[SqlValue]> = keys.iter().map(Vec::as_slice).collect();
                            s.push("(").key_in(&key_cols, &keys).push(")");
                        }
                    };
                    let binds = match &q.via {
                        // Several subjects' spellings (see `together`) may be more.
                        None => 200.max(4 * who.spellings().len()) * identity_cols.len().max(1),
                        Some(via) => via.iter().map(|(_, v)| v.len()).sum(),
                    } + q.keys.as_ref().map_or(0, |k| k.len() * found.key.len());
                    batch::Arm {
                        table: &decl.name,
                        columns: &found.columns,
                        binds,
                        lock: q.lock,
                        limit: q.limit,
                        condition: Box::new(condition),
                    }
                })
                .collect();
            let results = batch::fetch_all(conn, &arms, batched)
                .await
                .map_err(|(i, e)| {
                    let q = &queries[i];
                    let again = if q.via.as_ref().is_some_and(Vec::is_empty) {
                        " again"
                    } else {
                        ""
                    };
                    database_error(
                        self.decl.name(),
                        &format!("reading table \"{}\"{again}", decls[q.table].name),
                        &e,
                    )
                })?;
            drop(arms);

            for (q, rows) in queries.iter().zip(results) {
                let t = q.table;
                if q.limit.is_some_and(|n| rows.len() >= n) {
                    large[t] = true;
                }
                if large[t] {
                    continue;
                }
                let identity_cols = &identity_of[t];
                let found = &mut tables[t];
                let before = reread.map(|(tr, _)| &tr.tables[t]);
                let is_reread = |values: &[SqlValue], found: &TableFound| {
                    let (Some(before), Some((_, plans))) = (before, reread) else {
                        return false;
                    };
                    let key: Vec<SqlValue> = found.key.iter().map(|&k| values[k].clone()).collect();
                    before.index.get(&key).is_some_and(|&i| {
                        plans[t].action != EraseAction::Retain
                            && plans[t].targets.binary_search(&i).is_ok()
                    })
                };
                match &q.via {
                    // The identity search is a superset of the matching rule (see
                    // `matching`): its rows count only when an identity column passes the
                    // rule itself.
                    None => {
                        for values in rows {
                            if q.keys.is_some() && is_reread(&values, found) {
                                read_again[t].push(values.clone());
                            }
                            if matched(&values, identity_cols, who) {
                                insert_row(found, values, identity_cols, who);
                            }
                        }
                    }
                    // Keys alone: rows read again, found by no search.
                    Some(via) if via.is_empty() => read_again[t].extend(rows),
                    Some(via) => {
                        // A row of the keys joins the traversal only if a `via` value
                        // found it.
                        let via_sets: Vec<(usize, HashSet<&SqlValue>)> = match q.keys {
                            Some(_) => via
                                .iter()
                                .map(|(c, vs)| (*c, vs.iter().collect()))
                                .collect(),
                            None => Vec::new(),
                        };
                        for values in rows {
                            if q.keys.is_some() && is_reread(&values, found) {
                                read_again[t].push(values.clone());
                                if !via_sets.iter().any(|(c, vs)| vs.contains(&values[*c])) {
                                    continue;
                                }
                            }
                            insert_row(found, values, identity_cols, who);
                        }
                    }
                }
            }

            for t in complete {
                let mut found = std::mem::replace(
                    &mut tables[t],
                    TableFound {
                        columns: Vec::new(),
                        key: Vec::new(),
                        rows: Vec::new(),
                        index: HashMap::new(),
                    },
                );
                if large[t] {
                    found.rows.clear();
                    found.index.clear();
                }
                let check = match shared_check {
                    SharedCheck::All => true,
                    SharedCheck::WhereFollowed => self.decl.edges().iter().any(|e| e.parent == t),
                    SharedCheck::Never => false,
                };
                if check {
                    self.mark_shared(conn, t, &mut found, &tables, record.as_deref_mut())
                        .await?;
                }
                total += found.rows.len() as u64;
                if total > max_rows {
                    return Err(self.too_many_rows());
                }
                tables[t] = found;
            }
        }
        Ok(Traversal {
            tables,
            reread: read_again,
            large,
        })
    }

    fn identity_columns(
        &self,
        decl: &TableDecl,
        found: &TableFound,
    ) -> Result<Vec<usize>, ConnectorError> {
        decl.identities
            .iter()
            .map(|(IdentityType::Email, c)| {
                found
                    .column(c)
                    .ok_or_else(|| self.missing_column(&decl.name, c))
            })
            .collect()
    }

    /// Table `t`'s searches of one [`Part`], appended to `out`. Keys to read again (a
    /// plan's targets in the earlier traversal) are attached to the identity search and,
    /// for [`Part::All`], to the `via` searches while they last; the rest are read by
    /// key alone. `via` values come from the parents' rows found so far.
    #[allow(clippy::too_many_arguments)]
    fn queries(
        &self,
        t: usize,
        part: Part,
        tables: &[TableFound],
        lock: &[bool],
        reread: Option<(&Traversal, &[TablePlan])>,
        limit: Option<usize>,
        out: &mut Vec<Query>,
    ) -> Result<(), ConnectorError> {
        let decl = &self.decl.tables()[t];
        let found = &tables[t];
        let mut key_chunks: Vec<Vec<Vec<SqlValue>>> = Vec::new();
        if part != Part::Via
            && let Some((tr, plans)) = reread
            && plans[t].action != EraseAction::Retain
        {
            let before = &tr.tables[t];
            for chunk in plans[t]
                .targets
                .chunks(rows_per_statement(found.key.len(), CHUNK + 100))
            {
                key_chunks.push(
                    chunk
                        .iter()
                        .map(|&i| before.key_of(&before.rows[i]))
                        .collect(),
                );
            }
        }
        let mut key_chunks = key_chunks.into_iter();
        if part != Part::Via && !decl.identities.is_empty() {
            out.push(Query {
                table: t,
                via: None,
                keys: key_chunks.next(),
                lock: lock[t],
                limit,
            });
        }
        if part != Part::Identity {
            let mut via_conds: Vec<(usize, Vec<SqlValue>)> = Vec::new();
            for via in &decl.via {
                let ci = found
                    .column(&via.column)
                    .ok_or_else(|| self.missing_column(&decl.name, &via.column))?;
                let mut seen = HashSet::new();
                let mut values = Vec::new();
                for parent in &via.parents {
                    let (pi, _) = self.decl.table(&parent.table).ok_or_else(|| {
                        ConnectorError::MissingTable {
                            connector: self.decl.name().to_string(),
                            table: parent.table.clone(),
                        }
                    })?;
                    let prows = &tables[pi];
                    let pc = prows
                        .column(&parent.column)
                        .ok_or_else(|| self.missing_column(&parent.table, &parent.column))?;
                    // Shared rows are not followed: their other references lead into
                    // other subjects' data.
                    for r in prows.rows.iter().filter(|r| !r.shared) {
                        let v = &r.values[pc];
                        if !v.is_null() && seen.insert(v.clone()) {
                            values.push(v.clone());
                        }
                    }
                }
                if !values.is_empty() {
                    via_conds.push((ci, values));
                }
            }
            for chunk in pack(&via_conds) {
                out.push(Query {
                    table: t,
                    via: Some(chunk.via.iter().map(|(c, vs)| (*c, vs.to_vec())).collect()),
                    keys: if part == Part::All {
                        key_chunks.next()
                    } else {
                        None
                    },
                    lock: lock[t],
                    limit,
                });
            }
        }
        for keys in key_chunks {
            out.push(Query {
                table: t,
                via: Some(Vec::new()),
                keys: Some(keys),
                lock: false,
                limit: None,
            });
        }
        Ok(())
    }

    /// The shared-row check (see the module documentation) for rows of table `t`
    /// reached through a parent column that points at their own key. The counts of all
    /// such columns are one round trip (see [`references`]). With `record`, the counts
    /// are also kept per edge for every value asked, rows found by the identity included
    /// (a traversal of several subjects, see [`together`]), each value asked and held by
    /// no row with 0.
    async fn mark_shared(
        &self,
        conn: &mut Conn<'_>,
        t: usize,
        found: &mut TableFound,
        tables: &[TableFound],
        record: Option<&mut Totals>,
    ) -> Result<(), ConnectorError> {
        let decls = self.decl.tables();
        let recording = record.is_some();
        let mut edges: Vec<SharedEdge> = Vec::new();
        let mut wanted: Vec<Counted<'_>> = Vec::new();
        for (ei, e) in self.decl.edges().iter().enumerate() {
            if e.child != t || !is_reverse(decls, e) {
                continue;
            }
            let parent_decl = &decls[e.parent];
            let parent = &tables[e.parent];
            let ci = found
                .column(&e.child_column)
                .ok_or_else(|| self.missing_column(&decls[t].name, &e.child_column))?;
            let pc = parent
                .column(&e.parent_column)
                .ok_or_else(|| self.missing_column(&parent_decl.name, &e.parent_column))?;
            let mut seen = HashSet::new();
            let values: Vec<SqlValue> = found
                .rows
                .iter()
                .filter(|r| recording || !r.by_identity)
                .map(|r| r.values[ci].clone())
                .filter(|v| !v.is_null() && seen.insert(v.clone()))
                .collect();
            if values.is_empty() {
                continue;
            }
            edges.push(SharedEdge {
                edge: ei,
                child_column: ci,
                parent_column: pc,
            });
            wanted.push(Counted {
                table: &parent_decl.name,
                column: &parent.columns[pc],
                values,
                blocks: (0, None),
            });
        }
        if edges.is_empty() {
            return Ok(());
        }
        let coalesced = if conn.dialect() == Dialect::Postgres {
            let owned = wanted
                .iter()
                .map(|w| references::OwnedCounted {
                    table: w.table.to_string(),
                    column: w.column.clone(),
                    values: w.values.clone(),
                })
                .collect();
            let c = &mut *conn;
            self.coalescer
                .counts(owned, |merged| async move {
                    let refs: Vec<Counted<'_>> = merged
                        .iter()
                        .map(|m| Counted {
                            table: &m.table,
                            column: &m.column,
                            values: m.values.clone(),
                            blocks: (0, None),
                        })
                        .collect();
                    self.count_references_side_by_side(c, &refs).await.ok()
                })
                .await
        } else {
            None
        };
        let totals = match coalesced {
            Some(totals) => totals,
            None => self.count_references(conn, &wanted).await?,
        };
        if let Some(record) = record {
            for ((edge, w), total) in edges.iter().zip(&wanted).zip(&totals) {
                let kept = record.entry(edge.edge).or_default();
                for v in &w.values {
                    kept.insert(v.clone(), total.get(v).copied().unwrap_or(0));
                }
            }
        }
        let totals: Vec<&HashMap<SqlValue, i64>> = totals.iter().collect();
        self.apply_shared(found, tables, &edges, &totals);
        Ok(())
    }

    /// Mark the rows of `found` reached through the reverse `edges` shared (referenced
    /// by rows outside the subject's own) and still referenced (by rows the erasure
    /// keeps), from the reference `totals` of each edge's values.
    fn apply_shared(
        &self,
        found: &mut TableFound,
        tables: &[TableFound],
        edges: &[SharedEdge],
        totals: &[&HashMap<SqlValue, i64>],
    ) {
        let decls = self.decl.tables();
        for (edge, total) in edges.iter().zip(totals) {
            let e = &self.decl.edges()[edge.edge];
            let (ci, pc) = (edge.child_column, edge.parent_column);
            let parent_decl = &decls[e.parent];
            let parent = &tables[e.parent];
            // Per value: references from the subject's own rows, and how many of those
            // go away with the erasure (deleted, or the column masked).
            let mut own: HashMap<&SqlValue, (i64, i64)> = HashMap::new();
            for r in &parent.rows {
                let releases = match parent_decl.erase {
                    EraseAction::Delete => !r.still_referenced,
                    EraseAction::Anonymize => {
                        !r.shared && parent_decl.mask_of(&e.parent_column).is_some()
                    }
                    EraseAction::Retain => false,
                };
                let entry = own.entry(&r.values[pc]).or_default();
                entry.0 += 1;
                entry.1 += i64::from(releases);
            }
            for r in found.rows.iter_mut().filter(|r| !r.by_identity) {
                let total = total.get(&r.values[ci]).copied().unwrap_or(0);
                let (mine, released) = own.get(&r.values[ci]).copied().unwrap_or((0, 0));
                if total > mine {
                    r.shared = true;
                }
                if total > released {
                    r.still_referenced = true;
                }
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // Erasure.

    /// Per table: which rows the erasure acts on, and how many it keeps.
    fn plan(&self, tr: &Traversal, hash_len: usize) -> Result<Vec<TablePlan>, ConnectorError> {
        self.decl
            .tables()
            .iter()
            .enumerate()
            .map(|(t, decl)| {
                let found = &tr.tables[t];
                let all = 0..found.rows.len();
                Ok(match decl.erase {
                    EraseAction::Delete => TablePlan {
                        table: t,
                        action: decl.erase,
                        targets: all.filter(|&i| !found.rows[i].still_referenced).collect(),
                        kept: found.rows.iter().filter(|r| r.still_referenced).count() as u64,
                    },
                    EraseAction::Anonymize => {
                        let masks = self.erase_masks(t, found)?;
                        TablePlan {
                            table: t,
                            action: decl.erase,
                            targets: all
                                .filter(|&i| needs_mask(found, i, &masks, hash_len))
                                .collect(),
                            kept: found.rows.iter().filter(|r| r.shared).count() as u64,
                        }
                    }
                    // Kept as they are, but for references to deleted rows.
                    EraseAction::Retain => {
                        let masks = self.erase_masks(t, found)?;
                        TablePlan {
                            table: t,
                            action: decl.erase,
                            targets: all
                                .filter(|&i| needs_mask(found, i, &masks, hash_len))
                                .collect(),
                            kept: found.rows.len() as u64,
                        }
                    }
                })
            })
            .collect()
    }

    fn masked_columns(
        &self,
        decl: &TableDecl,
        found: &TableFound,
    ) -> Result<Vec<(usize, Mask)>, ConnectorError> {
        decl.masks()
            .map(|(c, m)| {
                found
                    .column(c)
                    .map(|i| (i, m))
                    .ok_or_else(|| self.missing_column(&decl.name, c))
            })
            .collect()
    }

    /// The masks an erasure applies to table `t`: its declared masks (`anonymize`) and
    /// the implied `null` of `via` columns that reference deleted rows (`anonymize` and
    /// `retain`); refused when such a column is NOT NULL.
    fn erase_masks(
        &self,
        t: usize,
        found: &TableFound,
    ) -> Result<Vec<(usize, Mask)>, ConnectorError> {
        let decl = &self.decl.tables()[t];
        let mut masks = match decl.erase {
            EraseAction::Delete => return Ok(Vec::new()),
            EraseAction::Anonymize => self.masked_columns(decl, found)?,
            EraseAction::Retain => Vec::new(),
        };
        for n in implied_nulls(&self.decl)
            .into_iter()
            .filter(|n| n.table == t)
        {
            let c = found
                .column(&n.column)
                .ok_or_else(|| self.missing_column(&decl.name, &n.column))?;
            if !found.columns[c].nullable {
                return Err(ConnectorError::Failed {
                    connector: self.decl.name().to_string(),
                    reason: n.not_null_message(&self.decl),
                });
            }
            if !masks.iter().any(|&(m, _)| m == c) {
                masks.push((c, Mask::Null));
            }
        }
        Ok(masks)
    }

    /// The `via` columns of table `t` that an erasure sets to NULL (see [`ImpliedNull`]).
    fn implied_columns(&self, t: usize) -> Vec<String> {
        implied_nulls(&self.decl)
            .into_iter()
            .filter(|n| n.table == t)
            .map(|n| n.column)
            .collect()
    }

    /// Mask the planned rows of every table in `plans`, by primary key in batches, and
    /// return the rows changed per entry of `work`. On PostgreSQL the `UPDATE`s of all tables go
    /// as one statement (data-modifying `WITH` queries, each counting its rows with
    /// `RETURNING`) up to [`statement::MAX_BINDS`] parameters: every plan is a different
    /// table (or, for several subjects, different keys of a table) and every batch
    /// different keys, so no row is written twice, and foreign-key
    /// and `AFTER` triggers run at the end of the statement as they would at the end of
    /// the last `UPDATE`. Elsewhere each batch is its own `UPDATE`.
    async fn anonymize(
        &self,
        conn: &mut Conn<'_>,
        work: &[MaskWork<'_>],
        hasher: &Hasher,
        hash_len: usize,
    ) -> Result<Vec<u64>, ConnectorError> {
        let dialect = conn.dialect();
        let mut affected: Vec<u64> = vec![0; work.len()];
        // PostgreSQL: the statement being gathered, and the entry of `work` and table of
        // each of its parts.
        let mut merged = Stmt::new(dialect);
        let mut parts: Vec<(usize, usize)> = Vec::new();
        for (w, (found, plan, masks)) in work.iter().enumerate() {
            let decl = &self.decl.tables()[plan.table];
            let hashed = masks
                .iter()
                .filter(|(c, m)| *m == Mask::Hash && found.columns[*c].class == ColumnClass::Text)
                .count();
            let per_statement = rows_per_statement(found.key.len() + 2 * hashed, 0);
            for batch in plan.targets.chunks(per_statement) {
                if dialect != Dialect::Postgres {
                    let mut s = Stmt::new(dialect);
                    if self.push_mask_update(&mut s, found, plan, batch, masks, hasher, hash_len) {
                        affected[w] += conn.execute(s).await.map_err(
                            self.db_err(format!("masking rows of table \"{}\"", decl.name)),
                        )?;
                    }
                    continue;
                }
                let mut part = Stmt::new(dialect);
                // Numbered after the parts gathered so far.
                part.binds = std::mem::take(&mut merged.binds);
                let binds_before = part.binds.len();
                part.push(&format!("rd_m{} AS (", parts.len()));
                if !self.push_mask_update(&mut part, found, plan, batch, masks, hasher, hash_len) {
                    merged.binds = part.binds;
                    continue;
                }
                part.push(" RETURNING 1)");
                if !parts.is_empty() && part.binds.len() > statement::MAX_BINDS {
                    // Too many parameters with this part: send what is gathered, and
                    // write this batch again as the first part of the next statement.
                    part.binds.truncate(binds_before);
                    merged.binds = part.binds;
                    self.send_merged(conn, &mut merged, &mut parts, &mut affected)
                        .await?;
                    part = Stmt::new(dialect);
                    part.push("rd_m0 AS (");
                    self.push_mask_update(&mut part, found, plan, batch, masks, hasher, hash_len);
                    part.push(" RETURNING 1)");
                }
                merged.push(if parts.is_empty() { "WITH " } else { ", " });
                merged.push(&part.sql);
                merged.binds = part.binds;
                parts.push((w, plan.table));
            }
        }
        self.send_merged(conn, &mut merged, &mut parts, &mut affected)
            .await?;
        Ok(affected)
    }

    /// [`Self::anonymize`] for one table: the rows changed.
    async fn anonymize_one(
        &self,
        conn: &mut Conn<'_>,
        found: &TableFound,
        plan: &TablePlan,
        masks: &[(usize, Mask)],
        hasher: &Hasher,
        hash_len: usize,
    ) -> Result<u64, ConnectorError> {
        let work = [(found, plan, masks.to_vec())];
        let affected = self.anonymize(conn, &work, hasher, hash_len).await?;
        Ok(affected.iter().sum())
    }

    /// Send the gathered `WITH rd_m0 AS (UPDATE …), …` and add each part's row count to
    /// its entry of the work; leaves both empty.
    async fn send_merged(
        &self,
        conn: &mut Conn<'_>,
        merged: &mut Stmt,
        parts: &mut Vec<(usize, usize)>,
        affected: &mut [u64],
    ) -> Result<(), ConnectorError> {
        if parts.is_empty() {
            return Ok(());
        }
        for i in 0..parts.len() {
            merged.push(if i == 0 {
                " SELECT "
            } else {
                " UNION ALL SELECT "
            });
            merged.push(&format!("{i}, (SELECT COUNT(*) FROM rd_m{i})"));
        }
        let names: BTreeSet<&str> = parts
            .iter()
            .map(|&(_, t)| self.decl.tables()[t].name.as_str())
            .collect();
        let names: Vec<String> = names.into_iter().map(|n| format!("\"{n}\"")).collect();
        let s = std::mem::replace(merged, Stmt::new(merged.dialect()));
        let rows = conn.fetch(s).await.map_err(self.db_err(format!(
            "masking rows of table{} {}",
            if names.len() == 1 { "" } else { "s" },
            names.join(", ")
        )))?;
        for row in rows {
            if let (Some(SqlValue::Int(i)), Some(SqlValue::Int(n))) = (row.first(), row.get(1))
                && let Some(&(w, _)) = usize::try_from(*i).ok().and_then(|i| parts.get(i))
            {
                affected[w] += u64::try_from(*n).unwrap_or(0);
            }
        }
        parts.clear();
        Ok(())
    }

    /// Write `UPDATE table SET <masks> WHERE <keys of batch>` into `s`. Hashes are
    /// computed here per distinct value and written with `CASE col WHEN old THEN new`,
    /// which refers only to the column's own old value (MySQL applies SET assignments
    /// left to right). Writes nothing and returns `false` when no column needs a change.
    #[allow(clippy::too_many_arguments)]
    fn push_mask_update(
        &self,
        s: &mut Stmt,
        found: &TableFound,
        plan: &TablePlan,
        batch: &[usize],
        masks: &[(usize, Mask)],
        hasher: &Hasher,
        hash_len: usize,
    ) -> bool {
        let decl = &self.decl.tables()[plan.table];
        let (sql_len, binds_len) = (s.sql.len(), s.binds.len());
        s.push("UPDATE ").ident(&decl.name).push(" SET ");
        let mut first = true;
        for &(c, mask) in masks {
            let col = &found.columns[c];
            match (mask, col.class) {
                (Mask::Hash, ColumnClass::Text) => {
                    let mut originals = BTreeSet::new();
                    for &i in batch {
                        if let SqlValue::Text(v) = &found.rows[i].values[c]
                            && !looks_hashed(v, hash_len)
                        {
                            originals.insert(v.as_str());
                        }
                    }
                    if originals.is_empty() {
                        continue;
                    }
                    if !std::mem::take(&mut first) {
                        s.push(", ");
                    }
                    s.ident(&col.name).push(" = CASE ").ident(&col.name);
                    for v in originals {
                        s.push(" WHEN ")
                            .value(SqlValue::Text(v.to_string()), col)
                            .push(" THEN ")
                            .value(SqlValue::Text(hasher(v)), col);
                    }
                    s.push(" ELSE ").ident(&col.name).push(" END");
                }
                (Mask::Redact, class) => {
                    if !std::mem::take(&mut first) {
                        s.push(", ");
                    }
                    s.ident(&col.name)
                        .push(" = ")
                        .value(value::redact_value(class), col);
                }
                // `hash` on a non-text column cannot hold the hash: it is nulled
                // (`check_catalog` reports such a mask).
                (Mask::Null | Mask::Hash, _) => {
                    if !std::mem::take(&mut first) {
                        s.push(", ");
                    }
                    s.ident(&col.name).push(" = NULL");
                }
            }
        }
        if first {
            s.sql.truncate(sql_len);
            s.binds.truncate(binds_len);
            return false;
        }
        let keys: Vec<Vec<SqlValue>> = batch
            .iter()
            .map(|&i| found.key_of(&found.rows[i]))
            .collect();
        let key_refs: Vec<&[SqlValue]> = keys.iter().map(Vec::as_slice).collect();
        s.push(" WHERE ").key_in(&found.key_columns(), &key_refs);
        true
    }

    async fn delete(
        &self,
        conn: &mut Conn<'_>,
        found: &TableFound,
        plan: &TablePlan,
    ) -> Result<u64, ConnectorError> {
        let decl = &self.decl.tables()[plan.table];
        let key_cols = found.key_columns();
        let mut affected = 0;
        for batch in plan.targets.chunks(rows_per_statement(found.key.len(), 0)) {
            let keys: Vec<Vec<SqlValue>> = batch
                .iter()
                .map(|&i| found.key_of(&found.rows[i]))
                .collect();
            let key_refs: Vec<&[SqlValue]> = keys.iter().map(Vec::as_slice).collect();
            let mut s = Stmt::new(conn.dialect());
            s.push("DELETE FROM ")
                .ident(&decl.name)
                .push(" WHERE ")
                .key_in(&key_cols, &key_refs);
            affected += conn
                .execute(s)
                .await
                .map_err(self.db_err(format!("deleting rows of table \"{}\"", decl.name)))?;
        }
        Ok(affected)
    }

    /// A refused delete of table `t` because of a foreign key, with the tables whose
    /// foreign keys reference `t` (SQLite does not name the constraint; PostgreSQL and
    /// MySQL do, but the operator needs the table to declare).
    fn name_referencing_tables(
        &self,
        e: ConnectorError,
        catalog: &Catalog,
        t: usize,
    ) -> ConnectorError {
        let ConnectorError::DatabaseRefused {
            connector,
            operation,
            mut reason,
        } = e
        else {
            return e;
        };
        let table = &self.decl.tables()[t].name;
        let referencing: BTreeSet<&str> = catalog
            .foreign_keys
            .iter()
            .filter(|fk| fk.referenced == *table && fk.table != *table)
            .map(|fk| fk.table.as_str())
            .collect();
        if reason.contains("foreign key") && !referencing.is_empty() {
            let names: Vec<String> = referencing.iter().map(|n| format!("\"{n}\"")).collect();
            reason.push_str(&format!(
                "; tables whose foreign keys reference \"{table}\": {}",
                names.join(", ")
            ));
        }
        ConnectorError::DatabaseRefused {
            connector,
            operation,
            reason,
        }
    }

    /// Order deletes so that every referencing table goes before the table it references
    /// (see the module documentation); ties keep children-first traversal order.
    fn delete_order<'p>(
        &self,
        catalog: &Catalog,
        plans: &[&'p TablePlan],
    ) -> Result<Vec<&'p TablePlan>, ConnectorError> {
        let decls = self.decl.tables();
        let members: HashMap<usize, usize> = plans
            .iter()
            .enumerate()
            .map(|(i, p)| (p.table, i))
            .collect();
        // before[a] contains b: plan a must run before plan b.
        let mut before: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); plans.len()];
        for e in self.decl.edges() {
            let (Some(&child), Some(&parent)) = (members.get(&e.child), members.get(&e.parent))
            else {
                continue;
            };
            if is_reverse(decls, e) {
                before[parent].insert(child);
            } else if decls[e.parent].single_key() == Some(e.parent_column.as_str()) {
                before[child].insert(parent);
            }
        }
        for fk in &catalog.foreign_keys {
            let (Some((a, _)), Some((b, _))) =
                (self.decl.table(&fk.table), self.decl.table(&fk.referenced))
            else {
                continue;
            };
            if let (Some(&a), Some(&b)) = (members.get(&a), members.get(&b))
                && a != b
            {
                before[a].insert(b);
            }
        }
        // Default rank: reverse traversal order (children first).
        let rank: HashMap<usize, usize> = self
            .decl
            .traversal_order()
            .iter()
            .rev()
            .enumerate()
            .map(|(r, &t)| (t, r))
            .collect();
        let mut indegree = vec![0usize; plans.len()];
        for targets in &before {
            for &b in targets {
                indegree[b] += 1;
            }
        }
        let mut ready: BTreeSet<(usize, usize)> = (0..plans.len())
            .filter(|&i| indegree[i] == 0)
            .map(|i| (rank.get(&plans[i].table).copied().unwrap_or(0), i))
            .collect();
        let mut order = Vec::with_capacity(plans.len());
        while let Some((_, i)) = ready.pop_first() {
            order.push(plans[i]);
            for &b in &before[i] {
                indegree[b] -= 1;
                if indegree[b] == 0 {
                    ready.insert((rank.get(&plans[b].table).copied().unwrap_or(0), b));
                }
            }
        }
        if order.len() < plans.len() {
            let stuck: Vec<&str> = (0..plans.len())
                .filter(|&i| indegree[i] > 0)
                .map(|i| decls[plans[i].table].name.as_str())
                .collect();
            return Err(ConnectorError::DeleteOrder {
                connector: self.decl.name().to_string(),
                tables: stuck.join(", "),
            });
        }
        Ok(order)
    }

    /// `UPDATE table SET col = value, ... WHERE key IN (..)` over the given rows.
    async fn update_rows(
        &self,
        conn: &mut Conn<'_>,
        t: usize,
        found: &TableFound,
        rows: &[usize],
        sets: &[(ColumnInfo, SqlValue)],
        operation: &str,
    ) -> Result<u64, ConnectorError> {
        let decl = &self.decl.tables()[t];
        let key_cols = found.key_columns();
        let mut affected = 0;
        for batch in rows.chunks(rows_per_statement(found.key.len(), sets.len())) {
            let mut s = Stmt::new(conn.dialect());
            s.push("UPDATE ").ident(&decl.name).push(" SET ");
            for (i, (col, v)) in sets.iter().enumerate() {
                if i > 0 {
                    s.push(", ");
                }
                s.ident(&col.name).push(" = ").value(v.clone(), col);
            }
            let keys: Vec<Vec<SqlValue>> = batch
                .iter()
                .map(|&i| found.key_of(&found.rows[i]))
                .collect();
            let key_refs: Vec<&[SqlValue]> = keys.iter().map(Vec::as_slice).collect();
            s.push(" WHERE ").key_in(&key_cols, &key_refs);
            affected += conn
                .execute(s)
                .await
                .map_err(self.db_err(format!("{operation} rows of table \"{}\"", decl.name)))?;
        }
        Ok(affected)
    }
}

#[async_trait]
impl Connector for SqlConnector {
    fn name(&self) -> &str {
        self.decl.name()
    }
    async fn test(&self) -> Result<(), ConnectorError> {
        SqlConnector::test(self).await
    }
    async fn access(&self, who: &Identity) -> Result<AccessResult, ConnectorError> {
        SqlConnector::access(self, who).await
    }
    async fn access_into(
        &self,
        who: &Identity,
        sink: &mut dyn RowSink,
    ) -> Result<AccessCounts, ConnectorError> {
        SqlConnector::access_into(self, who, sink).await
    }
    async fn preview_erasure(&self, who: &Identity) -> Result<Preview, ConnectorError> {
        SqlConnector::preview_erasure(self, who).await
    }
    async fn erase(
        &self,
        who: &Identity,
        hasher: &Hasher,
    ) -> Result<ErasureEvidence, ConnectorError> {
        SqlConnector::erase(self, who, hasher).await
    }
    async fn erase_many(
        &self,
        whos: &[Identity],
        hasher: &Hasher,
    ) -> Vec<Result<ErasureEvidence, ConnectorError>> {
        SqlConnector::erase_many(self, whos, hasher).await
    }
    fn runs_together(&self) -> bool {
        self.pool.dialect() == Dialect::Postgres
    }
    async fn access_many(
        &self,
        whos: &[Identity],
    ) -> Result<Option<Vec<AccessResult>>, ConnectorError> {
        self.access_together(whos).await
    }
    async fn rectify(
        &self,
        who: &Identity,
        corrections: &[(String, serde_json::Value)],
    ) -> Result<RectifyReport, ConnectorError> {
        SqlConnector::rectify(self, who, corrections).await
    }
    async fn restrict(
        &self,
        who: &Identity,
        lift: bool,
    ) -> Result<Option<SetReport>, ConnectorError> {
        SqlConnector::restrict(self, who, lift).await
    }
    async fn object(&self, who: &Identity) -> Result<Option<SetReport>, ConnectorError> {
        SqlConnector::object(self, who).await
    }
    async fn opt_out(
        &self,
        who: &Identity,
        scope: OptOutScope,
        opt_in: bool,
    ) -> Result<Option<SetReport>, ConnectorError> {
        SqlConnector::opt_out(self, who, scope, opt_in).await
    }
}

/// One `SELECT`'s share of a table's `via` conditions: at most [`CHUNK`] values in all.
struct Chunk<'a> {
    via: Vec<(usize, &'a [SqlValue])>,
}

fn pack(via: &[(usize, Vec<SqlValue>)]) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut current = Chunk { via: Vec::new() };
    let mut room = CHUNK;
    for (column, values) in via {
        let mut rest = values.as_slice();
        while !rest.is_empty() {
            if room == 0 {
                chunks.push(std::mem::replace(&mut current, Chunk { via: Vec::new() }));
                room = CHUNK;
            }
            let take = room.min(rest.len());
            current.via.push((*column, &rest[..take]));
            rest = &rest[take..];
            room -= take;
        }
    }
    if !current.via.is_empty() {
        chunks.push(current);
    }
    chunks
}

fn insert_row(
    found: &mut TableFound,
    values: Vec<SqlValue>,
    identity_cols: &[usize],
    who: &Identity,
) {
    let by_identity = matched(&values, identity_cols, who);
    let key: Vec<SqlValue> = found.key.iter().map(|&k| values[k].clone()).collect();
    if let Some(&i) = found.index.get(&key) {
        found.rows[i].by_identity |= by_identity;
        return;
    }
    found.index.insert(key, found.rows.len());
    found.rows.push(RowFound {
        values,
        by_identity,
        shared: false,
        still_referenced: false,
    });
}

/// Why an erasure kept rows of a table (see [`PreviewTable::kept`]).
fn kept_reason(action: EraseAction, decl: &TableDecl) -> String {
    match action {
        EraseAction::Retain => match &decl.retain_reason {
            Some(r) => format!("retained: {r}"),
            None => "retained (erase = \"retain\")".to_string(),
        },
        EraseAction::Delete => {
            "still referenced by other subjects' rows or by this subject's retained rows"
                .to_string()
        }
        EraseAction::Anonymize => "shared with other subjects' rows".to_string(),
    }
}

/// Whether one of the row's identity columns holds the subject's address under the
/// matching rule (lower-cased, byte for byte one of the spellings).
/// Text that a driver hands over as bytes (MySQL/MariaDB text columns with a binary
/// collation) is matched as the UTF-8 text it is.
fn matched(values: &[SqlValue], identity_cols: &[usize], who: &Identity) -> bool {
    identity_cols.iter().any(|&c| match &values[c] {
        SqlValue::Text(s) => who.matches(s),
        SqlValue::Bytes(b) => std::str::from_utf8(b).is_ok_and(|s| who.matches(s)),
        _ => false,
    })
}

/// `SELECT <every column> FROM table WHERE ` (the condition follows).
fn select_all(s: &mut Stmt, columns: &[ColumnInfo], table: &str) {
    s.push("SELECT ");
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            s.push(", ");
        }
        s.select_column(c);
    }
    s.push(" FROM ").ident(table).push(" WHERE ");
}

/// A `via` edge that reaches a child by its own (single-column) key through a parent's
/// non-key column: the parent references the child, as `customers.address_id` does
/// `addresses.id`, so other parents may reference the same child.
fn is_reverse(decls: &[TableDecl], e: &Edge) -> bool {
    decls[e.child].single_key() == Some(e.child_column.as_str())
        && decls[e.parent].single_key() != Some(e.parent_column.as_str())
}

/// A kept (`anonymize` or `retain`) table's `via` column that points at rows of a table
/// the erasure deletes (orders' `customer_id` when customers are deleted): left as it is,
/// it would reference a deleted row, which a foreign key refuses. The erasure sets it to
/// NULL (an implied `null` mask), or, for a NOT NULL column, the data map is refused.
pub(crate) struct ImpliedNull {
    pub table: usize,
    pub column: String,
    pub parent: usize,
}

impl ImpliedNull {
    fn not_null_message(&self, decl: &ConnectorDecl) -> String {
        let (t, parent) = (&decl.tables()[self.table], &decl.tables()[self.parent]);
        format!(
            "table \"{table}\" is kept (erase = \"{erase}\") but its column \"{col}\" references table \
             \"{parent}\", whose rows an erasure deletes; \"{table}.{col}\" is NOT NULL, so the reference \
             cannot be removed: declare erase = \"delete\" for table \"{table}\", or erase = \"anonymize\" \
             for table \"{parent}\", or allow NULL in \"{table}.{col}\"",
            table = t.name,
            erase = catalog::erase_name(t.erase),
            col = self.column,
            parent = parent.name,
        )
    }
}

/// Every [`ImpliedNull`] of the data map: forward `via` edges (the child's column holds
/// the parent's value) from a kept table to a deleted one, unless the column declares a
/// mask of its own.
pub(crate) fn implied_nulls(decl: &ConnectorDecl) -> Vec<ImpliedNull> {
    let decls = decl.tables();
    let mut out: Vec<ImpliedNull> = Vec::new();
    for e in decl.edges() {
        let (child, parent) = (&decls[e.child], &decls[e.parent]);
        if child.erase == EraseAction::Delete
            || parent.erase != EraseAction::Delete
            || is_reverse(decls, e)
            || child.mask_of(&e.child_column).is_some()
            || out
                .iter()
                .any(|n| n.table == e.child && n.column == e.child_column)
        {
            continue;
        }
        out.push(ImpliedNull {
            table: e.child,
            column: e.child_column.clone(),
            parent: e.parent,
        });
    }
    out
}

fn row_json(
    found: &TableFound,
    row: &RowFound,
    include: impl Fn(&str) -> bool,
) -> serde_json::Map<String, serde_json::Value> {
    found
        .columns
        .iter()
        .zip(&row.values)
        .filter(|(c, _)| include(&c.name))
        .map(|(c, v)| (c.name.clone(), to_json(v, c.class)))
        .collect()
}

/// Hex of the hasher's length: what the `hash` mask writes.
/// A row not shared with others that still holds an unmasked value under one of `masks`.
fn needs_mask(found: &TableFound, i: usize, masks: &[(usize, Mask)], hash_len: usize) -> bool {
    let r = &found.rows[i];
    !r.shared && row_needs_mask(&r.values, &found.columns, masks, hash_len)
}

/// Row values that still hold an unmasked value under one of `masks`.
fn row_needs_mask(
    values: &[SqlValue],
    columns: &[ColumnInfo],
    masks: &[(usize, Mask)],
    hash_len: usize,
) -> bool {
    masks
        .iter()
        .any(|&(c, m)| !is_masked(&values[c], m, columns[c].class, hash_len))
}

fn looks_hashed(value: &str, hash_len: usize) -> bool {
    value.len() == hash_len && value.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_masked(value: &SqlValue, mask: Mask, class: ColumnClass, hash_len: usize) -> bool {
    match (mask, class, value) {
        (Mask::Null, _, v) => v.is_null(),
        (Mask::Redact, class, v) => value::is_redacted(v, class),
        (Mask::Hash, _, SqlValue::Null) => true,
        (Mask::Hash, ColumnClass::Text, SqlValue::Text(s)) => looks_hashed(s, hash_len),
        (Mask::Hash, _, _) => false,
    }
}

/// A field name from a request, safe to put in a message (quoted, bounded).
fn shown_field(field: &str) -> String {
    let short: String = field.chars().take(64).collect();
    format!("{short:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_puts_at_most_chunk_values_per_statement() {
        let many: Vec<SqlValue> = (0..2500).map(SqlValue::Int).collect();
        let few: Vec<SqlValue> = (0..10).map(SqlValue::Int).collect();
        let via = vec![(0, few), (1, many)];
        let chunks = pack(&via);
        assert_eq!(chunks.len(), 3);
        for c in &chunks {
            assert!(c.via.iter().map(|(_, v)| v.len()).sum::<usize>() <= CHUNK);
        }
        let total: usize = chunks
            .iter()
            .flat_map(|c| &c.via)
            .map(|(_, v)| v.len())
            .sum();
        assert_eq!(total, 2510);
        assert!(pack(&[]).is_empty());
    }

    #[test]
    fn masked_values_are_recognised() {
        let h = "ab".repeat(32);
        assert!(is_masked(
            &SqlValue::Text(h.clone()),
            Mask::Hash,
            ColumnClass::Text,
            64
        ));
        assert!(!is_masked(
            &SqlValue::Text("ada@example.com".into()),
            Mask::Hash,
            ColumnClass::Text,
            64
        ));
        assert!(is_masked(
            &SqlValue::Null,
            Mask::Hash,
            ColumnClass::Text,
            64
        ));
        assert!(!is_masked(
            &SqlValue::Int(3),
            Mask::Null,
            ColumnClass::Int,
            64
        ));
    }

    #[test]
    fn quoted_values_in_mysql_messages_are_elided_but_names_kept() {
        assert_eq!(
            elide_quoted_values("Duplicate entry 'ada@example.com' for key 'users.email'"),
            "Duplicate entry '…' for key 'users.email'"
        );
        assert_eq!(
            elide_quoted_values("Incorrect integer value: 'Ada' for column 'age' at row 1"),
            "Incorrect integer value: '…' for column 'age' at row 1"
        );
        assert_eq!(
            elide_quoted_values("Check constraint 'adult' is violated."),
            "Check constraint 'adult' is violated."
        );
        assert_eq!(elide_quoted_values("unterminated 'ada"), "unterminated '…");
    }

    #[test]
    fn database_errors_are_described_without_their_message() {
        let e = sqlx::Error::Protocol("Duplicate entry 'ada@example.com'".into());
        assert!(!describe(&e).contains("ada"));
        let e = sqlx::Error::Configuration("postgres://u:hunter2@x".into());
        assert!(!describe(&e).contains("hunter2"));
    }
}
