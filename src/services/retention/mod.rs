//! Retention purges: the `[[retention]]` policies of the data map run against the
//! product databases (batches, children first, legal holds skipped; the engine side is
//! `connectors::sql::purge`), a run record per execution, the scheduled jobs that run
//! them, legal holds (`holds`) and the purge of Rightsdesk's own data (`own`).
//!
//! A run takes a lease on its policy (`retention_locks`), so a schedule firing on two
//! replicas, or a manual run during a scheduled one, never purges the same policy twice
//! at once. A run that dies leaves its committed batches done and its lease to expire;
//! the next run continues with what is left.

pub mod holds;
pub mod own;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::app::context::AppState;
use crate::connectors::SqlConnector;
use crate::connectors::datamap::{MaxAge, RetentionAction, RetentionDecl};
use crate::connectors::sql::{HeldRows, PurgeCursor};
use crate::error::AppError;
use crate::jobs::scheduler::Schedule;
use crate::jobs::{JobError, JobHandler};
use crate::store::{Job, NewAudit, RetentionRun};

/// Job kinds of scheduled purges are `retention.purge:<connector>:<policy>`.
pub const PURGE_JOB_PREFIX: &str = "retention.purge:";

/// How long a run's lease on its policy lasts without being renewed (renewed every batch).
const LEASE: TimeDelta = TimeDelta::minutes(5);

/// Who started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Schedule,
    Api,
    Cli,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Api => "api",
            Trigger::Cli => "cli",
        }
    }
}

/// One declared policy and the connector it belongs to.
#[derive(Debug, Clone)]
pub struct Policy {
    pub connector: String,
    pub decl: RetentionDecl,
}

impl Policy {
    /// `connector:policy`: unique across the data map (names are unique per connector).
    pub fn key(&self) -> String {
        format!("{}:{}", self.connector, self.decl.name)
    }
}

/// Every policy of the connectors this service runs, in data-map order.
pub fn policies(state: &AppState) -> Vec<Policy> {
    state
        .connectors
        .decls()
        .iter()
        .flat_map(|c| {
            c.retention().iter().map(|r| Policy {
                connector: c.name().to_string(),
                decl: r.clone(),
            })
        })
        .collect()
}

/// The policy called `name`, or `connector:name` when two connectors use the same name.
pub fn find(state: &AppState, name: &str) -> Result<Policy, AppError> {
    let all = policies(state);
    let (connector, policy) = match name.split_once(':') {
        Some((c, p)) => (Some(c), p),
        None => (None, name),
    };
    let found: Vec<Policy> = all
        .into_iter()
        .filter(|p| p.decl.name == policy && connector.is_none_or(|c| c == p.connector))
        .collect();
    match found.len() {
        0 => Err(AppError::NotFound(format!(
            "no retention policy named {}",
            shown(name)
        ))),
        1 => Ok(found.into_iter().next().expect("one policy")),
        _ => Err(AppError::Conflict {
            detail: format!(
                "several connectors declare a retention policy named {}; use connector:name ({})",
                shown(name),
                found.iter().map(Policy::key).collect::<Vec<_>>().join(", ")
            ),
            current_status: None,
        }),
    }
}

fn shown(name: &str) -> String {
    let short: String = name.chars().take(100).collect();
    format!("{short:?}")
}

/// `now - max_age`, with months and years as calendar units (month ends clamped).
pub fn cutoff(now: DateTime<Utc>, age: MaxAge) -> DateTime<Utc> {
    age.cutoff(now)
}

/// A run that has its record (and, unless a dry run, its policy's lease) and is ready
/// to purge.
pub struct PreparedRun {
    state: AppState,
    engine: Arc<SqlConnector>,
    policy: Policy,
    run: RetentionRun,
    client: Option<String>,
}

impl PreparedRun {
    pub fn record(&self) -> &RetentionRun {
        &self.run
    }
}

/// Start a run of `policy`: take its lease (a real run), write the run record. A
/// policy already running elsewhere is a conflict.
pub async fn prepare(
    state: &AppState,
    policy: Policy,
    dry_run: bool,
    trigger: Trigger,
    actor: &str,
    client: Option<String>,
) -> Result<PreparedRun, AppError> {
    let engine = state.connectors.sql(&policy.connector).ok_or_else(|| {
        AppError::NotFound(format!(
            "connector {} is not a SQL connector this service runs",
            shown(&policy.connector)
        ))
    })?;
    let now = state.clock.now();
    let run = RetentionRun {
        id: uuid::Uuid::now_v7().to_string(),
        connector: policy.connector.clone(),
        policy: policy.decl.name.clone(),
        trigger_kind: trigger.as_str().into(),
        actor: actor.to_string(),
        dry_run,
        status: "running".into(),
        started_at: now,
        finished_at: None,
        cutoff: cutoff(now, policy.decl.max_age),
        rows_matched: 0,
        rows_purged: 0,
        rows_held: 0,
        batches: 0,
        error: None,
    };
    if !dry_run
        && !state
            .store
            .acquire_retention_lock(&policy.key(), &run.id, now + LEASE, now)
            .await?
    {
        return Err(AppError::Conflict {
            detail: format!(
                "retention policy {} is being run already; see GET /api/v1/retention/runs",
                shown(&policy.decl.name)
            ),
            current_status: Some("running".into()),
        });
    }
    if let Err(e) = state.store.insert_retention_run(&run).await {
        let _ = state
            .store
            .release_retention_lock(&policy.key(), &run.id)
            .await;
        return Err(e.into());
    }
    if !dry_run {
        // Holding the lease, any other run still marked running died with its process.
        let n = state
            .store
            .interrupt_retention_runs(
                &run.connector,
                &run.policy,
                &run.id,
                "interrupted: the process stopped during the run; its committed batches stay done",
                now,
            )
            .await?;
        if n > 0 {
            tracing::warn!(policy = %policy.key(), runs = n, "earlier retention runs were interrupted");
        }
    }
    Ok(PreparedRun {
        state: state.clone(),
        engine,
        policy,
        run,
        client,
    })
}

impl PreparedRun {
    /// Purge batch by batch until no due rows are left (or a batch fails), recording
    /// progress after every batch; then audit the run and give back the lease.
    pub async fn execute(mut self) -> RetentionRun {
        let outcome = self.purge().await;
        let state = &self.state;
        let now = state.clock.now();
        self.run.finished_at = Some(now);
        match outcome {
            Ok(cascaded) => {
                self.run.status = "succeeded".into();
                tracing::info!(connector = %self.run.connector, policy = %self.run.policy, run = %self.run.id,
                    dry_run = self.run.dry_run, matched = self.run.rows_matched, purged = self.run.rows_purged,
                    held = self.run.rows_held, cascaded, batches = self.run.batches, "retention run finished");
                self.finish(cascaded).await;
            }
            Err(message) => {
                self.run.status = "failed".into();
                tracing::error!(connector = %self.run.connector, policy = %self.run.policy, run = %self.run.id,
                    error = %message, "retention run failed");
                self.run.error = Some(message);
                self.finish(0).await;
            }
        }
        self.run
    }

    async fn finish(&self, cascaded: u64) {
        let state = &self.state;
        if let Err(e) = state.store.update_retention_run(&self.run).await {
            tracing::error!(run = %self.run.id, error = %e, "could not record the end of a retention run");
        }
        let audit = NewAudit {
            at: state.clock.now(),
            actor: self.run.actor.clone(),
            action: if self.run.dry_run {
                "retention.dry_run"
            } else {
                "retention.run"
            }
            .into(),
            request_ref: None,
            client_addr: self.client.clone(),
            detail: json!({
                "run_id": self.run.id,
                "connector": self.run.connector,
                "policy": self.run.policy,
                "trigger": self.run.trigger_kind,
                "status": self.run.status,
                "cutoff": self.run.cutoff,
                "rows_matched": self.run.rows_matched,
                "rows_purged": self.run.rows_purged,
                "rows_held": self.run.rows_held,
                "rows_cascaded": cascaded,
                "batches": self.run.batches,
                "error": self.run.error,
            }),
        };
        if let Err(e) = state.store.append_audit(&audit).await {
            tracing::error!(run = %self.run.id, error = %e, "could not audit a retention run");
        }
        if !self.run.dry_run
            && let Err(e) = state
                .store
                .release_retention_lock(&self.policy.key(), &self.run.id)
                .await
        {
            tracing::warn!(run = %self.run.id, error = %e, "could not release a retention lease; it expires by itself");
        }
    }

    /// The batches; the rows that followed purged rows into other tables, or the error.
    async fn purge(&mut self) -> Result<u64, String> {
        let state = self.state.clone();
        let held = self.held_rows().await?;
        let keys = state.keys.clone();
        let hasher = move |v: &str| hex::encode(keys.sign(v.as_bytes()));
        // Rows whose age is not a date are never due: counted first, reported at the end.
        let unparseable = self
            .engine
            .unparseable_ages(&self.policy.decl, None)
            .await
            .map_err(|e| e.to_string())?;
        let mut cursor = PurgeCursor::default();
        let mut cascaded = 0u64;
        while !cursor.is_done() {
            let batch = self
                .engine
                .purge_batch(
                    &self.policy.decl,
                    self.run.cutoff,
                    &mut cursor,
                    &held,
                    &hasher,
                    self.run.dry_run,
                )
                .await
                .map_err(|e| e.to_string())?;
            self.run.batches = self.run.batches.saturating_add(1);
            self.run.rows_matched += to_i64(batch.matched);
            self.run.rows_held += to_i64(batch.held);
            if !self.run.dry_run {
                self.run.rows_purged += to_i64(batch.purged);
            }
            cascaded += batch.cascaded;
            // Progress is visible while it runs, and survives a crash.
            state
                .store
                .update_retention_run(&self.run)
                .await
                .map_err(|e| format!("recording progress: {e}"))?;
            if !self.run.dry_run {
                let now = state.clock.now();
                let still_ours = state
                    .store
                    .acquire_retention_lock(&self.policy.key(), &self.run.id, now + LEASE, now)
                    .await
                    .map_err(|e| format!("renewing the lease: {e}"))?;
                if !still_ours {
                    return Err("the run lost its lease to another run; stopped".into());
                }
            }
        }
        if unparseable > 0 {
            let d = &self.policy.decl;
            return Err(format!(
                "{unparseable} rows of \"{}\" hold a value in \"{}\" that is not a date; they were \
                 kept, not purged (correct those values; `rightsdesk check` shows them)",
                d.table, d.age_column
            ));
        }
        Ok(cascaded)
    }

    /// The product rows of every subject under legal hold (through the connector's
    /// traversal, like an access request).
    async fn held_rows(&self) -> Result<HeldRows, String> {
        let subjects = holds::held_identities(&self.state)
            .await
            .map_err(|e| format!("reading legal holds: {e}"))?;
        if subjects.is_empty() {
            return Ok(HeldRows::default());
        }
        self.engine
            .held_rows(&subjects)
            .await
            .map_err(|e| format!("finding the rows of held subjects: {e}"))
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// What a dry run found for one policy: the rows a real run would purge now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DryRunCounts {
    pub connector: String,
    pub policy: String,
    pub cutoff: DateTime<Utc>,
    /// Due rows found.
    pub rows_matched: i64,
    /// Due rows a hold keeps.
    pub rows_held: i64,
    /// Rows a real run would purge (matched minus held).
    pub would_purge: i64,
    pub error: Option<String>,
}

impl From<&RetentionRun> for DryRunCounts {
    fn from(r: &RetentionRun) -> Self {
        Self {
            connector: r.connector.clone(),
            policy: r.policy.clone(),
            cutoff: r.cutoff,
            rows_matched: r.rows_matched,
            rows_held: r.rows_held,
            would_purge: r.rows_matched - r.rows_held,
            error: r.error.clone(),
        }
    }
}

/// Run `policy` now and wait for it (CLI, dry runs).
pub async fn run_now(
    state: &AppState,
    policy: Policy,
    dry_run: bool,
    trigger: Trigger,
    actor: &str,
    client: Option<String>,
) -> Result<RetentionRun, AppError> {
    Ok(prepare(state, policy, dry_run, trigger, actor, client)
        .await?
        .execute()
        .await)
}

/// A policy's action as a word, for lists.
pub fn action_word(a: RetentionAction) -> &'static str {
    match a {
        RetentionAction::Delete => "delete",
        RetentionAction::Anonymize => "anonymize",
    }
}

/// The job kind of a policy's schedule.
pub fn job_kind(policy: &Policy) -> String {
    format!("{PURGE_JOB_PREFIX}{}", policy.key())
}

/// The schedules of the policies that declare one, and of the own-data purge.
pub fn schedules(state: &AppState) -> Vec<Schedule> {
    let mut out = Vec::new();
    for p in policies(state) {
        let Some(pattern) = &p.decl.schedule else {
            continue;
        };
        match crate::domain::schedule::parse_cron(pattern) {
            Ok(cron) => out.push(Schedule {
                name: format!("retention:{}", p.key()),
                job_kind: job_kind(&p),
                cron,
            }),
            Err(e) => {
                tracing::error!(policy = %p.key(), error = %e, "retention schedule ignored")
            }
        }
    }
    if let Ok(cron) = crate::domain::schedule::parse_cron(&state.config.schedules.own_data_purge) {
        out.push(Schedule {
            name: "own-data-purge".into(),
            job_kind: own::JOB.into(),
            cron,
        });
    }
    out
}

/// The job handlers of the policies' schedules and of the own-data purge.
pub fn job_handlers(state: &AppState) -> Vec<(String, Arc<dyn JobHandler>)> {
    let mut out: Vec<(String, Arc<dyn JobHandler>)> = policies(state)
        .into_iter()
        .filter(|p| p.decl.schedule.is_some())
        .map(|p| {
            let kind = job_kind(&p);
            (
                kind,
                Arc::new(PurgeJob { policy: p }) as Arc<dyn JobHandler>,
            )
        })
        .collect();
    out.push((own::JOB.into(), Arc::new(own::OwnDataPurgeJob)));
    out
}

/// A scheduled run of one policy. A run already in progress (another replica, or a
/// manual run) makes this tick a no-op; a failed run is recorded (and alerted on
/// through `rightsdesk_retention_run_failed`), and the next tick tries again.
pub struct PurgeJob {
    policy: Policy,
}

#[async_trait]
impl JobHandler for PurgeJob {
    async fn run(&self, _job: &Job, state: &AppState) -> Result<(), JobError> {
        match prepare(
            state,
            self.policy.clone(),
            false,
            Trigger::Schedule,
            "scheduler",
            None,
        )
        .await
        {
            Ok(run) => {
                run.execute().await;
                Ok(())
            }
            Err(AppError::Conflict { .. }) => {
                tracing::info!(policy = %self.policy.key(), "retention policy already running; tick skipped");
                Ok(())
            }
            Err(e) => Err(JobError::retry(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_months_clamp_to_month_end() {
        let now: DateTime<Utc> = "2026-03-31T12:00:00Z".parse().unwrap();
        let age = |s: &str| MaxAge::parse(s).unwrap();
        assert_eq!(
            cutoff(now, age("1 month")),
            "2026-02-28T12:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            cutoff(now, age("2 years")),
            "2024-03-31T12:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            cutoff(now, age("30d")),
            "2026-03-01T12:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }
}
