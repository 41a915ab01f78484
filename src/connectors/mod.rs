//! Connectors: where a subject's data lives in the product's own systems, declared in
//! `datamap/*.toml` (`datamap`), and the engines that find, export, erase, rectify,
//! restrict and object on it (`sql` for PostgreSQL, MySQL/MariaDB and SQLite).
//!
//! Every operation takes an [`Identity`] and answers with counts and rows; nothing in an
//! error or a `Debug` output carries row values or the identity itself.

pub mod check;
pub mod datamap;
pub mod declared;
pub mod http;
pub mod manual;
pub mod redis;
pub mod sql;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Serialize;

use crate::domain::identity::SubjectEmail;

pub use datamap::{
    ConnectorDecl, ConnectorKind, DataMap, DatamapProblem, EraseAction, Mask, load_dir, parse_str,
};
pub use sql::{SqlConnector, SqlPool, check_catalog};

/// Who the operation is about: a normalised (trimmed, lower-case) email address.
///
/// Email columns are matched exactly against this normalised value (`col = $1`), not with
/// `LOWER(col) = $1`: a function on the column defeats its index, and an erasure on a large
/// product table must not become a sequential scan. Product databases are expected to
/// store addresses in lower case (MySQL/MariaDB's default collations compare case-blind
/// anyway); a column holding mixed-case addresses is not matched on PostgreSQL or SQLite.
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    email: String,
    /// Values found by other connectors' tasks (`connector.table.column` -> values), for
    /// the placeholders of key templates (see [`redis`]).
    found: BTreeMap<String, Vec<String>>,
}

impl Identity {
    /// Normalise an address the way intake does (trim, lower case).
    pub fn from_email(email: &str) -> Self {
        Self {
            email: email.trim().to_lowercase(),
            found: BTreeMap::new(),
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

    /// The normalised address, for binding into queries.
    pub fn email(&self) -> &str {
        &self.email
    }
}

impl From<&SubjectEmail> for Identity {
    fn from(email: &SubjectEmail) -> Self {
        Self::from_email(email.expose())
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
    pub rows_affected: u64,
    /// Rows kept on purpose (retained tables, shared rows); see [`PreviewTable::kept`].
    pub rows_kept: u64,
    /// Found again after the erasure but not erased (deleted rows still present, masked
    /// fields not masked): 0 everywhere is the proof that the erasure is complete.
    pub rows_left: u64,
    /// `via` columns set to NULL because the rows they referenced were deleted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub implied_null: Vec<String>,
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
    async fn preview_erasure(&self, who: &Identity) -> Result<Preview, ConnectorError>;
    /// `hasher` turns a value into the hex HMAC-SHA256 under the deployment key (the
    /// `hash` mask), so masked values stay joinable across tables and systems.
    async fn erase(
        &self,
        who: &Identity,
        hasher: &Hasher,
    ) -> Result<ErasureEvidence, ConnectorError>;
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
