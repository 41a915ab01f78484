//! Callbacks from HTTP connectors that answered `202`: the product's endpoint posts the
//! task's result to the single-use link it was given, signed with the connector's secret.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};

use crate::connectors::http::{self as http_connector, MAX_BODY, SIGNATURE_HEADER};
use crate::error::AppError;
use crate::http::AppState;

/// Finish a waiting HTTP-connector task with its result (the same JSON a `200` answer
/// would carry), signed `Rightsdesk-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`.
#[utoipa::path(post, path = "/callbacks/{task_token}", tag = "connectors",
    params(("task_token" = String, Path, description = "The token of the callback_url the task was sent")),
    request_body(content = serde_json::Value, description = "The task's result, as in a 200 answer"),
    responses(
        (status = 204, description = "Result recorded; the link is used up"),
        (status = 401, body = crate::error::Problem, description = "Missing, wrong or expired signature"),
        (status = 410, body = crate::error::Problem, description = "Unknown, used or expired link"),
        (status = 413, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem, description = "The result is not understood")))]
pub async fn callback(
    State(state): State<AppState>,
    Path(task_token): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, AppError> {
    if task_token.len() > 100 {
        return Err(AppError::Gone);
    }
    let now = state.clock.now();
    let link = state
        .store
        .task_token(&crate::crypto::token_hash(&task_token))
        .await?
        .filter(|l| l.purpose == "callback" && l.used_at.is_none() && l.expires_at > now)
        .ok_or(AppError::Gone)?;
    let task = state
        .store
        .task(&link.task_id)
        .await?
        .ok_or(AppError::Gone)?;
    let connector = state
        .connectors
        .http(&task.connector)
        .ok_or(AppError::Gone)?;
    // Read past the service-wide body limit: an access result can be large.
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| AppError::PayloadTooLarge)?;
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !http_connector::verify(connector.secret(), signature, &bytes, now.timestamp()) {
        tracing::warn!(request = %link.request_ref, connector = %task.connector, "callback refused: bad signature");
        return Err(AppError::Unauthorized(
            "the Rightsdesk-Signature header is missing, wrong or too old",
        ));
    }
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| AppError::field("body", "must be JSON"))?;
    let outcome = http_connector::outcome(&task.connector, &task.operation, value)
        .map_err(|e| AppError::field("body", e.to_string()))?;
    if crate::services::fanout::finish_by_link(&state, &link, outcome).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::Gone)
    }
}
