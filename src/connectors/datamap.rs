//! The data map: `datamap/*.toml` parsed into typed connector declarations and checked
//! as a whole (names, `via` edges, identity paths, masks, retention), so the engines
//! only ever see a declaration that is consistent with itself.
//!
//! Columns are not all listed in a data map (`[tables.fields]` holds only the columns
//! worth describing), so whether a column exists is decided against the live database
//! by [`crate::connectors::check_catalog`], not here.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize};

use crate::secret::Secret;

/// One problem in the data map, located by file, key path and (for syntax errors) line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatamapProblem {
    pub file: String,
    pub line: Option<usize>,
    /// Dotted key path (`tables[2].via.customer_id`); empty for the whole file.
    pub key: String,
    pub message: String,
}

impl DatamapProblem {
    pub fn new(file: &str, key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.to_string(),
            line: None,
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for DatamapProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ": line {line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for DatamapProblem {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorKind {
    Postgres,
    Mysql,
    Sqlite,
    Redis,
    Http,
    Manual,
}

impl ConnectorKind {
    pub fn is_sql(self) -> bool {
        matches!(self, Self::Postgres | Self::Mysql | Self::Sqlite)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Mysql => "mysql",
            Self::Sqlite => "sqlite",
            Self::Redis => "redis",
            Self::Http => "http",
            Self::Manual => "manual",
        }
    }
}

impl fmt::Display for ConnectorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EraseAction {
    Delete,
    Anonymize,
    Retain,
}

/// How an `anonymize` erasure (or retention purge) overwrites a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mask {
    /// `NULL`.
    Null,
    /// `"[erased]"` in text columns, the type's neutral value (0, false) in numeric and
    /// boolean ones, `NULL` in any other type.
    Redact,
    /// The hex HMAC-SHA256 of the value under the deployment key: joinable, reveals nothing.
    Hash,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityType {
    Email,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetentionAction {
    Delete,
    Anonymize,
}

/// A literal from `set = {..}` or a retention `filter`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ScalarValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnRef {
    pub table: String,
    pub column: String,
}

impl fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.table, self.column)
    }
}

/// `via = { column = "parent.column" | [..] }`: rows whose `column` is among the values
/// found in any of the parents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Via {
    pub column: String,
    pub parents: Vec<ColumnRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldDecl {
    pub category: Option<String>,
    pub mask: Option<Mask>,
    pub rectify: bool,
    pub export: bool,
    pub reason: Option<String>,
    /// What the column holds where its declared type does not say (`type = "timestamp"`
    /// on a SQLite TEXT, INTEGER or REAL column).
    #[serde(rename = "type")]
    pub value_type: Option<FieldType>,
}

/// A field's declared value type: SQLite has no date type, so a product's dates live in
/// TEXT (ISO 8601, `YYYY-MM-DD HH:MM:SS[.SSS]`), INTEGER (Unix seconds) or REAL (Julian
/// days) columns; `type` makes them dates for retention ages and exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Timestamp,
    Date,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableDecl {
    pub name: String,
    pub primary_key: Vec<String>,
    pub identities: BTreeMap<IdentityType, String>,
    pub via: Vec<Via>,
    pub erase: EraseAction,
    pub retain_reason: Option<String>,
    pub fields: BTreeMap<String, FieldDecl>,
}

impl TableDecl {
    /// Masked columns, in column-name order.
    pub fn masks(&self) -> impl Iterator<Item = (&str, Mask)> {
        self.fields
            .iter()
            .filter_map(|(c, f)| f.mask.map(|m| (c.as_str(), m)))
    }

    pub fn mask_of(&self, column: &str) -> Option<Mask> {
        self.fields.get(column).and_then(|f| f.mask)
    }

    /// Columns are exported unless declared `export = false`.
    pub fn is_exported(&self, column: &str) -> bool {
        self.fields.get(column).is_none_or(|f| f.export)
    }

    pub fn is_rectifiable(&self, column: &str) -> bool {
        self.fields.get(column).is_some_and(|f| f.rectify)
    }

    /// The key column when the primary key is a single column.
    pub fn single_key(&self) -> Option<&str> {
        match self.primary_key.as_slice() {
            [k] => Some(k),
            _ => None,
        }
    }
}

/// `[restriction]` / `[objection]` / `[optout]` / `[limit_sensitive]`: columns set on the
/// subject's rows of one table. `unset` (opt-outs only) gives the values that take it
/// back (an `opt_in`); a column it does not name is reset as a lifted restriction is: a
/// boolean to its negation, anything else to NULL.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetDecl {
    pub table: String,
    pub set: Vec<(String, ScalarValue)>,
    pub unset: Vec<(String, ScalarValue)>,
}

impl SetDecl {
    /// The value that reverses `column` (declared `set = { column = value }`).
    pub fn reversed(&self, column: &str, value: &ScalarValue) -> Option<ScalarValue> {
        match self.unset.iter().find(|(c, _)| c == column) {
            Some((_, v)) => Some(v.clone()),
            None => match value {
                ScalarValue::Bool(b) => Some(ScalarValue::Bool(!b)),
                _ => None,
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeUnit {
    Seconds,
    Minutes,
    Hours,
    Days,
    Weeks,
    Months,
    Years,
}

/// A retention age such as `24 months`; months and years stay calendar units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MaxAge {
    pub amount: u32,
    pub unit: AgeUnit,
}

impl MaxAge {
    /// `24 months`, `2 years`, `90d`, `36h`, `15m`, `60s`, `3 weeks`.
    pub fn parse(input: &str) -> Option<Self> {
        let s = input.trim();
        let split = s.find(|c: char| !c.is_ascii_digit())?;
        let amount: u32 = s[..split].parse().ok()?;
        let unit = match s[split..].trim() {
            "s" | "sec" | "secs" | "second" | "seconds" => AgeUnit::Seconds,
            "m" | "min" | "mins" | "minute" | "minutes" => AgeUnit::Minutes,
            "h" | "hour" | "hours" => AgeUnit::Hours,
            "d" | "day" | "days" => AgeUnit::Days,
            "w" | "week" | "weeks" => AgeUnit::Weeks,
            "month" | "months" => AgeUnit::Months,
            "y" | "year" | "years" => AgeUnit::Years,
            _ => return None,
        };
        (amount > 0).then_some(Self { amount, unit })
    }

    /// `now - self`, with months and years as calendar units (month ends clamped).
    pub fn cutoff(self, now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        use chrono::{Months, TimeDelta};
        let n = i64::from(self.amount);
        let months = |m: u32| now.checked_sub_months(Months::new(m));
        let t = match self.unit {
            AgeUnit::Seconds => now.checked_sub_signed(TimeDelta::seconds(n)),
            AgeUnit::Minutes => now.checked_sub_signed(TimeDelta::minutes(n)),
            AgeUnit::Hours => now.checked_sub_signed(TimeDelta::hours(n)),
            AgeUnit::Days => now.checked_sub_signed(TimeDelta::days(n)),
            AgeUnit::Weeks => now.checked_sub_signed(TimeDelta::weeks(n)),
            AgeUnit::Months => months(self.amount),
            AgeUnit::Years => months(self.amount.saturating_mul(12)),
        };
        t.unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
    }
}

/// `[[retention]]`: a scheduled purge of old rows (parsed and checked here; run elsewhere).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetentionDecl {
    pub name: String,
    pub table: String,
    pub age_column: String,
    pub max_age: MaxAge,
    pub action: RetentionAction,
    pub batch_size: u32,
    /// Six-field cron (`sec min hour day month weekday`); `None` runs only on demand.
    pub schedule: Option<String>,
    pub filter: Vec<(String, ScalarValue)>,
}

/// A `via` edge between two declared tables, by index into [`ConnectorDecl::tables`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub child: usize,
    pub child_column: String,
    pub parent: usize,
    pub parent_column: String,
}

/// One validated connector declaration: the proof that names, edges and masks fit
/// together. Built only by [`parse_str`] / [`load_dir`].
#[derive(Clone)]
pub struct ConnectorDecl {
    file: String,
    name: String,
    kind: ConnectorKind,
    url: Option<Secret<String>>,
    max_connections: u32,
    tables: Vec<TableDecl>,
    restriction: Option<SetDecl>,
    objection: Option<SetDecl>,
    optout: Option<SetDecl>,
    limit_sensitive: Option<SetDecl>,
    retention: Vec<RetentionDecl>,
    settings: toml::Table,
    kind_settings: KindSettings,
    order: Vec<usize>,
    edges: Vec<Edge>,
}

/// The typed settings of the kinds that declare no tables (SQL kinds have none here).
#[derive(Debug, Clone)]
pub enum KindSettings {
    None,
    Redis(super::redis::RedisSettings),
    Http(super::http::HttpSettings),
    Manual(super::manual::ManualSettings),
}

impl fmt::Debug for ConnectorDecl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `settings` may hold credentials of kinds not parsed yet: show only its keys.
        f.debug_struct("ConnectorDecl")
            .field("file", &self.file)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("url", &self.url)
            .field("max_connections", &self.max_connections)
            .field("tables", &self.tables)
            .field("restriction", &self.restriction)
            .field("objection", &self.objection)
            .field("optout", &self.optout)
            .field("limit_sensitive", &self.limit_sensitive)
            .field("retention", &self.retention)
            .field("settings", &self.settings.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ConnectorDecl {
    /// The file it was declared in, as given to the parser (used in every problem).
    pub fn file(&self) -> &str {
        &self.file
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn kind(&self) -> ConnectorKind {
        self.kind
    }
    /// The connection URL after `${VAR}` interpolation (`None` only for `manual`).
    pub fn url(&self) -> Option<&Secret<String>> {
        self.url.as_ref()
    }
    pub fn max_connections(&self) -> u32 {
        self.max_connections
    }
    pub fn tables(&self) -> &[TableDecl] {
        &self.tables
    }
    pub fn table(&self, name: &str) -> Option<(usize, &TableDecl)> {
        self.tables.iter().enumerate().find(|(_, t)| t.name == name)
    }
    pub fn restriction(&self) -> Option<&SetDecl> {
        self.restriction.as_ref()
    }
    pub fn objection(&self) -> Option<&SetDecl> {
        self.objection.as_ref()
    }
    /// `[optout]`: what an opt-out of sale and sharing sets.
    pub fn optout(&self) -> Option<&SetDecl> {
        self.optout.as_ref()
    }
    /// `[limit_sensitive]`: what a limit on the use of sensitive data sets.
    pub fn limit_sensitive(&self) -> Option<&SetDecl> {
        self.limit_sensitive.as_ref()
    }
    /// The declaration of an opt-out scope.
    pub fn opt_out_set(&self, scope: crate::domain::optout::OptOutScope) -> Option<&SetDecl> {
        match scope {
            crate::domain::optout::OptOutScope::Sale => self.optout(),
            crate::domain::optout::OptOutScope::Sensitive => self.limit_sensitive(),
        }
    }
    pub fn retention(&self) -> &[RetentionDecl] {
        &self.retention
    }
    /// Keys of non-SQL kinds (`[[keys]]` of redis, endpoint settings of http), kept raw
    /// until their engines exist. Empty for SQL kinds, whose keys are all typed.
    pub fn settings(&self) -> &toml::Table {
        &self.settings
    }
    pub fn redis_settings(&self) -> Option<&super::redis::RedisSettings> {
        match &self.kind_settings {
            KindSettings::Redis(s) => Some(s),
            _ => None,
        }
    }
    pub fn http_settings(&self) -> Option<&super::http::HttpSettings> {
        match &self.kind_settings {
            KindSettings::Http(s) => Some(s),
            _ => None,
        }
    }
    pub fn manual_settings(&self) -> Option<&super::manual::ManualSettings> {
        match &self.kind_settings {
            KindSettings::Manual(s) => Some(s),
            _ => None,
        }
    }
    /// Table indices with every `via` parent before its children.
    pub fn traversal_order(&self) -> &[usize] {
        &self.order
    }
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }
    /// `table.column` of every field declared `rectify = true`, so a workflow can tell
    /// which corrections this connector accepts before sending any.
    pub fn rectifiable_fields(&self) -> Vec<String> {
        self.tables
            .iter()
            .flat_map(|t| {
                t.fields
                    .iter()
                    .filter(|(_, f)| f.rectify)
                    .map(move |(c, _)| format!("{}.{c}", t.name))
            })
            .collect()
    }
}

/// Every connector declared in the data-map directory, in file-name order.
#[derive(Debug, Clone, Default)]
pub struct DataMap {
    connectors: Vec<ConnectorDecl>,
}

impl DataMap {
    pub fn connectors(&self) -> &[ConnectorDecl] {
        &self.connectors
    }
    pub fn connector(&self, name: &str) -> Option<&ConnectorDecl> {
        self.connectors.iter().find(|c| c.name == name)
    }
    pub fn is_empty(&self) -> bool {
        self.connectors.is_empty()
    }
}

/// Load every `*.toml` in `dir` (a missing or empty directory is an empty data map),
/// reading `${VAR}` from the process environment. All problems of all files are returned.
/// Only `RIGHTSDESK_DM_*` and the names in `env_allow` (`connectors.env_allow`) can be read.
pub fn load_dir(dir: &Path, env_allow: &[String]) -> Result<DataMap, Vec<DatamapProblem>> {
    load_dir_vars(
        dir,
        &Vars {
            allow: env_allow,
            lookup: &|name| std::env::var(name).ok(),
        },
    )
}

/// [`load_dir`] with the environment supplied by the caller (tests, `check`); only
/// `RIGHTSDESK_DM_*` names can be read.
pub fn load_dir_with_env(
    dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<DataMap, Vec<DatamapProblem>> {
    load_dir_vars(
        dir,
        &Vars {
            allow: &[],
            lookup: env,
        },
    )
}

fn load_dir_vars(dir: &Path, env: &Vars<'_>) -> Result<DataMap, Vec<DatamapProblem>> {
    let dir_name = dir.display().to_string();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DataMap::default()),
        Err(e) => {
            return Err(vec![DatamapProblem::new(
                &dir_name,
                "",
                format!("cannot read the data-map directory: {e}"),
            )]);
        }
    };
    let mut problems = Vec::new();
    let mut files = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
                    files.push(path);
                }
            }
            Err(e) => problems.push(DatamapProblem::new(
                &dir_name,
                "",
                format!("cannot list the data-map directory: {e}"),
            )),
        }
    }
    files.sort();

    let mut connectors: Vec<ConnectorDecl> = Vec::new();
    let mut cross_file = true;
    for path in files {
        let file = path.display().to_string();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                problems.push(DatamapProblem::new(
                    &file,
                    "",
                    format!("cannot read the file: {e}"),
                ));
                continue;
            }
        };
        match parse_str_vars(&file, &text, env) {
            Ok(decl) => {
                if let Some(first) = connectors.iter().find(|c| c.name == decl.name) {
                    problems.push(DatamapProblem::new(
                        &file,
                        "name",
                        format!(
                            "connector \"{}\" is already declared in {}",
                            decl.name, first.file
                        ),
                    ));
                } else {
                    connectors.push(decl);
                }
            }
            Err(mut p) => {
                cross_file = false;
                problems.append(&mut p)
            }
        }
    }
    // Placeholders naming other connectors' columns, once every file is read (a file
    // that did not parse would only add noise).
    if cross_file {
        problems.extend(super::redis::check_references(&connectors));
    }
    if problems.is_empty() {
        Ok(DataMap { connectors })
    } else {
        Err(problems)
    }
}

/// Parse and validate one data-map file; `${VAR}` is read from the process environment.
/// Only `RIGHTSDESK_DM_*` names can be read.
pub fn parse_str(file_name: &str, text: &str) -> Result<ConnectorDecl, Vec<DatamapProblem>> {
    parse_str_with_env(file_name, text, &|name| std::env::var(name).ok())
}

/// [`parse_str`] with the environment supplied by the caller; only `RIGHTSDESK_DM_*`
/// names can be read.
pub fn parse_str_with_env(
    file_name: &str,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ConnectorDecl, Vec<DatamapProblem>> {
    parse_str_vars(
        file_name,
        text,
        &Vars {
            allow: &[],
            lookup: env,
        },
    )
}

fn parse_str_vars(
    file_name: &str,
    text: &str,
    env: &Vars<'_>,
) -> Result<ConnectorDecl, Vec<DatamapProblem>> {
    // The kind decides which keys are allowed, so read it first (this pass also reports
    // TOML syntax errors).
    let probe: KindProbe = deserialize(file_name, text)?;
    let kind = match probe.kind {
        None => {
            return Err(vec![DatamapProblem::new(
                file_name,
                "kind",
                "missing key (postgres, mysql, sqlite, redis, http or manual)",
            )]);
        }
        Some(_) => {
            let only_kind: KindOnly = deserialize(file_name, text)?;
            only_kind.kind
        }
    };
    if kind.is_sql() {
        let raw: SqlFile = deserialize(file_name, text)?;
        validate_sql(file_name, raw, env)
    } else {
        let raw: OtherFile = deserialize(file_name, text)?;
        validate_other(file_name, raw, env)
    }
}

// ---------------------------------------------------------------------------------------
// File shapes as written (serde), before validation.

#[derive(Deserialize)]
struct KindProbe {
    kind: Option<toml::Value>,
}

#[derive(Deserialize)]
struct KindOnly {
    kind: ConnectorKind,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SqlFile {
    name: String,
    #[allow(dead_code)] // read by the kind pass; listed so that the key is allowed
    kind: ConnectorKind,
    url: String,
    max_connections: Option<u32>,
    #[serde(default)]
    tables: Vec<TableFile>,
    restriction: Option<SetFile>,
    objection: Option<SetFile>,
    optout: Option<OptOutFile>,
    limit_sensitive: Option<OptOutFile>,
    #[serde(default)]
    retention: Vec<RetentionFile>,
}

#[derive(Deserialize)]
struct OtherFile {
    name: String,
    kind: ConnectorKind,
    url: Option<String>,
    max_connections: Option<u32>,
    #[serde(flatten)]
    settings: toml::Table,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    name: String,
    primary_key: OneOrMany,
    #[serde(default)]
    identities: BTreeMap<String, String>,
    #[serde(default)]
    via: BTreeMap<String, OneOrMany>,
    erase: EraseAction,
    retain_reason: Option<String>,
    #[serde(default)]
    fields: BTreeMap<String, FieldFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldFile {
    category: Option<String>,
    mask: Option<Mask>,
    #[serde(default)]
    rectify: bool,
    #[serde(default = "yes")]
    export: bool,
    reason: Option<String>,
    #[serde(rename = "type")]
    value_type: Option<FieldType>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetFile {
    table: String,
    set: BTreeMap<String, toml::Value>,
}

/// `[optout]` / `[limit_sensitive]`: a `[objection]`-like set, and optionally the values
/// that take it back.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OptOutFile {
    table: String,
    set: BTreeMap<String, toml::Value>,
    #[serde(default)]
    unset: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RetentionFile {
    name: String,
    table: String,
    age_column: String,
    max_age: String,
    action: RetentionAction,
    batch_size: Option<u32>,
    schedule: Option<String>,
    #[serde(default)]
    filter: BTreeMap<String, toml::Value>,
}

/// A string or an array of strings (`primary_key`, `via` parents).
struct OneOrMany(Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(OneOrMany(out))
            }
        }
        d.deserialize_any(V)
    }
}

pub(crate) const DEFAULT_MAX_CONNECTIONS: u32 = 4;
const DEFAULT_BATCH_SIZE: u32 = 1000;
const MAX_BATCH_SIZE: u32 = 100_000;

// ---------------------------------------------------------------------------------------
// TOML -> serde with locations.

fn deserialize<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
) -> Result<T, Vec<DatamapProblem>> {
    let de = match toml::Deserializer::parse(text) {
        Ok(de) => de,
        Err(e) => return Err(vec![syntax_problem(file, text, &e)]),
    };
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.message().trim().to_string();
        let mut key = if path == "." { String::new() } else { path };
        // serde names an unknown key in the message; make sure the path ends with it.
        if let Some(field) = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
            && key.rsplit('.').next() != Some(field)
        {
            key = join_key(&key, field);
        }
        vec![DatamapProblem {
            file: file.to_string(),
            line: inner.span().map(|s| line_of(text, s.start)),
            key,
            message,
        }]
    })
}

fn syntax_problem(file: &str, text: &str, e: &toml::de::Error) -> DatamapProblem {
    let line = e.span().map(|s| line_of(text, s.start));
    DatamapProblem {
        file: file.to_string(),
        line,
        key: line.map(|l| key_at_line(text, l)).unwrap_or_default(),
        message: format!("TOML syntax error: {}", e.message().trim()),
    }
}

fn join_key(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// 1-based line of a byte offset (offsets past the end count as the last line).
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Best-effort key path of a line, for syntax errors where the parser has none: the
/// enclosing `[table]` / `[[array]]` header (with the array index) and the line's key.
fn key_at_line(text: &str, line: usize) -> String {
    let mut header = String::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for l in text.lines().take(line.saturating_sub(1)) {
        let t = l.trim();
        if let Some(name) = t.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
            let name = name.trim().to_string();
            let n = counts.entry(name.clone()).or_insert(0);
            header = format!("{name}[{}]", *n);
            *n += 1;
        } else if let Some(name) = t.strip_prefix('[').and_then(|r| r.split(']').next()) {
            // `[tables.fields]` belongs to the latest `[[tables]]` entry.
            let name = name.trim();
            header = match name.split_once('.') {
                Some((array, rest)) if counts.contains_key(array) => {
                    format!("{array}[{}].{rest}", counts[array].saturating_sub(1))
                }
                _ => name.to_string(),
            };
        }
    }
    let own = text
        .lines()
        .nth(line.saturating_sub(1))
        .and_then(|l| l.split_once('='))
        .map(|(k, _)| k.trim().trim_matches('"').to_string())
        .filter(|k| !k.is_empty() && !k.starts_with('['))
        .unwrap_or_default();
    match (header.is_empty(), own.is_empty()) {
        (true, _) => own,
        (false, true) => header,
        (false, false) => format!("{header}.{own}"),
    }
}

// ---------------------------------------------------------------------------------------
// Validation.

struct Problems<'a> {
    file: &'a str,
    list: Vec<DatamapProblem>,
}

impl Problems<'_> {
    fn push(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.list.push(DatamapProblem::new(self.file, key, message));
    }
}

fn validate_other(
    file: &str,
    raw: OtherFile,
    env: &Vars<'_>,
) -> Result<ConnectorDecl, Vec<DatamapProblem>> {
    let mut p = Problems {
        file,
        list: Vec::new(),
    };
    check_connector_name(&mut p, &raw.name);
    let url = match raw.url {
        Some(url) => {
            let url = interpolate(&mut p, "url", &url, env);
            if let Some(url) = &url {
                check_url_scheme(&mut p, raw.kind, url);
            }
            url.map(Secret::new)
        }
        None => {
            if raw.kind != ConnectorKind::Manual {
                p.push(
                    "url",
                    format!("missing key: a {} connector needs a url", raw.kind),
                );
            }
            None
        }
    };
    let max_connections = check_max_connections(&mut p, raw.max_connections);
    let mut found = Vec::new();
    let kind_settings = match raw.kind {
        ConnectorKind::Redis => {
            KindSettings::Redis(super::redis::parse_settings(&raw.settings, &mut found))
        }
        ConnectorKind::Http => {
            let mut ip = Problems {
                file,
                list: Vec::new(),
            };
            let parsed = super::http::parse_settings(
                &raw.settings,
                &mut |key, value| interpolate(&mut ip, key, value, env),
                &mut found,
            );
            p.list.append(&mut ip.list);
            parsed.map_or(KindSettings::None, KindSettings::Http)
        }
        ConnectorKind::Manual => super::manual::parse_settings(&raw.settings, &mut found)
            .map_or(KindSettings::None, KindSettings::Manual),
        _ => KindSettings::None,
    };
    for (key, message) in found {
        p.push(key, message);
    }
    if !p.list.is_empty() {
        return Err(p.list);
    }
    Ok(ConnectorDecl {
        file: file.to_string(),
        name: raw.name,
        kind: raw.kind,
        url,
        max_connections,
        tables: Vec::new(),
        restriction: None,
        objection: None,
        optout: None,
        limit_sensitive: None,
        retention: Vec::new(),
        settings: raw.settings,
        kind_settings,
        order: Vec::new(),
        edges: Vec::new(),
    })
}

fn validate_sql(
    file: &str,
    raw: SqlFile,
    env: &Vars<'_>,
) -> Result<ConnectorDecl, Vec<DatamapProblem>> {
    let mut p = Problems {
        file,
        list: Vec::new(),
    };
    check_connector_name(&mut p, &raw.name);
    let url = interpolate(&mut p, "url", &raw.url, env);
    if let Some(url) = &url {
        check_url_scheme(&mut p, raw.kind, url);
    }
    let max_connections = check_max_connections(&mut p, raw.max_connections);

    // Table names first: every other check refers to them.
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, t) in raw.tables.iter().enumerate() {
        check_table_name(&mut p, &format!("tables[{i}].name"), &t.name);
        if let Some(&first) = index.get(t.name.as_str()) {
            p.push(
                format!("tables[{i}].name"),
                format!(
                    "table \"{}\" is declared twice (first as tables[{first}])",
                    t.name
                ),
            );
        } else {
            index.insert(&t.name, i);
        }
    }

    let mut tables = Vec::with_capacity(raw.tables.len());
    let mut edges = Vec::new();
    for (i, t) in raw.tables.iter().enumerate() {
        let at = format!("tables[{i}]");
        let primary_key = t.primary_key.0.clone();
        if primary_key.is_empty() {
            p.push(
                format!("{at}.primary_key"),
                "needs at least one column".to_string(),
            );
        }
        let mut seen = HashSet::new();
        for c in &primary_key {
            check_column_name(&mut p, &format!("{at}.primary_key"), c);
            if !seen.insert(c) {
                p.push(
                    format!("{at}.primary_key"),
                    format!("column \"{c}\" is listed twice"),
                );
            }
        }

        let mut identities = BTreeMap::new();
        for (ty, col) in &t.identities {
            let key = format!("{at}.identities.{ty}");
            check_column_name(&mut p, &key, col);
            match ty.as_str() {
                "email" => {
                    identities.insert(IdentityType::Email, col.clone());
                }
                other => p.push(
                    key,
                    format!("unknown identity type \"{other}\" (supported: email)"),
                ),
            }
        }

        let mut via = Vec::new();
        for (col, parents) in &t.via {
            let key = format!("{at}.via.{col}");
            check_column_name(&mut p, &key, col);
            if parents.0.is_empty() {
                p.push(key.clone(), "needs at least one \"table.column\"");
            }
            let mut refs = Vec::new();
            for r in &parents.0 {
                let Some((table, column)) = r
                    .split_once('.')
                    .filter(|(t, c)| !t.is_empty() && !c.is_empty())
                else {
                    p.push(
                        key.clone(),
                        format!("expected \"table.column\", found \"{r}\""),
                    );
                    continue;
                };
                match index.get(table) {
                    None => p.push(key.clone(), format!("unknown table \"{table}\"")),
                    Some(&parent) => {
                        edges.push(Edge {
                            child: i,
                            child_column: col.clone(),
                            parent,
                            parent_column: column.to_string(),
                        });
                    }
                }
                refs.push(ColumnRef {
                    table: table.to_string(),
                    column: column.to_string(),
                });
            }
            via.push(Via {
                column: col.clone(),
                parents: refs,
            });
        }
        if t.identities.is_empty() && t.via.is_empty() {
            p.push(
                at.clone(),
                format!(
                    "table \"{}\" has no identity path: declare `identities` or `via`",
                    t.name
                ),
            );
        }

        let mut fields = BTreeMap::new();
        for (col, f) in &t.fields {
            check_column_name(&mut p, &format!("{at}.fields.{col}"), col);
            fields.insert(
                col.clone(),
                FieldDecl {
                    category: f.category.clone(),
                    mask: f.mask,
                    rectify: f.rectify,
                    export: f.export,
                    reason: f.reason.clone(),
                    value_type: f.value_type,
                },
            );
        }

        match t.erase {
            EraseAction::Anonymize => {
                for (ty, col) in &identities {
                    if fields.get(col).and_then(|f: &FieldDecl| f.mask).is_none() {
                        p.push(
                            format!("{at}.identities.{}", identity_key(*ty)),
                            format!(
                                "table \"{}\" is anonymized, so its identity column \"{col}\" needs a mask in [tables.fields]",
                                t.name
                            ),
                        );
                    }
                }
                if !fields.values().any(|f| f.mask.is_some()) {
                    p.push(
                        format!("{at}.erase"),
                        "\"anonymize\" needs at least one field with a mask",
                    );
                }
            }
            EraseAction::Retain => {
                if t.retain_reason
                    .as_deref()
                    .is_none_or(|r| r.trim().is_empty())
                {
                    p.push(
                        format!("{at}.retain_reason"),
                        "a retained table needs a reason (it is told to the subject, GDPR art. 17(3))",
                    );
                }
            }
            EraseAction::Delete => {}
        }

        tables.push(TableDecl {
            name: t.name.clone(),
            primary_key,
            identities,
            via,
            erase: t.erase,
            retain_reason: t.retain_reason.clone(),
            fields,
        });
    }

    let order = match topological_order(tables.len(), &edges) {
        Ok(order) => order,
        Err(cycle) => {
            let names: Vec<&str> = cycle.iter().map(|&i| tables[i].name.as_str()).collect();
            // Report at the via entry of the cycle's first table that points into it.
            let first = cycle[0];
            let next = cycle.get(1).copied().unwrap_or(first);
            let col = edges
                .iter()
                .find(|e| e.child == next && e.parent == first)
                .map(|e| e.child_column.clone())
                .unwrap_or_default();
            p.push(
                format!("tables[{next}].via.{col}"),
                format!("via edges form a cycle: {}", names.join(" -> ")),
            );
            Vec::new()
        }
    };

    let restriction = raw
        .restriction
        .as_ref()
        .and_then(|s| validate_set(&mut p, "restriction", s, &index));
    let objection = raw
        .objection
        .as_ref()
        .and_then(|s| validate_set(&mut p, "objection", s, &index));
    let optout = raw
        .optout
        .as_ref()
        .and_then(|s| validate_opt_out(&mut p, "optout", s, &index));
    let limit_sensitive = raw
        .limit_sensitive
        .as_ref()
        .and_then(|s| validate_opt_out(&mut p, "limit_sensitive", s, &index));

    let mut retention = Vec::new();
    let mut retention_names = HashSet::new();
    for (i, r) in raw.retention.iter().enumerate() {
        let at = format!("retention[{i}]");
        if r.name.trim().is_empty() {
            p.push(format!("{at}.name"), "must not be empty");
        } else if !retention_names.insert(r.name.as_str()) {
            p.push(
                format!("{at}.name"),
                format!("retention \"{}\" is declared twice", r.name),
            );
        }
        match index.get(r.table.as_str()) {
            None => p.push(
                format!("{at}.table"),
                format!("unknown table \"{}\"", r.table),
            ),
            Some(&t) => {
                if r.action == RetentionAction::Anonymize && tables[t].masks().next().is_none() {
                    p.push(
                        format!("{at}.action"),
                        format!(
                            "\"anonymize\" uses the field masks of table \"{}\", which declares none",
                            r.table
                        ),
                    );
                }
            }
        }
        check_column_name(&mut p, &format!("{at}.age_column"), &r.age_column);
        let max_age = MaxAge::parse(&r.max_age);
        if max_age.is_none() {
            p.push(
                format!("{at}.max_age"),
                format!(
                    "\"{}\" is not an age such as \"24 months\", \"2 years\" or \"90d\"",
                    r.max_age
                ),
            );
        }
        let batch_size = r.batch_size.unwrap_or(DEFAULT_BATCH_SIZE);
        if batch_size == 0 || batch_size > MAX_BATCH_SIZE {
            p.push(
                format!("{at}.batch_size"),
                format!("must be between 1 and {MAX_BATCH_SIZE}"),
            );
        }
        if let Some(s) = &r.schedule
            && !is_cron6(s)
        {
            p.push(
                format!("{at}.schedule"),
                "expected six cron fields: sec min hour day month weekday",
            );
        }
        let filter = scalars(&mut p, &format!("{at}.filter"), &r.filter);
        if let Some(max_age) = max_age {
            retention.push(RetentionDecl {
                name: r.name.clone(),
                table: r.table.clone(),
                age_column: r.age_column.clone(),
                max_age,
                action: r.action,
                batch_size,
                schedule: r.schedule.clone(),
                filter,
            });
        }
    }

    if !p.list.is_empty() {
        return Err(p.list);
    }
    Ok(ConnectorDecl {
        file: file.to_string(),
        name: raw.name,
        kind: raw.kind,
        url: url.map(Secret::new),
        max_connections,
        tables,
        restriction,
        objection,
        optout,
        limit_sensitive,
        retention,
        settings: toml::Table::new(),
        kind_settings: KindSettings::None,
        order,
        edges,
    })
}

fn identity_key(ty: IdentityType) -> &'static str {
    match ty {
        IdentityType::Email => "email",
    }
}

fn validate_set(
    p: &mut Problems<'_>,
    section: &str,
    s: &SetFile,
    index: &HashMap<&str, usize>,
) -> Option<SetDecl> {
    if !index.contains_key(s.table.as_str()) {
        p.push(
            format!("{section}.table"),
            format!("unknown table \"{}\"", s.table),
        );
    }
    if s.set.is_empty() {
        p.push(
            format!("{section}.set"),
            "needs at least one column = value",
        );
    }
    let set = scalars(p, &format!("{section}.set"), &s.set);
    Some(SetDecl {
        table: s.table.clone(),
        set,
        unset: Vec::new(),
    })
}

/// An opt-out section: a set as `[objection]`'s, and `unset` naming only columns of
/// `set` (a set column it does not name is reversed as a lifted restriction is).
fn validate_opt_out(
    p: &mut Problems<'_>,
    section: &str,
    s: &OptOutFile,
    index: &HashMap<&str, usize>,
) -> Option<SetDecl> {
    let mut decl = validate_set(
        p,
        section,
        &SetFile {
            table: s.table.clone(),
            set: s.set.clone(),
        },
        index,
    )?;
    for col in s.unset.keys() {
        if !s.set.contains_key(col) {
            p.push(
                format!("{section}.unset.{col}"),
                "names a column that `set` does not: unset says how each set column is taken back",
            );
        }
    }
    decl.unset = scalars(p, &format!("{section}.unset"), &s.unset);
    Some(decl)
}

fn scalars(
    p: &mut Problems<'_>,
    at: &str,
    values: &BTreeMap<String, toml::Value>,
) -> Vec<(String, ScalarValue)> {
    let mut out = Vec::new();
    for (col, v) in values {
        let key = format!("{at}.{col}");
        check_column_name(p, &key, col);
        let value = match v {
            toml::Value::Boolean(b) => ScalarValue::Bool(*b),
            toml::Value::Integer(i) => ScalarValue::Int(*i),
            toml::Value::Float(f) => ScalarValue::Float(*f),
            toml::Value::String(s) => ScalarValue::Text(s.clone()),
            _ => {
                p.push(key, "must be a boolean, a number or a string");
                continue;
            }
        };
        out.push((col.clone(), value));
    }
    out
}

fn check_connector_name(p: &mut Problems<'_>, name: &str) {
    // The name becomes a directory in access exports (`data/<connector>/`).
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok {
        p.push(
            "name",
            "a connector name is 1 to 64 letters, digits, '_' or '-'",
        );
    }
}

fn check_table_name(p: &mut Problems<'_>, key: &str, name: &str) {
    // Table names become file names in access exports and are split on '.' in `via`.
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && !name
            .chars()
            .any(|c| c.is_control() || matches!(c, '.' | '/' | '\\'));
    if !ok {
        p.push(
            key,
            format!(
                "\"{name}\" is not a usable table name (no '.', '/', '\\' or control characters)"
            ),
        );
    }
}

fn check_column_name(p: &mut Problems<'_>, key: &str, name: &str) {
    if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
        p.push(key, format!("\"{name}\" is not a usable column name"));
    }
}

fn check_max_connections(p: &mut Problems<'_>, value: Option<u32>) -> u32 {
    let n = value.unwrap_or(DEFAULT_MAX_CONNECTIONS);
    if n == 0 || n > 100 {
        p.push("max_connections", "must be between 1 and 100");
    }
    n
}

fn check_url_scheme(p: &mut Problems<'_>, kind: ConnectorKind, url: &str) {
    let schemes: &[&str] = match kind {
        ConnectorKind::Postgres => &["postgres://", "postgresql://"],
        ConnectorKind::Mysql => &["mysql://", "mariadb://"],
        ConnectorKind::Sqlite => &["sqlite:"],
        ConnectorKind::Redis => &["redis://", "rediss://"],
        ConnectorKind::Http => &["https://", "http://"],
        _ => return,
    };
    if !schemes.iter().any(|s| url.starts_with(s)) {
        // The URL itself is a secret: name only what was expected.
        p.push(
            "url",
            format!(
                "a {kind} connector needs a URL starting with {}",
                schemes.join(" or ")
            ),
        );
    }
}

/// The prefix of the environment variables every data map may read.
pub const ENV_PREFIX: &str = "RIGHTSDESK_DM_";

/// Where `${VAR}` values come from, and which other names may be read: a data map must
/// not reach the deployment key or any other secret of the process by naming it.
struct Vars<'a> {
    allow: &'a [String],
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl Vars<'_> {
    fn may_read(&self, name: &str) -> bool {
        name.starts_with(ENV_PREFIX) || self.allow.iter().any(|a| a == name)
    }
}

/// Replace `${NAME}` with the variable's value; a missing variable, or one the data map
/// may not read, is a problem at `key`.
fn interpolate(p: &mut Problems<'_>, key: &str, input: &str, env: &Vars<'_>) -> Option<String> {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    let mut ok = true;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            p.push(key, "unterminated ${ in value");
            return None;
        };
        let name = &after[..end];
        let valid = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            p.push(key, format!("\"${{{name}}}\" is not a variable name"));
            ok = false;
        } else if !env.may_read(name) {
            p.push(
                key,
                format!(
                    "environment variable {name} may not be read by a data map: name it {ENV_PREFIX}... or list it in connectors.env_allow"
                ),
            );
            ok = false;
        } else {
            match (env.lookup)(name).filter(|v| !v.is_empty()) {
                Some(v) => out.push_str(&v),
                None => {
                    p.push(key, format!("environment variable {name} is not set"));
                    ok = false;
                }
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    ok.then_some(out)
}

fn is_cron6(s: &str) -> bool {
    let fields: Vec<&str> = s.split_whitespace().collect();
    fields.len() == 6
        && fields.iter().all(|f| {
            f.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | ',' | '/' | '-' | '?'))
        })
}

/// Kahn's algorithm, ties broken by declaration order; on a cycle, returns one cycle
/// (as table indices, first repeated at the end).
fn topological_order(n: usize, edges: &[Edge]) -> Result<Vec<usize>, Vec<usize>> {
    let mut indegree = vec![0usize; n];
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    for e in edges {
        indegree[e.child] += 1;
        children[e.parent].push(e.child);
    }
    let mut ready: std::collections::BTreeSet<usize> =
        (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &c in &children[i] {
            indegree[c] -= 1;
            if indegree[c] == 0 {
                ready.insert(c);
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    // Walk parent links among the remaining tables until one repeats.
    let remaining: HashSet<usize> = (0..n).filter(|&i| indegree[i] > 0).collect();
    let start = remaining.iter().copied().min().unwrap_or(0);
    let mut path = vec![start];
    let mut at = start;
    loop {
        let Some(parent) = edges
            .iter()
            .filter(|e| e.child == at && remaining.contains(&e.parent))
            .map(|e| e.parent)
            .min()
        else {
            return Err(path);
        };
        if let Some(pos) = path.iter().position(|&x| x == parent) {
            let mut cycle: Vec<usize> = path[pos..].to_vec();
            cycle.reverse();
            cycle.push(cycle[0]);
            return Err(cycle);
        }
        path.push(parent);
        at = parent;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        matches!(
            name,
            "RIGHTSDESK_DM_DB_URL" | "APP_DB_URL" | "RIGHTSDESK_SECRET_KEY"
        )
        .then(|| "postgres://u:pw@db/app".to_string())
    }

    fn vars(allow: &[String]) -> Vars<'_> {
        Vars {
            allow,
            lookup: &env,
        }
    }

    fn parse(text: &str) -> Result<ConnectorDecl, Vec<DatamapProblem>> {
        parse_str_with_env("datamap/app.toml", text, &env)
    }

    #[test]
    fn opt_out_sections_take_back_what_they_declare() {
        const BASE: &str = "name = \"app\"\nkind = \"postgres\"\nurl = \"${RIGHTSDESK_DM_DB_URL}\"\n\
            [[tables]]\nname = \"customers\"\nprimary_key = \"id\"\n\
            identities = { email = \"email\" }\nerase = \"delete\"\n";
        let d = parse(&format!(
            "{BASE}[optout]\ntable = \"customers\"\nset = {{ sale_opt_out = true, tier = \"none\" }}\n\
             [limit_sensitive]\ntable = \"customers\"\nset = {{ sensitive = \"limited\" }}\n\
             unset = {{ sensitive = \"allowed\" }}\n"
        ))
        .expect("valid");
        let sale = d
            .opt_out_set(crate::domain::optout::OptOutScope::Sale)
            .unwrap();
        assert_eq!(
            sale.reversed("sale_opt_out", &ScalarValue::Bool(true)),
            Some(ScalarValue::Bool(false))
        );
        // A text column without an `unset` value goes back to NULL.
        assert_eq!(
            sale.reversed("tier", &ScalarValue::Text("none".into())),
            None
        );
        let sensitive = d.limit_sensitive().unwrap();
        assert_eq!(
            sensitive.reversed("sensitive", &ScalarValue::Text("limited".into())),
            Some(ScalarValue::Text("allowed".into()))
        );
        // `unset` names only columns of `set`; `[objection]` has no `unset`.
        let err = parse(&format!(
            "{BASE}[optout]\ntable = \"customers\"\nset = {{ a = true }}\nunset = {{ b = false }}\n"
        ))
        .unwrap_err();
        assert!(err.iter().any(|p| p.key == "optout.unset.b"), "{err:?}");
        assert!(
            parse(&format!(
                "{BASE}[objection]\ntable = \"customers\"\nset = {{ a = true }}\nunset = {{ a = false }}\n"
            ))
            .is_err()
        );
    }

    #[test]
    fn line_of_counts_newlines_and_clamps() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 99), 3);
    }

    #[test]
    fn key_at_line_follows_array_headers() {
        let text = "name = \"x\"\n[[tables]]\nname = \"a\"\n[[tables]]\nname = \"b\"\n[tables.fields]\nemail = 3\n";
        assert_eq!(key_at_line(text, 1), "name");
        assert_eq!(key_at_line(text, 5), "tables[1].name");
        assert_eq!(key_at_line(text, 7), "tables[1].fields.email");
    }

    #[test]
    fn interpolation_reads_variables_and_reports_missing_ones() {
        let mut p = Problems {
            file: "f",
            list: Vec::new(),
        };
        let env = vars(&[]);
        assert_eq!(
            interpolate(&mut p, "url", "x${RIGHTSDESK_DM_DB_URL}y", &env).as_deref(),
            Some("xpostgres://u:pw@db/appy")
        );
        assert_eq!(
            interpolate(&mut p, "url", "$notvar", &env).as_deref(),
            Some("$notvar")
        );
        assert!(interpolate(&mut p, "url", "${RIGHTSDESK_DM_NOPE}", &env).is_none());
        assert!(interpolate(&mut p, "url", "${RIGHTSDESK_DM_DB_URL", &env).is_none());
        assert_eq!(p.list.len(), 2);
        assert!(p.list[0].message.contains("NOPE"));
    }

    #[test]
    fn interpolation_reads_only_allowed_names() {
        let mut p = Problems {
            file: "f",
            list: Vec::new(),
        };
        // The deployment key (set in this environment) is never read by name.
        assert!(interpolate(&mut p, "url", "x${RIGHTSDESK_SECRET_KEY}", &vars(&[])).is_none());
        assert!(interpolate(&mut p, "url", "${APP_DB_URL}", &vars(&[])).is_none());
        assert_eq!(p.list.len(), 2);
        assert!(
            p.list[0].message.contains("connectors.env_allow"),
            "{:?}",
            p.list
        );
        assert!(!p.list[0].message.contains("postgres://"), "{:?}", p.list);
        let allow = vec!["APP_DB_URL".to_string()];
        assert_eq!(
            interpolate(&mut p, "url", "${APP_DB_URL}", &vars(&allow)).as_deref(),
            Some("postgres://u:pw@db/app")
        );
    }

    #[test]
    fn max_age_units() {
        assert_eq!(
            MaxAge::parse("24 months"),
            Some(MaxAge {
                amount: 24,
                unit: AgeUnit::Months
            })
        );
        assert_eq!(MaxAge::parse("90d").map(|a| a.unit), Some(AgeUnit::Days));
        assert_eq!(MaxAge::parse("0d"), None);
        assert_eq!(MaxAge::parse("months"), None);
        assert_eq!(MaxAge::parse("3 fortnights"), None);
    }

    #[test]
    fn topological_order_puts_parents_first_and_finds_cycles() {
        let e = |child, parent| Edge {
            child,
            child_column: "c".into(),
            parent,
            parent_column: "p".into(),
        };
        assert_eq!(topological_order(3, &[e(0, 2), e(1, 0)]), Ok(vec![2, 0, 1]));
        let cycle = topological_order(3, &[e(0, 1), e(1, 2), e(2, 1)]).unwrap_err();
        assert_eq!(cycle.first(), cycle.last());
        assert!(cycle.contains(&1) && cycle.contains(&2) && !cycle.contains(&0));
        assert!(topological_order(1, &[e(0, 0)]).is_err());
    }

    #[test]
    fn minimal_sql_connector_gets_defaults() {
        let decl = parse(
            "name = \"app\"\nkind = \"postgres\"\nurl = \"${RIGHTSDESK_DM_DB_URL}\"\n\
             [[tables]]\nname = \"customers\"\nprimary_key = \"id\"\n\
             identities = { email = \"email\" }\nerase = \"delete\"\n",
        )
        .unwrap();
        assert_eq!(decl.max_connections(), DEFAULT_MAX_CONNECTIONS);
        assert_eq!(decl.traversal_order(), &[0]);
        assert_eq!(format!("{:?}", decl.url()), "Some([redacted])");
    }
}
