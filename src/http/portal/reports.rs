//! Report downloads from the dashboard: the SLA report of a chosen period as CSV or JSON
//! (the API's computation), and the request register as CSV (no personal data). Each
//! download is audited.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::auth::Signed;
use super::pages::{Fields, error_page};
use crate::error::AppError;
use crate::http::api::reports::{
    csv, csv_download, period, period_bounds, register_csv, sla_report,
};
use crate::http::{AppState, ClientAddr};
use crate::store::NewAudit;

async fn audit(
    state: &AppState,
    s: &Signed,
    client: &ClientAddr,
    report: &str,
    detail: serde_json::Value,
) -> Result<(), AppError> {
    state
        .store
        .append_audit(&NewAudit {
            at: state.clock.now(),
            actor: s.0.actor_name(),
            action: "report.download".into(),
            request_ref: None,
            client_addr: client.text(),
            detail: json!({ "report": report, "period": detail }),
        })
        .await?;
    Ok(())
}

pub async fn sla(
    State(state): State<AppState>,
    s: Signed,
    client: ClientAddr,
    RawQuery(raw): RawQuery,
) -> Response {
    let f = Fields::parse(raw.unwrap_or_default().as_bytes());
    let result = async {
        let report = sla_report(&state, f.get("from"), f.get("to")).await?;
        let format = f.text("format").unwrap_or_else(|| "csv".into());
        if format != "csv" && format != "json" {
            return Err(AppError::field("format", "must be csv or json"));
        }
        audit(
            &state,
            &s,
            &client,
            "sla",
            json!({ "from": report.from, "to": report.to, "format": format }),
        )
        .await?;
        let name = format!("sla-report-{}-to-{}", report.from, report.to);
        Ok(if format == "csv" {
            csv_download(csv(&report), &format!("{name}.csv"))
        } else {
            let mut resp = Json(&report).into_response();
            if let Ok(v) =
                axum::http::HeaderValue::from_str(&format!("attachment; filename=\"{name}.json\""))
            {
                resp.headers_mut()
                    .insert(axum::http::header::CONTENT_DISPOSITION, v);
            }
            resp
        })
    }
    .await;
    result.unwrap_or_else(error_page)
}

pub async fn register(
    State(state): State<AppState>,
    s: Signed,
    client: ClientAddr,
    RawQuery(raw): RawQuery,
) -> Response {
    let f = Fields::parse(raw.unwrap_or_default().as_bytes());
    let result = async {
        let (from, to) = period(&state, f.get("from"), f.get("to"))?;
        let (start, end) = period_bounds(&state, from, to);
        let rows = state.store.register_rows(start, end).await?;
        let (from, to) = (
            from.format("%Y-%m").to_string(),
            to.format("%Y-%m").to_string(),
        );
        audit(
            &state,
            &s,
            &client,
            "register",
            json!({ "from": from, "to": to, "format": "csv" }),
        )
        .await?;
        Ok::<_, AppError>(csv_download(
            register_csv(&rows),
            &format!("request-register-{from}-to-{to}.csv"),
        ))
    }
    .await;
    result.unwrap_or_else(error_page)
}
