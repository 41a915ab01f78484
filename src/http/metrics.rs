//! `/metrics` in the Prometheus text format. Every value is counted from the database at
//! scrape time, so all replicas report the same numbers and nothing is lost on restart.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::TimeDelta;

use super::AppState;
use crate::services::workflow;

fn family(out: &mut String, name: &str, help: &str, kind: &str) {
    out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    let today = workflow::today(&state);
    let snap = match state.store.metrics(today, today + TimeDelta::days(7)).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "metrics query failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response();
        }
    };
    let mut out = String::new();
    family(
        &mut out,
        "rightsdesk_requests_open",
        "Requests not yet final, by status.",
        "gauge",
    );
    for (status, n) in &snap.open_by_status {
        out.push_str(&format!(
            "rightsdesk_requests_open{{status=\"{status}\"}} {n}\n"
        ));
    }
    family(
        &mut out,
        "rightsdesk_requests_overdue",
        "Requests past their due date and not answered.",
        "gauge",
    );
    out.push_str(&format!("rightsdesk_requests_overdue {}\n", snap.overdue));
    family(
        &mut out,
        "rightsdesk_requests_due_within_7_days",
        "Requests due in the next seven days.",
        "gauge",
    );
    out.push_str(&format!(
        "rightsdesk_requests_due_within_7_days {}\n",
        snap.due_within_7_days
    ));
    family(
        &mut out,
        "rightsdesk_requests_due_within_2_days_open",
        "Requests due within two days that nobody has started.",
        "gauge",
    );
    out.push_str(&format!(
        "rightsdesk_requests_due_within_2_days_open {}\n",
        snap.due_soon_not_started
    ));
    family(
        &mut out,
        "rightsdesk_jobs",
        "Jobs by status (queued is the queue depth; dead needs a human).",
        "gauge",
    );
    for (status, n) in &snap.jobs_by_status {
        out.push_str(&format!("rightsdesk_jobs{{status=\"{status}\"}} {n}\n"));
    }
    family(
        &mut out,
        "rightsdesk_emails",
        "Emails by delivery status.",
        "gauge",
    );
    for (status, n) in &snap.emails_by_status {
        out.push_str(&format!("rightsdesk_emails{{status=\"{status}\"}} {n}\n"));
    }
    // --- operations metrics (issue 11) ---
    match state.store.connector_task_failures().await {
        Ok(rows) => {
            family(
                &mut out,
                "rightsdesk_connector_task_failures_total",
                "Failed connector task attempts, by connector (retried or final).",
                "counter",
            );
            for (connector, n) in &rows {
                out.push_str(&format!(
                    "rightsdesk_connector_task_failures_total{{connector=\"{}\"}} {n}\n",
                    label(connector)
                ));
            }
        }
        Err(e) => tracing::warn!(error = %e, "connector failure metrics query failed"),
    }
    match audit_chain_ok(&state).await {
        Ok((ok, checkpoint)) => {
            family(
                &mut out,
                "rightsdesk_audit_chain_ok",
                "1 while the audit log's hash chain verifies, 0 once an entry does not.",
                "gauge",
            );
            out.push_str(&format!("rightsdesk_audit_chain_ok {}\n", u8::from(ok)));
            if let Some((seq, hash)) = checkpoint {
                family(
                    &mut out,
                    "rightsdesk_audit_checkpoint",
                    "The newest verified audit checkpoint (every audit.checkpoint_every entries): its sequence number and head hash, to keep outside the database.",
                    "gauge",
                );
                out.push_str(&format!(
                    "rightsdesk_audit_checkpoint{{seq=\"{seq}\",head=\"{}\"}} {seq}\n",
                    label(&hash)
                ));
            }
        }
        Err(e) => tracing::warn!(error = %e, "audit chain check failed"),
    }
    // Retention purges (issue 8): the latest real run of each policy.
    match state.store.latest_retention_runs().await {
        Ok(runs) => {
            family(
                &mut out,
                "rightsdesk_retention_run_failed",
                "1 when the last run of a retention policy failed, 0 when it succeeded or runs.",
                "gauge",
            );
            for r in &runs {
                out.push_str(&format!(
                    "rightsdesk_retention_run_failed{{connector=\"{}\",name=\"{}\"}} {}\n",
                    label(&r.connector),
                    label(&r.policy),
                    u8::from(r.status == "failed")
                ));
            }
        }
        Err(e) => tracing::warn!(error = %e, "retention runs query failed"),
    }
    let mut resp = out.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

/// How far this process has verified one database's audit chain.
#[derive(Debug, Clone)]
struct ChainProgress {
    seq: i64,
    hash: String,
    epoch: i64,
    ok: bool,
    /// The newest checkpoint boundary verified: sequence number and hash.
    checkpoint: Option<(i64, String)>,
}

type ChainCache = std::sync::Mutex<
    std::collections::HashMap<String, std::sync::Arc<tokio::sync::Mutex<ChainProgress>>>,
>;

static CHAINS: std::sync::LazyLock<ChainCache> = std::sync::LazyLock::new(Default::default);

/// Whether the audit chain verifies, checked incrementally: each scrape re-reads the last
/// verified entry (its hash must not have changed) and verifies only the entries after it,
/// so a scrape costs a few rows however long the log is. The first scrape of a process
/// walks the whole chain once, in pages. Once broken it stays 0 until the process restarts
/// (`rightsdesk audit verify` names the entry).
async fn audit_chain_ok(state: &AppState) -> crate::store::Result<(bool, Option<(i64, String)>)> {
    let Some(keys) = state.store.chain_keys() else {
        return Ok((false, None));
    };
    const PAGE: i64 = 1000;
    let cell = {
        let mut map = CHAINS.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(state.config.database_url.expose().clone())
            .or_insert_with(|| {
                std::sync::Arc::new(tokio::sync::Mutex::new(ChainProgress {
                    seq: 0,
                    hash: crate::store::audit_chain::GENESIS.to_string(),
                    epoch: 0,
                    ok: true,
                    checkpoint: None,
                }))
            })
            .clone()
    };
    let mut p = cell.lock().await;
    if !p.ok {
        return Ok((false, None));
    }
    if p.seq > 0 {
        let tip = state.store.audit_after(p.seq - 1, 1).await?;
        if tip.first().map(|e| (e.seq, e.hash.as_str())) != Some((p.seq, p.hash.as_str())) {
            p.ok = false;
            return Ok((false, None));
        }
    }
    loop {
        let page = state.store.audit_after(p.seq, PAGE).await?;
        if page.is_empty() {
            return Ok((true, p.checkpoint.clone()));
        }
        for e in &page {
            if e.seq != p.seq + 1
                || !crate::store::audit_chain::entry_fits(&keys, e, &p.hash, p.epoch)
            {
                p.ok = false;
                return Ok((false, None));
            }
            p.seq = e.seq;
            p.hash = e.hash.clone();
            p.epoch = e.key_epoch;
            if keys.is_checkpoint(e.seq) {
                p.checkpoint = Some((e.seq, e.hash.clone()));
            }
        }
    }
}

/// A label value in the exposition format (backslash, quote and newline escaped).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
