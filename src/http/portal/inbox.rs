//! Portal pages of the privacy inbox: the triage queue, one item with its message and
//! attachments, and converting it into a request or dismissing it. Items hold personal
//! data: agents and admins only (like legal holds), every opening audited.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::auth::Signed;
use super::pages::{Fields, error_page, page_ctx, readable, render};
use crate::domain::request::Kind;
use crate::domain::staff::Role;
use crate::error::AppError;
use crate::http::{AppState, ClientAddr};
use crate::services::inbox;
use crate::store::PageRequest;

#[derive(Debug, Deserialize)]
pub struct QueueQuery {
    pub status: Option<String>,
    pub page: Option<u32>,
}

const STATUSES: &[&str] = &["new", "converted", "dismissed", "all"];

/// The triage queue: new items first, by default.
pub async fn queue(
    State(state): State<AppState>,
    s: Signed,
    Query(q): Query<QueueQuery>,
) -> Response {
    if let Err(r) = s.require(Role::Agent) {
        return r;
    }
    let status = q
        .status
        .filter(|st| STATUSES.contains(&st.as_str()))
        .unwrap_or_else(|| "new".into());
    let page = PageRequest {
        page: q.page.unwrap_or(1).max(1),
        per_page: 50,
    };
    let filter = (status != "all").then_some(status.as_str());
    match inbox::list(&state, filter, page).await {
        Ok((items, total)) => render(
            StatusCode::OK,
            "portal/inbox.html",
            page_ctx(
                &state,
                &s.0,
                json!({
                    "items": items, "total": total, "status": status, "statuses": STATUSES,
                    "page": page.page, "more": i64::from(page.page) * 50 < total,
                    "configured": state.config.inbox.enabled(),
                }),
            ),
        ),
        Err(e) => error_page(e),
    }
}

async fn item_page(
    state: &AppState,
    s: &Signed,
    client: &ClientAddr,
    id: &str,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    match inbox::open_item(state, &s.0.actor_name(), client, id).await {
        Ok(item) => {
            // An appeal comes from a refused request's status page, an opt-in from an
            // opt-out's: neither is made from a message.
            let kinds: Vec<_> = Kind::ALL
                .iter()
                .filter(|k| !matches!(k, Kind::OptIn | Kind::Appeal))
                .map(
                    |k| json!({ "value": k.as_str(), "label": super::requests::label(k.as_str()) }),
                )
                .collect();
            render(
                status,
                "portal/inbox_item.html",
                page_ctx(
                    state,
                    &s.0,
                    json!({ "item": item, "kinds": kinds, "error": error }),
                ),
            )
        }
        Err(e) => error_page(e),
    }
}

pub async fn item(
    State(state): State<AppState>,
    s: Signed,
    client: ClientAddr,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = s.require(Role::Agent) {
        return r;
    }
    item_page(&state, &s, &client, &id, StatusCode::OK, None).await
}

/// `convert` (kind, optional regime) or `dismiss` (reason).
pub async fn decide(
    State(state): State<AppState>,
    s: Signed,
    client: ClientAddr,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    if let Err(r) = s.form(&f, Role::Agent) {
        return r;
    }
    let actor = s.0.actor_name();
    let outcome = match action.as_str() {
        "convert" => {
            let kind = f
                .get("kind")
                .unwrap_or_default()
                .parse::<Kind>()
                .map_err(|e| AppError::field("kind", e.to_string()))
                .and_then(|k| match k {
                    Kind::OptIn | Kind::Appeal => Err(AppError::field(
                        "kind",
                        "an appeal or an opt-in is made from the status page of the request it concerns",
                    )),
                    k => Ok(k),
                });
            let regime =
                match f.get("regime").map(str::trim).filter(|r| !r.is_empty()) {
                    None => Ok(None),
                    Some(r) => r.parse().map(Some).map_err(
                        |e: crate::domain::deadline::RegimeParseError| {
                            AppError::field("regime", e.to_string())
                        },
                    ),
                };
            match (kind, regime) {
                (Ok(kind), Ok(regime)) => {
                    inbox::convert(&state, &actor, &client, &id, kind, regime)
                        .await
                        .map(|reference| format!("/portal/requests/{reference}"))
                }
                (Err(e), _) | (_, Err(e)) => Err(e),
            }
        }
        "dismiss" => inbox::dismiss(
            &state,
            &actor,
            &client,
            &id,
            f.get("reason").unwrap_or_default(),
        )
        .await
        .map(|()| "/portal/inbox?done=dismissed".to_string()),
        _ => Err(AppError::NotFound(format!("no action `{action}`"))),
    };
    match outcome {
        Ok(to) => Redirect::to(&to).into_response(),
        Err(e @ (AppError::Validation(_) | AppError::Conflict { .. })) => {
            item_page(&state, &s, &client, &id, e.status(), Some(readable(&e))).await
        }
        Err(e) => error_page(e),
    }
}

/// An attachment, always as a download (never rendered in the portal's origin).
pub async fn attachment(
    State(state): State<AppState>,
    s: Signed,
    client: ClientAddr,
    Path((id, attachment)): Path<(String, String)>,
) -> Response {
    if let Err(r) = s.require(Role::Agent) {
        return r;
    }
    match inbox::attachment(&state, &s.0.actor_name(), &client, &id, &attachment).await {
        Ok((name, _content_type, data)) => {
            let safe: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            (
                [
                    (header::CONTENT_TYPE, "application/octet-stream".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{safe}\""),
                    ),
                    (header::CACHE_CONTROL, "no-store".to_string()),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
                ],
                data,
            )
                .into_response()
        }
        Err(e) => error_page(e),
    }
}
