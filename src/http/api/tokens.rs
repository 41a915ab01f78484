//! Staff API tokens (admin only): list, create, revoke.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::AppError;
use crate::http::auth::{AdminStaff, Role};
use crate::http::extract::ApiJson;
use crate::http::{AppState, ClientAddr};
pub use crate::services::staff::{CreatedToken, issue};
use crate::store::{ApiToken, NewAudit};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub name: String,
    pub role: Role,
}

/// Every token (never the secret).
#[utoipa::path(get, path = "/tokens", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = Vec<ApiToken>)))]
pub async fn list(
    State(state): State<AppState>,
    AdminStaff(_staff): AdminStaff,
) -> Result<Json<Vec<ApiToken>>, AppError> {
    Ok(Json(state.store.list_tokens().await?))
}

/// Create a token; the answer is the only time the token is shown.
#[utoipa::path(post, path = "/tokens", tag = "admin", request_body = CreateToken, security(("bearer" = [])),
    responses((status = 201, body = CreatedToken)))]
pub async fn create(
    State(state): State<AppState>,
    AdminStaff(staff): AdminStaff,
    client: ClientAddr,
    ApiJson(body): ApiJson<CreateToken>,
) -> Result<(StatusCode, Json<CreatedToken>), AppError> {
    let created = issue(&state, &body.name, body.role, &staff.actor(), client.text()).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revoke a token; it stops working at once.
#[utoipa::path(delete, path = "/tokens/{token_id}", tag = "admin", params(("token_id" = String, Path)),
    security(("bearer" = [])), responses((status = 204), (status = 404, body = crate::error::Problem)))]
pub async fn revoke(
    State(state): State<AppState>,
    AdminStaff(staff): AdminStaff,
    client: ClientAddr,
    Path(token_id): Path<String>,
) -> Result<StatusCode, AppError> {
    withdraw(&state, &token_id, &staff.actor(), client.text()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revoke a token and audit it (shared by the API and the portal).
pub async fn withdraw(
    state: &AppState,
    token_id: &str,
    actor: &str,
    client: Option<String>,
) -> Result<(), AppError> {
    let now = state.clock.now();
    if !state.store.revoke_token(token_id, now).await? {
        return Err(AppError::NotFound("no active token with that id".into()));
    }
    state
        .store
        .append_audit(&NewAudit {
            at: now,
            actor: actor.to_string(),
            action: "token.revoke".into(),
            request_ref: None,
            client_addr: client,
            detail: serde_json::json!({ "token_id": token_id }),
        })
        .await?;
    Ok(())
}
