//! The Redis connector: keys named by templates (`session:{email}`,
//! `lead:{app.leads.id}:*`), found with `EXISTS` or, for patterns, `SCAN … COUNT` (never
//! `KEYS`), read according to their type, and erased with `UNLINK`.
//!
//! A placeholder is an identity type (`{email}`) or a column of another connector's
//! declared table (`{connector.table.column}`): its values are the ones that
//! connector's task found for the subject. Fan-out runs such a connector after the one it
//! refers to and hands it the values that task kept (see `fanout`); a caller that gives
//! none (the dry run, `ledger replay`) gets them by a read-only traversal of the source.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::{
    AccessResult, Connector, ConnectorDecl, ConnectorError, EraseAction, ErasureEvidence,
    ErasureTable, Hasher, Identity, Preview, PreviewTable, RectifyReport, SetReport, SqlConnector,
    TableRows,
};

/// Keys per SCAN step unless the data map says otherwise.
pub const DEFAULT_SCAN_COUNT: u32 = 100;
/// Elements read from one hash, set, list or sorted set (the rest is flagged `truncated`).
pub const MAX_ELEMENTS: usize = 10_000;
/// Keys one template may match for one subject before the task stops with an error.
pub const MAX_KEYS: usize = 100_000;
/// Concrete patterns one template may expand to (values of its placeholders multiplied).
pub const MAX_PATTERNS: usize = 10_000;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const UNLINK_BATCH: usize = 1000;

/// What a `redis` data-map file declares besides name and url.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisSettings {
    pub keys: Vec<KeyTemplate>,
    pub scan_count: u32,
}

/// One `[[keys]] pattern`, split into text and placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTemplate {
    pub pattern: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Email,
    /// `connector.table.column`
    Found(String),
}

impl KeyTemplate {
    /// Parse `pattern`; the message says what is wrong (it names no values).
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = pattern;
        let mut placeholders = 0;
        while let Some(start) = rest.find('{') {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 1..];
            let Some(end) = after.find('}') else {
                return Err("unterminated { in pattern".into());
            };
            let name = &after[..end];
            let segments: Vec<&str> = name.split('.').collect();
            let part = match segments.as_slice() {
                ["email"] => Part::Email,
                [c, t, col] if !c.is_empty() && !t.is_empty() && !col.is_empty() => {
                    Part::Found(name.to_string())
                }
                _ => {
                    return Err(format!(
                        "unknown placeholder {{{name}}}: use an identity type ({{email}}) or connector.table.column"
                    ));
                }
            };
            parts.push(part);
            placeholders += 1;
            rest = &after[end + 1..];
        }
        if rest.contains('}') {
            return Err("} without { in pattern".into());
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        if placeholders == 0 {
            // Without one, the template would match every subject's keys.
            return Err(
                "a pattern needs at least one placeholder ({email} or connector.table.column)"
                    .into(),
            );
        }
        Ok(Self {
            pattern: pattern.to_string(),
            parts,
        })
    }

    /// `(connector, table, column)` of every `{connector.table.column}` placeholder.
    pub fn references(&self) -> Vec<(String, String, String)> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Found(r) => {
                    let mut it = r.splitn(3, '.');
                    Some((
                        it.next()?.to_string(),
                        it.next()?.to_string(),
                        it.next()?.to_string(),
                    ))
                }
                _ => None,
            })
            .collect()
    }

    /// Whether the text around the placeholders holds glob characters (then SCAN is used).
    pub fn is_pattern(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Text(t) if t.contains(['*', '?', '['])))
    }

    /// Every concrete key or SCAN pattern for `who` (values are glob-escaped in
    /// patterns, so an address with `*` in it matches only itself).
    fn expand(&self, connector: &str, who: &Identity) -> Result<Vec<String>, ConnectorError> {
        let glob = self.is_pattern();
        let mut out = vec![String::new()];
        for part in &self.parts {
            let values: Vec<String> = match part {
                Part::Text(t) => vec![t.clone()],
                Part::Email => vec![escape(who.email(), glob)],
                Part::Found(r) => who
                    .found(r)
                    .unwrap_or_default()
                    .iter()
                    .map(|v| escape(v, glob))
                    .collect(),
            };
            if out.len().saturating_mul(values.len()) > MAX_PATTERNS {
                return Err(ConnectorError::Failed {
                    connector: connector.into(),
                    reason: format!(
                        "key template \"{}\" expands to more than {MAX_PATTERNS} keys for one subject",
                        self.pattern
                    ),
                });
            }
            out = out
                .iter()
                .flat_map(|prefix| values.iter().map(move |v| format!("{prefix}{v}")))
                .collect();
        }
        Ok(out)
    }
}

fn escape(value: &str, glob: bool) -> String {
    if !glob {
        return value.to_string();
    }
    let mut s = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

/// Read the redis keys of a data-map file (`[[keys]]`, `scan_count`); problems are
/// `(key path, message)`.
pub(crate) fn parse_settings(
    settings: &toml::Table,
    problems: &mut Vec<(String, String)>,
) -> RedisSettings {
    let mut keys = Vec::new();
    let mut scan_count = DEFAULT_SCAN_COUNT;
    for (k, v) in settings {
        match (k.as_str(), v) {
            ("scan_count", toml::Value::Integer(n)) if (1..=10_000).contains(n) => {
                scan_count = *n as u32;
            }
            ("scan_count", _) => {
                problems.push((
                    "scan_count".into(),
                    "must be a number from 1 to 10000".into(),
                ));
            }
            ("keys", toml::Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let at = format!("keys[{i}]");
                    let Some(table) = item.as_table() else {
                        problems.push((at, "must be a table with a pattern".into()));
                        continue;
                    };
                    for extra in table.keys().filter(|k| *k != "pattern") {
                        problems.push((
                            format!("{at}.{extra}"),
                            format!("unknown field `{extra}`, expected `pattern`"),
                        ));
                    }
                    match table.get("pattern") {
                        Some(toml::Value::String(p)) => match KeyTemplate::parse(p) {
                            Ok(t) => keys.push(t),
                            Err(m) => problems.push((format!("{at}.pattern"), m)),
                        },
                        Some(_) => {
                            problems.push((format!("{at}.pattern"), "must be a string".into()))
                        }
                        None => problems.push((format!("{at}.pattern"), "missing key".into())),
                    }
                }
            }
            ("keys", _) => {
                problems.push(("keys".into(), "must be an array of [[keys]] tables".into()))
            }
            (other, _) => problems.push((
                other.to_string(),
                format!("unknown field `{other}`, expected `keys` or `scan_count`"),
            )),
        }
    }
    if keys.is_empty() && !problems.iter().any(|(k, _)| k.starts_with("keys")) {
        problems.push((
            "keys".into(),
            "declare at least one [[keys]] pattern".into(),
        ));
    }
    RedisSettings { keys, scan_count }
}

/// Cross-file check: every `{connector.table.column}` names a SQL connector of this data
/// map and one of its declared tables. Problems are located in the redis file.
pub(crate) fn check_references(connectors: &[ConnectorDecl]) -> Vec<super::DatamapProblem> {
    let mut out = Vec::new();
    for decl in connectors {
        let Some(settings) = decl.redis_settings() else {
            continue;
        };
        for (i, t) in settings.keys.iter().enumerate() {
            for (c, table, _) in t.references() {
                let message = match connectors.iter().find(|d| d.name() == c) {
                    None => Some(format!("no connector \"{c}\" is declared in the data map")),
                    Some(d) if !d.kind().is_sql() => Some(format!(
                        "connector \"{c}\" is a {} connector; placeholders can only name SQL connectors' columns",
                        d.kind()
                    )),
                    Some(d) if d.table(&table).is_none() => {
                        Some(format!("connector \"{c}\" declares no table \"{table}\""))
                    }
                    Some(_) => None,
                };
                if let Some(m) = message {
                    out.push(super::DatamapProblem::new(
                        decl.file(),
                        format!("keys[{i}].pattern"),
                        m,
                    ));
                }
            }
        }
    }
    out
}

/// The values of `columns` (`(table, column)`) in the rows `engine` finds for `who`,
/// keyed `connector.table.column`, as text. Rows the subject shares with others (an
/// address two customers use) are left out: keys named after them are not the subject's
/// alone.
pub async fn found_values(
    engine: &SqlConnector,
    columns: &[(String, String)],
    who: &Identity,
) -> Result<BTreeMap<String, Vec<String>>, ConnectorError> {
    let found = engine.find(who).await?;
    let mut out = BTreeMap::new();
    for (table, column) in columns {
        let mut values = BTreeSet::new();
        if let Some(t) = found.table(table) {
            for row in t.rows.iter().filter(|r| !r.shared) {
                let text = match row.values.get(column) {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    Some(Value::Bool(b)) => b.to_string(),
                    _ => continue,
                };
                values.insert(text);
            }
        }
        out.insert(
            format!("{}.{table}.{column}", engine.decl().name()),
            values.into_iter().collect(),
        );
    }
    Ok(out)
}

/// A declared Redis connector. Connections are opened per operation (tasks are rare and
/// short); the client itself is built once.
pub struct RedisConnector {
    name: String,
    client: redis::Client,
    settings: RedisSettings,
    /// SQL connectors the templates refer to, for callers that bring no values.
    sources: HashMap<String, Arc<SqlConnector>>,
}

impl RedisConnector {
    pub fn new(decl: &ConnectorDecl) -> Result<Self, ConnectorError> {
        let refuse = |reason: &str| ConnectorError::Connect {
            connector: decl.name().to_string(),
            reason: reason.into(),
        };
        let settings = decl
            .redis_settings()
            .cloned()
            .ok_or_else(|| refuse("not a redis connector"))?;
        let url = decl.url().ok_or_else(|| refuse("no url"))?;
        // The URL holds credentials: the error names only what is wrong with it.
        let client = redis::Client::open(url.expose().as_str())
            .map_err(|_| refuse("the url is not a valid redis:// or rediss:// URL"))?;
        Ok(Self {
            name: decl.name().to_string(),
            client,
            settings,
            sources: HashMap::new(),
        })
    }

    /// Give the connector the SQL engines its placeholders name.
    pub fn with_sources(mut self, sources: HashMap<String, Arc<SqlConnector>>) -> Self {
        self.sources = sources;
        self
    }

    pub fn settings(&self) -> &RedisSettings {
        &self.settings
    }

    /// `(connector, [(table, column)])` this connector's templates need values from.
    pub fn dependencies(settings: &RedisSettings) -> BTreeMap<String, Vec<(String, String)>> {
        let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for t in &settings.keys {
            for (c, table, column) in t.references() {
                let cols = out.entry(c).or_default();
                if !cols.contains(&(table.clone(), column.clone())) {
                    cols.push((table, column));
                }
            }
        }
        out
    }

    fn db_error(&self, operation: &str, e: &redis::RedisError) -> ConnectorError {
        // Redis messages can quote keys; keep the error's kind and code only.
        let reason = match e.code() {
            Some(code) => format!("{:?} ({code})", e.kind()),
            None => format!("{:?}", e.kind()),
        };
        if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() {
            ConnectorError::Connect {
                connector: self.name.clone(),
                reason,
            }
        } else {
            ConnectorError::Database {
                connector: self.name.clone(),
                operation: operation.into(),
                reason,
            }
        }
    }

    async fn connection(&self) -> Result<redis::aio::MultiplexedConnection, ConnectorError> {
        match tokio::time::timeout(
            CONNECT_TIMEOUT,
            self.client.get_multiplexed_async_connection(),
        )
        .await
        {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => Err(ConnectorError::Connect {
                connector: self.name.clone(),
                reason: format!("{:?}", e.kind()),
            }),
            Err(_) => Err(ConnectorError::Connect {
                connector: self.name.clone(),
                reason: "timed out".into(),
            }),
        }
    }

    /// `who` with the values its placeholders need: those it carries, or those a
    /// read-only traversal of the source connectors finds now.
    async fn with_values(&self, who: &Identity) -> Result<Identity, ConnectorError> {
        let mut missing: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for (c, cols) in Self::dependencies(&self.settings) {
            for (t, col) in cols {
                if who.found(&format!("{c}.{t}.{col}")).is_none() {
                    missing.entry(c.clone()).or_default().push((t, col));
                }
            }
        }
        if missing.is_empty() {
            return Ok(who.clone());
        }
        let mut values = who.found_all().clone();
        for (c, cols) in missing {
            let engine = self.sources.get(&c).ok_or_else(|| ConnectorError::Failed {
                connector: self.name.clone(),
                reason: format!("connector \"{c}\" named in a key template is not available"),
            })?;
            values.extend(found_values(engine, &cols, who).await?);
        }
        Ok(who.clone().with_found(values))
    }

    /// The keys of each template for `who`, in template order, each sorted.
    async fn keys(
        &self,
        conn: &mut redis::aio::MultiplexedConnection,
        who: &Identity,
    ) -> Result<Vec<Vec<Vec<u8>>>, ConnectorError> {
        let mut out = Vec::with_capacity(self.settings.keys.len());
        for t in &self.settings.keys {
            let mut found: BTreeSet<Vec<u8>> = BTreeSet::new();
            for p in t.expand(&self.name, who)? {
                if t.is_pattern() {
                    let mut cursor: u64 = 0;
                    loop {
                        let (next, batch): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                            .arg(cursor)
                            .arg("MATCH")
                            .arg(&p)
                            .arg("COUNT")
                            .arg(self.settings.scan_count)
                            .query_async(conn)
                            .await
                            .map_err(|e| self.db_error("scanning keys", &e))?;
                        found.extend(batch);
                        if found.len() > MAX_KEYS {
                            return Err(ConnectorError::Failed {
                                connector: self.name.clone(),
                                reason: format!(
                                    "key template \"{}\" matches more than {MAX_KEYS} keys for one subject",
                                    t.pattern
                                ),
                            });
                        }
                        cursor = next;
                        if cursor == 0 {
                            break;
                        }
                    }
                } else {
                    let exists: i64 = redis::cmd("EXISTS")
                        .arg(&p)
                        .query_async(conn)
                        .await
                        .map_err(|e| self.db_error("looking up keys", &e))?;
                    if exists > 0 {
                        found.insert(p.into_bytes());
                    }
                }
            }
            out.push(found.into_iter().collect());
        }
        Ok(out)
    }

    /// One key as a row: `{key, type, value}` (+ `truncated` for long collections).
    async fn read_key(
        &self,
        conn: &mut redis::aio::MultiplexedConnection,
        key: &[u8],
    ) -> Result<Option<Map<String, Value>>, ConnectorError> {
        let err = |e: redis::RedisError| self.db_error("reading a key", &e);
        let kind: String = redis::cmd("TYPE")
            .arg(key)
            .query_async(conn)
            .await
            .map_err(err)?;
        let limit = MAX_ELEMENTS as isize;
        let (value, len): (Value, usize) = match kind.as_str() {
            "none" => return Ok(None), // expired or removed since the scan
            "string" => {
                let v: Option<Vec<u8>> = redis::cmd("GET")
                    .arg(key)
                    .query_async(conn)
                    .await
                    .map_err(err)?;
                (v.map(|b| text(&b)).unwrap_or(Value::Null), 0)
            }
            "list" => {
                let len: usize = redis::cmd("LLEN")
                    .arg(key)
                    .query_async(conn)
                    .await
                    .map_err(err)?;
                let items: Vec<Vec<u8>> = redis::cmd("LRANGE")
                    .arg(key)
                    .arg(0)
                    .arg(limit - 1)
                    .query_async(conn)
                    .await
                    .map_err(err)?;
                (Value::Array(items.iter().map(|b| text(b)).collect()), len)
            }
            "zset" => {
                let len: usize = redis::cmd("ZCARD")
                    .arg(key)
                    .query_async(conn)
                    .await
                    .map_err(err)?;
                let items: Vec<(Vec<u8>, f64)> = redis::cmd("ZRANGE")
                    .arg(key)
                    .arg(0)
                    .arg(limit - 1)
                    .arg("WITHSCORES")
                    .query_async(conn)
                    .await
                    .map_err(err)?;
                (
                    Value::Array(
                        items
                            .iter()
                            .map(|(m, s)| json!({ "member": text(m), "score": s }))
                            .collect(),
                    ),
                    len,
                )
            }
            "hash" | "set" => {
                let (len_cmd, scan_cmd) = if kind == "hash" {
                    ("HLEN", "HSCAN")
                } else {
                    ("SCARD", "SSCAN")
                };
                let len: usize = redis::cmd(len_cmd)
                    .arg(key)
                    .query_async(conn)
                    .await
                    .map_err(err)?;
                let mut items: Vec<Vec<u8>> = Vec::new();
                let mut cursor: u64 = 0;
                loop {
                    let (next, batch): (u64, Vec<Vec<u8>>) = redis::cmd(scan_cmd)
                        .arg(key)
                        .arg(cursor)
                        .arg("COUNT")
                        .arg(self.settings.scan_count)
                        .query_async(conn)
                        .await
                        .map_err(err)?;
                    items.extend(batch);
                    cursor = next;
                    let per = if kind == "hash" { 2 } else { 1 };
                    if cursor == 0 || items.len() >= MAX_ELEMENTS * per {
                        break;
                    }
                }
                if kind == "hash" {
                    let mut fields: BTreeMap<String, Value> = BTreeMap::new();
                    for pair in items.chunks(2).take(MAX_ELEMENTS) {
                        if let [f, v] = pair {
                            fields.insert(String::from_utf8_lossy(f).into_owned(), text(v));
                        }
                    }
                    (Value::Object(fields.into_iter().collect()), len)
                } else {
                    let mut members: Vec<Value> =
                        items.iter().take(MAX_ELEMENTS).map(|b| text(b)).collect();
                    members.sort_by_key(|v| v.to_string());
                    members.dedup();
                    (Value::Array(members), len)
                }
            }
            // Streams and module types: listed, value not read.
            _ => (Value::Null, 0),
        };
        let mut row = Map::new();
        row.insert("key".into(), text(key));
        row.insert("type".into(), Value::String(kind));
        row.insert("value".into(), value);
        if len > MAX_ELEMENTS {
            row.insert("truncated".into(), Value::Bool(true));
            row.insert("length".into(), json!(len));
        }
        Ok(Some(row))
    }

    pub async fn access_rows(&self, who: &Identity) -> Result<AccessResult, ConnectorError> {
        let who = self.with_values(who).await?;
        let mut conn = self.connection().await?;
        let keys = self.keys(&mut conn, &who).await?;
        let mut tables = Vec::with_capacity(keys.len());
        for (t, keys) in self.settings.keys.iter().zip(keys) {
            let mut rows = Vec::with_capacity(keys.len());
            for k in &keys {
                if let Some(row) = self.read_key(&mut conn, k).await? {
                    rows.push(row);
                }
            }
            tables.push(TableRows {
                table: t.pattern.clone(),
                rows,
            });
        }
        Ok(AccessResult { tables })
    }

    pub async fn preview(&self, who: &Identity) -> Result<Preview, ConnectorError> {
        let who = self.with_values(who).await?;
        let mut conn = self.connection().await?;
        let keys = self.keys(&mut conn, &who).await?;
        Ok(Preview {
            tables: self
                .settings
                .keys
                .iter()
                .zip(keys)
                .map(|(t, keys)| PreviewTable {
                    table: t.pattern.clone(),
                    action: EraseAction::Delete,
                    rows: keys.len() as u64,
                    kept: 0,
                    keys: keys.iter().map(|k| vec![text(k)]).collect(),
                    fields: BTreeMap::new(),
                    implied_null: Vec::new(),
                    retain_reason: None,
                })
                .collect(),
        })
    }

    /// UNLINK every key of every template, then look again: the keys still found are
    /// the evidence (`rows_left`, 0 when complete). Running it twice is safe.
    pub async fn unlink(&self, who: &Identity) -> Result<ErasureEvidence, ConnectorError> {
        let who = self.with_values(who).await?;
        let mut conn = self.connection().await?;
        let keys = self.keys(&mut conn, &who).await?;
        let mut affected = Vec::with_capacity(keys.len());
        for keys in &keys {
            let mut n: u64 = 0;
            for chunk in keys.chunks(UNLINK_BATCH) {
                let removed: u64 = redis::cmd("UNLINK")
                    .arg(chunk)
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| self.db_error("unlinking keys", &e))?;
                n += removed;
            }
            affected.push(n);
        }
        let left = self.keys(&mut conn, &who).await?;
        Ok(ErasureEvidence {
            tables: self
                .settings
                .keys
                .iter()
                .zip(affected.into_iter().zip(left))
                .zip(&keys)
                .map(|((t, (n, left)), before)| ErasureTable {
                    table: t.pattern.clone(),
                    action: EraseAction::Delete,
                    rows_found: Some(before.len() as u64),
                    rows_affected: n,
                    rows_kept: 0,
                    kept_reason: None,
                    rows_left: left.len() as u64,
                    implied_null: Vec::new(),
                    left_reason: (!left.is_empty())
                        .then(|| "keys still found by the same patterns after UNLINK".to_string()),
                    retain_reason: None,
                })
                .collect(),
        })
    }
}

/// Bytes as a JSON string when they are UTF-8, else `{"base64": …}`.
fn text(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(s) => Value::String(s.to_string()),
        Err(_) => json!({ "base64": base64::engine::general_purpose::STANDARD.encode(bytes) }),
    }
}

#[async_trait]
impl Connector for RedisConnector {
    fn name(&self) -> &str {
        &self.name
    }

    async fn test(&self) -> Result<(), ConnectorError> {
        let mut conn = self.connection().await?;
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(|e| self.db_error("PING", &e))?;
        Ok(())
    }

    async fn access(&self, who: &Identity) -> Result<AccessResult, ConnectorError> {
        self.access_rows(who).await
    }

    async fn preview_erasure(&self, who: &Identity) -> Result<Preview, ConnectorError> {
        self.preview(who).await
    }

    async fn erase(
        &self,
        who: &Identity,
        _hasher: &Hasher,
    ) -> Result<ErasureEvidence, ConnectorError> {
        self.unlink(who).await
    }

    /// Keys hold copies (sessions, caches), not fields to correct: nothing to do.
    async fn rectify(
        &self,
        _who: &Identity,
        _corrections: &[(String, Value)],
    ) -> Result<RectifyReport, ConnectorError> {
        Ok(RectifyReport { tables: Vec::new() })
    }

    async fn restrict(
        &self,
        _who: &Identity,
        _lift: bool,
    ) -> Result<Option<SetReport>, ConnectorError> {
        Ok(None)
    }

    async fn object(&self, _who: &Identity) -> Result<Option<SetReport>, ConnectorError> {
        Ok(None)
    }

    async fn opt_out(
        &self,
        _who: &Identity,
        _scope: crate::domain::optout::OptOutScope,
        _opt_in: bool,
    ) -> Result<Option<SetReport>, ConnectorError> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_and_expand() {
        let t = KeyTemplate::parse("lead:{app.leads.id}:*").expect("valid");
        assert!(t.is_pattern());
        assert_eq!(
            t.references(),
            [("app".to_string(), "leads".to_string(), "id".to_string())]
        );
        let who = Identity::from_email("a*b@example.com").with_found(BTreeMap::from([(
            "app.leads.id".to_string(),
            vec!["1".to_string(), "2".to_string()],
        )]));
        assert_eq!(t.expand("cache", &who).unwrap(), ["lead:1:*", "lead:2:*"]);
        let s = KeyTemplate::parse("session:{email}").unwrap();
        assert!(!s.is_pattern());
        assert_eq!(
            s.expand("cache", &who).unwrap(),
            ["session:a*b@example.com"]
        );
        let g = KeyTemplate::parse("cart:{email}:*").unwrap();
        assert_eq!(
            g.expand("cache", &who).unwrap(),
            ["cart:a\\*b@example.com:*"]
        );
    }

    #[test]
    fn bad_templates_are_refused() {
        assert!(KeyTemplate::parse("session:*").is_err(), "no placeholder");
        assert!(KeyTemplate::parse("session:{email").is_err());
        assert!(KeyTemplate::parse("session:{phone}").is_err());
        assert!(KeyTemplate::parse("x:{a.b}").is_err());
    }
}
