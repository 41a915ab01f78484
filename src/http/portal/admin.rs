//! Portal pages for oversight: the audit log (with chain verification) for every role,
//! and user management for admins.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::auth::{Signed, create_user};
use super::pages::{Fields, error_page, page_ctx, readable, render};
use crate::domain::staff::Role;
use crate::error::AppError;
use crate::http::{AppState, ClientAddr};
use crate::store::{AuditFilter, NewAudit, PageRequest};

async fn audit_page(
    state: &AppState,
    s: &Signed,
    raw: Option<&str>,
    report: Option<crate::store::audit_chain::VerifyReport>,
) -> Result<Response, AppError> {
    let f = Fields::parse(raw.unwrap_or("").as_bytes());
    let page = f
        .text("page")
        .and_then(|p| p.parse::<u32>().ok())
        .unwrap_or(1)
        .clamp(1, 100_000);
    let filter = AuditFilter {
        request_ref: f
            .text("request")
            .map(|r| crate::domain::reference::normalize(&r)),
        actor: f.text("actor"),
        page: PageRequest { page, per_page: 50 },
        ..Default::default()
    };
    let entries = state.store.list_audit(&filter).await?;
    let pages = (entries.total + 49) / 50;
    let mut keep = form_urlencoded::Serializer::new(String::new());
    for key in ["request", "actor"] {
        if let Some(v) = f.text(key) {
            keep.append_pair(key, &v);
        }
    }
    Ok(render(
        StatusCode::OK,
        "portal/audit.html",
        page_ctx(
            state,
            &s.0,
            json!({
                "entries": entries.items, "total": entries.total, "page": page, "pages": pages,
                "values": { "request": f.text("request"), "actor": f.text("actor") },
                "keep": keep.finish(), "report": report,
            }),
        ),
    ))
}

pub async fn audit(State(state): State<AppState>, s: Signed, RawQuery(raw): RawQuery) -> Response {
    audit_page(&state, &s, raw.as_deref(), None)
        .await
        .unwrap_or_else(error_page)
}

pub async fn verify(State(state): State<AppState>, s: Signed, body: Bytes) -> Response {
    if let Err(r) = s.0.check_csrf(&Fields::parse(&body)) {
        return r;
    }
    let result = async {
        let report = crate::store::audit_chain::verify(state.store.as_ref()).await?;
        audit_page(&state, &s, None, Some(report)).await
    }
    .await;
    result.unwrap_or_else(error_page)
}

pub(super) async fn users_page(
    state: &AppState,
    s: &Signed,
    status: StatusCode,
    created: Option<serde_json::Value>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let mut users = Vec::new();
    for u in state.store.list_users().await? {
        let appeals = state
            .store
            .permissions_of(&u.id)
            .await?
            .iter()
            .any(|p| p == crate::services::appeals::PERMISSION);
        users.push((u, appeals));
    }
    let users: Vec<_> = users
        .into_iter()
        .map(|(u, appeals)| {
            json!({
                "appeals": appeals,
                "id": u.id, "email": u.email, "role": u.role.as_str(), "totp": u.totp_enabled,
                "created": u.created_at.format("%Y-%m-%d").to_string(),
                "disabled": u.disabled_at.is_some(),
                "locked": u.locked_until.is_some_and(|t| t > state.clock.now()),
            })
        })
        .collect();
    Ok(render(
        status,
        "portal/users.html",
        page_ctx(
            state,
            &s.0,
            json!({ "users": users, "created": created, "error": error, "me": s.0.user.id }),
        ),
    ))
}

pub async fn users(State(state): State<AppState>, s: Signed) -> Response {
    if let Err(r) = s.require(Role::Admin) {
        return r;
    }
    users_page(&state, &s, StatusCode::OK, None, None)
        .await
        .unwrap_or_else(error_page)
}

pub async fn add_user(
    State(state): State<AppState>,
    s: Signed,
    client: ClientAddr,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    if let Err(r) = s.0.check_csrf(&f) {
        return r;
    }
    if let Err(r) = s.require(Role::Admin) {
        return r;
    }
    let result = async {
        let role = f
            .text("role")
            .unwrap_or_default()
            .parse::<Role>()
            .map_err(|e| AppError::field("role", e))?;
        let email = f.text("email").unwrap_or_default();
        let (user, password) = create_user(&state, &email, role).await?;
        state
            .store
            .append_audit(&NewAudit {
                at: state.clock.now(),
                actor: s.0.actor_name(),
                action: "user.create".into(),
                request_ref: None,
                client_addr: client.text(),
                detail: json!({ "user_id": user.id, "role": role.as_str() }),
            })
            .await?;
        // The password is shown on this one page only; it is not stored anywhere in clear.
        users_page(
            &state,
            &s,
            StatusCode::CREATED,
            Some(json!({ "email": user.email, "password": password })),
            None,
        )
        .await
    }
    .await;
    match result {
        Ok(r) => r,
        Err(e @ AppError::Validation(_)) => users_page(
            &state,
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(readable(&e)),
        )
        .await
        .unwrap_or_else(error_page),
        Err(e) => error_page(e),
    }
}
