//! The audit log: filtered reads and chain verification.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::page;
use crate::error::AppError;
use crate::http::AppState;
use crate::http::auth::{Role, Staff};
use crate::http::extract::ApiQuery;
use crate::store::audit_chain::{self, VerifyReport};
use crate::store::{AuditEntry, AuditFilter};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// A request reference.
    pub request: Option<String>,
    /// An actor, e.g. `token:alice`.
    pub actor: Option<String>,
    /// From this time (inclusive), RFC 3339.
    pub from: Option<DateTime<Utc>>,
    /// Until this time (exclusive), RFC 3339.
    pub to: Option<DateTime<Utc>>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditList {
    pub items: Vec<AuditEntry>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// Audit entries, newest first.
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditQuery), security(("bearer" = [])),
    responses((status = 200, body = AuditList)))]
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditList>, AppError> {
    staff.require(Role::Auditor)?;
    let page = page(q.page, q.per_page)?;
    let result = state
        .store
        .list_audit(&AuditFilter {
            request_ref: q.request.map(|r| crate::domain::reference::normalize(&r)),
            actor: q.actor,
            from: q.from,
            to: q.to,
            page,
        })
        .await?;
    Ok(Json(AuditList {
        items: result.items,
        total: result.total,
        page: page.page,
        per_page: page.per_page,
    }))
}

/// Walk the hash chain and name the first entry that does not fit.
#[utoipa::path(get, path = "/audit/verify", tag = "audit", security(("bearer" = [])),
    responses((status = 200, body = VerifyReport)))]
pub async fn verify(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Json<VerifyReport>, AppError> {
    staff.require(Role::Auditor)?;
    Ok(Json(audit_chain::verify(state.store.as_ref()).await?))
}
