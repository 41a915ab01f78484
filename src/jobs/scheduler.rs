//! The scheduler: each schedule only *enqueues* its job, with the dedupe key
//! `name:<scheduled time>`, so any number of replicas sharing a database run each tick
//! once. The scheduled time comes from the cron pattern (croner, the parser behind
//! tokio-cron-scheduler), not from when a replica woke up, so every replica computes the
//! same key for the same tick.

use std::time::Duration;

use chrono::Utc;
use croner::Cron;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::app::context::AppState;

/// A job kind run on a cron pattern (seconds first: `sec min hour day month weekday`).
#[derive(Debug, Clone)]
pub struct Schedule {
    pub name: String,
    pub job_kind: String,
    pub cron: Cron,
}

pub use crate::domain::schedule::{ScheduleError, next_tick, parse_cron};

/// Running schedule loops.
pub struct Scheduler {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Scheduler {
    pub fn start(state: AppState, schedules: Vec<Schedule>) -> Self {
        let (stop, rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for s in schedules {
            tasks.spawn(run(state.clone(), s, rx.clone()));
        }
        Self { stop, tasks }
    }

    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

async fn run(state: AppState, s: Schedule, mut stop: watch::Receiver<bool>) {
    loop {
        // Real time decides when to wake; the tick's identity is the scheduled instant.
        let now = Utc::now();
        let Some(tick) = next_tick(&s.cron, now) else {
            tracing::error!(schedule = %s.name, "schedule has no next tick");
            return;
        };
        let wait = (tick - now).to_std().unwrap_or(Duration::ZERO);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        let key = format!(
            "{}:{}",
            s.name,
            tick.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        match state
            .queue
            .enqueue(
                &s.job_kind,
                serde_json::json!({ "tick": tick }),
                Some(key),
                None,
            )
            .await
        {
            Ok(true) => tracing::debug!(schedule = %s.name, %tick, "tick enqueued"),
            Ok(false) => {
                tracing::debug!(schedule = %s.name, %tick, "tick already enqueued by another replica")
            }
            Err(e) => tracing::warn!(schedule = %s.name, error = %e, "could not enqueue tick"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    #[test]
    fn ticks_are_the_same_for_every_replica() {
        let cron = parse_cron("0 */5 * * * *").unwrap();
        let a = "2026-11-23T10:01:07.123Z".parse::<DateTime<Utc>>().unwrap();
        let b = "2026-11-23T10:04:59.999Z".parse::<DateTime<Utc>>().unwrap();
        let want = "2026-11-23T10:05:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(next_tick(&cron, a), Some(want));
        assert_eq!(next_tick(&cron, b), Some(want));
        assert_eq!(next_tick(&cron, want), "2026-11-23T10:10:00Z".parse().ok());
    }

    #[test]
    fn patterns_need_seconds() {
        assert!(parse_cron("*/5 * * * *").is_err());
        assert!(parse_cron("0 30 3 * * *").is_ok());
        assert!(parse_cron("not a pattern at all").is_err());
    }
}
