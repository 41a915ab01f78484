//! DRP routes under `[drp] base_path` (only when `[drp] enabled`), the subject's
//! verification page, and the staff API for agents (`/api/v1/drp/agents`).
//!
//! DRP answers are `application/json`; failures are the spec's error object
//! `{code, message, fatal}` (section 3.06), except pairing failures: an empty 403
//! (section 2.05.1). Signed bodies are read as raw bytes whatever the content type (the
//! spec sends `text/plain`).

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::{OpenApi, ToSchema};

use crate::error::AppError;
use crate::http::auth::{AdminStaff, AgentStaff};
use crate::http::{AppState, ClientAddr};
use crate::services::drp::service;
use crate::services::drp::verify::DrpError;

impl IntoResponse for DrpError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        if self.empty_body {
            return status.into_response();
        }
        (
            status,
            Json(json!({
                "code": self.status.to_string(),
                "message": self.message,
                "fatal": self.fatal,
            })),
        )
            .into_response()
    }
}

fn answer(r: Result<Value, DrpError>) -> Response {
    match r {
        Ok(v) => (StatusCode::OK, Json(v)).into_response(),
        Err(e) => e.into_response(),
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

/// The DRP routes at the configured base, or nothing when DRP is off.
pub fn router(state: &AppState) -> Router<AppState> {
    let cfg = &state.config.drp;
    if !cfg.enabled || !cfg.problems().is_empty() {
        return Router::new();
    }
    let base = cfg.base();
    Router::new()
        .route(
            &format!("{base}/v1/agent/{{agent_id}}"),
            post(pair).get(agent_info),
        )
        .route(&format!("{base}/v1/data-rights-request"), post(exercise))
        .route(&format!("{base}/v1/data-rights-request/"), post(exercise))
        .route(
            &format!("{base}/v1/data-rights-request/{{request_id}}"),
            get(status).delete(revoke),
        )
        .route(&format!("{base}/verify/{{request_id}}"), get(verify_page))
}

/// An example status object, for the OpenAPI document.
#[derive(Serialize, ToSchema)]
pub struct DrpStatus {
    pub request_id: String,
    pub agent_request_id: Option<String>,
    pub received_at: String,
    pub expected_by: Option<String>,
    pub processing_details: Option<String>,
    /// `in_progress`, `fulfilled`, `revoked`, `denied`.
    pub status: String,
    /// `need_user_verification`, `insuf_verification`, `no_match`, `too_many_requests`,
    /// `outside_jurisdiction`, `claim_not_covered`, `other`.
    pub reason: Option<String>,
    pub user_verification_url: Option<String>,
    pub expires_at: Option<String>,
}

/// The spec's error object.
#[derive(Serialize, ToSchema)]
pub struct DrpErrorBody {
    /// The HTTP status code as a string.
    pub code: String,
    pub message: String,
    /// The request will not be processed; do not retry.
    pub fatal: bool,
}

/// The pairing answer.
#[derive(Serialize, ToSchema)]
pub struct Paired {
    #[serde(rename = "agent-id")]
    pub agent_id: String,
    /// The bearer token for every later call; only its hash is stored.
    pub token: String,
}

/// Pair-wise key setup (spec 2.05): a signed `{agent-id, business-id, issued-at,
/// expires-at, drp.version}`; answers the agent's bearer token.
#[utoipa::path(post, path = "/drp/v1/agent/{agent_id}", tag = "drp",
    params(("agent_id" = String, Path, description = "the agent's id in the directory")),
    request_body(content = String, content_type = "text/plain", description = "base64 of signature || JSON"),
    responses((status = 200, body = Paired), (status = 403, description = "validation failed (empty body)")))]
pub async fn pair(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
    body: Bytes,
) -> Response {
    answer(service::pair(&state, &agent_id, &body).await)
}

/// Agent information (spec 2.06): `{}` while the bearer token is valid for this agent.
#[utoipa::path(get, path = "/drp/v1/agent/{agent_id}", tag = "drp",
    params(("agent_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, description = "`{}`"), (status = 401, body = DrpErrorBody), (status = 403, body = DrpErrorBody)))]
pub async fn agent_info(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    answer(service::agent_info(&state, &agent_id, bearer(&headers)).await)
}

/// Data rights exercise (spec 2.01): a signed request; answers the status object.
#[utoipa::path(post, path = "/drp/v1/data-rights-request", tag = "drp", security(("bearer" = [])),
    request_body(content = String, content_type = "text/plain", description = "base64 of signature || JSON"),
    responses((status = 200, body = DrpStatus), (status = 400, body = DrpErrorBody),
        (status = 401, body = DrpErrorBody), (status = 403, body = DrpErrorBody),
        (status = 409, body = DrpErrorBody, description = "replayed message"), (status = 429, body = DrpErrorBody)))]
pub async fn exercise(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    answer(service::exercise(&state, bearer(&headers), &body).await)
}

/// Data rights status (spec 2.02); 403 for another agent's request.
#[utoipa::path(get, path = "/drp/v1/data-rights-request/{request_id}", tag = "drp",
    params(("request_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = DrpStatus), (status = 403, body = DrpErrorBody), (status = 404, body = DrpErrorBody)))]
pub async fn status(
    State(state): State<AppState>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    answer(service::status(&state, bearer(&headers), &request_id).await)
}

/// Data rights revoke (spec 2.04): a signed `{reason}`; answers the `revoked` status.
#[utoipa::path(delete, path = "/drp/v1/data-rights-request/{request_id}", tag = "drp",
    params(("request_id" = String, Path)), security(("bearer" = [])),
    request_body(content = String, content_type = "text/plain", description = "base64 of signature || JSON"),
    responses((status = 200, body = DrpStatus), (status = 403, body = DrpErrorBody),
        (status = 404, body = DrpErrorBody), (status = 409, body = DrpErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(service::revoke(&state, bearer(&headers), &request_id, &body).await)
}

/// The `user_verification_url` page: tells the subject where the confirmation link is.
/// It confirms nothing itself (the link goes only to the subject's mailbox).
pub async fn verify_page(State(state): State<AppState>) -> Response {
    crate::http::pages::page(
        StatusCode::OK,
        "message.html",
        json!({
            "organisation": state.config.organisation,
            "title": "Confirm your request",
            "message": "We emailed you a link to confirm the request your agent sent us. \
                        Open that email and follow the link; we start once you have confirmed. \
                        If the email does not arrive, ask your agent to send the request again.",
            "back": false,
        }),
    )
}

/// The DRP routes in the OpenAPI document (at the default base `/drp`).
#[derive(OpenApi)]
#[openapi(
    paths(pair, agent_info, exercise, status, revoke),
    components(schemas(DrpStatus, DrpErrorBody, Paired)),
    tags((name = "drp", description = "Data Rights Protocol 1.0, covered-business side (under [drp] base_path; off unless [drp] enabled)"))
)]
pub struct DrpDoc;

/// Add the DRP routes to the OpenAPI document when they are served, at the configured base.
pub fn document(state: &AppState, doc: &mut utoipa::openapi::OpenApi) {
    let cfg = &state.config.drp;
    if !cfg.enabled || !cfg.problems().is_empty() {
        return;
    }
    let mut drp = DrpDoc::openapi();
    let base = cfg.base();
    if base != "/drp" {
        drp.paths.paths = std::mem::take(&mut drp.paths.paths)
            .into_iter()
            .map(|(p, item)| (format!("{base}{}", p.trim_start_matches("/drp")), item))
            .collect();
    }
    doc.merge(drp);
}

/// An agent as staff see it.
#[derive(Serialize, ToSchema)]
pub struct AgentView {
    pub id: String,
    pub name: String,
    pub web_url: Option<String>,
    pub in_directory: bool,
    pub paired: bool,
    pub paired_at: Option<chrono::DateTime<chrono::Utc>>,
    pub suspended_at: Option<chrono::DateTime<chrono::Utc>>,
    pub requests: i64,
    pub open_requests: i64,
}

/// DRP agents with their request counts.
#[utoipa::path(get, path = "/drp/agents", tag = "drp", security(("bearer" = [])),
    responses((status = 200, body = Vec<AgentView>)))]
pub async fn agents(
    State(state): State<AppState>,
    AgentStaff(_staff): AgentStaff,
) -> Result<Json<Vec<AgentView>>, AppError> {
    let rows = state.store.drp_agents().await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| AgentView {
                paired: r.agent.token_hash.is_some(),
                id: r.agent.id,
                name: r.agent.name,
                web_url: r.agent.web_url,
                in_directory: r.agent.in_directory,
                paired_at: r.agent.paired_at,
                suspended_at: r.agent.suspended_at,
                requests: r.requests,
                open_requests: r.open_requests,
            })
            .collect(),
    ))
}

/// Suspend an agent: its calls answer 403 until reinstated (admin).
#[utoipa::path(post, path = "/drp/agents/{agent_id}/suspend", tag = "drp", params(("agent_id" = String, Path)),
    security(("bearer" = [])), responses((status = 204), (status = 404, body = crate::error::Problem)))]
pub async fn suspend(
    State(state): State<AppState>,
    AdminStaff(staff): AdminStaff,
    client: ClientAddr,
    Path(agent_id): Path<String>,
) -> Result<StatusCode, AppError> {
    set(&state, &staff.actor(), client, &agent_id, true).await
}

/// Reinstate a suspended agent (admin).
#[utoipa::path(post, path = "/drp/agents/{agent_id}/reinstate", tag = "drp", params(("agent_id" = String, Path)),
    security(("bearer" = [])), responses((status = 204), (status = 404, body = crate::error::Problem)))]
pub async fn reinstate(
    State(state): State<AppState>,
    AdminStaff(staff): AdminStaff,
    client: ClientAddr,
    Path(agent_id): Path<String>,
) -> Result<StatusCode, AppError> {
    set(&state, &staff.actor(), client, &agent_id, false).await
}

async fn set(
    state: &AppState,
    who: &str,
    client: ClientAddr,
    agent_id: &str,
    suspend: bool,
) -> Result<StatusCode, AppError> {
    if service::set_suspended(state, who, client.text(), agent_id, suspend).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound(format!("no DRP agent {agent_id}")))
    }
}
