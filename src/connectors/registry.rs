//! The connectors a deployment declared, built into engines and ready to run: the
//! registry the services look connectors up in (by name, by kind, in dependency order).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::connectors::http::HttpConnector;
use crate::connectors::manual::ManualConnector;
use crate::connectors::redis::RedisConnector;
use crate::connectors::{
    ConnectorDecl, ConnectorError, ConnectorKind, DataMap, EraseAction, SqlConnector,
};

/// The connectors this deployment declared, ready to run.
pub struct Connectors {
    decls: Vec<ConnectorDecl>,
    engines: HashMap<String, Arc<dyn crate::connectors::Connector>>,
    /// At most `max_connections` tasks at once per connector in this process, so a
    /// burst of requests cannot exhaust a product database's connections.
    limits: HashMap<String, Arc<Semaphore>>,
    /// The SQL engines again, typed: retention purges use their pools (src/services/retention).
    sql: HashMap<String, Arc<SqlConnector>>,
    /// Connectors run outside the database engines: an endpoint, or a person.
    http: HashMap<String, Arc<HttpConnector>>,
    manual: HashMap<String, Arc<ManualConnector>>,
    /// Connector -> the connectors (and their `(table, column)`s) its key templates use;
    /// its task runs after theirs.
    depends_on: HashMap<String, BTreeMap<String, Vec<(String, String)>>>,
}

impl Connectors {
    pub fn empty() -> Self {
        Self {
            decls: Vec::new(),
            engines: HashMap::new(),
            limits: HashMap::new(),
            sql: HashMap::new(),
            http: HashMap::new(),
            manual: HashMap::new(),
            depends_on: HashMap::new(),
        }
    }

    /// Engines for the SQL connectors of `map` (pools connect on first use). Other
    /// kinds are declared but not run yet; they are reported, not ignored silently.
    pub fn from_datamap(map: &DataMap) -> Result<Self, String> {
        let mut out = Self::empty();
        // SQL first: Redis key templates read their values from SQL connectors.
        let (sql, others): (Vec<&ConnectorDecl>, Vec<&ConnectorDecl>) =
            map.connectors().iter().partition(|d| d.kind().is_sql());
        for decl in sql {
            let engine = Arc::new(SqlConnector::connect(decl.clone()).map_err(|e| e.to_string())?);
            out.sql.insert(decl.name().to_string(), engine.clone());
            out.limits.insert(
                decl.name().to_string(),
                Arc::new(Semaphore::new(decl.max_connections().max(1) as usize)),
            );
            out.engines.insert(decl.name().to_string(), engine);
            out.decls.push(decl.clone());
        }
        for decl in others {
            out.add_other(decl).map_err(|e| e.to_string())?;
        }
        Ok(out)
    }

    pub fn names(&self) -> Vec<String> {
        self.decls.iter().map(|d| d.name().to_string()).collect()
    }

    pub fn get(&self, name: &str) -> Option<Arc<dyn crate::connectors::Connector>> {
        self.engines.get(name).cloned()
    }

    /// The declaration of connector `name`.
    pub fn decl(&self, name: &str) -> Option<&ConnectorDecl> {
        self.decls.iter().find(|d| d.name() == name)
    }

    /// Why connector `name` has nothing to do for `operation` (see
    /// [`crate::connectors::declared::skip_reason`]).
    pub fn skip_reason(&self, name: &str, operation: &str, fields: &[&str]) -> Option<String> {
        self.decl(name)
            .and_then(|d| crate::connectors::declared::skip_reason(d, operation, fields))
    }

    /// The correction fields that no declared connector can apply.
    pub fn unmatched_corrections<'a>(&self, fields: &[&'a str]) -> Vec<&'a str> {
        if self.decls.is_empty() {
            return Vec::new();
        }
        crate::connectors::declared::unmatched_corrections(&self.decls, fields)
    }

    pub fn is_empty(&self) -> bool {
        self.engines.is_empty()
    }

    /// The declarations of the connectors this service runs (retention policies live there).
    pub fn decls(&self) -> &[ConnectorDecl] {
        &self.decls
    }

    /// The SQL engine of a connector, for retention purges.
    pub fn sql(&self, name: &str) -> Option<Arc<SqlConnector>> {
        self.sql.get(name).cloned()
    }

    /// Tables kept despite an erasure, and why (GDPR art. 17(3)), for the subject.
    pub fn retained(&self) -> Vec<Value> {
        self.decls
            .iter()
            .flat_map(|d| d.tables().iter())
            .filter(|t| t.erase == EraseAction::Retain)
            .map(|t| json!({ "table": t.name, "reason": t.retain_reason.clone().unwrap_or_default() }))
            .collect()
    }
}

impl Connectors {
    /// Add a connector of a kind that is not SQL (called after every SQL connector).
    fn add_other(&mut self, decl: &ConnectorDecl) -> Result<(), ConnectorError> {
        let name = decl.name().to_string();
        let engine: Arc<dyn crate::connectors::Connector> = match decl.kind() {
            ConnectorKind::Redis => {
                let deps = decl
                    .redis_settings()
                    .map(RedisConnector::dependencies)
                    .unwrap_or_default();
                let sources = deps
                    .keys()
                    .filter_map(|c| self.sql.get(c).map(|e| (c.clone(), e.clone())))
                    .collect();
                if !deps.is_empty() {
                    self.depends_on.insert(name.clone(), deps);
                }
                Arc::new(RedisConnector::new(decl)?.with_sources(sources))
            }
            ConnectorKind::Http => {
                let h = Arc::new(HttpConnector::new(decl)?);
                self.http.insert(name.clone(), h.clone());
                h
            }
            ConnectorKind::Manual => {
                let m = Arc::new(ManualConnector::new(decl)?);
                self.manual.insert(name.clone(), m.clone());
                m
            }
            _ => return Ok(()),
        };
        self.limits.insert(
            name.clone(),
            Arc::new(Semaphore::new(decl.max_connections().max(1) as usize)),
        );
        self.engines.insert(name, engine);
        self.decls.push(decl.clone());
        Ok(())
    }

    pub fn http(&self, name: &str) -> Option<Arc<HttpConnector>> {
        self.http.get(name).cloned()
    }

    pub fn manual(&self, name: &str) -> Option<Arc<ManualConnector>> {
        self.manual.get(name).cloned()
    }

    /// The connectors whose tasks must finish before `name`'s runs.
    pub fn dependencies(&self, name: &str) -> Vec<String> {
        self.depends_on
            .get(name)
            .map(|d| d.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// `(table, column)`s of `name` that other connectors' key templates use.
    pub fn referenced(&self, name: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for cols in self.depends_on.values().filter_map(|d| d.get(name)) {
            for c in cols {
                if !out.contains(c) {
                    out.push(c.clone());
                }
            }
        }
        out
    }

    /// Whether any connector's tasks wait for other connectors' tasks.
    pub fn any_dependencies(&self) -> bool {
        !self.depends_on.is_empty()
    }

    /// Whether `name`'s tasks wait for other connectors' tasks.
    pub fn has_dependencies(&self, name: &str) -> bool {
        self.depends_on.contains_key(name)
    }

    /// The `(table, column)`s of each connector `name`'s key templates use.
    pub fn dependency_columns(
        &self,
        name: &str,
    ) -> Option<&BTreeMap<String, Vec<(String, String)>>> {
        self.depends_on.get(name)
    }

    /// The per-connector limit on tasks running at once in this process.
    pub fn limit(&self, name: &str) -> Option<Arc<Semaphore>> {
        self.limits.get(name).cloned()
    }

    /// A turn under connector `name`'s limit, held until dropped (`None`: no limit).
    pub async fn turn(&self, name: &str) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.limit(name)?.acquire_owned().await.ok()
    }
}
