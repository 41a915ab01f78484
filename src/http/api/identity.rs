//! A request's identity check beyond the emailed link (issue 12): where it stands, and
//! staff recording how they verified the requester.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::AppError;
use crate::http::auth::{AgentStaff, Role, Staff};
use crate::http::extract::ApiJson;
use crate::http::{AppState, ClientAddr};
use crate::services::verification::{self, CheckView};
use crate::services::workflow;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmIdentity {
    /// How the requester's identity was verified (1 to 2000 characters), e.g. "called
    /// back on the number on file".
    pub note: String,
}

/// The request's identity check: method (`email_link`, `staff_note`, `account_field`,
/// `staff_review`) and state (`confirmed`, `needed`, `failed`, `no_match`).
#[utoipa::path(get, path = "/requests/{id}/identity", tag = "requests",
    params(("id" = String, Path, description = "Reference, e.g. DSR-7K2M-QX9P")),
    security(("bearer" = [])),
    responses((status = 200, body = CheckView), (status = 404, body = crate::error::Problem)))]
pub async fn get_check(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<CheckView>, AppError> {
    staff.require(Role::Auditor)?;
    let req = workflow::load(&state, &id).await?;
    Ok(Json(verification::view(&state, &req).await?))
}

/// Record how staff verified the requester; the identity check is confirmed and the
/// request can start.
#[utoipa::path(post, path = "/requests/{id}/identity", tag = "requests",
    params(("id" = String, Path, description = "Reference, e.g. DSR-7K2M-QX9P")),
    request_body = ConfirmIdentity, security(("bearer" = [])),
    responses((status = 200, body = CheckView), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn confirm(
    State(state): State<AppState>,
    AgentStaff(staff): AgentStaff,
    client: ClientAddr,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ConfirmIdentity>,
) -> Result<Json<CheckView>, AppError> {
    let req = workflow::load(&state, &id).await?;
    Ok(Json(
        verification::staff_confirm(&state, &staff.actor(), client.text(), &req, &body.note)
            .await?,
    ))
}
