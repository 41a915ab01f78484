//! `rightsdesk check` for the data map: every file parsed and validated, then per
//! connector a connection test and, for SQL connectors, the live catalogue check
//! (tables and columns exist, types are readable) and the index advice.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::DatamapProblem;
use crate::connectors::Connectors;

/// How long one connector may take to answer before it is reported as not answering.
const TEST_TIMEOUT: Duration = Duration::from_secs(20);

/// One declared connector's result.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectorCheck {
    pub name: String,
    pub kind: String,
    pub ok: bool,
    /// Connection and catalogue problems (no values, no credentials).
    pub problems: Vec<String>,
    /// What an erasure will do that the data map leaves implicit (does not fail `check`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What works but should be fixed, without failing the check: columns the engine
    /// filters on that no index serves, with the statement that creates the index.
    pub advice: Vec<String>,
    /// The same advice for scripts (see [`super::sql::IndexAdvice`]).
    pub indexes: Vec<super::sql::IndexAdvice>,
}

/// The data map's problems (file and key), and each connector's check when it parsed.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub datamap: Vec<DatamapProblem>,
    pub connectors: Vec<ConnectorCheck>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.datamap.is_empty() && self.connectors.iter().all(|c| c.ok)
    }
}

pub async fn run(datamap_dir: &Path, env_allow: &[String]) -> Report {
    let map = match super::load_dir(datamap_dir, env_allow) {
        Ok(map) => map,
        Err(problems) => {
            return Report {
                datamap: problems,
                connectors: Vec::new(),
            };
        }
    };
    let engines = match Connectors::from_datamap(&map) {
        Ok(c) => c,
        Err(e) => {
            return Report {
                datamap: vec![DatamapProblem::new(
                    &datamap_dir.display().to_string(),
                    "",
                    e,
                )],
                connectors: Vec::new(),
            };
        }
    };
    let mut connectors = Vec::new();
    for decl in map.connectors() {
        let mut problems = Vec::new();
        if let Some(engine) = engines.get(decl.name()) {
            match tokio::time::timeout(TEST_TIMEOUT, engine.test()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => problems.push(e.to_string()),
                Err(_) => problems.push(format!(
                    "connector \"{}\": no answer within {} s",
                    decl.name(),
                    TEST_TIMEOUT.as_secs()
                )),
            }
        }
        let mut notes = Vec::new();
        if problems.is_empty()
            && let Some(sql) = engines.sql(decl.name())
        {
            // The catalogue, date samples and one dry-run batch per retention policy.
            let now = chrono::Utc::now();
            match tokio::time::timeout(TEST_TIMEOUT, sql.check_connector(now)).await {
                Ok(Ok(found)) => {
                    problems.extend(found.problems.iter().map(ToString::to_string));
                    notes = found.notes;
                }
                Ok(Err(e)) => problems.push(e.to_string()),
                Err(_) => problems.push("the catalogue check timed out".into()),
            }
        }
        let mut indexes = Vec::new();
        if problems.is_empty()
            && let Some(sql) = engines.sql(decl.name())
        {
            match tokio::time::timeout(TEST_TIMEOUT, sql.index_advisor()).await {
                Ok(Ok(found)) => indexes = found,
                Ok(Err(e)) => problems.push(e.to_string()),
                Err(_) => problems.push("the index check timed out".into()),
            }
        }
        connectors.push(ConnectorCheck {
            name: decl.name().to_string(),
            kind: decl.kind().to_string(),
            ok: problems.is_empty(),
            problems,
            notes,
            advice: indexes.iter().map(ToString::to_string).collect(),
            indexes,
        });
    }
    Report {
        datamap: Vec::new(),
        connectors,
    }
}

impl std::fmt::Display for Report {
    /// A table: one line per connector (and per problem), data-map problems first.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for p in &self.datamap {
            writeln!(f, "data map: {p}")?;
        }
        if self.connectors.is_empty() {
            return Ok(());
        }
        let width = self
            .connectors
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(9)
            .max(9);
        writeln!(f, "{:width$}  {:8}  STATUS", "CONNECTOR", "KIND")?;
        for c in &self.connectors {
            let status = if c.ok { "ok" } else { "FAILED" };
            writeln!(f, "{:width$}  {:8}  {status}", c.name, c.kind)?;
            for p in &c.problems {
                writeln!(f, "{:width$}  {:8}    {p}", "", "")?;
            }
            for n in &c.notes {
                writeln!(f, "{:width$}  {:8}    note: {n}", "", "")?;
            }
            for a in &c.advice {
                writeln!(f, "{:width$}  {:8}    advice: {a}", "", "")?;
            }
        }
        Ok(())
    }
}
