//! Fan-out: starting a request creates one task per declared connector, each run by the
//! `connector.run` job (retried with backoff, limited per connector); when every task is
//! done the request moves to `review`, or completes when its kind auto-completes and
//! every task succeeded. Erasures are written to the erasure ledger with their task.
//!
//! A task whose connector declares nothing for its operation (no `[objection]`, no field
//! a correction names) ends `skipped` with the reason, without a job; a rectification
//! whose corrections name a field no connector declares is not run at all and stops in
//! `review` for staff to edit the corrections (`connectors::declared`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::app::context::AppState;
use crate::connectors::http::{External, HttpConnector, Outcome};
use crate::connectors::manual::ManualConnector;
use crate::connectors::{ConnectorError, Identity};
use crate::domain::optout::OptOutScope;
use crate::domain::request::{Kind, Status};
use crate::error::AppError;
use crate::jobs::{JobError, JobHandler};
use crate::services::tasks::{is_finished, operation};
use crate::services::workflow::{self, LastTask};
use crate::store::{Changes, FinishedTask, Job, LedgerEntry, NewJob, Request, Task, TaskToken};

pub const RUN_TASK: &str = "connector.run";

/// What starting a request planned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Planned {
    /// Tasks created (skipped ones included).
    pub tasks: usize,
    /// Tasks that will run (pending or blocked); the others were skipped at once.
    pub to_run: usize,
    /// Why nothing was run (a rectification naming fields no connector declares): the
    /// request goes straight to `review` with this note for staff.
    pub not_run: Option<String>,
}

/// Add a task and its job per connector to `changes`. A connector that declares nothing
/// for the operation gets a `skipped` task with the reason and no job.
pub fn plan(state: &AppState, req: &Request, changes: &mut Changes) -> Planned {
    let now = state.clock.now();
    let op = operation(req.kind);
    let corrections = if req.kind == Kind::Rectification {
        corrections_of(state, req)
    } else {
        Vec::new()
    };
    let mut fields: Vec<&str> = corrections.iter().map(|(f, _)| f.as_str()).collect();
    let unmatched = state.connectors.unmatched_corrections(&fields);
    let opt_in = opt_in_scope(req);
    if req.kind == Kind::OptIn {
        fields = vec![opt_in.code()];
    }
    if !unmatched.is_empty() {
        return Planned {
            not_run: Some(not_run_note(&unmatched)),
            ..Planned::default()
        };
    }
    let mut planned = Planned::default();
    for name in state.connectors.names() {
        let id = uuid::Uuid::now_v7().to_string();
        let mut task = new_task(id.clone(), req, name.clone(), op, "pending", now);
        planned.tasks += 1;
        if let Some(reason) = state.connectors.skip_reason(&name, op, &fields) {
            task.status = "skipped".into();
            task.error = Some(reason);
            task.finished_at = Some(now);
            changes.tasks.push(task);
            continue;
        }
        planned.to_run += 1;
        // A connector whose key templates use another's rows waits for that task
        // (`release_blocked` enqueues it); the others start at once.
        if state.connectors.has_dependencies(&name) {
            task.status = "blocked".into();
        } else {
            changes
                .jobs
                .push(task_job(state, &id, &name, op, &req.reference));
        }
        changes.tasks.push(task);
    }
    planned
}

/// The scope an `opt_in` request takes back (`sale` for any other request; unused there).
fn opt_in_scope(req: &Request) -> OptOutScope {
    OptOutScope::of_opt_in(req.scope.as_deref())
}

/// The staff note of a rectification that was not run.
pub fn not_run_note(unmatched: &[&str]) -> String {
    format!(
        "not run: no connector declares a field (rectify = true) for the correction(s) {}; \
         edit the corrections, then run the request again",
        unmatched.join(", ")
    )
}

fn new_task(
    id: String,
    req: &Request,
    connector: String,
    operation: &str,
    status: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Task {
    Task {
        id,
        request_id: req.id.clone(),
        connector,
        operation: operation.into(),
        status: status.into(),
        attempts: 0,
        error: None,
        evidence: None,
        result_ct: None,
        created_at: now,
        updated_at: now,
        finished_at: None,
    }
}

/// The job that runs task `task_id` of `connector`. Access and erasure tasks on a
/// connector that runs several subjects at once carry a batch key, so that a worker runs
/// the ready ones together (up to `connectors.batch_subjects`; see
/// [`RunTask::run_batch`]).
fn task_job(
    state: &AppState,
    task_id: &str,
    connector: &str,
    operation: &str,
    reference: &str,
) -> NewJob {
    let now = state.clock.now();
    let together = matches!(operation, "erase" | "access")
        && state.config.connectors.batch_subjects > 1
        && state
            .connectors
            .get(connector)
            .is_some_and(|engine| engine.runs_together());
    NewJob {
        kind: RUN_TASK.into(),
        payload: json!({ "task_id": task_id, "reference": reference }),
        dedupe_key: None,
        batch_key: together.then(|| format!("{operation}:{connector}")),
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
    let job = task_job(
        state,
        &task.id,
        &task.connector,
        &task.operation,
        &req.reference,
    );
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

/// Outcomes of tasks run together that are recorded at the same time.
const CONCLUDE_AT_ONCE: usize = 8;

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
        // The task started and read in one statement (with the attempts before this
        // one), and its request read, side by side: one round trip's wait.
        let (task, req) = tokio::join!(
            store.start_task_read(task_id, state.clock.now()),
            workflow::load(state, reference)
        );
        let Some(task) = task.map_err(retry)? else {
            if store.task(task_id).await.map_err(retry)?.is_none() {
                return Err(JobError::permanent("task is gone"));
            }
            // Already finished (or waiting for a callback): a job retried after a crash
            // still moves the request on and releases the tasks that wait for this one.
            return task_ended(state, reference)
                .await
                .map_err(|e| JobError::retry(e.to_string()));
        };
        let req = req.map_err(|e| JobError::permanent(e.to_string()))?;
        let outcome = match run_external(state, &req, &task).await {
            Some(Ok(External::Waiting)) => {
                tracing::info!(reference = %req.reference, connector = %task.connector, "connector task waiting for its callback or completion link");
                return Ok(());
            }
            Some(Ok(External::Done(o))) => store_outcome(state, &req, &task, o).await,
            Some(Err(e)) => Err(e),
            None => run_operation(state, &req, &task).await,
        };
        conclude(state, job, task, &req, outcome).await
    }

    fn batch_limit(&self, state: &AppState) -> usize {
        state.config.connectors.batch_subjects
    }

    /// Access and erasure tasks of one connector run together (see `connectors::sql`'s
    /// traversal of several subjects): each is checked as if alone, the connector reads
    /// or erases every subject in one go, and each task's outcome is its own. A task
    /// that cannot join (another operation, under legal hold, its request gone...) runs
    /// alone, and so does every task of a group the connector cannot read together.
    async fn run_batch(&self, jobs: &[Job], state: &AppState) -> Vec<Result<(), JobError>> {
        let mut out: Vec<Option<Result<(), JobError>>> = (0..jobs.len()).map(|_| None).collect();
        let mut groups: BTreeMap<(String, String), Vec<Member>> = BTreeMap::new();
        for (i, job) in jobs.iter().enumerate() {
            match ready_together(state, job).await {
                Some((task, req, who)) => groups
                    .entry((task.connector.clone(), task.operation.clone()))
                    .or_default()
                    .push((i, task, req, who)),
                None => out[i] = Some(self.run(job, state).await),
            }
        }
        for ((connector, operation), members) in groups {
            let engine = state.connectors.get(&connector);
            let done = match engine {
                Some(engine) if operation == "access" => {
                    access_together(state, jobs, engine, members, &mut out).await
                }
                Some(engine) => erase_together(state, jobs, engine, members, &mut out).await,
                None => Err(members),
            };
            // Not run together: each alone.
            if let Err(members) = done {
                for (i, ..) in members {
                    out[i] = Some(self.run(&jobs[i], state).await);
                }
            }
        }
        out.into_iter()
            .map(|o| o.unwrap_or_else(|| Err(JobError::retry("the task was not run"))))
            .collect()
    }
}

/// A task of a batch that runs with others: its index in the batch, task, request and
/// subject.
type Member = (usize, Task, Request, Identity);

/// Outcomes of a batch's tasks, by index; `None` until recorded.
type Outcomes = Vec<Option<Result<(), JobError>>>;

/// Start every task of `members` and erase their subjects together; each task's outcome
/// goes to `out`.
async fn erase_together(
    state: &AppState,
    jobs: &[Job],
    engine: std::sync::Arc<dyn crate::connectors::Connector>,
    members: Vec<Member>,
    out: &mut Outcomes,
) -> Result<(), Vec<Member>> {
    let mut started = Vec::with_capacity(members.len());
    for (i, task, req, who) in members {
        match state.store.start_task(&task.id, state.clock.now()).await {
            Ok(true) => started.push((i, task, req, who)),
            Ok(false) => {
                out[i] = Some(
                    task_ended(state, &req.reference)
                        .await
                        .map_err(|e| JobError::retry(e.to_string())),
                )
            }
            Err(e) => out[i] = Some(Err(JobError::retry(e.to_string()))),
        }
    }
    if started.is_empty() {
        return Ok(());
    }
    let whos: Vec<Identity> = started.iter().map(|(.., who)| who.clone()).collect();
    let hasher = hasher(state);
    let began = std::time::Instant::now();
    let results = {
        let _turn = state.connectors.turn(engine.name()).await;
        engine.erase_many(&whos, &hasher).await
    };
    tracing::info!(
        connector = %engine.name(),
        subjects = whos.len(),
        ms = began.elapsed().as_millis() as u64,
        "erasure tasks ran together"
    );
    conclude_all(
        state,
        jobs,
        started
            .into_iter()
            .zip(results)
            .map(|((i, task, req, who), result)| {
                let outcome = result.map(|evidence| erased(state, &req, &task, &who, evidence));
                (i, task, req, Finish::Ran(Box::new(outcome)))
            })
            .collect(),
        out,
    )
    .await;
    Ok(())
}

/// Read every subject of `members` together, then start each task and store its rows;
/// each task's outcome goes to `out`. `Err` (nothing started) when the connector cannot
/// read them together.
async fn access_together(
    state: &AppState,
    jobs: &[Job],
    engine: std::sync::Arc<dyn crate::connectors::Connector>,
    members: Vec<Member>,
    out: &mut Outcomes,
) -> Result<(), Vec<Member>> {
    let whos: Vec<Identity> = members.iter().map(|(.., who)| who.clone()).collect();
    let began = std::time::Instant::now();
    let read = {
        let _turn = state.connectors.turn(engine.name()).await;
        engine.access_many(&whos).await
    };
    let results = match read {
        Ok(Some(results)) if results.len() == members.len() => results,
        Ok(_) => return Err(members),
        Err(e) => {
            tracing::warn!(connector = %engine.name(), subjects = whos.len(), error = %e, "reading subjects together failed; reading each alone");
            return Err(members);
        }
    };
    tracing::info!(
        connector = %engine.name(),
        subjects = whos.len(),
        ms = began.elapsed().as_millis() as u64,
        "access tasks ran together"
    );
    conclude_all(
        state,
        jobs,
        members
            .into_iter()
            .zip(results)
            .map(|((i, task, req, _), result)| (i, task, req, Finish::Access(result)))
            .collect(),
        out,
    )
    .await;
    Ok(())
}

/// What is left to do for a task of a batch once its connector has run.
enum Finish {
    /// The task was started and its operation ran: record the outcome.
    Ran(Box<Result<Done, ConnectorError>>),
    /// Start the task, then store these rows as its access result.
    Access(crate::connectors::AccessResult),
}

/// Finish every task of a batch, several at a time (each is a few of our own
/// statements), as if each had run alone; each outcome goes to `out`.
async fn conclude_all(
    state: &AppState,
    jobs: &[Job],
    items: Vec<(usize, Task, Request, Finish)>,
    out: &mut Outcomes,
) {
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(CONCLUDE_AT_ONCE));
    let mut concluding = tokio::task::JoinSet::new();
    for (i, task, req, finish) in items {
        let (state, job, gate) = (state.clone(), jobs[i].clone(), gate.clone());
        concluding.spawn(tracing::Instrument::in_current_span(async move {
            let _turn = gate.acquire_owned().await;
            let outcome = match finish {
                Finish::Ran(outcome) => conclude(&state, &job, task, &req, *outcome).await,
                Finish::Access(result) => {
                    match state.store.start_task(&task.id, state.clock.now()).await {
                        Ok(true) => {
                            let outcome = store_access(&state, &task, result).await;
                            conclude(&state, &job, task, &req, outcome).await
                        }
                        Ok(false) => task_ended(&state, &req.reference)
                            .await
                            .map_err(|e| JobError::retry(e.to_string())),
                        Err(e) => Err(JobError::retry(e.to_string())),
                    }
                }
            };
            (i, outcome)
        }));
    }
    while let Some(done) = concluding.join_next().await {
        match done {
            Ok((i, outcome)) => out[i] = Some(outcome),
            Err(e) => tracing::error!(error = %e, "recording a connector task's outcome failed"),
        }
    }
}

/// Store an access result read for several subjects as the task's result parts (as
/// the task would have streamed them alone).
async fn store_access(
    state: &AppState,
    task: &Task,
    result: crate::connectors::AccessResult,
) -> Result<Done, ConnectorError> {
    let mut sink = crate::services::task_results::PartWriter::begin(state, task)
        .await
        .map_err(|e| ConnectorError::Database {
            connector: task.connector.clone(),
            operation: "storing the access result".into(),
            reason: e.to_string(),
        })?;
    let found = crate::connectors::feed(&task.connector, result, &mut sink).await?;
    let (_, written) = sink
        .finish_kept()
        .await
        .map_err(|e| e.into_connector_error(&task.connector))?;
    Ok(accessed(&found, written))
}

/// The evidence of an access task: the rows found per table; and its parts as written,
/// when small enough to keep for the package.
fn accessed(
    found: &crate::connectors::AccessCounts,
    written: Option<crate::services::task_results::Written>,
) -> Done {
    let tables: Vec<Value> = found
        .tables
        .iter()
        .map(|t| json!({ "table": t.table, "rows": t.rows }))
        .collect();
    Done {
        written,
        ..Done::evidence(json!({ "rows": found.row_count(), "tables": tables }))
    }
}

/// A task of `job` that can run with others (see [`RunTask::run_batch`]): an access or
/// erasure on a connector that runs them together, with its task, request and subject,
/// read without changing anything. `None` for anything else, which then runs alone and
/// reports its own problem.
async fn ready_together(state: &AppState, job: &Job) -> Option<(Task, Request, Identity)> {
    let payload = &job.payload.0;
    let (task_id, reference) = (payload["task_id"].as_str()?, payload["reference"].as_str()?);
    let task = state.store.task(task_id).await.ok()??;
    if !matches!(task.operation.as_str(), "erase" | "access")
        || task.status != "pending"
        || !state
            .connectors
            .get(&task.connector)
            .is_some_and(|e| e.runs_together())
        || state.connectors.http(&task.connector).is_some()
        || state.connectors.manual(&task.connector).is_some()
        || state
            .connectors
            .skip_reason(&task.connector, &task.operation, &[])
            .is_some()
    {
        return None;
    }
    let req = workflow::load(state, reference).await.ok()?;
    let email = req.email_ct.as_deref().and_then(|c| {
        state
            .keys
            .open_at(crate::crypto::Field::request("email_ct", &req.id), c)
            .ok()
    })?;
    let who = identity_with_values(state, &req, &task, Identity::from_email(&email))
        .await
        .ok()?;
    if task.operation == "access" {
        return Some((task, req, who));
    }
    match crate::services::retention::holds::active_for(state, who.email()).await {
        Ok(None) => Some((task, req, who)),
        _ => None,
    }
}

/// Record what a connector task did (or why it failed) on the task, then move the
/// request on; a retryable failure goes back to the queue instead.
async fn conclude(
    state: &AppState,
    job: &Job,
    mut task: Task,
    req: &Request,
    outcome: Result<Done, ConnectorError>,
) -> Result<(), JobError> {
    let store = &state.store;
    let retry = |e: crate::store::StoreError| JobError::retry(e.to_string());
    let now = state.clock.now();
    task.updated_at = now;
    let (mut ledger, mut written) = (None, None);
    match outcome {
        Ok(done) => {
            (task.status, task.error) = match (done.skipped, done.incomplete) {
                (Some(reason), _) => ("skipped".into(), Some(reason)),
                (None, Some(incomplete)) => ("failed".into(), Some(incomplete)),
                (None, None) => ("succeeded".into(), None),
            };
            task.evidence = Some(done.evidence.to_string());
            task.result_ct = done.result.map(|r| {
                state.keys.seal_at(
                    crate::crypto::Field::task("result_ct", &task.id),
                    &r.to_string(),
                )
            });
            task.finished_at = Some(now);
            ledger = done.ledger;
            written = done.written.filter(|_| task.status == "succeeded");
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
    // The request's last task: its finish goes with the completion when the request
    // completes by itself; else it is stored alone and the request moves on as usual.
    let (connector, status) = (task.connector.clone(), task.status.clone());
    let finished = FinishedTask { task, ledger };
    let (finished, written) = match workflow::finish_last_task(state, req, finished, written)
        .await
        .map_err(|e| JobError::retry(e.to_string()))?
    {
        LastTask::Stored => {
            tracing::info!(reference = %req.reference, connector = %connector, status = %status, "connector task finished with its request's completion");
            return Ok(());
        }
        LastTask::Alone(finished, written) => (*finished, written),
    };
    let task = &finished.task;
    store
        .finish_task(task, finished.ledger.as_ref())
        .await
        .map_err(retry)?;
    tracing::info!(reference = %req.reference, connector = %task.connector, status = %task.status, "connector task finished");
    release_ready(state, &req.reference)
        .await
        .map_err(|e| JobError::retry(e.to_string()))?;
    // The request as read when the task began: the workflow reads it again only when
    // it changed meanwhile.
    workflow::tasks_progressed_from(state, &req.reference, Some(req.clone()), written)
        .await
        .map_err(|e| JobError::retry(e.to_string()))?;
    Ok(())
}

struct Done {
    evidence: Value,
    result: Option<Value>,
    ledger: Option<LedgerEntry>,
    /// Set when the operation ran but its evidence shows it is not complete.
    incomplete: Option<String>,
    /// Set when the connector declares nothing for the operation: nothing was run.
    skipped: Option<String>,
    /// An access task's result parts as just written (see `task_results::Written`).
    written: Option<crate::services::task_results::Written>,
}

impl Done {
    fn evidence(evidence: Value) -> Self {
        Self {
            evidence,
            result: None,
            ledger: None,
            incomplete: None,
            skipped: None,
            written: None,
        }
    }

    fn skipped(reason: String) -> Self {
        Self {
            skipped: Some(reason),
            ..Self::evidence(Value::Null)
        }
    }
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
    // Checked again when the task runs: the data map may have changed since it was planned.
    let corrections = if task.operation == "rectify" {
        corrections_of(state, req)
    } else {
        Vec::new()
    };
    let mut fields: Vec<&str> = corrections.iter().map(|(f, _)| f.as_str()).collect();
    let opt_in = opt_in_scope(req);
    if task.operation == "opt_in" {
        fields = vec![opt_in.code()];
    }
    if let Some(reason) = state
        .connectors
        .skip_reason(&task.connector, &task.operation, &fields)
    {
        return Ok(Done::skipped(reason));
    }
    let email = req
        .email_ct
        .as_deref()
        .and_then(|c| {
            state
                .keys
                .open_at(crate::crypto::Field::request("email_ct", &req.id), c)
                .ok()
        })
        .ok_or_else(|| missing("the request no longer holds the subject's identity"))?;
    let who = identity_with_values(state, req, task, Identity::from_email(&email)).await?;
    let engine = state
        .connectors
        .get(&task.connector)
        .ok_or_else(|| missing("the connector is no longer declared in the data map"))?;
    let _turn = state.connectors.turn(&task.connector).await;
    match task.operation.as_str() {
        "access" => {
            // The rows stream into `task_result_parts` (encrypted, in parts the export
            // streams) as the connector reads them; `tasks.result_ct` stays empty. Read
            // them back with `crate::services::task_results`.
            let mut sink = crate::services::task_results::PartWriter::begin(state, task)
                .await
                .map_err(|e| ConnectorError::Database {
                    connector: task.connector.clone(),
                    operation: "storing the access result".into(),
                    reason: e.to_string(),
                })?;
            let found = engine.access_into(&who, &mut sink).await?;
            let (_, written) = sink
                .finish_kept()
                .await
                .map_err(|e| e.into_connector_error(&task.connector))?;
            Ok(accessed(&found, written))
        }
        "erase" => {
            // A subject under legal hold is not erased while the hold lasts (src/services/retention).
            if let Some(hold) = crate::services::retention::holds::active_for(state, who.email())
                .await
                .map_err(|e| ConnectorError::Database {
                    connector: task.connector.clone(),
                    operation: "checking legal holds".into(),
                    reason: e.to_string(),
                })?
            {
                tracing::warn!(reference = %req.reference, connector = %task.connector, hold = %hold, "erasure refused: legal hold");
                return Ok(Done {
                    incomplete: Some(format!(
                        "erasure refused: the subject is under legal hold {hold}; nothing was erased. \
                         Release the hold (DELETE /api/v1/holds/{hold}) and retry the task, or deny the request"
                    )),
                    ..Done::evidence(json!({ "legal_hold": hold }))
                });
            }
            let hasher = hasher(state);
            let evidence = engine.erase(&who, &hasher).await?;
            Ok(erased(state, req, task, &who, evidence))
        }
        "rectify" => {
            // Each connector gets the corrections it declares; the others are for other
            // connectors (a field no connector declares stops the request before this).
            let pairs: Vec<(String, Value)> = match state.connectors.decl(&task.connector) {
                Some(decl) => corrections
                    .into_iter()
                    .filter(|(f, _)| crate::connectors::declared::accepts_correction(decl, f))
                    .collect(),
                None => corrections,
            };
            let report = engine.rectify(&who, &pairs).await?;
            Ok(Done::evidence(
                serde_json::to_value(&report).unwrap_or(Value::Null),
            ))
        }
        // `None`: the engine found nothing declared for the operation after all.
        "restrict" => Ok(match engine.restrict(&who, false).await? {
            Some(report) => Done::evidence(json!({ "restriction": report })),
            None => Done::skipped("no [restriction] declared for this connector".into()),
        }),
        "lift" => Ok(match engine.restrict(&who, true).await? {
            Some(report) => Done::evidence(json!({ "restriction_lifted": report })),
            None => Done::skipped(
                "no [restriction] declared for this connector, so there is no restriction to lift"
                    .into(),
            ),
        }),
        "object" => Ok(match engine.object(&who).await? {
            Some(report) => Done::evidence(json!({ "objection": report })),
            None => Done::skipped("no [objection] declared for this connector".into()),
        }),
        "opt_out" | "limit_sensitive" | "opt_in" => {
            let (scope, taking_back) = match task.operation.as_str() {
                "opt_out" => (OptOutScope::Sale, false),
                "limit_sensitive" => (OptOutScope::Sensitive, false),
                _ => (opt_in, true),
            };
            Ok(match engine.opt_out(&who, scope, taking_back).await? {
                Some(report) => Done::evidence(json!({ "optout": report, "scope": scope.code() })),
                None => Done::skipped(format!(
                    "nothing declared for the opt-out ({}) in this connector",
                    scope.code()
                )),
            })
        }
        other => Err(missing(&format!("unknown operation {other}"))),
    }
}

/// What an erasure did, for its task: the evidence (failed when rows are left) and the
/// erasure ledger's entry (so that a restored backup can be erased again).
fn erased(
    state: &AppState,
    req: &Request,
    task: &Task,
    who: &Identity,
    evidence: crate::connectors::ErasureEvidence,
) -> Done {
    let left: u64 = evidence.tables.iter().map(|t| t.rows_left).sum();
    Done {
        incomplete: (!evidence.is_complete())
            .then(|| format!("erasure incomplete: {left} row(s) still found afterwards")),
        evidence: serde_json::to_value(&evidence).unwrap_or(Value::Null),
        result: None,
        ledger: Some(ledger_entry(state, req, task, who)),
        skipped: None,
        written: None,
    }
}

/// The `hash` mask: a value to the hex HMAC-SHA256 under the deployment key.
fn hasher(state: &AppState) -> impl Fn(&str) -> String + Sync + use<> {
    let keys = state.keys.clone();
    move |v: &str| hex::encode(keys.sign(v.as_bytes()))
}

/// The erasure ledger's entry for an erasure of `who` by `task` (so that a restored
/// backup can be erased again).
fn ledger_entry(state: &AppState, req: &Request, task: &Task, who: &Identity) -> LedgerEntry {
    LedgerEntry {
        identity_hmac: state.keys.blind_index(who.email()),
        identity_ct: Some(
            state
                .keys
                .seal_at(crate::crypto::Field::ledger_identity(&task.id), who.email()),
        ),
        connector: task.connector.clone(),
        request_ref: req.reference.clone(),
        task_id: task.id.clone(),
        at: state.clock.now(),
    }
}

/// After a task of request `reference` ended: start the tasks that waited for it, then
/// report to the workflow, which decides what the request does next.
async fn task_ended(state: &AppState, reference: &str) -> Result<(), AppError> {
    release_ready(state, reference).await?;
    workflow::tasks_progressed(state, reference).await
}

/// Start the tasks of an in-progress request whose connectors waited for others' tasks
/// that have now finished.
pub async fn release_ready(state: &AppState, reference: &str) -> Result<(), AppError> {
    if !state.connectors.any_dependencies() {
        return Ok(());
    }
    let req = workflow::load(state, reference).await?;
    if req.status != Status::InProgress {
        return Ok(());
    }
    let tasks = state.store.tasks_for_request(&req.id).await?;
    release_blocked(state, &req, &tasks).await
}

fn store_error(connector: &str, operation: &str, e: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::Database {
        connector: connector.to_string(),
        operation: operation.into(),
        reason: e.to_string(),
    }
}

/// Before a task runs: when other connectors' key templates use this connector's rows,
/// keep those values on the task (an erasure is about to remove the rows); when this
/// connector's templates use other connectors' rows, give `who` the values their tasks
/// kept.
async fn identity_with_values(
    state: &AppState,
    req: &Request,
    task: &Task,
    who: Identity,
) -> Result<Identity, ConnectorError> {
    let c = &state.connectors;
    let fail = |reason: String| ConnectorError::Failed {
        connector: task.connector.clone(),
        reason,
    };
    let referenced = c.referenced(&task.connector);
    if !referenced.is_empty()
        && let Some(engine) = c.sql(&task.connector)
    {
        let values = crate::connectors::redis::found_values(&engine, &referenced, &who).await?;
        let ct = state.keys.seal_at(
            crate::crypto::Field::task("values_ct", &task.id),
            &serde_json::to_string(&values).unwrap_or_default(),
        );
        state
            .store
            .keep_task_values(&task.id, &ct)
            .await
            .map_err(|e| store_error(&task.connector, "keeping values for key templates", e))?;
    }
    let Some(deps) = c.dependency_columns(&task.connector) else {
        return Ok(who);
    };
    let tasks = state
        .store
        .tasks_for_request(&req.id)
        .await
        .map_err(|e| store_error(&task.connector, "reading the request's tasks", e))?;
    let mut found = BTreeMap::new();
    for source in deps.keys() {
        let t = tasks
            .iter()
            .find(|t| &t.connector == source)
            .ok_or_else(|| {
                fail(format!(
                    "connector \"{source}\" has no task on this request"
                ))
            })?;
        if t.status != "succeeded" {
            return Err(fail(format!(
                "its key templates use connector \"{source}\", whose task has status {}; retry that task first, then this one",
                t.status
            )));
        }
        let ct = state
            .store
            .task_values(&t.id)
            .await
            .map_err(|e| store_error(&task.connector, "reading values for key templates", e))?
            .ok_or_else(|| fail(format!("connector \"{source}\"'s task kept no values")))?;
        let values: BTreeMap<String, Vec<String>> = state
            .keys
            .open_at(crate::crypto::Field::task("values_ct", &t.id), &ct)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .ok_or_else(|| fail(format!("connector \"{source}\"'s values cannot be read")))?;
        found.extend(values);
    }
    Ok(who.with_found(found))
}

/// Enqueue the `blocked` tasks whose source connectors' tasks have all finished.
async fn release_blocked(state: &AppState, req: &Request, tasks: &[Task]) -> Result<(), AppError> {
    for t in tasks.iter().filter(|t| t.status == "blocked") {
        let ready = state
            .connectors
            .dependencies(&t.connector)
            .iter()
            .all(|source| {
                tasks
                    .iter()
                    .filter(|x| &x.connector == source)
                    .all(|x| is_finished(&x.status))
            });
        if ready
            && state
                .store
                .unblock_task(
                    &t.id,
                    &task_job(state, &t.id, &t.connector, &t.operation, &req.reference),
                    state.clock.now(),
                )
                .await?
        {
            state.queue.wake();
        }
    }
    Ok(())
}

fn corrections_of(state: &AppState, req: &Request) -> Vec<(String, Value)> {
    let corrections: Vec<workflow::Correction> = req
        .corrections_ct
        .as_deref()
        .and_then(|c| {
            state
                .keys
                .open_at(crate::crypto::Field::request("corrections_ct", &req.id), c)
                .ok()
        })
        .and_then(|c| serde_json::from_str(&c).ok())
        .unwrap_or_default();
    corrections
        .into_iter()
        .map(|c| (c.field, Value::String(c.value)))
        .collect()
}

/// HTTP and manual tasks: `None` for the other kinds.
async fn run_external(
    state: &AppState,
    req: &Request,
    task: &Task,
) -> Option<Result<External, ConnectorError>> {
    let http = state.connectors.http(&task.connector);
    let manual = state.connectors.manual(&task.connector);
    if http.is_none() && manual.is_none() {
        return None;
    }
    Some(
        async {
            let fail = |reason: &str| ConnectorError::Failed {
                connector: task.connector.clone(),
                reason: reason.into(),
            };
            let email = req
                .email_ct
                .as_deref()
                .and_then(|c| { state.keys.open_at(crate::crypto::Field::request("email_ct", &req.id), c).ok() })
                .ok_or_else(|| fail("the request no longer holds the subject's identity"))?;
            let who = Identity::from_email(&email);
            if task.operation == "erase"
                && let Some(hold) = crate::services::retention::holds::active_for(state, who.email())
                    .await
                    .map_err(|e| store_error(&task.connector, "checking legal holds", e))?
            {
                tracing::warn!(reference = %req.reference, connector = %task.connector, hold = %hold, "erasure refused: legal hold");
                return Ok(External::Done(Outcome {
                    evidence: json!({ "legal_hold": hold }),
                    access: None,
                    skipped: None,
                    incomplete: Some(format!(
                        "erasure refused: the subject is under legal hold {hold}; nothing was erased"
                    )),
                }));
            }
            let corrections = corrections_of(state, req);
            if let Some(m) = manual {
                return start_manual(state, &m, req, task, &who, &corrections).await;
            }
            let h = http.ok_or_else(|| fail("not an http connector"))?;
            let extra = match task.operation.as_str() {
                "rectify" => {
                    let list: Vec<Value> = corrections
                        .iter()
                        .map(|(f, v)| json!({ "field": f, "value": v }))
                        .collect();
                    json!({ "corrections": list })
                }
                "restrict" => json!({ "lift": false }),
                // Both opt-outs are `opt_out` to an endpoint, told apart by the scope.
                "opt_out" => json!({ "scope": OptOutScope::Sale.code() }),
                "limit_sensitive" => json!({ "scope": OptOutScope::Sensitive.code() }),
                "opt_in" => json!({ "scope": opt_in_scope(req).code() }),
                _ => json!({}),
            };
            start_http(state, &h, req, task, &who, extra).await
        }
        .await,
    )
}

/// A fresh callback link is stored first (the endpoint may call back before it has even
/// answered), then the signed POST; `202` leaves the task `waiting` for the callback.
async fn start_http(
    state: &AppState,
    h: &HttpConnector,
    req: &Request,
    task: &Task,
    who: &Identity,
    extra: Value,
) -> Result<External, ConnectorError> {
    let now = state.clock.now();
    let token = crate::crypto::new_token();
    let db =
        |e: crate::store::StoreError| store_error(&task.connector, "storing the callback link", e);
    state
        .store
        .insert_task_token(&TaskToken {
            token_hash: crate::crypto::token_hash(&token),
            task_id: task.id.clone(),
            request_ref: req.reference.clone(),
            purpose: "callback".into(),
            expires_at: now + chrono::TimeDelta::days(crate::connectors::http::CALLBACK_DAYS),
            used_at: None,
            created_at: now,
        })
        .await
        .map_err(db)?;
    let callback_url = crate::services::notify::link(state, &format!("/api/v1/callbacks/{token}"));
    let operation = match task.operation.as_str() {
        "limit_sensitive" => "opt_out",
        other => other,
    };
    let answer = h
        .send_task(
            operation,
            &req.reference,
            &task.id,
            who,
            &callback_url,
            extra,
        )
        .await?;
    if matches!(answer, External::Waiting) {
        state
            .store
            .wait_task(&task.id, None, &Changes::default(), now)
            .await
            .map_err(db)?;
    }
    Ok(answer)
}

/// Queue the person's email with a fresh completion link and put the task in `waiting`,
/// in one transaction.
async fn start_manual(
    state: &AppState,
    m: &ManualConnector,
    req: &Request,
    task: &Task,
    who: &Identity,
    corrections: &[(String, Value)],
) -> Result<External, ConnectorError> {
    let now = state.clock.now();
    let token = crate::crypto::new_token();
    let expires = now + chrono::TimeDelta::days(i64::from(m.settings().link_days));
    let link = TaskToken {
        token_hash: crate::crypto::token_hash(&token),
        task_id: task.id.clone(),
        request_ref: req.reference.clone(),
        purpose: "manual".into(),
        expires_at: expires,
        used_at: None,
        created_at: now,
    };
    let (to, context) = m.notice(
        &req.reference,
        &task.operation,
        who,
        corrections,
        &crate::services::notify::link(state, &format!("/tasks/{token}")),
        expires,
    );
    let mut changes = Changes {
        now: Some(now),
        ..Default::default()
    };
    crate::services::notify::queue(
        state,
        &mut changes,
        Some(&req.id),
        "manual_task",
        &to,
        context,
    );
    let waiting = state
        .store
        .wait_task(&task.id, Some(&link), &changes, now)
        .await
        .map_err(|e| store_error(&task.connector, "creating the manual task", e))?;
    if waiting {
        state.queue.wake();
    }
    Ok(External::Waiting)
}

/// An outcome from an endpoint or a person as the task's result: access rows stored in
/// parts, and a ledger entry for an HTTP erasure (it can be replayed by calling again).
async fn store_outcome(
    state: &AppState,
    req: &Request,
    task: &Task,
    o: Outcome,
) -> Result<Done, ConnectorError> {
    if let Some(found) = &o.access {
        crate::services::task_results::store(state, &task.id, found)
            .await
            .map_err(|e| store_error(&task.connector, "storing the access result", e))?;
    }
    let replayable = task.operation == "erase"
        && o.incomplete.is_none()
        && state.connectors.http(&task.connector).is_some();
    let ledger = if replayable {
        req.email_ct
            .as_deref()
            .and_then(|c| {
                state
                    .keys
                    .open_at(crate::crypto::Field::request("email_ct", &req.id), c)
                    .ok()
            })
            .map(|email| ledger_entry(state, req, task, &Identity::from_email(&email)))
    } else {
        None
    };
    Ok(Done {
        evidence: o.evidence,
        result: None,
        ledger,
        incomplete: o.incomplete,
        skipped: o.skipped,
        written: None,
    })
}

/// Finish a `waiting` task through its link (an HTTP callback, a person's confirmation):
/// the link is used up and the outcome recorded at once, then the request moves on.
/// `false` when the link or the task can no longer be used.
pub async fn finish_by_link(
    state: &AppState,
    link: &crate::store::TaskToken,
    outcome: Outcome,
) -> Result<bool, AppError> {
    let Some(mut task) = state.store.task(&link.task_id).await? else {
        return Ok(false);
    };
    if !matches!(task.status.as_str(), "running" | "waiting") {
        return Ok(false);
    }
    let req = workflow::load(state, &link.request_ref).await?;
    let done = store_outcome(state, &req, &task, outcome)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let now = state.clock.now();
    (task.status, task.error) = match (done.skipped, done.incomplete) {
        (Some(reason), _) => ("skipped".into(), Some(reason)),
        (None, Some(incomplete)) => ("failed".into(), Some(incomplete)),
        (None, None) => ("succeeded".into(), None),
    };
    task.evidence = Some(done.evidence.to_string());
    task.result_ct = None;
    task.updated_at = now;
    task.finished_at = Some(now);
    let finished = state
        .store
        .finish_task_by_token(&link.token_hash, &task, done.ledger.as_ref(), now)
        .await?;
    if finished {
        tracing::info!(reference = %req.reference, connector = %task.connector, status = %task.status, "connector task finished through its link");
        task_ended(state, &req.reference).await?;
    }
    Ok(finished)
}

/// Tasks that lift a restriction on every connector (a completed restriction request),
/// all started at once: lifting resets flag columns and needs no other connector's rows.
/// A connector that declares no `[restriction]` gets a `skipped` task and no job.
pub fn plan_lift(state: &AppState, req: &Request, changes: &mut Changes) -> usize {
    let now = state.clock.now();
    for name in state.connectors.names() {
        let id = uuid::Uuid::now_v7().to_string();
        let mut task = new_task(id.clone(), req, name.clone(), "lift", "pending", now);
        if let Some(reason) = state.connectors.skip_reason(&name, "lift", &[]) {
            task.status = "skipped".into();
            task.error = Some(reason);
            task.finished_at = Some(now);
        } else {
            changes
                .jobs
                .push(task_job(state, &id, &name, "lift", &req.reference));
        }
        changes.tasks.push(task);
    }
    changes.tasks.len()
}
