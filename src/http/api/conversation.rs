//! Staff endpoints of a request's conversation with its subject (ask for information,
//! send a message, read the conversation and its files) and of its authorized agent.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::requests::{RequestDetail, full_view};
use crate::error::AppError;
use crate::http::auth::{AgentStaff, Staff};
use crate::http::extract::ApiJson;
use crate::http::{AppState, ClientAddr};
use crate::services::agents::{self, AgentView};
use crate::services::conversation::{self, MessageView};
use crate::services::workflow::{self, Actor};
use crate::store::NewAudit;

fn actor(staff: &Staff, client: &ClientAddr) -> Actor {
    Actor {
        name: staff.actor(),
        client_addr: client.text(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AskBody {
    /// What the subject is asked (1 to 4000 characters); emailed to them.
    pub question: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    /// The message (1 to 4000 characters); emailed to the subject.
    pub text: String,
}

/// A request's conversation and its agent.
#[derive(Debug, Serialize, ToSchema)]
pub struct Conversation {
    pub reference: String,
    pub messages: Vec<MessageView>,
    /// The authorized agent who submitted the request, if one did.
    pub agent: Option<AgentView>,
}

/// Ask the subject for information: the request goes on hold with reason
/// `awaiting_subject` (the clock stops where the regime allows), the subject is emailed
/// the question and answers on their status page; the answer resumes the request.
#[utoipa::path(post, path = "/requests/{id}/ask", tag = "requests", request_body = AskBody,
    params(("id" = String, Path, description = "The request's reference")),
    security(("bearer" = [])),
    responses((status = 200, body = RequestDetail), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn ask(
    State(state): State<AppState>,
    AgentStaff(staff): AgentStaff,
    client: ClientAddr,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AskBody>,
) -> Result<Json<RequestDetail>, AppError> {
    let actor = actor(&staff, &client);
    let req = conversation::ask(&state, &actor, &id, &body.question).await?;
    Ok(Json(full_view(&state, &actor, req, false).await?))
}

/// Send the subject a message (emailed with their status link); the status stays.
#[utoipa::path(post, path = "/requests/{id}/messages", tag = "requests", request_body = MessageBody,
    params(("id" = String, Path, description = "The request's reference")),
    security(("bearer" = [])),
    responses((status = 200, body = RequestDetail), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn message(
    State(state): State<AppState>,
    AgentStaff(staff): AgentStaff,
    client: ClientAddr,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MessageBody>,
) -> Result<Json<RequestDetail>, AppError> {
    let actor = actor(&staff, &client);
    let req = conversation::message(&state, &actor, &id, &body.text).await?;
    Ok(Json(full_view(&state, &actor, req, false).await?))
}

/// The conversation with the subject (questions, messages, replies and their files) and
/// the authorized agent, if any. Audited as a view of the subject's data.
#[utoipa::path(get, path = "/requests/{id}/conversation", tag = "requests",
    params(("id" = String, Path, description = "The request's reference")),
    security(("bearer" = [])),
    responses((status = 200, body = Conversation), (status = 404, body = crate::error::Problem)))]
pub async fn get(
    State(state): State<AppState>,
    staff: Staff,
    client: ClientAddr,
    Path(id): Path<String>,
) -> Result<Json<Conversation>, AppError> {
    let req = workflow::load(&state, &id).await?;
    let messages = conversation::view(&state, &req, true).await?;
    let agent = agents::view(&state, &req).await?;
    state
        .store
        .append_audit(&NewAudit {
            at: state.clock.now(),
            actor: staff.actor(),
            action: "request.conversation_view".into(),
            request_ref: Some(req.reference.clone()),
            client_addr: client.text(),
            detail: serde_json::json!({ "messages": messages.len() }),
        })
        .await?;
    Ok(Json(Conversation {
        reference: req.reference,
        messages,
        agent,
    }))
}

/// One file the subject or the agent sent, as it was sent (type told by content).
#[utoipa::path(get, path = "/requests/{id}/files/{file_id}", tag = "requests",
    params(("id" = String, Path, description = "The request's reference"),
        ("file_id" = String, Path, description = "The file's id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The file"), (status = 404, body = crate::error::Problem)))]
pub async fn file(
    State(state): State<AppState>,
    staff: Staff,
    client: ClientAddr,
    Path((id, file_id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let req = workflow::load(&state, &id).await?;
    let f = conversation::open_file(&state, &actor(&staff, &client), &req, &file_id).await?;
    Ok(file_response(f))
}

/// A file as an attachment: never shown inline, never sniffed by the browser.
pub(crate) fn file_response(f: conversation::OpenedFile) -> Response {
    let mut resp = f.bytes.into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&f.media_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    let ascii: String = f
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// Record that the subject agreed the agent may receive the outcome and the package.
#[utoipa::path(post, path = "/requests/{id}/agent/consent", tag = "requests",
    params(("id" = String, Path, description = "The request's reference")),
    security(("bearer" = [])),
    responses((status = 200, body = RequestDetail), (status = 409, body = crate::error::Problem)))]
pub async fn agent_consent(
    State(state): State<AppState>,
    AgentStaff(staff): AgentStaff,
    client: ClientAddr,
    Path(id): Path<String>,
) -> Result<Json<RequestDetail>, AppError> {
    let actor = actor(&staff, &client);
    let req = agents::record_consent(&state, &actor, &id).await?;
    Ok(Json(full_view(&state, &actor, req, false).await?))
}

/// Accept the agent's power of attorney: the request is verified without the subject's
/// confirmation (their unused link stops working) and its clock starts.
#[utoipa::path(post, path = "/requests/{id}/agent/accept", tag = "requests",
    params(("id" = String, Path, description = "The request's reference")),
    security(("bearer" = [])),
    responses((status = 200, body = RequestDetail), (status = 409, body = crate::error::Problem)))]
pub async fn agent_accept(
    State(state): State<AppState>,
    AgentStaff(staff): AgentStaff,
    client: ClientAddr,
    Path(id): Path<String>,
) -> Result<Json<RequestDetail>, AppError> {
    let actor = actor(&staff, &client);
    let req = agents::accept_power_of_attorney(&state, &actor, &id).await?;
    Ok(Json(full_view(&state, &actor, req, false).await?))
}
