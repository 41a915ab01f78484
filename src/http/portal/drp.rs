//! The staff portal's page of DRP agents: request counts, and suspend / reinstate (admin).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use crate::domain::staff::Role;
use crate::error::AppError;
use crate::http::portal::auth::Signed;
use crate::http::portal::pages::{Fields, error_page, page_ctx, render};
use crate::http::{AppState, ClientAddr};

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> Option<String> {
    t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
}

pub async fn agents(State(state): State<AppState>, s: Signed) -> Response {
    let result = async {
        let rows = state.store.drp_agents().await?;
        let agents: Vec<serde_json::Value> = rows
            .into_iter()
            .map(|r| {
                json!({
                    "id": r.agent.id,
                    "name": r.agent.name,
                    "in_directory": r.agent.in_directory,
                    "paired_at": time(r.agent.paired_at),
                    "suspended_at": time(r.agent.suspended_at),
                    "requests": r.requests,
                    "open_requests": r.open_requests,
                })
            })
            .collect();
        Ok::<_, AppError>(render(
            StatusCode::OK,
            "portal/drp_agents.html",
            page_ctx(
                &state,
                &s.0,
                json!({ "agents": agents, "enabled": state.config.drp.enabled }),
            ),
        ))
    }
    .await;
    result.unwrap_or_else(error_page)
}

/// `suspend` or `reinstate` an agent (admin).
pub async fn agent_action(
    State(state): State<AppState>,
    s: Signed,
    client: ClientAddr,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    if let Err(r) = s.form(&f, Role::Admin) {
        return r;
    }
    let suspend = match action.as_str() {
        "suspend" => true,
        "reinstate" => false,
        _ => return error_page(AppError::NotFound("no such action".into())),
    };
    match crate::services::drp::service::set_suspended(
        &state,
        &s.0.actor_name(),
        client.text(),
        &id,
        suspend,
    )
    .await
    {
        Ok(true) => Redirect::to("/portal/drp/agents").into_response(),
        Ok(false) => error_page(AppError::NotFound(format!("no DRP agent {id}"))),
        Err(e) => error_page(e),
    }
}
