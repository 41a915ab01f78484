//! The job queue: enqueue (with dedupe keys), claim with a lease, retry with exponential
//! backoff, `dead` after the last attempt, and a worker pool that gives its leases back
//! on shutdown. A crashed process's jobs are claimed again once their lease expires.
//! Job handlers live next to the use case they run (`services/`) and are registered by
//! `app`, so the arrow points one way: services use the queue, the queue knows no service.
//!
//! Layer rule (tests/architecture.rs): never `http` or `cli`.

pub mod scheduler;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::app::context::AppState;
use crate::clock::SharedClock;
use crate::config::JobsConfig;
use crate::store::{Job, NewJob, SharedStore};

/// Why a job failed; `permanent` failures go straight to `dead`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct JobError {
    pub message: String,
    pub permanent: bool,
}

impl JobError {
    pub fn retry(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: false,
        }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: true,
        }
    }
}

/// Code that runs one kind of job.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    async fn run(&self, job: &Job, state: &AppState) -> Result<(), JobError>;
    /// How many jobs with the same batch key (see [`NewJob::batch_key`]) a worker runs
    /// together with one it claimed; 1: each alone.
    fn batch_limit(&self, _state: &AppState) -> usize {
        1
    }
    /// Run jobs that share a batch key: an outcome per job, in order. Each job's outcome
    /// is recorded on its own, so one job's failure is retried alone.
    async fn run_batch(&self, jobs: &[Job], state: &AppState) -> Vec<Result<(), JobError>> {
        let mut out = Vec::with_capacity(jobs.len());
        for job in jobs {
            out.push(self.run(job, state).await);
        }
        out
    }
}

pub type Handlers = Arc<HashMap<String, Arc<dyn JobHandler>>>;

/// Handle for enqueueing work; wakes one of this process's idle workers, which wakes the
/// next one each time it finds a job, so ready work is picked up at once without every
/// idle worker asking the database for each enqueued job.
#[derive(Clone)]
pub struct Queue {
    store: SharedStore,
    clock: SharedClock,
    notify: Arc<Notify>,
    max_attempts: i32,
}

impl Queue {
    pub fn new(store: SharedStore, clock: SharedClock, config: &JobsConfig) -> Self {
        Self {
            store,
            clock,
            notify: Arc::new(Notify::new()),
            max_attempts: i32::try_from(config.max_attempts).unwrap_or(i32::MAX),
        }
    }

    /// Enqueue a job to run at `run_at` (now when `None`). `false` when the dedupe key
    /// was already used.
    pub async fn enqueue(
        &self,
        kind: &str,
        payload: serde_json::Value,
        dedupe_key: Option<String>,
        run_at: Option<DateTime<Utc>>,
    ) -> crate::store::Result<bool> {
        let now = self.clock.now();
        let added = self
            .store
            .enqueue(&NewJob {
                kind: kind.into(),
                payload,
                dedupe_key,
                batch_key: None,
                run_at: run_at.unwrap_or(now),
                max_attempts: self.max_attempts,
                created_at: now,
            })
            .await?;
        if added {
            self.wake();
        }
        Ok(added)
    }

    /// Wake one idle worker (or, when all are busy, the next one to become idle).
    pub fn wake(&self) {
        self.notify.notify_one();
    }
}

/// Delay before the next attempt: 5 s doubling per attempt, capped at one hour, with up to
/// 20 % jitter so retries from many jobs do not arrive together.
pub fn backoff(attempts: i32) -> TimeDelta {
    let exp = attempts.clamp(1, 20) - 1;
    let base = 5i64.saturating_mul(1i64 << exp).min(3600);
    let jitter = (base as f64 * 0.2 * rand::random::<f64>()) as i64;
    TimeDelta::seconds(base + jitter)
}

/// The running workers of this process.
pub struct WorkerPool {
    pub worker_id: String,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    store: SharedStore,
    clock: SharedClock,
}

impl WorkerPool {
    pub fn start(state: AppState, handlers: Handlers) -> Self {
        let worker_id = format!(
            "{}-{}-{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8],
            "w"
        );
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        // The pool looks for work it was not told about (enqueued by another replica,
        // retries whose time has come, expired leases) once per poll interval, through
        // one idle worker, not once per worker.
        {
            let poll = state
                .config
                .jobs
                .poll_interval
                .0
                .max(Duration::from_millis(50));
            let notify = state.queue.notify.clone();
            let mut stop = stop_rx.clone();
            tasks.spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(poll) => notify.notify_one(),
                        _ = stop.changed() => return,
                    }
                    if *stop.borrow() {
                        return;
                    }
                }
            });
        }
        for n in 0..state.config.jobs.workers {
            let w = Worker {
                id: worker_id.clone(),
                n,
                state: state.clone(),
                handlers: handlers.clone(),
                stop: stop_rx.clone(),
            };
            tasks.spawn(w.run());
        }
        Self {
            worker_id,
            stop,
            tasks,
            store: state.store.clone(),
            clock: state.clock.clone(),
        }
    }

    /// Stop claiming, let running jobs finish for up to `grace`, then give back any lease
    /// still held so another replica picks the job up at once.
    pub async fn shutdown(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        let drained = tokio::time::timeout(grace, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            self.tasks.abort_all();
            while self.tasks.join_next().await.is_some() {}
        }
        match self
            .store
            .release_leases(&self.worker_id, self.clock.now())
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "released job leases"),
            Err(e) => tracing::warn!(error = %e, "could not release job leases"),
        }
    }
}

struct Worker {
    id: String,
    n: usize,
    state: AppState,
    handlers: Handlers,
    stop: watch::Receiver<bool>,
}

impl Worker {
    async fn run(mut self) {
        let notify = self.state.queue.notify.clone();
        loop {
            if *self.stop.borrow() {
                return;
            }
            // Register interest before looking: a wake between the look and the wait
            // leaves a permit, so it is not lost.
            let woken = notify.notified();
            match self.claim().await {
                Ok(Some(claimed)) => {
                    // Another job is due: the next idle worker takes it. When none was,
                    // no other worker is sent to look (its claim would find nothing);
                    // this one looks again once its job is done, which also finds the
                    // jobs its job enqueued inside the store's transactions (webhook
                    // deliveries) without waking anyone.
                    if claimed.more {
                        notify.notify_one();
                    }
                    self.execute(claimed.job, claimed.more).await;
                    continue;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, worker = self.n, "could not claim a job"),
            }
            tokio::select! {
                _ = woken => {}
                _ = self.stop.changed() => {}
            }
        }
    }

    fn lease(&self) -> TimeDelta {
        self.state.config.jobs.lease.chrono()
    }

    async fn claim(&self) -> crate::store::Result<Option<crate::store::Claimed>> {
        let now = self.state.clock.now();
        self.state
            .store
            .claim_next(&self.id, now, now + self.lease())
            .await
    }

    /// Run `job`; `more`: another job was due when it was claimed (else no job of its
    /// batch is, and none is looked for).
    async fn execute(&self, job: Job, more: bool) {
        let store = &self.state.store;
        let now = self.state.clock.now();
        if job.attempts > job.max_attempts {
            // Claimed again after its lease ran out on the last attempt.
            let _ = store
                .fail_job(
                    &job.id,
                    &self.id,
                    "lease expired on the last attempt",
                    None,
                    now,
                )
                .await;
            return;
        }
        let Some(handler) = self.handlers.get(&job.kind).cloned() else {
            tracing::error!(job = %job.id, kind = %job.kind, "no handler for this job kind");
            let _ = store
                .fail_job(
                    &job.id,
                    &self.id,
                    &format!("no handler for job kind `{}`", job.kind),
                    None,
                    now,
                )
                .await;
            return;
        };
        // Jobs that may run with this one (same batch key), claimed for this worker too.
        let mut jobs = vec![job];
        if let Some(key) = jobs[0].batch_key.clone().filter(|_| more) {
            let limit = handler.batch_limit(&self.state);
            if limit > 1 {
                match store
                    .claim_batch(&self.id, &key, limit - 1, now, now + self.lease())
                    .await
                {
                    Ok(more) => jobs.extend(more),
                    Err(e) => {
                        tracing::warn!(job = %jobs[0].id, error = %e, "could not claim the jobs of its batch")
                    }
                }
            }
        }
        // Keep the leases alive while the handler runs.
        let heartbeat = {
            let store = store.clone();
            let clock = self.state.clock.clone();
            let ids: Vec<String> = jobs.iter().map(|j| j.id.clone()).collect();
            let (worker, lease) = (self.id.clone(), self.lease());
            let every = (lease / 3)
                .to_std()
                .unwrap_or(Duration::from_secs(10))
                .max(Duration::from_millis(100));
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let mut held = false;
                    for id in &ids {
                        held |= matches!(
                            store.heartbeat(id, &worker, clock.now() + lease).await,
                            Ok(true)
                        );
                    }
                    if !held {
                        return;
                    }
                }
            })
        };
        // Every line the handler writes names the job and, when it is about a request,
        // its reference (never the subject's identity).
        let job = &jobs[0];
        let span = tracing::info_span!(
            "job",
            job = %job.id,
            kind = %job.kind,
            reference = tracing::field::Empty,
            together = jobs.len(),
        );
        // A batch's lines name their own requests (its jobs are about several).
        if jobs.len() == 1
            && let Some(reference) = job.payload.0["reference"].as_str()
        {
            span.record("reference", reference);
        }
        let outcomes = if jobs.len() == 1 {
            vec![tracing::Instrument::instrument(handler.run(job, &self.state), span).await]
        } else {
            tracing::Instrument::instrument(handler.run_batch(&jobs, &self.state), span).await
        };
        heartbeat.abort();
        for (job, outcome) in jobs.iter().zip(outcomes) {
            self.record(job, outcome).await;
        }
    }

    /// Record a job's outcome: done, back to the queue after a backoff, or dead.
    async fn record(&self, job: &Job, outcome: Result<(), JobError>) {
        let store = &self.state.store;
        let now = self.state.clock.now();
        let recorded = match outcome {
            Ok(()) => store.finish_job(&job.id, &self.id, now).await,
            Err(e) => {
                let last = e.permanent || job.attempts >= job.max_attempts;
                let retry_at = (!last).then(|| now + backoff(job.attempts));
                if last {
                    tracing::error!(job = %job.id, kind = %job.kind, attempts = job.attempts, error = %e, "job is dead");
                } else {
                    tracing::warn!(job = %job.id, kind = %job.kind, attempts = job.attempts, error = %e, "job failed; will retry");
                }
                store
                    .fail_job(&job.id, &self.id, &e.message, retry_at, now)
                    .await
            }
        };
        match recorded {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(job = %job.id, "job lease was lost before its result was recorded")
            }
            Err(e) => tracing::warn!(job = %job.id, error = %e, "could not record job result"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let a = backoff(1).num_seconds();
        assert!((5..=6).contains(&a), "{a}");
        let c = backoff(3).num_seconds();
        assert!((20..=24).contains(&c), "{c}");
        let big = backoff(50).num_seconds();
        assert!((3600..=4320).contains(&big), "{big}");
    }
}
