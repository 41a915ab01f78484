//! Chains the audit entries that audited transactions write into `audit_pending` (see
//! `AuditStore::seal_audit`). Every process that serves runs one: woken when this process
//! writes an entry, it waits [`GATHER`] so that entries written together are chained in
//! one transaction, and it also looks every `jobs.poll_interval` for entries another
//! replica (or a process that stopped before chaining them) left. Readers of the log
//! chain what is pending before they read, so nobody sees a log with entries missing.

use std::time::Duration;

use crate::app::context::AppState;

/// How long the sealer lets entries gather after a wake: the entries of one request's
/// lifecycle (created, started, completed: tens of milliseconds apart) are then mostly
/// chained by one transaction. It bounds how long an entry stays unchained.
pub const GATHER: Duration = Duration::from_millis(500);

/// Run until `stop` turns true; then chain what is pending one last time.
pub async fn run(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let written = state.store.audit_written();
    let poll = state.config.jobs.poll_interval.0;
    loop {
        let woken = tokio::select! {
            _ = written.notified() => true,
            _ = tokio::time::sleep(poll) => false,
            _ = stop.wait_for(|s| *s) => false,
        };
        if woken {
            tokio::select! {
                _ = tokio::time::sleep(GATHER) => {}
                _ = stop.wait_for(|s| *s) => {}
            }
        } else if !matches!(state.store.audit_pending().await, Ok(true)) {
            // The periodic look: one cheap read when nothing waits.
            if *stop.borrow() {
                return;
            }
            continue;
        }
        seal_pending(&state).await;
        if *stop.borrow() {
            return;
        }
    }
}

/// Chain every pending entry; a failure is logged and left for the next round (the
/// entries stay pending, nothing is lost).
pub async fn seal_pending(state: &AppState) {
    if let Err(e) = state.store.seal_all_audit().await {
        tracing::warn!(error = %e, "chaining pending audit entries failed; will retry");
    }
}
