//! Connectors: where a subject's data lives in the product's own systems, declared in
//! `datamap/*.toml` (`datamap`), and the engines that find, export, erase, rectify,
//! restrict and object on it (`sql` for PostgreSQL, MySQL/MariaDB and SQLite).
//!
//! Every operation takes an [`Identity`] and answers with counts and rows; nothing in an
//! error or a `Debug` output carries row values or the identity itself.
//!
//! Layer rule (tests/architecture.rs): connectors touch the product's data only; they use
//! `domain` and the foundation modules, never our `store`, `http`, `services`, `jobs` or
//! `app`. What a task needs from our database (callback links, waiting state) is done by
//! `services::fanout`.

pub mod check;
pub mod datamap;
pub mod declared;
pub mod http;
pub mod manual;
pub mod redis;
pub mod registry;
pub mod sql;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Serialize;

use crate::domain::identity::SubjectEmail;

pub use datamap::{
    ConnectorDecl, ConnectorKind, DataMap, DatamapProblem, EraseAction, Mask, load_dir, parse_str,
};
pub use registry::Connectors;
pub use sql::{FilterUse, IndexAdvice, SqlConnector, SqlPool, check_catalog};

/// Who the operation is about: an email address in its canonical form (see
/// [`SubjectEmail`]), with every spelling a product may have stored.
///
/// Matching (DESIGN "Identity matching"): a stored value matches when, lower-cased, it
/// equals one of [`spellings`](Self::spellings) byte for byte, whatever the column's
/// collation: case variants are the subject, accent, width and compatibility variants are
/// not. Each engine turns that rule into an index-friendly search and checks every row
/// it reads against the rule itself (see `sql` and `rightsdesk check`).
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    email: String,
    spellings: Vec<String>,
    /// Values found by other connectors' tasks (`connector.table.column` -> values), for
    /// the placeholders of key templates (see [`redis`]).
    found: BTreeMap<String, Vec<String>>,
}

impl Identity {
    /// Canonicalise an address the way intake does. An address stored before intake
    /// canonicalised (or one intake would now refuse) is still matched by its trimmed,
    /// lower-cased form, so a request entered earlier keeps finding its rows.
    pub fn from_email(email: &str) -> Self {
        match SubjectEmail::parse(email) {
            Ok(parsed) => Self::from(&parsed),
            Err(_) => {
                let lowered = email.trim().to_lowercase();
                Self {
                    email: lowered.clone(),
                    spellings: vec![lowered],
                    found: BTreeMap::new(),
                }
            }
        }
    }

    /// The same identity carrying values other connectors found for it.
    pub fn with_found(mut self, found: BTreeMap<String, Vec<String>>) -> Self {
        self.found = found;
        self
    }

    /// The values found for `connector.table.column`, when they were given.
    pub fn found(&self, reference: &str) -> Option<&[String]> {
        self.found.get(reference).map(Vec::as_slice)
    }

    pub fn found_all(&self) -> &BTreeMap<String, Vec<String>> {
        &self.found
    }

    /// The canonical address: what goes to HTTP and manual connectors, Redis `{email}`
    /// placeholders, the blind index and the ledger.
    pub fn email(&self) -> &str {
        &self.email
    }

    /// Every spelling a stored value may equal once lower-cased: the canonical address
    /// first, then its IDNA A-label spelling when the domain is internationalised.
    pub fn spellings(&self) -> &[String] {
        &self.spellings
    }

    /// One identity standing for several subjects, for a search that finds all of their
    /// rows at once (see `sql`'s erasure of several subjects): every spelling of each.
    /// It is never a subject itself; its address is the first one's.
    pub fn all_of(whos: &[Identity]) -> Self {
        let mut spellings: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for s in whos.iter().flat_map(|w| &w.spellings) {
            if seen.insert(s.as_str()) {
                spellings.push(s.clone());
            }
        }
        Self {
            email: whos.first().map(|w| w.email.clone()).unwrap_or_default(),
            spellings,
            found: BTreeMap::new(),
        }
    }

    /// Whether a stored value is this subject's address under the matching rule.
    pub fn matches(&self, stored: &str) -> bool {
        crate::domain::identity::matches_stored(stored, &self.spellings)
    }
}

impl From<&SubjectEmail> for Identity {
    fn from(email: &SubjectEmail) -> Self {
        Self {
            email: email.expose().to_string(),
            spellings: email.spellings().map(str::to_string).collect(),
            found: BTreeMap::new(),
        }
    }
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Identity([redacted])")
    }
}

/// What went wrong in a connector. Messages name connectors, tables, columns and
/// database error codes, never row values or the identity (database messages are left
/// out because MySQL, for one, quotes the offending value in them).
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error("connector \"{connector}\": {kind} connectors are not supported by this engine")]
    Unsupported {
        connector: String,
        kind: ConnectorKind,
    },
    #[error("connector \"{connector}\": cannot connect: {reason}")]
    Connect { connector: String, reason: String },
    #[error("connector \"{connector}\": database error while {operation}: {reason}")]
    Database {
        connector: String,
        operation: String,
        reason: String,
    },
    /// The database refused the statement for a reason that running it again cannot
    /// change (a constraint, a missing column, a value of the wrong type): not retried.
    #[error(
        "connector \"{connector}\": database error while {operation}: {reason} (not retried: the same statement would fail again)"
    )]
    DatabaseRefused {
        connector: String,
        operation: String,
        reason: String,
    },
    #[error("connector \"{connector}\": table \"{table}\" was not found in the database")]
    MissingTable { connector: String, table: String },
    #[error("connector \"{connector}\": column \"{table}.{column}\" was not found in the database")]
    MissingColumn {
        connector: String,
        table: String,
        column: String,
    },
    #[error(
        "connector \"{connector}\": column \"{table}.{column}\" has type {sql_type}, which this connector cannot read"
    )]
    UnsupportedType {
        connector: String,
        table: String,
        column: String,
        sql_type: String,
    },
    /// Anything else that stops a connector (a refused target, an answer not understood).
    #[error("connector \"{connector}\": {reason}")]
    Failed { connector: String, reason: String },
    #[error("connector \"{connector}\": correction refused: {reason}")]
    CorrectionRefused { connector: String, reason: String },
    #[error(
        "connector \"{connector}\": the value for \"{table}.{column}\" does not fit the column ({expected} expected)"
    )]
    InvalidValue {
        connector: String,
        table: String,
        column: String,
        expected: String,
    },
    #[error(
        "connector \"{connector}\": the foreign keys between tables to delete form a cycle ({tables}); deletes cannot be ordered"
    )]
    DeleteOrder { connector: String, tables: String },
}

/// One table's rows for an access export; fields declared `export = false` are left out.
#[derive(Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct TableRows {
    pub table: String,
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// Where an access streams the subject's rows, table by table: every searched table is
/// announced (even when nothing is found there), then its rows. The service's sink
/// writes encrypted result parts and enforces `connectors.max_rows_per_subject`; an
/// `Err` (its message names no personal data) stops the access.
#[async_trait]
pub trait RowSink: Send {
    async fn table(&mut self, table: &str) -> Result<(), SinkError>;
    async fn row(
        &mut self,
        row: serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), SinkError>;
}

/// Why a sink stopped an access.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// The subject has more rows than the sink takes: retrying cannot help.
    #[error("{0}")]
    Full(String),
    /// The rows could not be stored (the service's database): worth retrying.
    #[error("{0}")]
    Store(String),
}

impl SinkError {
    /// The connector error a sink's refusal becomes.
    pub fn into_connector_error(self, connector: &str) -> ConnectorError {
        match self {
            Self::Full(reason) => ConnectorError::Failed {
                connector: connector.to_string(),
                reason,
            },
            Self::Store(reason) => ConnectorError::Database {
                connector: connector.to_string(),
                operation: "storing the access result".into(),
                reason,
            },
        }
    }
}

/// How many rows an access streamed, per table in data-map order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessCounts {
    pub tables: Vec<TableCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableCount {
    pub table: String,
    pub rows: u64,
}

impl AccessCounts {
    pub fn row_count(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

/// Feed a whole access result into a sink (engines that get their answer in one piece).
pub async fn feed(
    connector: &str,
    result: AccessResult,
    sink: &mut dyn RowSink,
) -> Result<AccessCounts, ConnectorError> {
    let fail = |e: SinkError| e.into_connector_error(connector);
    let mut counts = Vec::with_capacity(result.tables.len());
    for t in result.tables {
        sink.table(&t.table).await.map_err(fail)?;
        let rows = t.rows.len() as u64;
        for row in t.rows {
            sink.row(row).await.map_err(fail)?;
        }
        counts.push(TableCount {
            table: t.table,
            rows,
        });
    }
    Ok(AccessCounts { tables: counts })
}

/// Everything one connector holds about the subject, table by table in data-map order
/// (tables where nothing was found are listed with no rows: they were searched).
#[derive(Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct AccessResult {
    pub tables: Vec<TableRows>,
}

impl AccessResult {
    pub fn row_count(&self) -> usize {
        self.tables.iter().map(|t| t.rows.len()).sum()
    }
}

/// A row found by traversal: its primary-key values and every column, typed as JSON
/// (timestamps as RFC 3339, binary as base64).
#[derive(Clone, PartialEq, Serialize)]
pub struct FoundRow {
    pub key: Vec<serde_json::Value>,
    pub values: serde_json::Map<String, serde_json::Value>,
    /// Reached only through a row that other subjects' rows also reference (an address
    /// two customers share): exported, but never erased or rectified for this subject.
    pub shared: bool,
}

#[derive(Clone, PartialEq, Serialize)]
pub struct FoundTable {
    pub table: String,
    pub rows: Vec<FoundRow>,
}

/// The result of traversal from one identity, per declared table in data-map order.
#[derive(Clone, PartialEq, Serialize)]
pub struct Found {
    pub tables: Vec<FoundTable>,
}

impl Found {
    pub fn table(&self, name: &str) -> Option<&FoundTable> {
        self.tables.iter().find(|t| t.table == name)
    }
}

/// One table in an erasure dry run.
#[derive(Clone, PartialEq, Serialize)]
pub struct PreviewTable {
    pub table: String,
    pub action: EraseAction,
    /// Rows the erasure would delete or mask (for `retain`: the rows it keeps).
    pub rows: u64,
    /// Rows found but left alone because other subjects' rows still reference them,
    /// or (for `delete`) because this subject's retained rows still do.
    pub kept: u64,
    /// Primary keys of the rows counted in `rows`, so staff can see what would change.
    pub keys: Vec<Vec<serde_json::Value>>,
    /// For `anonymize`: the masked columns and their mask; for `anonymize` and `retain`,
    /// also the `via` columns set to NULL because they reference deleted rows.
    pub fields: BTreeMap<String, Mask>,
    /// `via` columns the erasure sets to NULL because the rows they reference are
    /// deleted (an implied `null` mask; see `rightsdesk check`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub implied_null: Vec<String>,
    pub retain_reason: Option<String>,
}

/// What an erasure would do, changing nothing.
#[derive(Clone, PartialEq, Serialize)]
pub struct Preview {
    pub tables: Vec<PreviewTable>,
}

/// One table's part of the erasure evidence stored on the task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasureTable {
    pub table: String,
    pub action: EraseAction,
    /// Rows the search found before the erasure (`None`: the system did not say).
    pub rows_found: Option<u64>,
    /// Rows changed: deleted, or masked.
    pub rows_affected: u64,
    /// Rows kept on purpose (retained tables, shared rows); see [`PreviewTable::kept`].
    pub rows_kept: u64,
    /// Why rows were kept, when some were.
    pub kept_reason: Option<String>,
    /// Not erased after the erasure: rows it acted on that are still there (deleted
    /// rows present, masked fields not masked, read again by primary key) and rows the
    /// same identity search still finds. 0 everywhere is the proof that the erasure is
    /// complete.
    pub rows_left: u64,
    /// `via` columns set to NULL because the rows they referenced were deleted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub implied_null: Vec<String>,
    /// What the check after the erasure saw, when rows are left.
    pub left_reason: Option<String>,
    pub retain_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasureEvidence {
    pub tables: Vec<ErasureTable>,
}

impl ErasureEvidence {
    /// True when the traversal run after the erasure found nothing left to erase.
    pub fn is_complete(&self) -> bool {
        self.tables.iter().all(|t| t.rows_left == 0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RectifyTable {
    pub table: String,
    pub fields: Vec<String>,
    pub rows_affected: u64,
    /// Shared rows (see [`FoundRow::shared`]) are not corrected for one subject.
    pub rows_skipped: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RectifyReport {
    pub tables: Vec<RectifyTable>,
}

/// The outcome of a restriction, its lifting, or an objection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetReport {
    pub table: String,
    pub columns: Vec<String>,
    pub rows_affected: u64,
}

/// The `hash` mask: a value to the hex HMAC-SHA256 under the deployment key, supplied by
/// the caller (which holds the key).
pub type Hasher = dyn Fn(&str) -> String + Sync;

/// The operations a request's fan-out runs against one declared connector.
#[async_trait]
pub trait Connector: Send + Sync {
    fn name(&self) -> &str;
    /// Check that the connection works (`POST /api/v1/connectors/{name}/test`).
    async fn test(&self) -> Result<(), ConnectorError>;
    async fn access(&self, who: &Identity) -> Result<AccessResult, ConnectorError>;
    /// The access, streamed into `sink` table by table. Engines that can read a
    /// subject's rows in pages (SQL) override this so that memory stays bounded
    /// whatever the subject's data weighs; the default feeds [`access`](Self::access).
    async fn access_into(
        &self,
        who: &Identity,
        sink: &mut dyn RowSink,
    ) -> Result<AccessCounts, ConnectorError> {
        let result = self.access(who).await?;
        feed(self.name(), result, sink).await
    }
    async fn preview_erasure(&self, who: &Identity) -> Result<Preview, ConnectorError>;
    /// `hasher` turns a value into the hex HMAC-SHA256 under the deployment key (the
    /// `hash` mask), so masked values stay joinable across tables and systems.
    async fn erase(
        &self,
        who: &Identity,
        hasher: &Hasher,
    ) -> Result<ErasureEvidence, ConnectorError>;
    /// Erase several subjects, an answer per subject in the same order. Engines that can
    /// search for many subjects at once (SQL on PostgreSQL) override this; an error is
    /// always one subject's own (the others are erased, or not, as if alone).
    async fn erase_many(
        &self,
        whos: &[Identity],
        hasher: &Hasher,
    ) -> Vec<Result<ErasureEvidence, ConnectorError>> {
        let mut out = Vec::with_capacity(whos.len());
        for who in whos {
            out.push(self.erase(who, hasher).await);
        }
        out
    }
    /// Whether [`erase_many`](Self::erase_many) and [`access_many`](Self::access_many)
    /// do better than one subject after the other, so that tasks are worth gathering.
    fn runs_together(&self) -> bool {
        false
    }
    /// Several subjects' access results at once, in order, or `None` when they cannot
    /// be read together (then each is read alone with [`access_into`](Self::access_into)).
    /// Reads only.
    async fn access_many(
        &self,
        _whos: &[Identity],
    ) -> Result<Option<Vec<AccessResult>>, ConnectorError> {
        Ok(None)
    }
    async fn rectify(
        &self,
        who: &Identity,
        corrections: &[(String, serde_json::Value)],
    ) -> Result<RectifyReport, ConnectorError>;
    /// `None` when the connector declares no `[restriction]`.
    async fn restrict(
        &self,
        who: &Identity,
        lift: bool,
    ) -> Result<Option<SetReport>, ConnectorError>;
    /// `None` when the connector declares no `[objection]`.
    async fn object(&self, who: &Identity) -> Result<Option<SetReport>, ConnectorError>;
    /// Record an opt-out of `scope` (`[optout]` for sale and sharing, `[limit_sensitive]`
    /// for sensitive data), or with `opt_in` take it back. `None` when the connector
    /// declares nothing for the scope.
    async fn opt_out(
        &self,
        who: &Identity,
        scope: crate::domain::optout::OptOutScope,
        opt_in: bool,
    ) -> Result<Option<SetReport>, ConnectorError>;
}

/// Manual `Debug` for the result types: they hold personal data, so only their shape
/// (tables and counts) is printed.
macro_rules! debug_counts {
    ($ty:ty, |$s:ident| $body:expr) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let $s = self;
                f.debug_map().entries($body).finish()
            }
        }
    };
}

debug_counts!(AccessResult, |s| s
    .tables
    .iter()
    .map(|t| (&t.table, t.rows.len())));
debug_counts!(TableRows, |s| [(&s.table, s.rows.len())]);
debug_counts!(Found, |s| s.tables.iter().map(|t| (&t.table, t.rows.len())));
debug_counts!(FoundTable, |s| [(&s.table, s.rows.len())]);
debug_counts!(FoundRow, |s| [("columns", s.values.len())]);
debug_counts!(Preview, |s| s.tables.iter().map(|t| (&t.table, t.rows)));
debug_counts!(PreviewTable, |s| [(&s.table, s.rows)]);
