//! Portal pages for requests: dashboard, queue, detail with the workflow action forms, and
//! staff entry of a new request. Workflow rules live in `workflow`; listing and detail
//! building are shared with the API (`http::api::requests`).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use serde_json::json;

use super::auth::Signed;
use super::pages::{Fields, error_page, page_ctx, readable, render};
use crate::domain::request::{DenyReason, Kind, Status};
use crate::domain::staff::Role;
use crate::error::AppError;
use crate::http::api::requests::{CreateRequest, ListQuery, full_view, search, staff_entry};
use crate::http::{AppState, ClientAddr};
use crate::services::workflow::{self, Actor, StaffAction};

fn actor(s: &Signed, client: &ClientAddr) -> Actor {
    Actor {
        name: s.0.actor_name(),
        client_addr: client.text(),
    }
}

pub(super) fn label(s: &str) -> String {
    let mut out = s.replace('_', " ");
    if let Some(f) = out.get(..1) {
        out = f.to_uppercase() + &out[1..];
    }
    out
}

fn options<T: Copy + std::fmt::Display>(all: &[T]) -> Vec<serde_json::Value> {
    all.iter()
        .map(|v| json!({ "value": v.to_string(), "label": label(&v.to_string()) }))
        .collect()
}

/// Of the requests answered (completed or refused) since the first of this month, how
/// many were answered by their due date: `(on time, answered)`.
async fn answered_this_month(state: &AppState, today: NaiveDate) -> Result<(u32, u32), AppError> {
    let tz = state.config.deadlines.timezone.0;
    let first = today.with_day(1).unwrap_or(today);
    let local_midnight = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    };
    let (Some(from), Some(month_start)) = (
        local_midnight(first - chrono::Months::new(6)),
        local_midnight(first),
    ) else {
        return Ok((0, 0));
    };
    let rows = state.store.sla_rows(from, state.clock.now()).await?;
    let (mut on_time, mut answered) = (0, 0);
    for r in rows
        .iter()
        .filter(|r| matches!(r.status.as_str(), "completed" | "denied"))
    {
        let Some(closed) = r.closed_at.filter(|c| *c >= month_start) else {
            continue;
        };
        answered += 1;
        let closed_day = closed.with_timezone(&tz).date_naive();
        if r.due_date.is_none_or(|due| closed_day <= due) {
            on_time += 1;
        }
    }
    Ok((on_time, answered))
}

pub async fn dashboard(State(state): State<AppState>, s: Signed) -> Response {
    let today = workflow::today(&state);
    let week = today + chrono::Days::new(7);
    let (on_time, answered) = match answered_this_month(&state, today).await {
        Ok(x) => x,
        Err(e) => return error_page(e),
    };
    let charts = match super::charts::dashboard_charts(&state, today).await {
        Ok(c) => c,
        Err(e) => return error_page(e),
    };
    match state.store.metrics(today, week).await {
        Ok(m) => {
            let by_status: Vec<_> = m
                .open_by_status
                .iter()
                .map(|(st, n)| json!({ "status": st, "label": label(st), "count": n }))
                .collect();
            let open: i64 = m.open_by_status.iter().map(|(_, n)| n).sum();
            render(
                StatusCode::OK,
                "portal/dashboard.html",
                page_ctx(
                    &state,
                    &s.0,
                    json!({ "by_status": by_status, "open": open, "overdue": m.overdue,
                            "due_soon": m.due_within_7_days, "today": today.to_string(),
                            "answered": answered, "on_time": on_time,
                            "on_time_pct": (answered > 0).then(|| on_time * 100 / answered),
                            "charts": charts,
                            "this_month": today.format("%Y-%m").to_string() }),
                ),
            )
        }
        Err(e) => error_page(e.into()),
    }
}

/// The queue's filters as typed in the form (empty means "any").
pub(super) fn list_query(raw: Option<&str>) -> Result<(ListQuery, serde_json::Value), AppError> {
    let f = Fields::parse(raw.unwrap_or("").as_bytes());
    // The queue shows open requests unless staff choose "all statuses" or one status.
    let status_choice = f.text("status").unwrap_or_else(|| "open".to_owned());
    let open_only = status_choice == "open";
    let status = match status_choice.as_str() {
        "open" | "all" => None,
        v => Some(
            v.parse::<Status>()
                .map_err(|e| AppError::field("status", e.to_string()))?,
        ),
    };
    let due_within_days = f
        .text("due_within")
        .map(|v| {
            v.parse::<u32>().map_err(|_| {
                AppError::field("due_within", "must be a whole number of days, 0 to 366")
            })
        })
        .transpose()?;
    let kind = f
        .text("kind")
        .map(|v| {
            v.parse::<Kind>()
                .map_err(|e| AppError::field("kind", e.to_string()))
        })
        .transpose()?;
    let overdue = match f.text("overdue").as_deref() {
        Some("yes") | Some("true") => Some(true),
        Some("no") | Some("false") => Some(false),
        _ => None,
    };
    let page = f.text("page").and_then(|p| p.parse::<u32>().ok());
    let values = json!({
        "status": status_choice, "kind": f.text("kind"),
        "overdue": f.text("overdue"), "q": f.text("q"), "assignee": f.text("assignee"),
        "due_within": f.text("due_within"),
    });
    Ok((
        ListQuery {
            status,
            kind,
            overdue,
            q: f.text("q"),
            assignee: f.text("assignee"),
            page,
            per_page: Some(25),
            due_within_days,
            open_only: Some(open_only),
        },
        values,
    ))
}

pub async fn queue(State(state): State<AppState>, s: Signed, RawQuery(raw): RawQuery) -> Response {
    let result = async {
        let (q, values) = list_query(raw.as_deref())?;
        let list = search(&state, &q).await?;
        let agents = crate::services::drp::service::agents_of(
            &state,
            &list
                .items
                .iter()
                .map(|r| r.reference.clone())
                .collect::<Vec<_>>(),
        )
        .await?;
        let pages = (list.total + i64::from(list.per_page) - 1) / i64::from(list.per_page);
        // Keep the filters when paging.
        let mut keep = form_urlencoded::Serializer::new(String::new());
        for key in ["status", "kind", "overdue", "q", "assignee", "due_within"] {
            if let Some(v) = values[key].as_str() {
                keep.append_pair(key, v);
            }
        }
        let keep = keep.finish();
        Ok::<_, AppError>(render(
            StatusCode::OK,
            "portal/queue.html",
            page_ctx(
                &state,
                &s.0,
                json!({
                    "items": list.items, "total": list.total, "page": list.page, "pages": pages,
                    "values": values, "keep": keep,
                    "statuses": options(Status::ALL), "kinds": options(Kind::ALL),
                    "drp_agents": agents,
                    "agent": s.0.user.role >= Role::Agent,
                    "deny_reasons": options(
                        &DenyReason::ALL
                            .iter()
                            .copied()
                            .filter(|d| *d != DenyReason::Duplicate)
                            .collect::<Vec<_>>(),
                    ),
                }),
            ),
        ))
    }
    .await;
    result.unwrap_or_else(error_page)
}

fn done_message(action: &str) -> Option<&'static str> {
    Some(match action {
        "start" => "Work on the request has started.",
        "assign" => "The assignment was saved.",
        "hold" => "The request is on hold; the subject was told.",
        "resume" => "Work on the request resumed.",
        "extend" => "The due date was extended; the subject was told the reason.",
        "deny" => "The request was refused; the subject was told the reason.",
        "complete" => "The request is completed; the subject was told.",
        "withdraw" => "The request was recorded as withdrawn.",
        "created" => "The request was entered.",
        "retry-task" => "The task was queued again.",
        "corrections" => "The corrections were saved.",
        "rerun" => "The request is being run again.",
        "regime" => "The regime was changed and the due date recomputed from the same clock start.",
        "decide" => "The appeal was decided; the subject was told the decision and the reasons.",
        "unlink" => "The request is no longer linked; it is worked on its own.",
        "merge" => {
            "The request was merged into the one it repeats and closed as a duplicate; the subject was told."
        }
        "lift" => "The subject was told, and the restriction is being lifted on every connector.",
        "note" => "The note was added to the history (staff only; the subject does not see it).",
        "export-link" => {
            "A new download link was emailed to the subject; earlier links stop working."
        }
        "export-rebuild" => "The package was built again and its link emailed to the subject.",
        "ask" => "The subject was emailed the question; the request waits for the answer.",
        "message" => "The message was emailed to the subject.",
        "agent-consent" => "The subject's consent to share the answer with the agent is recorded.",
        "agent-accept" => {
            "The power of attorney was accepted; the request is open and its clock runs."
        }
        _ => return None,
    })
}

async fn detail_page(
    state: &AppState,
    s: &Signed,
    client: &ClientAddr,
    reference: &str,
    status: StatusCode,
    flash: Option<&str>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let req = workflow::load(state, reference).await?;
    let clock_pauses = state.config.regime_rules(req.regime).hold_pauses;
    // Offered only what the workflow would accept (the same rules, in services/offers).
    let can = crate::services::offers::allowed(state, &req).await?;
    let exports =
        crate::http::api::exports::views(state, state.store.exports_for_request(&req.id).await?);
    let exportable = matches!(
        req.kind,
        crate::domain::request::Kind::Access | crate::domain::request::Kind::Portability
    );
    let identity = crate::services::verification::view(state, &req).await?;
    let drp = crate::services::drp::service::case_view(state, &req).await?;
    let conversation = crate::services::conversation::view(state, &req, true).await?;
    let authorized_agent = crate::services::agents::view(state, &req).await?;
    let view = full_view(state, &actor(s, client), req, true).await?;
    // The corrections form: every correction, and two empty rows to add one.
    let mut correction_rows: Vec<serde_json::Value> = view
        .corrections
        .iter()
        .flatten()
        .map(|c| json!({ "field": c.field, "value": c.value }))
        .collect();
    correction_rows.extend([
        json!({ "field": "", "value": "" }),
        json!({ "field": "", "value": "" }),
    ]);
    let status_label = label(view.status.as_str());
    let agent = s.0.user.role >= Role::Agent;
    let may_decide = crate::services::appeals::user_may_decide(state, &s.0.user).await?;
    let regimes: Vec<String> = crate::domain::deadline::Regime::NAMED
        .iter()
        .map(|r| r.to_string())
        .collect();
    Ok(render(
        status,
        "portal/detail.html",
        page_ctx(
            state,
            &s.0,
            json!({
                "r": view, "status_label": status_label, "can": can, "agent": agent,
                "clock_pauses": clock_pauses,
                "flash": flash, "error": error,
                // `duplicate` is what merging a linked request records.
                "deny_reasons": options(
                    &DenyReason::ALL
                        .iter()
                        .copied()
                        .filter(|d| *d != DenyReason::Duplicate)
                        .collect::<Vec<_>>(),
                ),
                "exports": exports, "exportable": exportable,
                "identity": identity,
                "drp": drp,
                "conversation": conversation, "authorized_agent": authorized_agent,
                "correction_rows": correction_rows,
                "may_decide": may_decide, "regimes": regimes,
            }),
        ),
    ))
}

pub async fn detail(
    State(state): State<AppState>,
    s: Signed,
    client: ClientAddr,
    Path(reference): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let f = Fields::parse(raw.unwrap_or_default().as_bytes());
    let flash = f.get("done").and_then(done_message);
    detail_page(&state, &s, &client, &reference, StatusCode::OK, flash, None)
        .await
        .unwrap_or_else(error_page)
}

fn parse_date(field: &str, v: Option<String>) -> Result<Option<NaiveDate>, AppError> {
    v.map(|d| {
        NaiveDate::parse_from_str(&d, "%Y-%m-%d")
            .map_err(|_| AppError::field(field, "must be a date like 2026-12-31"))
    })
    .transpose()
}

/// The rows `field_N` / `value_N` of the corrections form; empty rows are dropped.
fn corrections_form(f: &Fields) -> Vec<workflow::Correction> {
    (0..60)
        .filter_map(|i| {
            let field = f.text(&format!("field_{i}"));
            let value = f.text(&format!("value_{i}"));
            (field.is_some() || value.is_some()).then(|| workflow::Correction {
                field: field.unwrap_or_default(),
                value: value.unwrap_or_default(),
            })
        })
        .collect()
}

fn staff_action(action: &str, f: &Fields) -> Result<StaffAction, AppError> {
    Ok(match action {
        "start" => StaffAction::Start,
        "rerun" => StaffAction::Rerun,
        "resume" => StaffAction::Resume,
        "hold" => StaffAction::Hold {
            reason: f.text("reason").unwrap_or_default(),
            code: match f.text("reason_code") {
                Some(c) => c
                    .parse()
                    .map_err(|e: crate::domain::request::UnknownValue| {
                        AppError::field("reason_code", e.to_string())
                    })?,
                None => crate::domain::request::HoldReason::Other,
            },
        },
        "extend" => StaffAction::Extend {
            reason: f.text("reason").unwrap_or_default(),
            until: parse_date("until", f.text("until"))?,
        },
        "deny" => StaffAction::Deny {
            reason: f
                .text("reason")
                .ok_or_else(|| AppError::field("reason", "choose a reason"))?
                .parse()
                .map_err(|e: crate::domain::request::UnknownValue| {
                    AppError::field("reason", e.to_string())
                })?,
            note: f.text("note"),
        },
        "complete" => StaffAction::Complete {
            note: f.text("note"),
            download_url: None,
        },
        "withdraw" => StaffAction::Withdraw {
            note: f.text("note"),
        },
        "assign" => StaffAction::Assign {
            assignee: match f.text("assignee") {
                Some(a) => Some(
                    crate::domain::identity::SubjectEmail::parse(&a)
                        .map_err(|e| AppError::field("assignee", e.to_string()))?
                        .expose()
                        .to_string(),
                ),
                None => None,
            },
        },
        _ => return Err(AppError::NotFound(format!("no action `{action}`"))),
    })
}

pub async fn action(
    State(state): State<AppState>,
    s: Signed,
    client: ClientAddr,
    Path((reference, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    if let Err(r) = s.form(&f, Role::Agent) {
        return r;
    }
    let who = actor(&s, &client);
    use crate::http::api::exports::{rebuild_for, reissue_for};
    let result = match action.as_str() {
        "export-link" => reissue_for(&state, &who, &reference).await.map(|_| None),
        "export-rebuild" => rebuild_for(&state, &who, &reference).await.map(|_| None),
        "lift" => workflow::lift_restriction(
            &state,
            &who,
            &reference,
            &f.text("reason").unwrap_or_default(),
        )
        .await
        .map(Some),
        "corrections" => workflow::edit_corrections(&state, &who, &reference, corrections_form(&f))
            .await
            .map(Some),
        "retry-task" => match f.text("task_id") {
            Some(task_id) => crate::services::fanout::retry(&state, &reference, &task_id)
                .await
                .map(|_| None),
            None => Err(AppError::field("task_id", "choose a task")),
        },
        "regime" => match f
            .text("regime")
            .map(|r| r.parse::<crate::domain::deadline::Regime>())
        {
            Some(Ok(regime)) => crate::services::regime_change::change(
                &state,
                &who,
                &reference,
                regime,
                &f.text("reason").unwrap_or_default(),
            )
            .await
            .map(Some),
            Some(Err(e)) => Err(AppError::field("regime", e.to_string())),
            None => Err(AppError::field("regime", "choose a regime")),
        },
        "decide" => match crate::services::appeals::user_may_decide(&state, &s.0.user).await {
            Ok(may) => match f.text("outcome").map(|o| o.parse()) {
                Some(Ok(outcome)) => crate::services::appeals::decide(
                    &state,
                    &who,
                    may,
                    &reference,
                    outcome,
                    &f.text("reason").unwrap_or_default(),
                )
                .await
                .map(Some),
                Some(Err(e)) => Err(AppError::field("outcome", e)),
                None => Err(AppError::field("outcome", "choose upheld or reversed")),
            },
            Err(e) => Err(e),
        },
        // Staff record how they verified the requester (issue 12).
        "unlink" => crate::services::duplicates::unlink(&state, &who, &reference)
            .await
            .map(Some),
        "merge" => crate::services::duplicates::merge(&state, &who, &reference)
            .await
            .map(Some),
        // Ask the subject for information (on hold, awaiting the subject) or write to them.
        "ask" => crate::services::conversation::ask(
            &state,
            &who,
            &reference,
            &f.text("question").unwrap_or_default(),
        )
        .await
        .map(Some),
        "message" => crate::services::conversation::message(
            &state,
            &who,
            &reference,
            &f.text("text").unwrap_or_default(),
        )
        .await
        .map(Some),
        "agent-consent" => crate::services::agents::record_consent(&state, &who, &reference)
            .await
            .map(Some),
        "agent-accept" => {
            crate::services::agents::accept_power_of_attorney(&state, &who, &reference)
                .await
                .map(Some)
        }
        "identity" => match workflow::load(&state, &reference).await {
            Ok(req) => crate::services::verification::staff_confirm(
                &state,
                &s.0.actor_name(),
                client.text(),
                &req,
                f.get("note").unwrap_or_default(),
            )
            .await
            .map(|_| None),
            Err(e) => Err(e),
        },
        _ => match staff_action(&action, &f) {
            Ok(a) => workflow::act(&state, &who, &reference, a).await.map(Some),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(req) => Redirect::to(&format!(
            "/portal/requests/{}?done={}",
            req.map(|r| r.reference)
                .unwrap_or_else(|| reference.clone()),
            if done_message(&action).is_some() {
                action.as_str()
            } else {
                ""
            }
        ))
        .into_response(),
        Err(e @ (AppError::Validation(_) | AppError::Conflict { .. })) => {
            let status = e.status();
            detail_page(
                &state,
                &s,
                &client,
                &reference,
                status,
                None,
                Some(readable(&e)),
            )
            .await
            .unwrap_or_else(error_page)
        }
        Err(e) => error_page(e),
    }
}

fn new_page(
    state: &AppState,
    s: &Signed,
    status: StatusCode,
    values: serde_json::Value,
    error: Option<String>,
) -> Response {
    render(
        status,
        "portal/new.html",
        page_ctx(
            state,
            &s.0,
            json!({ "kinds": options(
                        // An appeal is made from the refused request's status page.
                        &Kind::ALL.iter().copied().filter(|k| *k != Kind::Appeal).collect::<Vec<_>>(),
                    ),
                    "values": values, "error": error,
                    "regime": state.config.deadlines.regime.to_string() }),
        ),
    )
}

pub async fn new_form(State(state): State<AppState>, s: Signed) -> Response {
    if let Err(r) = s.require(Role::Agent) {
        return r;
    }
    new_page(&state, &s, StatusCode::OK, json!({}), None)
}

/// A date from the form, as the start of that day in the deployment's time zone.
fn day_start(
    state: &AppState,
    field: &str,
    v: Option<String>,
) -> Result<Option<chrono::DateTime<Utc>>, AppError> {
    let Some(d) = parse_date(field, v)? else {
        return Ok(None);
    };
    let tz = state.config.deadlines.timezone.0;
    let local = tz
        .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .ok_or_else(|| AppError::field(field, "is not a valid day here"))?;
    // Today means "now": midnight would be before a request entered this morning.
    let now = state.clock.now();
    let t = local.with_timezone(&Utc);
    Ok(Some(if d == workflow::today(state) { now } else { t }))
}

pub async fn create(
    State(state): State<AppState>,
    s: Signed,
    client: ClientAddr,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    if let Err(r) = s.form(&f, Role::Agent) {
        return r;
    }
    let values = json!({
        "kind": f.text("kind"), "email": f.text("email"), "name": f.text("name"),
        "details": f.text("details"), "corrections": f.text("corrections"), "scope": f.text("scope"), "processing": f.text("processing"),
        "received_on": f.text("received_on"), "verified_on": f.text("verified_on"),
        "verification_note": f.text("verification_note"),
        "recipients_requested": f.text("recipients_requested").is_some(),
    });
    let result = async {
        let kind = f
            .text("kind")
            .ok_or_else(|| AppError::field("kind", "choose what the person asks for"))?
            .parse::<Kind>()
            .map_err(|e| AppError::field("kind", e.to_string()))?;
        let corrections =
            crate::http::public::parse_corrections(&f.text("corrections").unwrap_or_default())
                .map_err(|e| AppError::field("corrections", e))?;
        let body = CreateRequest {
            kind,
            email: f.text("email").unwrap_or_default(),
            name: f.text("name"),
            details: f.text("details"),
            corrections,
            scope: f.text("scope"),
            processing: f.text("processing"),
            received_at: day_start(&state, "received_on", f.text("received_on"))?,
            verified_at: day_start(&state, "verified_on", f.text("verified_on"))?,
            regime: None,
            verification_note: f.text("verification_note").unwrap_or_default(),
            recipients_requested: f.text("recipients_requested").is_some(),
            start: false,
        };
        let entry = staff_entry(&state, body)?;
        workflow::create_staff_request(&state, &actor(&s, &client), entry).await
    }
    .await;
    match result {
        Ok(req) => Redirect::to(&format!("/portal/requests/{}?done=created", req.reference))
            .into_response(),
        Err(e @ AppError::Validation(_)) => new_page(
            &state,
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            values,
            Some(readable(&e)),
        ),
        Err(e) => error_page(e),
    }
}

/// The erasure dry run of a request: per connector and table, the rows an erasure would
/// touch and what it would do to each field. Changes nothing; audited as a view.
pub async fn preview(
    State(state): State<AppState>,
    s: Signed,
    client: ClientAddr,
    Path(reference): Path<String>,
) -> Response {
    let result = crate::http::api::connectors::preview_for(
        &state,
        s.0.actor_name(),
        client.text(),
        &reference,
    )
    .await;
    match result {
        Ok(p) => render(
            StatusCode::OK,
            "portal/preview.html",
            page_ctx(&state, &s.0, json!({ "reference": reference, "p": p })),
        ),
        Err(e) => error_page(e),
    }
}

/// A file the subject or their agent sent, for staff (audited).
pub async fn file(
    State(state): State<AppState>,
    s: Signed,
    client: ClientAddr,
    Path((reference, file_id)): Path<(String, String)>,
) -> Response {
    let opened = match workflow::load(&state, &reference).await {
        Ok(req) => {
            crate::services::conversation::open_file(&state, &actor(&s, &client), &req, &file_id)
                .await
        }
        Err(e) => Err(e),
    };
    match opened {
        Ok(f) => crate::http::api::conversation::file_response(f),
        Err(e) => error_page(e),
    }
}
