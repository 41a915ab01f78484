//! Bulk work from the queue: the selected requests (or every request matching the queue's
//! filters) get one action; `services::bulk` puts each through the workflow and the page
//! lists which were done and which were refused, and why.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::auth::Signed;
use super::pages::{Fields, error_page, page_ctx, readable, render};
use crate::domain::request::{DenyReason, HoldReason, UnknownValue};
use crate::domain::staff::Role;
use crate::error::AppError;
use crate::http::api::requests::search;
use crate::http::{AppState, ClientAddr};
use crate::services::bulk::{self, BulkAction, MAX_REQUESTS};
use crate::services::workflow::{Actor, StaffAction};

/// The action chosen in the bulk form, with its reason and note.
fn bulk_action(f: &Fields) -> Result<BulkAction, AppError> {
    let reason = f.text("reason");
    let need_reason = || {
        reason
            .clone()
            .ok_or_else(|| AppError::field("reason", "give one reason for all of them"))
    };
    Ok(match f.text("action").as_deref() {
        Some("start") => BulkAction::Act(StaffAction::Start),
        Some("assign") => BulkAction::Act(StaffAction::Assign {
            assignee: match f.text("assignee") {
                Some(a) => Some(
                    crate::domain::identity::SubjectEmail::parse(&a)
                        .map_err(|e| AppError::field("assignee", e.to_string()))?
                        .expose()
                        .to_string(),
                ),
                None => None,
            },
        }),
        Some("extend") => BulkAction::Act(StaffAction::Extend {
            reason: need_reason()?,
            until: None,
        }),
        Some("hold") => BulkAction::Act(StaffAction::Hold {
            reason: need_reason()?,
            code: match f.text("reason_code") {
                Some(c) => c
                    .parse()
                    .map_err(|e: UnknownValue| AppError::field("reason_code", e.to_string()))?,
                None => HoldReason::Other,
            },
        }),
        Some("deny") => BulkAction::Act(StaffAction::Deny {
            reason: f
                .text("deny_reason")
                .ok_or_else(|| AppError::field("deny_reason", "choose a reason"))?
                .parse::<DenyReason>()
                .map_err(|e: UnknownValue| AppError::field("deny_reason", e.to_string()))?,
            note: f.text("note"),
        }),
        Some("note") => BulkAction::Note(
            f.text("note")
                .ok_or_else(|| AppError::field("note", "write the note"))?,
        ),
        _ => return Err(AppError::field("action", "choose what to do")),
    })
}

/// The references to act on: the ticked ones, or every request matching the filters.
async fn selected(state: &AppState, body: &[u8], f: &Fields) -> Result<Vec<String>, AppError> {
    if f.get("scope") == Some("matching") {
        let (mut q, _) = super::requests::list_query(f.get("filters"))?;
        q.per_page = Some(100);
        let mut refs = Vec::new();
        for page in 1.. {
            q.page = Some(page);
            let list = search(state, &q).await?;
            refs.extend(list.items.iter().map(|r| r.reference.clone()));
            if list.items.is_empty() || refs.len() as i64 >= list.total {
                break;
            }
            if refs.len() > MAX_REQUESTS {
                return Err(AppError::field(
                    "requests",
                    format!("at most {MAX_REQUESTS} requests at a time; narrow the filters"),
                ));
            }
        }
        Ok(refs)
    } else {
        Ok(form_urlencoded::parse(body)
            .filter(|(k, _)| k == "ref")
            .map(|(_, v)| v.into_owned())
            .collect())
    }
}

pub async fn apply(
    State(state): State<AppState>,
    s: Signed,
    client: ClientAddr,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    if let Err(r) = s.form(&f, Role::Agent) {
        return r;
    }
    let actor = Actor {
        name: s.0.actor_name(),
        client_addr: client.text(),
    };
    let back = format!(
        "/portal/requests{}",
        f.get("filters")
            .filter(|q| !q.is_empty())
            .map(|q| format!("?{q}"))
            .unwrap_or_default()
    );
    let result = async {
        let action = bulk_action(&f)?;
        let refs = selected(&state, &body, &f).await?;
        bulk::apply(&state, &actor, &refs, &action).await
    }
    .await;
    let label = f.text("action").unwrap_or_default();
    match result {
        Ok(report) => render(
            StatusCode::OK,
            "portal/bulk.html",
            page_ctx(
                &state,
                &s.0,
                json!({ "report": report, "action": label, "back": back }),
            ),
        ),
        Err(e @ AppError::Validation(_)) => render(
            StatusCode::UNPROCESSABLE_ENTITY,
            "portal/bulk.html",
            page_ctx(
                &state,
                &s.0,
                json!({ "error": readable(&e), "action": label, "back": back }),
            ),
        ),
        Err(e) => error_page(e),
    }
}
