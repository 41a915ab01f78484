//! The job queue: leases, a crashed worker's job claimed again, retries with backoff,
//! dead jobs visible and retryable through the API, leases released on shutdown.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::TimeDelta;
use common::{Backend, Options, TestApp, json, spawn_app_with};
use rightsdesk::clock::Clock;
use rightsdesk::domain::staff::Role;
use rightsdesk::http::AppState;
use rightsdesk::jobs::{JobError, JobHandler};
use rightsdesk::store::{Job, JobStatus, NewJob, PageRequest};
use serde_json::json;

fn job(app: &TestApp, key: Option<&str>) -> NewJob {
    let now = app.clock.now();
    NewJob {
        kind: "test.noop".into(),
        payload: json!({"n": 1}),
        dedupe_key: key.map(String::from),
        batch_key: None,
        run_at: now,
        max_attempts: 5,
        created_at: now,
    }
}

/// An app whose process runs no workers (`jobs.workers = 0`), so the test claims by hand.
async fn without_workers(backend: Backend) -> Option<TestApp> {
    let opts = Options {
        configure: Box::new(|c| c.jobs.workers = 0),
        handlers: Vec::new(),
    };
    spawn_app_with(backend, opts).await
}

async fn expired_lease_is_claimed_again(backend: Backend) {
    let Some(app) = without_workers(backend).await else {
        return;
    };
    let store = app.state.store.clone();
    assert!(store.enqueue(&job(&app, None)).await.unwrap());
    let now = app.clock.now();
    let lease = TimeDelta::seconds(60);

    let a = store
        .claim_job("process-a", now, now + lease)
        .await
        .unwrap()
        .expect("a claims");
    assert_eq!(a.status, JobStatus::Running);
    assert_eq!(a.attempts, 1);
    assert_eq!(a.lease_owner.as_deref(), Some("process-a"));
    // While the lease holds, nobody else gets it.
    assert!(
        store
            .claim_job("process-b", now, now + lease)
            .await
            .unwrap()
            .is_none()
    );

    // Process A dies without a word. After the lease, B picks the job up.
    let later = now + TimeDelta::seconds(61);
    let b = store
        .claim_job("process-b", later, later + lease)
        .await
        .unwrap()
        .expect("b claims the orphan");
    assert_eq!(b.id, a.id);
    assert_eq!(b.attempts, 2);
    // A's late result is refused; B's is recorded.
    assert!(!store.finish_job(&a.id, "process-a", later).await.unwrap());
    assert!(store.finish_job(&b.id, "process-b", later).await.unwrap());
    let done = store
        .list_jobs(Some(JobStatus::Done), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(done.total, 1);
}

/// A claim says whether another job was due when it was made, so a worker wakes a second
/// one only when there is work for it: jobs not yet due and jobs leased by another
/// worker do not count; one whose lease ran out does.
async fn a_claim_says_whether_another_job_is_due(backend: Backend) {
    let Some(app) = without_workers(backend).await else {
        return;
    };
    let store = app.state.store.clone();
    let now = app.clock.now();
    let lease = TimeDelta::seconds(60);
    let mut later = job(&app, Some("later"));
    later.run_at = now + TimeDelta::minutes(10);
    for j in [job(&app, Some("a")), job(&app, Some("b")), later] {
        assert!(store.enqueue(&j).await.unwrap());
    }
    let first = store
        .claim_next("w", now, now + lease)
        .await
        .unwrap()
        .expect("a job is due");
    assert!(first.more, "the second due job is waiting");
    let second = store
        .claim_next("w", now, now + lease)
        .await
        .unwrap()
        .expect("the second job");
    assert_ne!(second.job.id, first.job.id);
    assert!(!second.more, "the rest is not due yet, or leased");
    assert!(
        store
            .claim_next("w", now, now + lease)
            .await
            .unwrap()
            .is_none()
    );
    // After the leases ran out, both leased jobs are due again.
    let expired = now + TimeDelta::seconds(61);
    let again = store
        .claim_next("w2", expired, expired + lease)
        .await
        .unwrap()
        .expect("an expired lease");
    assert!(again.more, "the other expired lease is due too");
}

async fn dedupe_key_enqueues_once(backend: Backend) {
    let Some(app) = without_workers(backend).await else {
        return;
    };
    let store = app.state.store.clone();
    assert!(
        store
            .enqueue(&job(&app, Some("sweep:2026-10-10T09:05")))
            .await
            .unwrap()
    );
    assert!(
        !store
            .enqueue(&job(&app, Some("sweep:2026-10-10T09:05")))
            .await
            .unwrap()
    );
    assert!(
        store
            .enqueue(&job(&app, Some("sweep:2026-10-10T09:10")))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .list_jobs(None, PageRequest::default())
            .await
            .unwrap()
            .total,
        2
    );
}

/// Fails a set number of times, then succeeds; or always, permanently.
struct Flaky {
    failures: u32,
    calls: AtomicU32,
    permanent: bool,
}

#[async_trait]
impl JobHandler for Flaky {
    async fn run(&self, _job: &Job, _state: &AppState) -> Result<(), JobError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if self.permanent {
            return Err(JobError::permanent("the endpoint said no"));
        }
        if n < self.failures {
            Err(JobError::retry(format!("failure {}", n + 1)))
        } else {
            Ok(())
        }
    }
}

async fn wait_status(app: &TestApp, token: &str, status: &str, n: i64) -> serde_json::Value {
    for _ in 0..100 {
        let (_, v) = json(
            app.get(token, &format!("/api/v1/jobs?status={status}"))
                .await,
        )
        .await;
        if v["total"].as_i64() == Some(n) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {n} job(s) reached {status}");
}

async fn retries_then_dead_then_retry(backend: Backend) {
    let flaky = Arc::new(Flaky {
        failures: 1,
        calls: AtomicU32::new(0),
        permanent: false,
    });
    let broken = Arc::new(Flaky {
        failures: 0,
        calls: AtomicU32::new(0),
        permanent: true,
    });
    let opts = Options {
        configure: Box::new(|c| c.jobs.max_attempts = 3),
        handlers: vec![
            ("test.flaky".into(), flaky.clone() as Arc<dyn JobHandler>),
            ("test.broken".into(), broken.clone()),
        ],
    };
    let Some(app) = spawn_app_with(backend, opts).await else {
        return;
    };
    let token = app.token(Role::Agent).await;

    app.state
        .queue
        .enqueue("test.flaky", json!({}), None, None)
        .await
        .unwrap();
    // The first attempt fails and is scheduled again after a backoff in the future.
    let v = wait_status(&app, &token, "queued", 1).await;
    for _ in 0..50 {
        if flaky.calls.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let v = if v["items"][0]["attempts"] == 1 {
        v
    } else {
        wait_status(&app, &token, "queued", 1).await
    };
    assert_eq!(v["items"][0]["last_error"], "failure 1", "{v}");
    let run_at = common::t(v["items"][0]["run_at"].as_str().unwrap());
    assert!(
        run_at >= common::t(common::T0) + TimeDelta::seconds(5),
        "backoff applied: {run_at}"
    );
    assert_eq!(
        flaky.calls.load(Ordering::SeqCst),
        1,
        "not retried before its time"
    );
    app.clock.advance(TimeDelta::minutes(5));
    app.state.queue.wake();
    wait_status(&app, &token, "done", 1).await;
    assert_eq!(flaky.calls.load(Ordering::SeqCst), 2);

    // A permanent failure is dead at once, visible, and can be retried by staff.
    app.state
        .queue
        .enqueue("test.broken", json!({}), None, None)
        .await
        .unwrap();
    let dead = wait_status(&app, &token, "dead", 1).await;
    assert_eq!(dead["items"][0]["last_error"], "the endpoint said no");
    let id = dead["items"][0]["id"].as_str().unwrap().to_string();
    let (s, _) = json(
        app.post_empty(&token, &format!("/api/v1/jobs/{id}/retry"))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    wait_status(&app, &token, "dead", 1).await;
    assert_eq!(broken.calls.load(Ordering::SeqCst), 2);
    let (s, _) = json(
        app.post_empty(&token, "/api/v1/jobs/no-such-job/retry")
            .await,
    )
    .await;
    assert_eq!(s, 409);
    app.stop().await;
}

/// Sleeps far longer than the shutdown grace.
struct Slow;

#[async_trait]
impl JobHandler for Slow {
    async fn run(&self, _job: &Job, _state: &AppState) -> Result<(), JobError> {
        tokio::time::sleep(Duration::from_secs(120)).await;
        Ok(())
    }
}

async fn shutdown_releases_leases(backend: Backend) {
    let opts = Options {
        configure: Box::new(|c| {
            c.jobs.shutdown_grace = rightsdesk::config::HumanDuration::parse("300ms").unwrap()
        }),
        handlers: vec![("test.slow".into(), Arc::new(Slow) as Arc<dyn JobHandler>)],
    };
    let Some(app) = spawn_app_with(backend, opts).await else {
        return;
    };
    let token = app.token(Role::Auditor).await;
    app.state
        .queue
        .enqueue("test.slow", json!({}), None, None)
        .await
        .unwrap();
    wait_status(&app, &token, "running", 1).await;
    let store = app.state.store.clone();
    // The stopped app keeps its database until `_stopped` is dropped.
    let _stopped = app.stop().await;
    let queued = store
        .list_jobs(Some(JobStatus::Queued), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(queued.total, 1, "the interrupted job is back in the queue");
    assert!(queued.items[0].lease_owner.is_none());
    assert_eq!(
        queued.items[0].attempts, 0,
        "the interrupted attempt does not count"
    );
}

/// Runs jobs of one batch key together (up to 10), failing the one whose payload says so
/// the first time it runs; records how many ran in each call.
#[derive(Default)]
struct Together {
    calls: std::sync::Mutex<Vec<usize>>,
    failed: AtomicU32,
}

#[async_trait]
impl JobHandler for Together {
    async fn run(&self, job: &Job, state: &AppState) -> Result<(), JobError> {
        self.run_batch(std::slice::from_ref(job), state)
            .await
            .pop()
            .unwrap_or(Ok(()))
    }

    fn batch_limit(&self, _state: &AppState) -> usize {
        10
    }

    async fn run_batch(&self, jobs: &[Job], _state: &AppState) -> Vec<Result<(), JobError>> {
        self.calls.lock().unwrap().push(jobs.len());
        jobs.iter()
            .map(|job| {
                if job.payload.0["fail"] == true && self.failed.fetch_add(1, Ordering::SeqCst) == 0
                {
                    Err(JobError::retry("this one failed"))
                } else {
                    Ok(())
                }
            })
            .collect()
    }
}

/// Jobs of one batch key that are due together are claimed and run together by one
/// worker; one job's failure is recorded on that job alone and retried alone.
async fn jobs_of_one_batch_key_run_together_and_fail_alone(backend: Backend) {
    let together = Arc::new(Together::default());
    let opts = Options {
        configure: Box::new(|c| c.jobs.workers = 1),
        handlers: vec![(
            "test.together".into(),
            together.clone() as Arc<dyn JobHandler>,
        )],
    };
    let Some(app) = spawn_app_with(backend, opts).await else {
        return;
    };
    let token = app.token(Role::Auditor).await;
    let later = app.clock.now() + TimeDelta::minutes(1);
    for n in 0..6 {
        let job = NewJob {
            kind: "test.together".into(),
            payload: json!({"n": n, "fail": n == 2}),
            dedupe_key: None,
            batch_key: Some("erase:shop".into()),
            run_at: later,
            max_attempts: 5,
            created_at: app.clock.now(),
        };
        assert!(app.state.store.enqueue(&job).await.unwrap());
    }
    app.clock.advance(TimeDelta::minutes(2));
    app.state.queue.wake();
    let done = wait_status(&app, &token, "done", 5).await;
    assert_eq!(done["total"], 5);
    let queued = wait_status(&app, &token, "queued", 1).await;
    assert_eq!(queued["items"][0]["payload"]["n"], 2, "{queued}");
    assert_eq!(queued["items"][0]["attempts"], 1);
    assert_eq!(queued["items"][0]["last_error"], "this one failed");
    assert_eq!(*together.calls.lock().unwrap(), [6], "one call for all six");

    app.clock.advance(TimeDelta::minutes(5));
    app.state.queue.wake();
    wait_status(&app, &token, "done", 6).await;
    assert_eq!(
        *together.calls.lock().unwrap(),
        [6, 1],
        "the failed one is retried alone"
    );
    app.stop().await;
}

backend_fn_tests!(
    expired_lease_is_claimed_again,
    a_claim_says_whether_another_job_is_due,
    jobs_of_one_batch_key_run_together_and_fail_alone,
    dedupe_key_enqueues_once,
    retries_then_dead_then_retry,
    shutdown_releases_leases
);
