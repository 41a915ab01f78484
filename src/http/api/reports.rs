//! The SLA report: per month and kind, how many requests were received, answered on time
//! or late, are open or overdue, and the median days to answer. JSON or CSV.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate, TimeZone};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::deadline;
use crate::error::AppError;
use crate::http::AppState;
use crate::http::auth::{Role, Staff};
use crate::http::extract::ApiQuery;
use crate::services::workflow;
use crate::store::SlaRow;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SlaQuery {
    /// First month, `YYYY-MM` (default: 11 months before `to`).
    pub from: Option<String>,
    /// Last month, `YYYY-MM` (default: this month).
    pub to: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// One month and kind. "Answered" means completed or refused (both answer the subject).
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct SlaLine {
    /// `YYYY-MM` of receipt.
    pub month: String,
    pub kind: String,
    pub received: u32,
    pub answered_on_time: u32,
    pub answered_late: u32,
    pub open: u32,
    pub overdue: u32,
    /// Median whole days from receipt to answer, of those answered.
    pub median_days_to_answer: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlaReport {
    pub from: String,
    pub to: String,
    pub lines: Vec<SlaLine>,
}

fn month(s: &str, field: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d")
        .map_err(|_| AppError::field(field, "must be a month like 2026-11"))
}

fn next_month(d: NaiveDate) -> NaiveDate {
    d.checked_add_months(chrono::Months::new(1)).unwrap_or(d)
}

fn median(mut v: Vec<i64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2] as f64
    } else {
        (v[n / 2 - 1] + v[n / 2]) as f64 / 2.0
    })
}

/// Aggregate rows into report lines (pure, so it can be checked by hand).
pub fn aggregate(rows: &[SlaRow], today: NaiveDate, tz: chrono_tz::Tz) -> Vec<SlaLine> {
    let mut lines: BTreeMap<(String, String), (SlaLine, Vec<i64>)> = BTreeMap::new();
    for r in rows {
        let received = r.received_at.with_timezone(&tz).date_naive();
        let key = (received.format("%Y-%m").to_string(), r.kind.clone());
        let (line, days) = lines.entry(key.clone()).or_insert_with(|| {
            (
                SlaLine {
                    month: key.0.clone(),
                    kind: key.1.clone(),
                    ..Default::default()
                },
                Vec::new(),
            )
        });
        line.received += 1;
        match r.status.as_str() {
            "completed" | "denied" => {
                let closed = r.closed_at.map(|c| c.with_timezone(&tz).date_naive());
                match (closed, r.due_date) {
                    (Some(c), Some(due)) if c > due => line.answered_late += 1,
                    _ => line.answered_on_time += 1,
                }
                if let Some(c) = closed {
                    days.push((c - received).num_days());
                }
            }
            "withdrawn" | "expired" => {}
            _ => {
                line.open += 1;
                if r.due_date.is_some_and(|d| deadline::is_overdue(today, d)) {
                    line.overdue += 1;
                }
            }
        }
    }
    lines
        .into_values()
        .map(|(mut line, days)| {
            line.median_days_to_answer = median(days);
            line
        })
        .collect()
}

pub fn csv(report: &SlaReport) -> String {
    let mut out = String::from(
        "month,kind,received,answered_on_time,answered_late,open,overdue,median_days_to_answer\r\n",
    );
    for l in &report.lines {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\r\n",
            l.month,
            l.kind,
            l.received,
            l.answered_on_time,
            l.answered_late,
            l.open,
            l.overdue,
            l.median_days_to_answer
                .map(|m| m.to_string())
                .unwrap_or_default()
        ));
    }
    out
}

/// The first and last month of a report: `to` defaults to this month, `from` to 11
/// months before `to`; at most 10 years.
pub fn period(
    state: &AppState,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(NaiveDate, NaiveDate), AppError> {
    let today = workflow::today(state);
    let to = match to.filter(|t| !t.is_empty()) {
        Some(t) => month(t, "to")?,
        None => today.with_day(1).unwrap_or(today),
    };
    let from = match from.filter(|f| !f.is_empty()) {
        Some(f) => month(f, "from")?,
        None => to.checked_sub_months(chrono::Months::new(11)).unwrap_or(to),
    };
    if from > to {
        return Err(AppError::field("from", "must not be after `to`"));
    }
    if (to.year() - from.year()) * 12 + (to.month() as i32 - from.month() as i32) > 120 {
        return Err(AppError::field("from", "a report covers at most 10 years"));
    }
    Ok((from, to))
}

/// The instants a period of whole months covers, `[first day of from, first day after to)`,
/// in the deployment's time zone.
pub fn period_bounds(
    state: &AppState,
    from: NaiveDate,
    to: NaiveDate,
) -> (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) {
    let tz = state.config.deadlines.timezone.0;
    let start = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_default()
    };
    (start(from), start(next_month(to)))
}

/// The SLA report of a period (months `from` to `to`, as typed).
pub async fn sla_report(
    state: &AppState,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<SlaReport, AppError> {
    let (from, to) = period(state, from, to)?;
    let (start, end) = period_bounds(state, from, to);
    let rows = state.store.sla_rows(start, end).await?;
    Ok(SlaReport {
        from: from.format("%Y-%m").to_string(),
        to: to.format("%Y-%m").to_string(),
        lines: aggregate(
            &rows,
            workflow::today(state),
            state.config.deadlines.timezone.0,
        ),
    })
}

/// A CSV download's answer.
pub fn csv_download(body: String, filename: &str) -> Response {
    let mut resp = body.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// The request register of a period as CSV: reference, kind, regime, source, dates and
/// outcome; no personal data. Times are RFC 3339 UTC, dates `YYYY-MM-DD`.
pub fn register_csv(rows: &[crate::store::RegisterRow]) -> String {
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default()
    };
    let mut out = String::from(
        "reference,kind,regime,source,received_at,verified_at,due_date,extended,status,outcome,deny_reason,closed_at\r\n",
    );
    for r in rows {
        let outcome = match r.status.as_str() {
            "completed" => "completed",
            "denied" => "refused",
            "withdrawn" => "withdrawn",
            "expired" => "expired",
            _ => "open",
        };
        let cells = [
            r.reference.clone(),
            r.kind.clone(),
            r.regime.clone(),
            r.source.clone(),
            time(Some(r.received_at)),
            time(r.verified_at),
            r.due_date.map(|d| d.to_string()).unwrap_or_default(),
            r.extended.to_string(),
            r.status.clone(),
            outcome.to_string(),
            r.deny_reason.clone().unwrap_or_default(),
            time(r.closed_at),
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// One CSV cell: quoted when it must be, and a leading `= + - @` neutralised so a
/// spreadsheet does not run it as a formula.
fn csv_cell(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// On-time performance per month and kind (`?format=csv` for a spreadsheet).
#[utoipa::path(get, path = "/reports/sla", tag = "reports", params(SlaQuery), security(("bearer" = [])),
    responses((status = 200, body = SlaReport), (status = 422, body = crate::error::Problem)))]
pub async fn sla(
    State(state): State<AppState>,
    staff: Staff,
    ApiQuery(q): ApiQuery<SlaQuery>,
) -> Result<Response, AppError> {
    staff.require(Role::Auditor)?;
    let report = sla_report(&state, q.from.as_deref(), q.to.as_deref()).await?;
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(report).into_response()),
        Some("csv") => Ok(csv_download(csv(&report), "sla-report.csv")),
        Some(_) => Err(AppError::field("format", "must be json or csv")),
    }
}
