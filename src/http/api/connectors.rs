//! Connectors as staff see them: what is declared, whether it answers, an erasure dry
//! run for one request, and retrying a failed task.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;

use crate::connectors::Identity;
use crate::error::AppError;
use crate::http::auth::{AgentStaff, Role, Staff};
use crate::http::{AppState, ClientAddr};
use crate::services::workflow;
use crate::store::NewAudit;

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorInfo {
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorList {
    pub items: Vec<ConnectorInfo>,
}

/// The connectors declared in the data map that this service runs.
#[utoipa::path(get, path = "/connectors", tag = "connectors", security(("bearer" = [])),
    responses((status = 200, body = ConnectorList)))]
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Json<ConnectorList>, AppError> {
    staff.require(Role::Auditor)?;
    let items = state
        .connectors
        .names()
        .into_iter()
        .map(|name| ConnectorInfo { name })
        .collect();
    Ok(Json(ConnectorList { items }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorTest {
    pub name: String,
    pub ok: bool,
    pub error: Option<String>,
}

/// Check that a connector's database answers.
#[utoipa::path(post, path = "/connectors/{name}/test", tag = "connectors", params(("name" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = ConnectorTest), (status = 404, body = crate::error::Problem)))]
pub async fn test(
    State(state): State<AppState>,
    AgentStaff(_staff): AgentStaff,
    Path(name): Path<String>,
) -> Result<Json<ConnectorTest>, AppError> {
    let engine = state
        .connectors
        .get(&name)
        .ok_or_else(|| AppError::NotFound(format!("no connector named {name}")))?;
    let result = engine.test().await;
    Ok(Json(ConnectorTest {
        name,
        ok: result.is_ok(),
        error: result.err().map(|e| e.to_string()),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewTableView {
    pub table: String,
    /// `delete`, `anonymize` or `retain`.
    pub action: String,
    /// Rows the erasure would delete or mask (for `retain`: rows kept).
    pub rows: u64,
    /// Rows found but left alone (shared with other subjects, or still referenced).
    pub kept: u64,
    /// Masked columns and their mask, for `anonymize`; for `anonymize` and `retain` also
    /// the `via` columns set to NULL because the rows they reference are deleted.
    #[schema(value_type = Object)]
    pub fields: serde_json::Value,
    /// `via` columns set to NULL because the rows they reference are deleted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub implied_null: Vec<String>,
    pub retain_reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewConnector {
    pub name: String,
    pub tables: Vec<PreviewTableView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewView {
    pub connectors: Vec<PreviewConnector>,
}

/// Erasure dry run: per connector and table, the rows an erasure would touch and what
/// it would do to each field. Changes nothing.
#[utoipa::path(get, path = "/requests/{id}/preview", tag = "requests",
    params(("id" = String, Path, description = "The request's reference")), security(("bearer" = [])),
    responses((status = 200, body = PreviewView), (status = 409, body = crate::error::Problem)))]
pub async fn preview(
    State(state): State<AppState>,
    staff: Staff,
    client: ClientAddr,
    Path(id): Path<String>,
) -> Result<Json<PreviewView>, AppError> {
    staff.require(Role::Auditor)?;
    Ok(Json(
        preview_for(&state, staff.actor(), client.text(), &id).await?,
    ))
}

/// The erasure dry run of request `id`, audited as a view of the subject's data (the
/// API and the portal).
pub async fn preview_for(
    state: &AppState,
    actor: String,
    client_addr: Option<String>,
    id: &str,
) -> Result<PreviewView, AppError> {
    let req = workflow::load(state, id).await?;
    let email = req
        .email_ct
        .as_deref()
        .map(|c| {
            state
                .keys
                .open_at(crate::crypto::Field::request("email_ct", &req.id), c)
        })
        .transpose()
        .map_err(|e| AppError::Internal(format!("request {}: {e}", req.reference)))?
        .ok_or_else(|| AppError::Conflict {
            detail: "the request no longer holds the subject's identity".into(),
            current_status: Some(req.status.to_string()),
        })?;
    let who = Identity::from_email(&email);
    let mut connectors = Vec::new();
    for name in state.connectors.names() {
        let Some(engine) = state.connectors.get(&name) else {
            continue;
        };
        let p = engine
            .preview_erasure(&who)
            .await
            .map_err(|e| AppError::Conflict {
                detail: e.to_string(),
                current_status: None,
            })?;
        let tables = p
            .tables
            .into_iter()
            .map(|t| PreviewTableView {
                table: t.table,
                action: serde_json::to_value(t.action)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                rows: t.rows,
                kept: t.kept,
                fields: serde_json::to_value(&t.fields).unwrap_or_default(),
                implied_null: t.implied_null,
                retain_reason: t.retain_reason,
            })
            .collect();
        connectors.push(PreviewConnector { name, tables });
    }
    state
        .store
        .append_audit(&NewAudit {
            at: state.clock.now(),
            actor,
            action: "request.preview".into(),
            request_ref: Some(req.reference.clone()),
            client_addr,
            detail: serde_json::json!({}),
        })
        .await?;
    Ok(PreviewView { connectors })
}

/// Run a failed connector task again.
#[utoipa::path(post, path = "/requests/{id}/tasks/{task_id}/retry", tag = "requests",
    params(("id" = String, Path), ("task_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, description = "queued again"), (status = 409, body = crate::error::Problem)))]
pub async fn retry_task(
    State(state): State<AppState>,
    AgentStaff(_staff): AgentStaff,
    Path((id, task_id)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, AppError> {
    crate::services::fanout::retry(&state, &id, &task_id).await?;
    Ok(Json(
        serde_json::json!({ "id": task_id, "status": "pending" }),
    ))
}
