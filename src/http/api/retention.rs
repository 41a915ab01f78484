//! Retention as staff see it: the declared policies with their schedule and last run,
//! the run records, running a policy now (or its dry run), and legal holds.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::page;
use crate::error::AppError;
use crate::http::auth::{AdminStaff, AgentStaff, Role, Staff};
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::{AppState, ClientAddr};
use crate::services::retention::holds::{self, HoldView};
use crate::services::retention::{self, DryRunCounts, Trigger};
use crate::store::RetentionRun;

#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyView {
    pub name: String,
    pub connector: String,
    pub table: String,
    pub age_column: String,
    /// As declared: `24 months`, `90 days`.
    pub max_age: String,
    /// `delete` or `anonymize`.
    pub action: String,
    pub batch_size: u32,
    /// Six-field cron (UTC); none: runs only on demand.
    pub schedule: Option<String>,
    pub next_run: Option<DateTime<Utc>>,
    /// The latest real run (dry runs are listed under /retention/runs only).
    pub last_run: Option<RetentionRun>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyList {
    pub items: Vec<PolicyView>,
}

fn age_text(age: crate::connectors::datamap::MaxAge) -> String {
    use crate::connectors::datamap::AgeUnit::*;
    let unit = match age.unit {
        Seconds => "seconds",
        Minutes => "minutes",
        Hours => "hours",
        Days => "days",
        Weeks => "weeks",
        Months => "months",
        Years => "years",
    };
    format!("{} {unit}", age.amount)
}

/// The retention policies of the data map, with their schedule and last run.
#[utoipa::path(get, path = "/retention", tag = "retention", security(("bearer" = [])),
    responses((status = 200, body = PolicyList)))]
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Json<PolicyList>, AppError> {
    staff.require(Role::Auditor)?;
    Ok(Json(PolicyList {
        items: policy_views(&state).await?,
    }))
}

/// The policies with their last run and next scheduled tick (the API and the portal).
pub async fn policy_views(state: &AppState) -> Result<Vec<PolicyView>, AppError> {
    let last = state.store.latest_retention_runs().await?;
    let now = state.clock.now();
    let items = retention::policies(state)
        .into_iter()
        .map(|p| PolicyView {
            last_run: last
                .iter()
                .find(|r| r.connector == p.connector && r.policy == p.decl.name)
                .cloned(),
            next_run: p
                .decl
                .schedule
                .as_deref()
                .and_then(|s| crate::domain::schedule::parse_cron(s).ok())
                .and_then(|c| crate::jobs::scheduler::next_tick(&c, now)),
            name: p.decl.name,
            connector: p.connector,
            table: p.decl.table,
            age_column: p.decl.age_column,
            max_age: age_text(p.decl.max_age),
            action: retention::action_word(p.decl.action).into(),
            batch_size: p.decl.batch_size,
            schedule: p.decl.schedule,
        })
        .collect();
    Ok(items)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunList {
    pub items: Vec<RetentionRun>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// Run records of every policy, newest first (dry runs included, marked `dry_run`).
#[utoipa::path(get, path = "/retention/runs", tag = "retention", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = RunList)))]
pub async fn runs(
    State(state): State<AppState>,
    staff: Staff,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<RunList>, AppError> {
    staff.require(Role::Auditor)?;
    let page = page(q.page, q.per_page)?;
    let result = state.store.retention_runs(page).await?;
    Ok(Json(RunList {
        items: result.items,
        total: result.total,
        page: page.page,
        per_page: page.per_page,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunQuery {
    /// `true`: count what a run would purge now, changing nothing (answered at once).
    pub dry_run: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum RunAnswer {
    Dry(DryRunCounts),
    Started(RetentionRun),
}

/// Run a policy now. A dry run answers 200 with the counts; a real run starts in the
/// background and answers 202 with its run record (follow it at /retention/runs).
/// `{name}` is the policy's name, or `connector:name` when two connectors share it.
#[utoipa::path(post, path = "/retention/{name}/run", tag = "retention",
    params(("name" = String, Path), RunQuery), security(("bearer" = [])),
    responses((status = 200, body = DryRunCounts), (status = 202, body = RetentionRun),
        (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn run(
    State(state): State<AppState>,
    AdminStaff(staff): AdminStaff,
    client: ClientAddr,
    Path(name): Path<String>,
    ApiQuery(q): ApiQuery<RunQuery>,
) -> Result<(StatusCode, Json<RunAnswer>), AppError> {
    let policy = retention::find(&state, &name)?;
    let dry_run = q.dry_run.unwrap_or(false);
    let prepared = retention::prepare(
        &state,
        policy,
        dry_run,
        Trigger::Api,
        &staff.actor(),
        client.text(),
    )
    .await?;
    if dry_run {
        let run = prepared.execute().await;
        return Ok((
            StatusCode::OK,
            Json(RunAnswer::Dry(DryRunCounts::from(&run))),
        ));
    }
    let record = prepared.record().clone();
    tokio::spawn(prepared.execute());
    Ok((StatusCode::ACCEPTED, Json(RunAnswer::Started(record))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateHold {
    pub email: String,
    /// Why the subject's data must be kept (litigation, investigation); shown to staff.
    pub reason: String,
}

/// Put a subject under legal hold: their rows are not purged, and erasure requests for
/// them are refused, until the hold is released.
#[utoipa::path(post, path = "/holds", tag = "retention", request_body = CreateHold, security(("bearer" = [])),
    responses((status = 201, body = HoldView), (status = 422, body = crate::error::Problem)))]
pub async fn create_hold(
    State(state): State<AppState>,
    AdminStaff(staff): AdminStaff,
    client: ClientAddr,
    ApiJson(body): ApiJson<CreateHold>,
) -> Result<(StatusCode, Json<HoldView>), AppError> {
    let hold = holds::create(
        &state,
        &body.email,
        &body.reason,
        &staff.actor(),
        client.text(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(hold)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HoldQuery {
    /// Also list released holds.
    pub include_released: Option<bool>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HoldList {
    pub items: Vec<HoldView>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// Legal holds in force (newest first), or all with `include_released=true`.
#[utoipa::path(get, path = "/holds", tag = "retention", params(HoldQuery), security(("bearer" = [])),
    responses((status = 200, body = HoldList)))]
pub async fn list_holds(
    State(state): State<AppState>,
    AgentStaff(staff): AgentStaff,
    client: ClientAddr,
    ApiQuery(q): ApiQuery<HoldQuery>,
) -> Result<Json<HoldList>, AppError> {
    let page = page(q.page, q.per_page)?;
    let result = holds::view_list(
        &state,
        q.include_released.unwrap_or(false),
        page,
        &staff.actor(),
        client.text(),
    )
    .await?;
    Ok(Json(HoldList {
        items: result.items,
        total: result.total,
        page: page.page,
        per_page: page.per_page,
    }))
}

/// Release a legal hold.
#[utoipa::path(delete, path = "/holds/{hold_id}", tag = "retention", params(("hold_id" = String, Path)),
    security(("bearer" = [])), responses((status = 204, description = "released"), (status = 404, body = crate::error::Problem)))]
pub async fn release_hold(
    State(state): State<AppState>,
    AdminStaff(staff): AdminStaff,
    client: ClientAddr,
    Path(hold_id): Path<String>,
) -> Result<StatusCode, AppError> {
    holds::release(&state, &hold_id, &staff.actor(), client.text()).await?;
    Ok(StatusCode::NO_CONTENT)
}
