//! Portal pages for retention: the policies of the data map with their last run, recent
//! runs, a dry run and "run now" (admin); legal holds (admin places and releases them,
//! every staff role sees them).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::auth::Signed;
use super::pages::{Fields, error_page, page_ctx, readable, render};
use crate::domain::staff::Role;
use crate::error::AppError;
use crate::http::{AppState, ClientAddr};
use crate::services::retention::{self, Trigger, holds};
use crate::store::PageRequest;

async fn retention_page(
    state: &AppState,
    s: &Signed,
    status: StatusCode,
    result: Option<serde_json::Value>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let policies = crate::http::api::retention::policy_views(state).await?;
    let runs = state
        .store
        .retention_runs(PageRequest {
            page: 1,
            per_page: 25,
        })
        .await?;
    Ok(render(
        status,
        "portal/retention.html",
        page_ctx(
            state,
            &s.0,
            json!({
                "policies": policies, "runs": runs.items, "result": result, "error": error,
                "admin": s.0.user.role >= Role::Admin,
            }),
        ),
    ))
}

pub async fn page(State(state): State<AppState>, s: Signed) -> Response {
    retention_page(&state, &s, StatusCode::OK, None, None)
        .await
        .unwrap_or_else(error_page)
}

/// `dry-run` (counts, nothing changed) or `run` (starts in the background).
pub async fn run(
    State(state): State<AppState>,
    s: Signed,
    client: ClientAddr,
    Path((name, mode)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    if let Err(r) = s.form(&f, Role::Admin) {
        return r;
    }
    let dry_run = match mode.as_str() {
        "dry-run" => true,
        "run" => false,
        _ => return error_page(AppError::NotFound(format!("no action `{mode}`"))),
    };
    let outcome = async {
        let policy = retention::find(&state, &name)?;
        let prepared = retention::prepare(
            &state,
            policy,
            dry_run,
            Trigger::Api,
            &s.0.actor_name(),
            client.text(),
        )
        .await?;
        if dry_run {
            let run = prepared.execute().await;
            return Ok(json!({
                "dry_run": true, "policy": run.policy, "rows_matched": run.rows_matched,
                "rows_held": run.rows_held, "error": run.error,
            }));
        }
        let record = prepared.record().clone();
        tokio::spawn(prepared.execute());
        Ok(json!({ "dry_run": false, "policy": record.policy }))
    }
    .await;
    let page = match outcome {
        Ok(result) => retention_page(&state, &s, StatusCode::OK, Some(result), None).await,
        Err(e @ (AppError::Conflict { .. } | AppError::NotFound(_))) => {
            retention_page(&state, &s, e.status(), None, Some(readable(&e))).await
        }
        Err(e) => Err(e),
    };
    page.unwrap_or_else(error_page)
}

async fn holds_page(
    state: &AppState,
    s: &Signed,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, AppError> {
    let list = holds::view_list(
        state,
        true,
        PageRequest {
            page: 1,
            per_page: 200,
        },
        &s.0.actor_name(),
        None,
    )
    .await?;
    Ok(render(
        status,
        "portal/holds.html",
        page_ctx(
            state,
            &s.0,
            json!({ "holds": list.items, "error": error, "admin": s.0.user.role >= Role::Admin }),
        ),
    ))
}

/// Holds name subjects: agents and admins (like the API), not auditors.
pub async fn holds(State(state): State<AppState>, s: Signed) -> Response {
    if let Err(r) = s.require(Role::Agent) {
        return r;
    }
    holds_page(&state, &s, StatusCode::OK, None)
        .await
        .unwrap_or_else(error_page)
}

pub async fn add_hold(
    State(state): State<AppState>,
    s: Signed,
    client: ClientAddr,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    if let Err(r) = s.form(&f, Role::Admin) {
        return r;
    }
    let created = holds::create(
        &state,
        &f.text("email").unwrap_or_default(),
        &f.text("reason").unwrap_or_default(),
        &s.0.actor_name(),
        client.text(),
    )
    .await;
    match created {
        Ok(_) => Redirect::to("/portal/holds").into_response(),
        Err(e @ AppError::Validation(_)) => holds_page(&state, &s, e.status(), Some(readable(&e)))
            .await
            .unwrap_or_else(error_page),
        Err(e) => error_page(e),
    }
}

pub async fn release_hold(
    State(state): State<AppState>,
    s: Signed,
    client: ClientAddr,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    if let Err(r) = s.form(&f, Role::Admin) {
        return r;
    }
    match holds::release(&state, &id, &s.0.actor_name(), client.text()).await {
        Ok(()) => Redirect::to("/portal/holds").into_response(),
        Err(e) => error_page(e),
    }
}
