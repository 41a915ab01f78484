//! Staff endpoints for a request's regime and for appeals: change the regime (with a
//! reason), decide an appeal (upheld or reversed, with reasons).

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;

use super::requests::{RequestDetail, full_view};
use crate::domain::appeal::AppealOutcome;
use crate::domain::deadline::Regime;
use crate::error::AppError;
use crate::http::auth::{AgentStaff, Role};
use crate::http::extract::ApiJson;
use crate::http::{AppState, ClientAddr};
use crate::services::workflow::Actor;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegimeBody {
    /// `gdpr`, `uk_gdpr`, `lgpd`, `ccpa`, `vcdpa`, `cpa`, `ctdpa`, `tdpsa`, `ocpa`, `ucpa`,
    /// `icdpa` or `days:N` (docs/regimes.md).
    #[schema(value_type = String, example = "vcdpa")]
    pub regime: Regime,
    /// Why the request falls under this regime (required; on the request's timeline).
    pub reason: Option<String>,
}

/// Put a request under another regime, with a reason. The due date is recomputed under
/// the new regime from the same clock start day (an extension keeps its length, up to the
/// new regime's maximum); the change is on the timeline and in the audit log.
#[utoipa::path(post, path = "/requests/{id}/regime", tag = "requests", request_body = RegimeBody,
    params(("id" = String, Path, description = "The request's reference")),
    security(("bearer" = [])),
    responses((status = 200, body = RequestDetail), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn change_regime(
    State(state): State<AppState>,
    AgentStaff(staff): AgentStaff,
    client: ClientAddr,
    Path(id): Path<String>,
    body: Option<ApiJson<RegimeBody>>,
) -> Result<Json<RequestDetail>, AppError> {
    let body = body
        .ok_or_else(|| AppError::field("regime", "give the new regime and the reason"))?
        .0;
    let actor = Actor {
        name: staff.actor(),
        client_addr: client.text(),
    };
    let reason = body.reason.unwrap_or_default();
    let req =
        crate::services::regime_change::change(&state, &actor, &id, body.regime, &reason).await?;
    Ok(Json(full_view(&state, &actor, req, false).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideBody {
    /// `upheld` (the refusal stands) or `reversed` (the refused request is reopened).
    pub outcome: AppealOutcome,
    /// The reasons, told to the subject (required).
    pub reason: Option<String>,
}

/// Decide an appeal: `upheld` or `reversed`, with reasons emailed to the subject together
/// with the authority they may complain to. Needs an admin token (portal users: admin, or
/// agent with the `appeals` permission); whoever made the refusal may not decide its
/// appeal (403). A reversed appeal reopens the refused request.
#[utoipa::path(post, path = "/requests/{id}/decide", tag = "requests", request_body = DecideBody,
    params(("id" = String, Path, description = "The appeal's reference")),
    security(("bearer" = [])),
    responses((status = 200, body = RequestDetail), (status = 403, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn decide(
    State(state): State<AppState>,
    AgentStaff(staff): AgentStaff,
    client: ClientAddr,
    Path(id): Path<String>,
    body: Option<ApiJson<DecideBody>>,
) -> Result<Json<RequestDetail>, AppError> {
    let body = body
        .ok_or_else(|| AppError::field("outcome", "give the outcome and the reasons"))?
        .0;
    let actor = Actor {
        name: staff.actor(),
        client_addr: client.text(),
    };
    let reason = body.reason.unwrap_or_default();
    let req = crate::services::appeals::decide(
        &state,
        &actor,
        staff.role >= Role::Admin,
        &id,
        body.outcome,
        &reason,
    )
    .await?;
    Ok(Json(full_view(&state, &actor, req, false).await?))
}

/// An appeal as staff see it.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct AppealView {
    /// The appeal request's reference.
    pub reference: String,
    /// The refused request it contests.
    pub original: String,
    /// Who made the refusal (they may not decide the appeal).
    pub refused_by: String,
    pub outcome: Option<AppealOutcome>,
    /// The reasons told to the subject.
    pub reason: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<crate::store::Appeal> for AppealView {
    fn from(a: crate::store::Appeal) -> Self {
        Self {
            reference: a.reference,
            original: a.original_reference,
            refused_by: a.denied_by,
            outcome: a.outcome,
            reason: a.outcome_reason,
            decided_by: a.decided_by,
            decided_at: a.decided_at,
        }
    }
}

/// `(appeal, appeals)` of a request: what it is an appeal of, and its own appeals.
pub async fn views(
    state: &AppState,
    r: &crate::store::Request,
) -> Result<(Option<AppealView>, Vec<AppealView>), AppError> {
    let appeal = crate::services::appeals::of_request(state, r)
        .await?
        .map(AppealView::from);
    let appeals = state
        .store
        .appeals_of(&r.id)
        .await?
        .into_iter()
        .map(AppealView::from)
        .collect();
    Ok((appeal, appeals))
}
