//! The job queue as staff see it: what is queued, running, done or dead, and retrying the dead.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::page;
use crate::error::AppError;
use crate::http::AppState;
use crate::http::auth::{AgentStaff, Role, Staff};
use crate::http::extract::ApiQuery;
use crate::store::{Job, JobStatus};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    pub status: Option<JobStatus>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobList {
    pub items: Vec<Job>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// Jobs, newest first.
#[utoipa::path(get, path = "/jobs", tag = "admin", params(JobQuery), security(("bearer" = [])),
    responses((status = 200, body = JobList)))]
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    ApiQuery(q): ApiQuery<JobQuery>,
) -> Result<Json<JobList>, AppError> {
    staff.require(Role::Auditor)?;
    let page = page(q.page, q.per_page)?;
    let result = state.store.list_jobs(q.status, page).await?;
    Ok(Json(JobList {
        items: result.items,
        total: result.total,
        page: page.page,
        per_page: page.per_page,
    }))
}

/// Put a dead job back in the queue.
#[utoipa::path(post, path = "/jobs/{job_id}/retry", tag = "admin", params(("job_id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, description = "queued again"), (status = 409, body = crate::error::Problem)))]
pub async fn retry(
    State(state): State<AppState>,
    AgentStaff(_staff): AgentStaff,
    Path(job_id): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    if state.store.retry_job(&job_id, state.clock.now()).await? {
        state.queue.wake();
        Ok(Json(
            serde_json::json!({ "id": job_id, "status": "queued" }),
        ))
    } else {
        Err(AppError::Conflict {
            detail: "only a dead job can be retried".into(),
            current_status: None,
        })
    }
}
