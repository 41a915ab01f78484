//! The purge of Rightsdesk's own data (`[retention_own]`), run on the `own_data_purge`
//! schedule: expired export packages (file deleted, row kept as expired so the status
//! page can say so), the identity and free text of requests closed longer than
//! `closed_request_pii` (reference, kind, dates and outcome stay), dead links, expired
//! sessions and rate-limit windows, finished jobs older than `finished_jobs_keep`, and
//! privacy-inbox items decided longer than `closed_request_pii` ago.
//!
//! The audit log is kept: its hash chain is the evidence of what was done, and its
//! entries hold references and counts, not identities.

use async_trait::async_trait;
use serde::Serialize;
use serde_json::json;

use crate::app::context::AppState;
use crate::jobs::{JobError, JobHandler};
use crate::store::{Job, NewAudit, StoreError};

pub const JOB: &str = "retention.own_data";

const BATCH: i64 = 500;

/// What one own-data purge removed.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct OwnPurgeReport {
    pub exports_expired: u64,
    pub requests_wiped: u64,
    /// Files the subjects and their agents sent, of the wiped requests.
    pub files_deleted: u64,
    pub tokens_deleted: u64,
    pub sessions_deleted: u64,
    pub jobs_pruned: u64,
    /// Privacy-inbox items converted or dismissed before the `closed_request_pii` cutoff.
    pub inbox_items_deleted: u64,
}

/// Run the own-data purge once, in batches; audited.
pub async fn purge(state: &AppState, actor: &str) -> Result<OwnPurgeReport, StoreError> {
    let now = state.clock.now();
    let cfg = &state.config.retention_own;
    let mut report = OwnPurgeReport::default();

    loop {
        let due = state.store.expired_exports(now, BATCH).await?;
        for e in &due {
            let path = crate::services::export::file_path(state, &e.id);
            match tokio::fs::remove_file(&path).await {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => {
                    // The row stays live so that the next run tries again.
                    tracing::error!(export = %e.id, error = %err, "cannot delete an expired export file");
                    continue;
                }
            }
            if state.store.mark_export_deleted(&e.id, now).await? {
                report.exports_expired += 1;
            }
        }
        if (due.len() as i64) < BATCH {
            break;
        }
    }

    let cutoff = now - cfg.closed_request_pii.chrono();
    loop {
        let n = state.store.wipe_closed_requests(cutoff, now, BATCH).await?;
        report.requests_wiped += n;
        if (n as i64) < BATCH {
            break;
        }
    }

    // A decided triage item's message (sender, text, attachments) goes on the same
    // schedule as a closed request's identity; a converted one lives on as its request.
    report.inbox_items_deleted = state.store.inbox_purge_decided(cutoff).await?;
    // The conversation, files and agent identity of every wiped request go with it.
    report.files_deleted = state.store.wipe_conversations().await?;
    report.tokens_deleted = state.store.purge_dead_tokens(now).await?;
    report.sessions_deleted = state.store.delete_expired_sessions(now).await?;

    let before = now - cfg.finished_jobs_keep.chrono();
    loop {
        let n = state.store.prune_finished_jobs(before, 5 * BATCH).await?;
        report.jobs_pruned += n;
        if (n as i64) < 5 * BATCH {
            break;
        }
    }

    state
        .store
        .append_audit(&NewAudit {
            at: state.clock.now(),
            actor: actor.to_string(),
            action: "retention.own_data".into(),
            request_ref: None,
            client_addr: None,
            detail: json!(report),
        })
        .await?;
    tracing::info!(
        exports = report.exports_expired,
        requests = report.requests_wiped,
        tokens = report.tokens_deleted,
        sessions = report.sessions_deleted,
        jobs = report.jobs_pruned,
        "own-data purge finished"
    );
    Ok(report)
}

/// What completing an erasure removed of Rightsdesk's own copies of that identity.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IdentityCopiesReport {
    /// The other requests of the identity whose copies were looked at (references).
    pub requests: Vec<String>,
    #[serde(flatten)]
    pub erased: crate::store::OwnCopiesErased,
    /// Export files that could not be deleted (kept live; the own-data purge retries).
    pub export_files_not_deleted: u64,
}

/// After an erasure of `erasure`'s identity completes: delete what Rightsdesk itself
/// keeps of that identity from its other requests (stored access results, export files,
/// identity-check proofs and notes), so no export can be built or downloaded from them
/// again. Their references, kinds, dates and outcomes stay; the audit log keeps
/// references and counts only.
pub async fn erase_copies_of_identity(
    state: &AppState,
    erasure: &crate::store::Request,
) -> Result<IdentityCopiesReport, StoreError> {
    let Some(index) = &erasure.email_index else {
        return Ok(IdentityCopiesReport::default());
    };
    let (requests, exports) = state
        .store
        .own_copies_of_identity(index, &erasure.id)
        .await?;
    let mut report = IdentityCopiesReport {
        requests: requests.iter().map(|(_, r)| r.clone()).collect(),
        ..Default::default()
    };
    if requests.is_empty() {
        return Ok(report);
    }
    let mut deleted = Vec::with_capacity(exports.len());
    for id in exports {
        match tokio::fs::remove_file(crate::services::export::file_path(state, &id)).await {
            Ok(()) => deleted.push(id),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => deleted.push(id),
            Err(e) => {
                tracing::error!(export = %id, error = %e, "cannot delete an export file after an erasure");
                report.export_files_not_deleted += 1;
            }
        }
    }
    let ids: Vec<String> = requests.into_iter().map(|(id, _)| id).collect();
    report.erased = state
        .store
        .erase_own_copies(&ids, &erasure.reference, &deleted, state.clock.now())
        .await?;
    Ok(report)
}

/// The scheduled own-data purge.
pub struct OwnDataPurgeJob;

#[async_trait]
impl JobHandler for OwnDataPurgeJob {
    async fn run(&self, _job: &Job, state: &AppState) -> Result<(), JobError> {
        purge(state, "scheduler")
            .await
            .map(|_| ())
            .map_err(|e| JobError::retry(e.to_string()))
    }
}
