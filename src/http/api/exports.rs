//! Export packages as staff see them: the manifest (files, hashes, row counts — never
//! the data), where each package stands, and two remedies for a subject who lost or used
//! up their link: a new link to the same package, or a package built again.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::request::Kind;
use crate::error::AppError;
use crate::http::auth::{AgentStaff, Role, Staff};
use crate::http::{AppState, ClientAddr};
use crate::services::export::{self, ExportState};
use crate::services::workflow::{self, Actor};
use crate::store::Export;

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportView {
    pub id: String,
    /// `live`, `expired`, `used_up` or `deleted`.
    #[schema(value_type = String)]
    pub state: ExportState,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub downloads: i32,
    pub max_downloads: i32,
    pub size_bytes: i64,
    /// Every file with its sha256, size, row count, connector and table.
    #[schema(value_type = Object)]
    pub manifest: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportList {
    pub items: Vec<ExportView>,
}

fn view(state: &AppState, e: Export) -> ExportView {
    ExportView {
        state: export::state_of(&e, state.clock.now()),
        manifest: serde_json::from_str(&e.manifest).unwrap_or_default(),
        id: e.id,
        created_at: e.created_at,
        expires_at: e.expires_at,
        downloads: e.downloads,
        max_downloads: e.max_downloads,
        size_bytes: e.size_bytes,
    }
}

fn actor(staff: &Staff, client: &ClientAddr) -> Actor {
    Actor {
        name: staff.actor(),
        client_addr: client.text(),
    }
}

/// The subject's address is needed to send them the link; closed requests lose it after
/// `retention_own.closed_request_pii`.
fn reachable(req: &crate::store::Request) -> Result<(), AppError> {
    if req.email_ct.is_none() {
        return Err(AppError::Conflict {
            detail: "the request no longer holds the subject's email address".into(),
            current_status: Some(req.status.to_string()),
        });
    }
    Ok(())
}

/// After the person's erasure, nothing of theirs is packaged or sent again.
async fn not_erased(state: &AppState, req: &crate::store::Request) -> Result<(), AppError> {
    if let Some(erasure) = state.store.copies_erased_by(&req.id).await? {
        return Err(AppError::Conflict {
            detail: format!(
                "the stored copies of this request were deleted when erasure request {erasure} of the same person completed"
            ),
            current_status: Some(req.status.to_string()),
        });
    }
    Ok(())
}

/// A denied or withdrawn request gets no package: neither a new link nor a rebuild.
fn not_refused(req: &crate::store::Request) -> Result<(), AppError> {
    if matches!(
        req.status,
        crate::domain::request::Status::Denied | crate::domain::request::Status::Withdrawn
    ) {
        return Err(AppError::Conflict {
            detail: format!("the request is {}: its data is not sent", req.status),
            current_status: Some(req.status.to_string()),
        });
    }
    Ok(())
}

fn not_exportable(kind: Kind) -> AppError {
    AppError::Conflict {
        detail: format!("a {kind} request has no export package"),
        current_status: None,
    }
}

/// The request's export packages, oldest first, with their manifests.
#[utoipa::path(get, path = "/requests/{id}/export", tag = "requests",
    params(("id" = String, Path, description = "The request's reference")), security(("bearer" = [])),
    responses((status = 200, body = ExportList), (status = 404, body = crate::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<ExportList>, AppError> {
    staff.require(Role::Auditor)?;
    let req = workflow::load(&state, &id).await?;
    let items = views(&state, state.store.exports_for_request(&req.id).await?);
    Ok(Json(ExportList { items }))
}

/// Email the subject a new link to the newest package of request `reference` (its file
/// must still exist); earlier links stop working. Used by the API and the portal.
pub async fn reissue_for(
    state: &AppState,
    actor: &Actor,
    reference: &str,
) -> Result<Export, AppError> {
    let req = workflow::load(state, reference).await?;
    not_refused(&req)?;
    not_erased(state, &req).await?;
    reachable(&req)?;
    let newest = state.store.exports_for_request(&req.id).await?.pop();
    let Some(current) = newest else {
        return Err(AppError::Conflict {
            detail: "this request has no export package yet".into(),
            current_status: Some(req.status.to_string()),
        });
    };
    let url = export::reissue(state, &current)
        .await
        .map_err(|e| AppError::Internal(format!("export link: {e}")))?
        .ok_or_else(|| AppError::Conflict {
            detail: "the package was deleted after it expired; build it again instead".into(),
            current_status: Some(req.status.to_string()),
        })?;
    workflow::send_export_link(state, actor, &req, &url, false).await?;
    state
        .store
        .exports_for_request(&req.id)
        .await?
        .into_iter()
        .find(|e| e.id == current.id)
        .ok_or_else(|| AppError::Internal("export vanished".into()))
}

/// Build the package of request `reference` again from its stored access results and
/// email the subject its link. Used by the API and the portal.
pub async fn rebuild_for(
    state: &AppState,
    actor: &Actor,
    reference: &str,
) -> Result<Export, AppError> {
    let req = workflow::load(state, reference).await?;
    if !matches!(req.kind, Kind::Access | Kind::Portability) {
        return Err(not_exportable(req.kind));
    }
    not_refused(&req)?;
    not_erased(state, &req).await?;
    reachable(&req)?;
    let tasks = state.store.tasks_for_request(&req.id).await?;
    let url = export::for_completion(state, &req, &tasks)
        .await
        .map_err(|e| AppError::Internal(format!("export package: {e}")))?
        .ok_or_else(|| AppError::Conflict {
            detail:
                "no connector search has succeeded for this request, so there is nothing to package"
                    .into(),
            current_status: Some(req.status.to_string()),
        })?;
    workflow::send_export_link(state, actor, &req, &url, true).await?;
    state
        .store
        .exports_for_request(&req.id)
        .await?
        .pop()
        .ok_or_else(|| AppError::Internal("export vanished".into()))
}

/// Where each package stands and its manifest, for staff views.
pub fn views(state: &AppState, exports: Vec<Export>) -> Vec<ExportView> {
    exports.into_iter().map(|e| view(state, e)).collect()
}

/// Email the subject a new link to their newest package (its file must still exist).
/// Earlier links stop working; the new one lives `retention_own.exports_expire`.
#[utoipa::path(post, path = "/requests/{id}/export/link", tag = "requests",
    params(("id" = String, Path, description = "The request's reference")), security(("bearer" = [])),
    responses((status = 200, body = ExportView), (status = 409, body = crate::error::Problem)))]
pub async fn reissue(
    State(state): State<AppState>,
    AgentStaff(staff): AgentStaff,
    client: ClientAddr,
    Path(id): Path<String>,
) -> Result<Json<ExportView>, AppError> {
    let e = reissue_for(&state, &actor(&staff, &client), &id).await?;
    Ok(Json(view(&state, e)))
}

/// Build the package again from the stored access results and email the subject its
/// link (for a completed access or portability request whose package expired).
#[utoipa::path(post, path = "/requests/{id}/export", tag = "requests",
    params(("id" = String, Path, description = "The request's reference")), security(("bearer" = [])),
    responses((status = 201, body = ExportView), (status = 409, body = crate::error::Problem)))]
pub async fn rebuild(
    State(state): State<AppState>,
    AgentStaff(staff): AgentStaff,
    client: ClientAddr,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<ExportView>), AppError> {
    let e = rebuild_for(&state, &actor(&staff, &client), &id).await?;
    Ok((StatusCode::CREATED, Json(view(&state, e))))
}
