//! `/metrics` in the Prometheus text format. Every value is counted from the database at
//! scrape time, so all replicas report the same numbers and nothing is lost on restart.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::TimeDelta;

use super::AppState;
use crate::workflow;

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
    let mut resp = out.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}
