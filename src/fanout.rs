//! Fan-out: starting a request creates one task per declared connector, each run by the
//! `connector.run` job (retried with backoff, limited per connector); when every task is
//! done the request moves to `review`, or completes when its kind auto-completes and
//! every task succeeded. Erasures are written to the erasure ledger with their task.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::connectors::{
    ConnectorDecl, ConnectorError, DataMap, EraseAction, Identity, SqlConnector,
};
use crate::domain::request::{Kind, Status};
use crate::error::AppError;
use crate::http::AppState;
use crate::jobs::{JobError, JobHandler};
use crate::store::{Changes, Job, LedgerEntry, NewJob, Request, Task};
use crate::workflow::{self, Actor, StaffAction};

pub const RUN_TASK: &str = "connector.run";

/// The connectors this deployment declared, ready to run.
pub struct Connectors {
    decls: Vec<ConnectorDecl>,
    engines: HashMap<String, Arc<dyn crate::connectors::Connector>>,
    /// At most `max_connections` tasks at once per connector in this process, so a
    /// burst of requests cannot exhaust a product database's connections.
    limits: HashMap<String, Arc<Semaphore>>,
}

impl Connectors {
    pub fn empty() -> Self {
        Self {
            decls: Vec::new(),
            engines: HashMap::new(),
            limits: HashMap::new(),
        }
    }

    /// Engines for the SQL connectors of `map` (pools connect on first use). Other
    /// kinds are declared but not run yet; they are reported, not ignored silently.
    pub fn from_datamap(map: &DataMap) -> Result<Self, String> {
        let mut out = Self::empty();
        for decl in map.connectors() {
            if !decl.kind().is_sql() {
                tracing::warn!(connector = decl.name(), kind = %decl.kind(), "connector kind not supported yet; it is skipped");
                continue;
            }
            let engine = SqlConnector::connect(decl.clone()).map_err(|e| e.to_string())?;
            out.limits.insert(
                decl.name().to_string(),
                Arc::new(Semaphore::new(decl.max_connections().max(1) as usize)),
            );
            out.engines
                .insert(decl.name().to_string(), Arc::new(engine));
            out.decls.push(decl.clone());
        }
        Ok(out)
    }

    pub fn names(&self) -> Vec<String> {
        self.decls.iter().map(|d| d.name().to_string()).collect()
    }

    pub fn get(&self, name: &str) -> Option<Arc<dyn crate::connectors::Connector>> {
        self.engines.get(name).cloned()
    }

    pub fn is_empty(&self) -> bool {
        self.engines.is_empty()
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

/// What a request kind asks of each connector.
pub fn operation(kind: Kind) -> &'static str {
    match kind {
        Kind::Access | Kind::Portability => "access",
        Kind::Erasure => "erase",
        Kind::Rectification => "rectify",
        Kind::Restriction => "restrict",
        Kind::Objection => "object",
    }
}

/// Add a task and its job per connector to `changes`; returns how many.
pub fn plan(state: &AppState, req: &Request, changes: &mut Changes) -> usize {
    let now = state.clock.now();
    for name in state.connectors.names() {
        let id = uuid::Uuid::now_v7().to_string();
        changes.tasks.push(Task {
            id: id.clone(),
            request_id: req.id.clone(),
            connector: name,
            operation: operation(req.kind).into(),
            status: "pending".into(),
            attempts: 0,
            error: None,
            evidence: None,
            result_ct: None,
            created_at: now,
            updated_at: now,
            finished_at: None,
        });
        changes.jobs.push(task_job(state, &id, &req.reference));
    }
    changes.tasks.len()
}

fn task_job(state: &AppState, task_id: &str, reference: &str) -> NewJob {
    let now = state.clock.now();
    NewJob {
        kind: RUN_TASK.into(),
        payload: json!({ "task_id": task_id, "reference": reference }),
        dedupe_key: None,
        run_at: now,
        max_attempts: i32::try_from(state.config.jobs.max_attempts).unwrap_or(8),
        created_at: now,
    }
}

/// Staff retry of a failed task.
pub async fn retry(state: &AppState, reference: &str, task_id: &str) -> Result<(), AppError> {
    let req = workflow::load(state, reference).await?;
    let task = state
        .store
        .task(task_id)
        .await?
        .filter(|t| t.request_id == req.id)
        .ok_or_else(|| AppError::NotFound("no such task on this request".into()))?;
    if !state.store.reset_task(&task.id, state.clock.now()).await? {
        return Err(AppError::Conflict {
            detail: format!(
                "only a failed task can be retried; this one is {}",
                task.status
            ),
            current_status: Some(req.status.to_string()),
        });
    }
    let job = task_job(state, &task.id, &req.reference);
    state.store.enqueue(&job).await?;
    state.queue.wake();
    Ok(())
}

fn retryable(e: &ConnectorError) -> bool {
    matches!(
        e,
        ConnectorError::Connect { .. } | ConnectorError::Database { .. }
    )
}

/// Runs one connector task.
pub struct RunTask;

#[async_trait]
impl JobHandler for RunTask {
    async fn run(&self, job: &Job, state: &AppState) -> Result<(), JobError> {
        let payload = &job.payload.0;
        let (Some(task_id), Some(reference)) =
            (payload["task_id"].as_str(), payload["reference"].as_str())
        else {
            return Err(JobError::permanent("payload needs task_id and reference"));
        };
        let store = &state.store;
        let retry = |e: crate::store::StoreError| JobError::retry(e.to_string());
        let Some(mut task) = store.task(task_id).await.map_err(retry)? else {
            return Err(JobError::permanent("task is gone"));
        };
        if !store
            .start_task(task_id, state.clock.now())
            .await
            .map_err(retry)?
        {
            return Ok(()); // already finished
        }
        let req = workflow::load(state, reference)
            .await
            .map_err(|e| JobError::permanent(e.to_string()))?;
        let outcome = run_operation(state, &req, &task).await;
        let now = state.clock.now();
        task.updated_at = now;
        let mut ledger = None;
        match outcome {
            Ok(done) => {
                task.status = if done.incomplete.is_some() {
                    "failed"
                } else {
                    "succeeded"
                }
                .into();
                task.error = done.incomplete;
                task.evidence = Some(done.evidence.to_string());
                task.result_ct = done.result.map(|r| state.keys.encrypt(&r.to_string()));
                task.finished_at = Some(now);
                ledger = done.ledger;
            }
            Err(e) if retryable(&e) && job.attempts < job.max_attempts => {
                tracing::warn!(reference = %req.reference, connector = %task.connector, error = %e, "connector task failed; will retry");
                return Err(JobError::retry(e.to_string()));
            }
            Err(e) => {
                tracing::error!(reference = %req.reference, connector = %task.connector, error = %e, "connector task failed");
                task.status = "failed".into();
                task.error = Some(e.to_string());
                task.finished_at = Some(now);
            }
        }
        store
            .finish_task(&task, ledger.as_ref())
            .await
            .map_err(retry)?;
        tracing::info!(reference = %req.reference, connector = %task.connector, status = %task.status, "connector task finished");
        after_tasks(state, &req.reference)
            .await
            .map_err(|e| JobError::retry(e.to_string()))?;
        Ok(())
    }
}

struct Done {
    evidence: Value,
    result: Option<Value>,
    ledger: Option<LedgerEntry>,
    /// Set when the operation ran but its evidence shows it is not complete.
    incomplete: Option<String>,
}

async fn run_operation(
    state: &AppState,
    req: &Request,
    task: &Task,
) -> Result<Done, ConnectorError> {
    let missing = |reason: &str| ConnectorError::CorrectionRefused {
        connector: task.connector.clone(),
        reason: reason.into(),
    };
    let email = req
        .email_ct
        .as_deref()
        .and_then(|c| state.keys.decrypt(c).ok())
        .ok_or_else(|| missing("the request no longer holds the subject's identity"))?;
    let who = Identity::from_email(&email);
    let engine = state
        .connectors
        .get(&task.connector)
        .ok_or_else(|| missing("the connector is no longer declared in the data map"))?;
    let limit = state.connectors.limits.get(&task.connector).cloned();
    let _permit = match &limit {
        Some(s) => s.acquire().await.ok(),
        None => None,
    };
    let plain = |evidence: Value| Done {
        evidence,
        result: None,
        ledger: None,
        incomplete: None,
    };
    match task.operation.as_str() {
        "access" => {
            let found = engine.access(&who).await?;
            let tables: Vec<Value> = found
                .tables
                .iter()
                .map(|t| json!({ "table": t.table, "rows": t.rows.len() }))
                .collect();
            Ok(Done {
                evidence: json!({ "rows": found.row_count(), "tables": tables }),
                result: Some(serde_json::to_value(&found).unwrap_or(Value::Null)),
                ledger: None,
                incomplete: None,
            })
        }
        "erase" => {
            let keys = state.keys.clone();
            let hasher = move |v: &str| hex::encode(keys.sign(v.as_bytes()));
            let evidence = engine.erase(&who, &hasher).await?;
            let left: u64 = evidence.tables.iter().map(|t| t.rows_left).sum();
            Ok(Done {
                incomplete: (!evidence.is_complete())
                    .then(|| format!("erasure incomplete: {left} row(s) still found afterwards")),
                evidence: serde_json::to_value(&evidence).unwrap_or(Value::Null),
                result: None,
                ledger: Some(LedgerEntry {
                    identity_hmac: state.keys.blind_index(who.email()),
                    identity_ct: Some(state.keys.encrypt(who.email())),
                    connector: task.connector.clone(),
                    request_ref: req.reference.clone(),
                    task_id: task.id.clone(),
                    at: state.clock.now(),
                }),
            })
        }
        "rectify" => {
            let corrections: Vec<workflow::Correction> = req
                .corrections_ct
                .as_deref()
                .and_then(|c| state.keys.decrypt(c).ok())
                .and_then(|c| serde_json::from_str(&c).ok())
                .unwrap_or_default();
            let pairs: Vec<(String, Value)> = corrections
                .into_iter()
                .map(|c| (c.field, Value::String(c.value)))
                .collect();
            let report = engine.rectify(&who, &pairs).await?;
            Ok(plain(serde_json::to_value(&report).unwrap_or(Value::Null)))
        }
        "restrict" => {
            let report = engine.restrict(&who, false).await?;
            Ok(plain(json!({ "restriction": report })))
        }
        "object" => {
            let report = engine.object(&who).await?;
            Ok(plain(json!({ "objection": report })))
        }
        other => Err(missing(&format!("unknown operation {other}"))),
    }
}

/// When every task of an `in_progress` request is finished: on to `review`, and on to
/// `completed` when the kind auto-completes and every task succeeded.
pub async fn after_tasks(state: &AppState, reference: &str) -> Result<(), AppError> {
    for _ in 0..3 {
        let req = workflow::load(state, reference).await?;
        if req.status != Status::InProgress {
            return Ok(());
        }
        let tasks = state.store.tasks_for_request(&req.id).await?;
        if tasks
            .iter()
            .any(|t| t.status == "pending" || t.status == "running")
        {
            return Ok(());
        }
        let all_ok = tasks.iter().all(|t| t.status == "succeeded");
        match workflow::finish_tasks(state, req).await {
            Ok(next) => {
                if all_ok && state.config.workflow.auto_complete.contains(&next.kind) {
                    // Access and portability: the package is built before completing,
                    // so the completion email carries its link. Without a package the
                    // request stays in review for staff.
                    let download_url = if matches!(next.kind, Kind::Access | Kind::Portability) {
                        match crate::export::create(state, &next).await {
                            Ok(url) => Some(url),
                            Err(e) => {
                                tracing::error!(reference = %next.reference, error = %e, "export package failed; the request stays in review");
                                return Ok(());
                            }
                        }
                    } else {
                        None
                    };
                    // Boxed: `act` itself calls back here when a request is resumed.
                    Box::pin(workflow::act(
                        state,
                        &Actor::system(),
                        reference,
                        StaffAction::Complete {
                            note: None,
                            download_url,
                        },
                    ))
                    .await?;
                }
                return Ok(());
            }
            // Another task finished at the same moment: look again.
            Err(AppError::Conflict { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
