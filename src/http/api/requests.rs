//! Staff endpoints for requests: create, list, read, and the workflow actions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::page;
use crate::domain::deadline::{self, Regime};
use crate::domain::request::{DenyReason, Kind, Source, Status};
use crate::error::{AppError, FieldError};
use crate::http::auth::{AgentStaff, Role, Staff};
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::{AppState, ClientAddr};
use crate::services::workflow::{self, Actor, Correction, StaffAction, StaffEntry};
use crate::store::{Event, NewAudit, Request, RequestFilter};

/// A request in a list: no personal data.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestSummary {
    pub reference: String,
    pub kind: Kind,
    pub status: Status,
    pub source: Source,
    pub received_at: DateTime<Utc>,
    pub verified_at: Option<DateTime<Utc>>,
    pub due_date: Option<NaiveDate>,
    pub extended: bool,
    pub overdue: bool,
    pub assignee: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Subject {
    pub email: Option<String>,
    pub name: Option<String>,
}

/// A request with its identity, history and due dates.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestDetail {
    pub reference: String,
    pub kind: Kind,
    pub status: Status,
    pub source: Source,
    #[schema(value_type = String, example = "gdpr")]
    pub regime: String,
    /// Where the subject said they live (`DE`, `US-VA`); it chose `regime`.
    #[schema(example = "US-VA")]
    pub residence: Option<String>,
    pub received_at: DateTime<Utc>,
    pub verified_at: Option<DateTime<Utc>>,
    pub clock_started_on: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    /// The due date before the extension, when extended.
    pub original_due_date: Option<NaiveDate>,
    pub extended: bool,
    pub extension_reason: Option<String>,
    pub overdue: bool,
    pub held_from: Option<Status>,
    pub hold_started_at: Option<DateTime<Utc>>,
    /// Why the request is on hold, while it is.
    pub hold_reason: Option<crate::domain::request::HoldReason>,
    pub subject: Subject,
    pub details: Option<String>,
    pub corrections: Option<Vec<Correction>>,
    /// For a rectification: the correction fields that no declared connector can apply
    /// (none declares them `rectify = true`). While any is listed, the request is not
    /// run: edit the corrections (`PUT .../corrections`), then `rerun` it.
    pub unmatched_corrections: Vec<String>,
    pub scope: Option<String>,
    pub verification_note: Option<String>,
    pub deny_reason: Option<DenyReason>,
    pub deny_note: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    pub assignee: Option<String>,
    /// The earlier open request of the same person and kind this one repeats (its
    /// reference), while linked: it is not processed; `unlink` or `merge` it.
    pub duplicate_of: Option<String>,
    /// Later requests linked to this one as its duplicates.
    pub duplicates: Vec<String>,
    /// For an appeal: the refused request it contests, and its decision.
    pub appeal: Option<super::appeals::AppealView>,
    /// The appeals made against this request's refusals, oldest first.
    pub appeals: Vec<super::appeals::AppealView>,
    /// Only in the answer to a create with `start: true` that could not start the
    /// request: why (the same reason `start` would have given). The request was created
    /// and stays `open`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_refused: Option<String>,
    pub events: Vec<Event>,
    /// Emails about this request (never the address): delivery state and errors.
    pub emails: Vec<EmailSummary>,
    /// Connector tasks (none until connectors are declared).
    pub tasks: Vec<TaskView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmailSummary {
    pub template: String,
    pub status: crate::store::OutboxStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<crate::store::OutboxMessage> for EmailSummary {
    fn from(m: crate::store::OutboxMessage) -> Self {
        Self {
            template: m.template,
            status: m.status,
            attempts: m.attempts,
            last_error: m.last_error,
            created_at: m.created_at,
            sent_at: m.sent_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestList {
    pub items: Vec<RequestSummary>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

pub fn is_overdue(r: &Request, today: NaiveDate) -> bool {
    !r.status.is_final() && r.due_date.is_some_and(|d| deadline::is_overdue(today, d))
}

pub fn summary(r: Request, today: NaiveDate) -> RequestSummary {
    RequestSummary {
        overdue: is_overdue(&r, today),
        reference: r.reference,
        kind: r.kind,
        status: r.status,
        source: r.source,
        received_at: r.received_at,
        verified_at: r.verified_at,
        due_date: r.due_date,
        extended: r.extended,
        assignee: r.assignee,
    }
}

fn detail(
    state: &AppState,
    r: Request,
    events: Vec<Event>,
    emails: Vec<EmailSummary>,
    tasks: Vec<TaskView>,
) -> Result<RequestDetail, AppError> {
    let open = |column: &str, ct: &Option<String>| -> Result<Option<String>, AppError> {
        ct.as_deref()
            .map(|c| {
                state
                    .keys
                    .open_at(crate::crypto::Field::request(column, &r.id), c)
            })
            .transpose()
            .map_err(|e| AppError::Internal(format!("request {}: {column}: {e}", r.reference)))
    };
    let corrections = open("corrections_ct", &r.corrections_ct)?
        .map(|c| serde_json::from_str(&c))
        .transpose()
        .map_err(|e| AppError::Internal(format!("request {}: corrections: {e}", r.reference)))?;
    let unmatched_corrections = if r.status.is_final() {
        Vec::new()
    } else {
        workflow::unmatched_corrections(state, &r)?
    };
    Ok(RequestDetail {
        unmatched_corrections,
        overdue: is_overdue(&r, workflow::today(state)),
        subject: Subject {
            email: open("email_ct", &r.email_ct)?,
            name: open("name_ct", &r.name_ct)?,
        },
        details: open("details_ct", &r.details_ct)?,
        corrections,
        verification_note: open("verification_note_ct", &r.verification_note_ct)?,
        reference: r.reference,
        kind: r.kind,
        status: r.status,
        source: r.source,
        regime: r.regime.to_string(),
        residence: r.residence.clone(),
        received_at: r.received_at,
        verified_at: r.verified_at,
        clock_started_on: r.clock_started_on,
        due_date: r.due_date,
        original_due_date: r.original_due_date,
        extended: r.extended,
        extension_reason: r.extension_reason,
        held_from: r.held_from,
        hold_started_at: r.hold_started_at,
        hold_reason: r.hold_reason,
        scope: r.scope,
        deny_reason: r.deny_reason,
        deny_note: r.deny_note,
        completed_at: r.completed_at,
        assignee: r.assignee,
        duplicate_of: None,
        duplicates: Vec::new(),
        appeal: None,
        appeals: Vec::new(),
        start_refused: None,
        events,
        emails,
        tasks,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

/// Read a request with its personal data; the read itself is audited.
pub async fn full_view(
    state: &AppState,
    actor: &Actor,
    r: Request,
    audit_view: bool,
) -> Result<RequestDetail, AppError> {
    if audit_view {
        state
            .store
            .append_audit(&NewAudit {
                at: state.clock.now(),
                actor: actor.name.clone(),
                action: "request.view".into(),
                request_ref: Some(r.reference.clone()),
                client_addr: actor.client_addr.clone(),
                detail: serde_json::json!({}),
            })
            .await?;
    }
    let events = state.store.events(&r.id).await?;
    let emails = state
        .store
        .outbox_for_request(&r.id)
        .await?
        .into_iter()
        .map(EmailSummary::from)
        .collect();
    let tasks = state
        .store
        .tasks_for_request(&r.id)
        .await?
        .into_iter()
        .map(TaskView::from)
        .collect();
    let links = crate::services::duplicates::links(state, &r).await?;
    let (appeal, appeals) = super::appeals::views(state, &r).await?;
    let mut view = detail(state, r, events, emails, tasks)?;
    view.duplicate_of = links.duplicate_of;
    view.duplicates = links.duplicates;
    view.appeal = appeal;
    view.appeals = appeals;
    Ok(view)
}

/// A connector task as staff see it: status, evidence (counts only), error or reason.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskView {
    pub id: String,
    pub connector: String,
    pub operation: String,
    /// `pending`, `blocked`, `running`, `waiting`, `succeeded`, `failed` or `skipped`.
    pub status: String,
    pub attempts: i32,
    /// Why a `failed` task failed.
    pub error: Option<String>,
    /// Why a `skipped` task did nothing (its connector declares nothing for the
    /// operation), e.g. "no [objection] declared for this connector".
    pub reason: Option<String>,
    /// For an erasure: per table the action, rows affected, kept and left (0 = done).
    #[schema(value_type = Option<Object>)]
    pub evidence: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<crate::store::Task> for TaskView {
    fn from(t: crate::store::Task) -> Self {
        // A skipped task's reason is kept in the same column as a failure's error.
        let (error, reason) = if t.status == "skipped" {
            (None, t.error)
        } else {
            (t.error, None)
        };
        Self {
            error,
            reason,
            evidence: t
                .evidence
                .as_deref()
                .and_then(|e| serde_json::from_str(e).ok()),
            id: t.id,
            connector: t.connector,
            operation: t.operation,
            status: t.status,
            attempts: t.attempts,
            created_at: t.created_at,
            finished_at: t.finished_at,
        }
    }
}

fn actor(staff: &Staff, client: &ClientAddr) -> Actor {
    Actor {
        name: staff.actor(),
        client_addr: client.text(),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub status: Option<Status>,
    pub kind: Option<Kind>,
    /// true: only overdue requests; false: only requests that are not overdue.
    pub overdue: Option<bool>,
    /// A reference (or its start) or a subject's exact email address.
    pub q: Option<String>,
    /// Only requests assigned to this staff member (email address).
    pub assignee: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
    /// Only requests not yet closed that are due within this many days from today
    /// (today included; overdue ones excluded), as the dashboard's "due soon" counts them.
    pub due_within_days: Option<u32>,
    /// true: only requests not yet closed (any open status).
    pub open_only: Option<bool>,
}

/// List requests, soonest due first.
#[utoipa::path(get, path = "/requests", tag = "requests", params(ListQuery),
    security(("bearer" = [])),
    responses((status = 200, body = RequestList), (status = 401, body = crate::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    _staff: Staff,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<RequestList>, AppError> {
    Ok(Json(search(&state, &q).await?))
}

/// The request list behind the API and the portal queue: filters, and `q` matched as a
/// reference prefix or, through the blind index, an exact email address.
pub async fn search(state: &AppState, q: &ListQuery) -> Result<RequestList, AppError> {
    let page = page(q.page, q.per_page)?;
    let today = workflow::today(state);
    let mut filter = RequestFilter {
        status: q.status,
        kind: q.kind,
        assignee: q
            .assignee
            .as_deref()
            .map(|a| a.trim().to_lowercase())
            .filter(|a| !a.is_empty()),
        page,
        ..Default::default()
    };
    if let Some(days) = q.due_within_days {
        if days > 366 {
            return Err(AppError::field("due_within_days", "must be at most 366"));
        }
        filter.due_between = Some((today, today + chrono::Days::new(u64::from(days))));
    }
    filter.open_only = q.open_only.unwrap_or(false);
    match q.overdue {
        Some(true) => filter.overdue_before = Some(today),
        Some(false) => filter.not_overdue_on = Some(today),
        None => {}
    }
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        if text.len() > 254 {
            return Err(AppError::field("q", "must be at most 254 characters"));
        }
        let upper = text.to_ascii_uppercase();
        // Only reference characters reach LIKE, so the pattern cannot be widened.
        if upper.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            filter.reference_prefix = Some(upper);
        }
        if let Ok(email) = crate::domain::identity::SubjectEmail::parse(text) {
            filter.email_index = Some(state.keys.blind_index(email.expose()));
        }
        if filter.reference_prefix.is_none() && filter.email_index.is_none() {
            return Ok(RequestList {
                items: Vec::new(),
                total: 0,
                page: page.page,
                per_page: page.per_page,
            });
        }
    }
    let result = state.store.list_requests(&filter).await?;
    Ok(RequestList {
        items: result
            .items
            .into_iter()
            .map(|r| summary(r, today))
            .collect(),
        total: result.total,
        page: page.page,
        per_page: page.per_page,
    })
}

/// A request entered by staff (received by post, phone or ticket).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    pub kind: Kind,
    pub email: String,
    pub name: Option<String>,
    pub details: Option<String>,
    pub corrections: Option<Vec<Correction>>,
    /// Only for an objection: `marketing` (never refused or held), `profiling`, or
    /// `processing` with the processing named in `processing`.
    pub scope: Option<String>,
    /// With `scope = "processing"`: the processing objected to (at most 200 characters).
    pub processing: Option<String>,
    /// When the request was received; may be in the past, not in the future. Default: now.
    pub received_at: Option<DateTime<Utc>>,
    /// When identity was verified; default: `received_at`.
    pub verified_at: Option<DateTime<Utc>>,
    /// `gdpr`, `uk_gdpr`, `lgpd`, `ccpa`, `vcdpa`, `cpa`, `ctdpa`, `tdpsa`, `ocpa`, `ucpa`,
    /// `icdpa` or `days:N` (docs/regimes.md); default: the configured regime.
    #[schema(value_type = Option<String>)]
    pub regime: Option<Regime>,
    /// How the requester's identity was verified.
    pub verification_note: String,
    /// `true`: the subject asked to be told who received their data (GDPR art. 19).
    #[serde(default)]
    pub recipients_requested: bool,
    /// `true`: start the request in the same call, as `POST /requests/{id}/start` right
    /// after the create would (one call and one read of the request instead of two).
    /// When it cannot start (a repeat of an open request, a failed identity check) it is
    /// still created, stays `open`, and `start_refused` in the answer says why.
    #[serde(default)]
    pub start: bool,
}

/// Enter a request on behalf of a subject; it starts `open`.
#[utoipa::path(post, path = "/requests", tag = "requests", request_body = CreateRequest,
    security(("bearer" = [])),
    responses((status = 201, body = RequestDetail), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    AgentStaff(staff): AgentStaff,
    client: ClientAddr,
    ApiJson(body): ApiJson<CreateRequest>,
) -> Result<(StatusCode, Json<RequestDetail>), AppError> {
    let start = body.start;
    let entry = staff_entry(&state, body)?;
    let actor = actor(&staff, &client);
    let ((req, start_refused), stored) = if start {
        workflow::create_and_start_stored(&state, &actor, entry).await?
    } else {
        (
            (
                workflow::create_staff_request(&state, &actor, entry).await?,
                None,
            ),
            None,
        )
    };
    // Entered and started in one commit: the answer shows what that commit stored (the
    // task may be running by now; the request's page reads it as it stands).
    let mut view = match stored {
        Some(stored) => detail(
            &state,
            req,
            stored.events,
            stored.emails.into_iter().map(EmailSummary::from).collect(),
            stored.tasks.into_iter().map(TaskView::from).collect(),
        )?,
        None => full_view(&state, &actor, req, false).await?,
    };
    view.start_refused = start_refused;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Check a staff-entered request (API and portal alike) and turn it into a `StaffEntry`.
pub fn staff_entry(state: &AppState, body: CreateRequest) -> Result<StaffEntry, AppError> {
    let now = state.clock.now();
    let mut errors: Vec<FieldError> = Vec::new();
    let submission = workflow::parse_submission(
        body.kind,
        &body.email,
        body.name.as_deref(),
        body.details.as_deref(),
        body.corrections,
        (body.scope.as_deref(), body.processing.as_deref()),
        &mut errors,
    );
    let received_at = body.received_at.unwrap_or(now);
    if received_at > now {
        errors.push(FieldError::new("received_at", "cannot be in the future"));
    }
    let verified_at = body.verified_at.unwrap_or(received_at);
    if verified_at > now {
        errors.push(FieldError::new("verified_at", "cannot be in the future"));
    } else if verified_at < received_at {
        errors.push(FieldError::new(
            "verified_at",
            "cannot be before received_at",
        ));
    }
    let note = crate::domain::identity::clean_text(&body.verification_note);
    if note.is_empty() {
        errors.push(FieldError::new(
            "verification_note",
            "say how the requester's identity was verified",
        ));
    } else if note.chars().count() > 2000 {
        errors.push(FieldError::new(
            "verification_note",
            "must be at most 2000 characters",
        ));
    }
    let Some(mut submission) = submission.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    submission.recipients_requested = body.recipients_requested;
    Ok(StaffEntry {
        submission,
        received_at,
        verified_at,
        regime: body.regime.unwrap_or(state.config.deadlines.regime),
        verification_note: note,
    })
}

/// Where a request stands, without its subject's data (not audited).
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestState {
    pub reference: String,
    pub status: Status,
    /// Grows by one or more with every change; give it back as `version` to wait for
    /// the next one.
    pub version: i64,
    /// `completed`, `denied`, `withdrawn` or `expired`: nothing more will happen to it.
    #[serde(rename = "final")]
    pub is_final: bool,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StateQuery {
    /// The version the caller last saw: the answer comes once the request's version is
    /// another (it changed), or after `wait` seconds. Without it, at once.
    pub version: Option<i64>,
    /// How long to wait for a change, in seconds (at most 25; default 20).
    pub wait: Option<u32>,
}

/// Where a request stands: status and version, at once or once it changes (`version`
/// and `wait`), instead of asking again and again.
#[utoipa::path(get, path = "/requests/{id}/status", tag = "requests", params(
        ("id" = String, Path, description = "The request's reference, e.g. DSR-7KQ2-M9XD"),
        StateQuery),
    security(("bearer" = [])),
    responses((status = 200, body = RequestState), (status = 404, body = crate::error::Problem)))]
pub async fn state_of(
    State(state): State<AppState>,
    _staff: Staff,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> Result<Json<RequestState>, AppError> {
    let wait = std::time::Duration::from_secs(u64::from(q.wait.unwrap_or(20)));
    if wait > workflow::MAX_WAIT {
        return Err(AppError::field("wait", "at most 25 seconds"));
    }
    let r = workflow::wait_for_change(&state, &id, q.version, wait).await?;
    Ok(Json(RequestState {
        is_final: r.status.is_final(),
        reference: r.reference,
        status: r.status,
        version: r.version,
        updated_at: r.updated_at,
        completed_at: r.completed_at,
    }))
}

/// A request with identity, events and due dates (this read is audited).
#[utoipa::path(get, path = "/requests/{id}", tag = "requests",
    params(("id" = String, Path, description = "The request's reference, e.g. DSR-7KQ2-M9XD")),
    security(("bearer" = [])),
    responses((status = 200, body = RequestDetail), (status = 404, body = crate::error::Problem)))]
pub async fn get_one(
    State(state): State<AppState>,
    staff: Staff,
    client: ClientAddr,
    Path(id): Path<String>,
) -> Result<Json<RequestDetail>, AppError> {
    let req = workflow::load(&state, &id).await?;
    Ok(Json(
        full_view(&state, &actor(&staff, &client), req, true).await?,
    ))
}

async fn run_action(
    state: AppState,
    staff: Staff,
    client: ClientAddr,
    id: String,
    action: StaffAction,
) -> Result<Json<RequestDetail>, AppError> {
    staff.require(Role::Agent)?;
    let actor = actor(&staff, &client);
    let req = workflow::act(&state, &actor, &id, action).await?;
    Ok(Json(full_view(&state, &actor, req, false).await?))
}

/// An optional body for actions that take nothing else.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DenyBody {
    pub reason: DenyReason,
    /// Told to the subject.
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendBody {
    pub reason: String,
    /// The new due date; default: the regime's maximum.
    pub until: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldBody {
    /// Told to the subject.
    pub reason: String,
    /// `awaiting_subject` (information needed to identify the subject or clarify the
    /// request: pauses the clock where the regime allows), `awaiting_third_party` or
    /// `other` (default; never pauses it).
    pub reason_code: Option<crate::domain::request::HoldReason>,
}

macro_rules! action_handler {
    ($name:ident, $path:literal, $doc:literal, $body:ty, |$b:ident| $make:expr) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "requests", request_body = $body,
            params(("id" = String, Path, description = "The request's reference")),
            security(("bearer" = [])),
            responses((status = 200, body = RequestDetail), (status = 409, body = crate::error::Problem),
                (status = 422, body = crate::error::Problem)))]
        pub async fn $name(
            State(state): State<AppState>,
            AgentStaff(staff): AgentStaff,
            client: ClientAddr,
            Path(id): Path<String>,
            body: Option<ApiJson<$body>>,
        ) -> Result<Json<RequestDetail>, AppError> {
            let $b: Option<$body> = body.map(|b| b.0);
            let action = $make?;
            run_action(state, staff, client, id, action).await
        }
    };
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// The staff member's email address; `null` to unassign. Reminders go to them.
    pub assignee: Option<String>,
}

fn assignee(b: AssignBody) -> Result<StaffAction, AppError> {
    let assignee = match b
        .assignee
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        Some(a) => Some(
            crate::domain::identity::SubjectEmail::parse(a)
                .map_err(|e| AppError::field("assignee", e.to_string()))?
                .expose()
                .to_string(),
        ),
        None => None,
    };
    Ok(StaffAction::Assign { assignee })
}

fn required<T>(b: Option<T>) -> Result<T, AppError> {
    b.ok_or_else(|| AppError::field("body", "this action needs a JSON body"))
}

action_handler!(
    start,
    "/requests/{id}/start",
    "Start work: `open` -> `in_progress`.",
    NoteBody,
    |_b| Ok::<_, AppError>(StaffAction::Start)
);
action_handler!(
    deny,
    "/requests/{id}/deny",
    "Refuse the request with a reason code.",
    DenyBody,
    |b| required(b).map(|b| StaffAction::Deny {
        reason: b.reason,
        note: b.note
    })
);
action_handler!(
    extend,
    "/requests/{id}/extend",
    "Extend the due date once, with a reason, before it passes.",
    ExtendBody,
    |b| required(b).map(|b| StaffAction::Extend {
        reason: b.reason,
        until: b.until
    })
);
action_handler!(
    hold,
    "/requests/{id}/hold",
    "Put on hold. Only `reason_code = awaiting_subject` stops the clock, and only under a regime whose holds may (GDPR, UK GDPR, LGPD; not CCPA or days:N).",
    HoldBody,
    |b| required(b).map(|b| StaffAction::Hold {
        reason: b.reason,
        code: b
            .reason_code
            .unwrap_or(crate::domain::request::HoldReason::Other)
    })
);
action_handler!(
    resume,
    "/requests/{id}/resume",
    "Resume; the due date moves by the whole days on hold.",
    NoteBody,
    |_b| Ok::<_, AppError>(StaffAction::Resume)
);
action_handler!(
    complete,
    "/requests/{id}/complete",
    "Complete a reviewed request.",
    NoteBody,
    |b| Ok::<_, AppError>(StaffAction::Complete {
        note: b.and_then(|b| b.note),
        download_url: None,
    })
);
action_handler!(
    withdraw,
    "/requests/{id}/withdraw",
    "Record that the subject withdrew the request.",
    NoteBody,
    |b| Ok::<_, AppError>(StaffAction::Withdraw {
        note: b.and_then(|b| b.note)
    })
);
action_handler!(
    assign,
    "/requests/{id}/assign",
    "Assign to a staff member (reminders go to them), or unassign with null.",
    AssignBody,
    |b| required(b).and_then(assignee)
);

action_handler!(
    rerun,
    "/requests/{id}/rerun",
    "Run a reviewed rectification again (`review` -> `in_progress`), after its corrections were edited. \
     New tasks are created; the earlier ones stay as history.",
    NoteBody,
    |_b| Ok::<_, AppError>(StaffAction::Rerun)
);

/// The corrections a rectification asks for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionsBody {
    /// The whole new list; a field is `column` or `table.column` of a field declared
    /// `rectify = true`.
    pub corrections: Vec<Correction>,
}

/// Replace a rectification's corrections (while `open` or in `review`), e.g. to name the
/// declared field the subject meant. A reviewed request is then run again with `rerun`.
#[utoipa::path(put, path = "/requests/{id}/corrections", tag = "requests", request_body = CorrectionsBody,
    params(("id" = String, Path, description = "The request's reference")),
    security(("bearer" = [])),
    responses((status = 200, body = RequestDetail), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn edit_corrections(
    State(state): State<AppState>,
    AgentStaff(staff): AgentStaff,
    client: ClientAddr,
    Path(id): Path<String>,
    body: Option<ApiJson<CorrectionsBody>>,
) -> Result<Json<RequestDetail>, AppError> {
    let body = required(body)?.0;
    let actor = actor(&staff, &client);
    let req = workflow::edit_corrections(&state, &actor, &id, body.corrections).await?;
    Ok(Json(full_view(&state, &actor, req, false).await?))
}

/// Lift the restriction a completed restriction request obtained: the subject is told
/// why first (GDPR art. 18(3)), then every connector resets its restriction flags (the
/// request's tasks show the outcome).
#[utoipa::path(post, path = "/requests/{id}/lift", tag = "requests", request_body = HoldBody,
    params(("id" = String, Path, description = "The request's reference")),
    security(("bearer" = [])),
    responses((status = 200, body = RequestDetail), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn lift(
    State(state): State<AppState>,
    AgentStaff(staff): AgentStaff,
    client: ClientAddr,
    Path(id): Path<String>,
    body: Option<ApiJson<HoldBody>>,
) -> Result<Json<RequestDetail>, AppError> {
    let reason = body
        .map(|b| b.0.reason)
        .ok_or_else(|| AppError::field("reason", "tell the subject why"))?;
    let actor = actor(&staff, &client);
    let req = workflow::lift_restriction(&state, &actor, &id, &reason).await?;
    Ok(Json(full_view(&state, &actor, req, false).await?))
}

/// An internal note on the request's timeline; staff only, the subject never sees it.
#[utoipa::path(post, path = "/requests/{id}/notes", tag = "requests", request_body = NoteBody,
    params(("id" = String, Path, description = "The request's reference")),
    security(("bearer" = [])),
    responses((status = 200, body = RequestDetail), (status = 422, body = crate::error::Problem)))]
pub async fn note(
    State(state): State<AppState>,
    AgentStaff(staff): AgentStaff,
    client: ClientAddr,
    Path(id): Path<String>,
    body: Option<ApiJson<NoteBody>>,
) -> Result<Json<RequestDetail>, AppError> {
    let text = body
        .and_then(|b| b.0.note)
        .ok_or_else(|| AppError::field("note", "write the note"))?;
    let actor = actor(&staff, &client);
    let req = workflow::add_note(&state, &actor, &id, &text).await?;
    Ok(Json(full_view(&state, &actor, req, false).await?))
}

/// Take a linked request off the request it repeats: it is then worked on its own.
#[utoipa::path(post, path = "/requests/{id}/unlink", tag = "requests",
    params(("id" = String, Path, description = "The request's reference")),
    security(("bearer" = [])),
    responses((status = 200, body = RequestDetail), (status = 409, body = crate::error::Problem)))]
pub async fn unlink(
    State(state): State<AppState>,
    AgentStaff(staff): AgentStaff,
    client: ClientAddr,
    Path(id): Path<String>,
) -> Result<Json<RequestDetail>, AppError> {
    let actor = actor(&staff, &client);
    let req = crate::services::duplicates::unlink(&state, &actor, &id).await?;
    Ok(Json(full_view(&state, &actor, req, false).await?))
}

/// Merge a linked request into the request it repeats: it closes as denied with the
/// reason `duplicate`, and the subject is told which reference answers them.
#[utoipa::path(post, path = "/requests/{id}/merge", tag = "requests",
    params(("id" = String, Path, description = "The request's reference")),
    security(("bearer" = [])),
    responses((status = 200, body = RequestDetail), (status = 409, body = crate::error::Problem)))]
pub async fn merge(
    State(state): State<AppState>,
    AgentStaff(staff): AgentStaff,
    client: ClientAddr,
    Path(id): Path<String>,
) -> Result<Json<RequestDetail>, AppError> {
    let actor = actor(&staff, &client);
    let req = crate::services::duplicates::merge(&state, &actor, &id).await?;
    Ok(Json(full_view(&state, &actor, req, false).await?))
}
