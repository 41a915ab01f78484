//! Request workflow: creating requests and applying staff actions. Each change goes
//! through the state machine, writes a request event and an audit entry atomically, and
//! recomputes due dates with `domain::deadline`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::app::context::AppState;
use crate::domain::deadline::{self, ExtensionError, Regime};
use crate::domain::identity::{SubjectEmail, clean_line, clean_text};
use crate::domain::reference;
use crate::domain::request::{Action, DenyReason, Kind, Source, Status, transition};
use crate::error::{AppError, FieldError};
use crate::services::tasks::{current_tasks, is_finished};
use crate::store::{Changes, Event, NewAudit, Request, StoreError};

/// Who does something and from where (for events and the audit log).
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub client_addr: Option<String>,
}

impl Actor {
    pub fn system() -> Self {
        Self {
            name: "system".into(),
            client_addr: None,
        }
    }
}

/// A correction asked for by a rectification request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters"))]
    pub field: String,
    #[validate(length(max = 1000, message = "must be at most 1000 characters"))]
    pub value: String,
}

/// The identity and content of a request, before it is stored.
#[derive(Debug, Clone)]
pub struct Submission {
    pub kind: Kind,
    pub email: SubjectEmail,
    pub name: Option<String>,
    pub details: Option<String>,
    pub corrections: Option<Vec<Correction>>,
    pub scope: Option<String>,
    /// The subject's residence (normalised ISO 3166 code), when given.
    pub residence: Option<String>,
    /// "Tell me who received my data" (GDPR art. 19): the completion email lists them.
    pub recipients_requested: bool,
}

/// Check the parts of a submission that intake and staff entry share.
#[allow(clippy::too_many_arguments)]
pub fn parse_submission(
    kind: Kind,
    email: &str,
    name: Option<&str>,
    details: Option<&str>,
    corrections: Option<Vec<Correction>>,
    (scope, processing): (Option<&str>, Option<&str>),
    errors: &mut Vec<FieldError>,
) -> Option<Submission> {
    let email = match SubjectEmail::parse(email) {
        Ok(e) => Some(e),
        Err(e) => {
            errors.push(FieldError::new("email", e.to_string()));
            None
        }
    };
    let name = name.map(clean_line).filter(|n| !n.is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > 200) {
        errors.push(FieldError::new("name", "must be at most 200 characters"));
    }
    let details = details.map(clean_text).filter(|d| !d.is_empty());
    if details.as_ref().is_some_and(|d| d.chars().count() > 5000) {
        errors.push(FieldError::new(
            "details",
            "must be at most 5000 characters",
        ));
    }
    if let Some(cs) = &corrections {
        check_corrections(kind, cs, errors);
    }
    if kind == Kind::Appeal {
        errors.push(FieldError::new(
            "kind",
            "an appeal is made from the status page of the refused request",
        ));
    }
    let scope = crate::services::suppression::parse_scope(kind, scope, processing, errors);
    Some(Submission {
        kind,
        email: email?,
        name,
        details,
        corrections: corrections.map(|cs| {
            cs.into_iter()
                .map(|c| Correction {
                    field: clean_line(&c.field),
                    value: clean_text(&c.value),
                })
                .collect()
        }),
        scope,
        residence: None,
        recipients_requested: false,
    })
}

/// The rules of a correction list (intake, staff entry, staff edits alike).
fn check_corrections(kind: Kind, cs: &[Correction], errors: &mut Vec<FieldError>) {
    if kind != Kind::Rectification {
        errors.push(FieldError::new(
            "corrections",
            "only a rectification request carries corrections",
        ));
    } else if cs.is_empty() {
        errors.push(FieldError::new(
            "corrections",
            "list at least one correction",
        ));
    } else if cs.len() > 50 {
        errors.push(FieldError::new("corrections", "at most 50 corrections"));
    }
    for (i, c) in cs.iter().enumerate().take(50) {
        if let Err(e) = c.validate() {
            for (field, errs) in e.field_errors() {
                let msg = errs
                    .first()
                    .and_then(|e| e.message.as_ref())
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| "is invalid".into());
                errors.push(FieldError::new(format!("corrections[{i}].{field}"), msg));
            }
        }
    }
}

/// Staff entry: a request received by post, phone or ticket; identity already checked.
#[derive(Debug, Clone)]
pub struct StaffEntry {
    pub submission: Submission,
    pub received_at: DateTime<Utc>,
    pub verified_at: DateTime<Utc>,
    pub regime: Regime,
    pub verification_note: String,
}

fn local_date(state: &AppState, t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&state.config.deadlines.timezone.0)
        .date_naive()
}

/// Today in the deployment's time zone.
pub fn today(state: &AppState) -> NaiveDate {
    local_date(state, state.clock.now())
}

fn audit(
    actor: &Actor,
    action: &str,
    reference: &str,
    at: DateTime<Utc>,
    detail: serde_json::Value,
) -> NewAudit {
    NewAudit {
        at,
        actor: actor.name.clone(),
        action: action.into(),
        request_ref: Some(reference.into()),
        client_addr: actor.client_addr.clone(),
        detail,
    }
}

/// A request that is not stored yet, with identity sealed under the deployment key.
pub fn new_request(
    state: &AppState,
    s: &Submission,
    source: Source,
    status: Status,
    regime: Regime,
    now: DateTime<Utc>,
) -> Request {
    let keys = &state.keys;
    let id = uuid::Uuid::now_v7().to_string();
    let at = |column: &'static str| crate::crypto::Field::request(column, &id);
    Request {
        id: id.clone(),
        reference: reference::generate(),
        kind: s.kind,
        status,
        held_from: None,
        hold_started_at: None,
        source,
        regime,
        email_ct: Some(keys.seal_at(at("email_ct"), s.email.expose())),
        email_index: Some(keys.blind_index(s.email.expose())),
        name_ct: s.name.as_deref().map(|n| keys.seal_at(at("name_ct"), n)),
        details_ct: s
            .details
            .as_deref()
            .map(|d| keys.seal_at(at("details_ct"), d)),
        corrections_ct: s.corrections.as_ref().map(|c| {
            keys.seal_at(
                at("corrections_ct"),
                &serde_json::to_string(c).unwrap_or_default(),
            )
        }),
        scope: s.scope.clone(),
        verification_note_ct: None,
        received_at: now,
        verified_at: None,
        clock_started_on: None,
        due_date: None,
        original_due_date: None,
        extended: false,
        extension_reason: None,
        deny_reason: None,
        deny_note: None,
        completed_at: None,
        closed_at: None,
        assignee: None,
        version: 0,
        created_at: now,
        updated_at: now,
        residence: s.residence.clone(),
        hold_reason: None,
        // Intake sets the subject's language; staff-entered requests are English.
        language: crate::domain::language::Language::En,
    }
}

/// Insert with a fresh reference, retrying on the (rare) collision.
async fn insert_new(
    state: &AppState,
    mut req: Request,
    event: Event,
    actor: &Actor,
    action: &str,
    changes: &Changes,
) -> Result<Request, AppError> {
    for _ in 0..5 {
        let a = audit(
            actor,
            action,
            &req.reference,
            req.created_at,
            serde_json::json!({ "kind": req.kind }),
        );
        match state.store.insert_request(&req, &event, &a, changes).await {
            Ok(()) => return Ok(req),
            Err(StoreError::Duplicate) => req.reference = reference::generate(),
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Internal(
        "could not allocate a unique reference".into(),
    ))
}

/// Store a staff-entered request: it starts `open` with its clock already running.
pub async fn create_staff_request(
    state: &AppState,
    actor: &Actor,
    entry: StaffEntry,
) -> Result<Request, AppError> {
    create_open_request(state, actor, entry, Source::Staff, "entered by staff").await
}

/// Store a request that starts `open` with its clock already running (staff entry, or
/// an opt-out the company's site forwarded): the subject is told it is on file, with a
/// status link; a repeat of an open request is linked to it.
pub async fn create_open_request(
    state: &AppState,
    actor: &Actor,
    entry: StaffEntry,
    source: Source,
    note: &str,
) -> Result<Request, AppError> {
    Ok(
        create_open_request_linked(state, actor, entry, source, note)
            .await?
            .0,
    )
}

/// Enter a staff request and start it in the same call (`POST /requests` with
/// `"start": true`): stored already started, with both steps on its timeline, in one
/// transaction. A repeat of the same person's open request of the same kind is entered
/// the usual way instead: linked and left `open`, saying why it was not started, in the
/// words of [`act_on`]'s refusal.
pub async fn create_and_start_staff_request(
    state: &AppState,
    actor: &Actor,
    entry: StaffEntry,
) -> Result<(Request, Option<String>), AppError> {
    Ok(create_and_start_stored(state, actor, entry).await?.0)
}

/// What a request entered and started in one commit was stored with, as committed: its
/// timeline, its emails and its tasks (the caller's answer shows them without reading
/// them back).
pub struct Stored {
    pub events: Vec<Event>,
    pub emails: Vec<crate::store::OutboxMessage>,
    pub tasks: Vec<crate::store::Task>,
}

/// [`create_and_start_staff_request`], with what the request was stored with when that
/// is still all there is to it (it was entered and started in one commit and nothing ran
/// at once).
pub async fn create_and_start_stored(
    state: &AppState,
    actor: &Actor,
    entry: StaffEntry,
) -> Result<((Request, Option<String>), Option<Stored>), AppError> {
    if let Some((started, stored)) = create_started(state, actor, &entry).await? {
        return Ok(((started, None), stored));
    }
    Ok((create_and_start_usual(state, actor, entry).await?, None))
}

/// Entered, linked when it repeats an open request, then started unless linked.
async fn create_and_start_usual(
    state: &AppState,
    actor: &Actor,
    entry: StaffEntry,
) -> Result<(Request, Option<String>), AppError> {
    let (req, linked) =
        create_open_request_linked(state, actor, entry, Source::Staff, "entered by staff").await?;
    // Just stored and not linked: no link and no identity check to read again.
    let prior = Prior {
        fresh: !linked,
        ..Default::default()
    };
    match act_on_after(state, actor, req.clone(), StaffAction::Start, Some(prior)).await {
        Ok(started) => Ok((started, None)),
        Err(AppError::Conflict { detail, .. }) => Ok((req, Some(detail))),
        Err(e) => Err(e),
    }
}

/// The request of `entry` entered and started in one commit (see
/// [`RequestStore::insert_request_alone`](crate::store::RequestStore::insert_request_alone)):
/// what [`create_open_request`] and then [`act_on`] with `Start` store, in one
/// transaction. `None` (nothing stored) when the person has another open request of this
/// kind, a guard refuses the start, or the reference is taken: the caller goes the usual
/// way, which links, refuses or draws another reference.
async fn create_started(
    state: &AppState,
    actor: &Actor,
    entry: &StaffEntry,
) -> Result<Option<(Request, Option<Stored>)>, AppError> {
    let (open, created, mut changes) = open_request(state, actor, entry, "entered by staff");
    let act = StaffAction::Start;
    if crate::services::suppression::guard(&open, &act).is_err()
        || crate::services::appeals::guard(&open, &act).is_err()
    {
        return Ok(None);
    }
    let Ok(status) = transition(open.status, Action::Start, open.held_from) else {
        return Ok(None);
    };
    let now = created.at;
    let mut next = open.clone();
    next.status = status;
    next.version += 1;
    let started = Event {
        at: now,
        actor: actor.name.clone(),
        action: Action::Start.to_string(),
        from_status: Some(open.status),
        to_status: status,
        note: None,
    };
    let audits = [
        audit(
            actor,
            "request.create",
            &open.reference,
            now,
            serde_json::json!({ "kind": open.kind }),
        ),
        audit(
            actor,
            &format!("request.{}", Action::Start),
            &next.reference,
            now,
            serde_json::json!({ "from": open.status, "to": status }),
        ),
    ];
    // The connector tasks' jobs go first, the receipt email's after them: the claims
    // take jobs in the order they were stored, and the tasks are what the request waits
    // for.
    let emails = std::mem::take(&mut changes.jobs);
    let planned = crate::services::fanout::plan(state, &next, &mut changes);
    changes.jobs.extend(emails);
    let events = [created, started];
    match state
        .store
        .insert_request_alone(&next, &events, &audits, &changes)
        .await
    {
        Ok(true) => {}
        Ok(false) | Err(StoreError::Duplicate) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    state.queue.wake();
    tracing::info!(reference = %next.reference, kind = %next.kind, tasks = planned.tasks, "staff request created and started");
    // As after any start: nothing to run goes on to review at once.
    if planned.tasks == 0 {
        let note = planned
            .not_run
            .unwrap_or_else(|| "every connector task has finished".into());
        return Ok(Some((finish_tasks_noted(state, next, note).await?, None)));
    }
    if planned.to_run == 0 {
        tasks_progressed(state, &next.reference).await?;
        return Ok(Some((load(state, &next.reference).await?, None)));
    }
    let stored = Stored {
        events: events.to_vec(),
        emails: changes
            .outbox
            .into_iter()
            .filter(|m| m.request_id.as_deref() == Some(next.id.as_str()))
            .collect(),
        tasks: changes.tasks,
    };
    Ok(Some((next, Some(stored))))
}

/// A staff-entered request not stored yet (`open`, its clock running), its `create`
/// event, and what goes with it: the email telling the subject it is on file, with a
/// status link (also the receipt confirmation CCPA asks for).
fn open_request(
    state: &AppState,
    actor: &Actor,
    entry: &StaffEntry,
    note: &str,
) -> (Request, Event, Changes) {
    let now = state.clock.now();
    let mut req = new_request(
        state,
        &entry.submission,
        Source::Staff,
        Status::Open,
        entry.regime,
        now,
    );
    req.received_at = entry.received_at;
    req.verified_at = Some(entry.verified_at);
    req.verification_note_ct = Some(state.keys.seal_at(
        crate::crypto::Field::request("verification_note_ct", &req.id),
        &entry.verification_note,
    ));
    let policy = state.config.deadline_policy(Some(entry.regime));
    let rules = state.config.regime_rules(entry.regime);
    let received = local_date(state, entry.received_at);
    let verified = local_date(state, entry.verified_at);
    req.clock_started_on = Some(policy.start_day_under(&rules, received, verified));
    req.due_date = Some(crate::domain::optout::due_date(
        &policy, &rules, req.kind, received, verified,
    ));
    let event = Event {
        at: now,
        actor: actor.name.clone(),
        action: "create".into(),
        from_status: None,
        to_status: Status::Open,
        note: Some(note.into()),
    };
    let mut changes = Changes {
        now: Some(now),
        recipients_asked: entry.submission.recipients_requested,
        ..Default::default()
    };
    let status_url = crate::services::intake::status_link(state, &mut changes, &req);
    crate::services::notify::queue(
        state,
        &mut changes,
        Some(&req.id),
        "received",
        entry.submission.email.expose(),
        serde_json::json!({
            "reference": req.reference,
            "kind_label": crate::services::notify::kind_label(req.kind),
            "due_date": req.due_date.map(|d| d.to_string()).unwrap_or_default(),
            "status_url": status_url,
        }),
    );
    (req, event, changes)
}

/// [`create_open_request`], and whether the request was linked to an earlier one.
async fn create_open_request_linked(
    state: &AppState,
    actor: &Actor,
    entry: StaffEntry,
    source: Source,
    note: &str,
) -> Result<(Request, bool), AppError> {
    let (mut req, event, changes) = open_request(state, actor, &entry, note);
    req.source = source;
    let req = insert_new(state, req, event, actor, "request.create", &changes).await?;
    state.queue.wake();
    let linked = crate::services::duplicates::link_if_duplicate(state, &req).await?;
    let req = if linked {
        load(state, &req.reference).await?
    } else {
        req
    };
    tracing::info!(reference = %req.reference, kind = %req.kind, "staff request created");
    Ok((req, linked))
}

/// The longest a caller may wait for a request to change in one call: within the
/// 30 seconds after which the web server gives up on any request.
pub const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(25);

/// The request as stored once its version is no longer `seen` (it changed since the
/// caller last looked), or as it stands after `wait` (at most [`MAX_WAIT`]). A change
/// this process commits is heard at once; one made by another replica is found by
/// reading the request again every `jobs.poll_interval`. One read of the request per
/// change heard or interval passed, however long the wait.
pub async fn wait_for_change(
    state: &AppState,
    reference_text: &str,
    seen: Option<i64>,
    wait: std::time::Duration,
) -> Result<Request, AppError> {
    // Listen before reading: a change committed between the read and the wait is heard.
    let mut changes = state.store.request_changes();
    let mut current = load(state, reference_text).await?;
    let Some(seen) = seen else {
        return Ok(current);
    };
    let until = tokio::time::Instant::now() + wait.min(MAX_WAIT);
    let every = state
        .config
        .jobs
        .poll_interval
        .0
        .max(std::time::Duration::from_millis(100));
    while current.version == seen {
        let now = tokio::time::Instant::now();
        if now >= until {
            break;
        }
        let id = current.id.clone();
        let heard = async {
            loop {
                match changes.recv().await {
                    Ok(changed) if changed == id => return,
                    Ok(_) => continue,
                    // Fell behind: read again, whatever changed.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        std::future::pending::<()>().await
                    }
                }
            }
        };
        let _ = tokio::time::timeout_at(until.min(now + every), heard).await;
        current = load(state, reference_text).await?;
    }
    Ok(current)
}

/// A staff action on a request.
#[derive(Debug, Clone)]
pub enum StaffAction {
    Start,
    Deny {
        reason: DenyReason,
        note: Option<String>,
    },
    Extend {
        reason: String,
        until: Option<NaiveDate>,
    },
    Hold {
        reason: String,
        /// Why, as a code: only `awaiting_subject` may pause the clock.
        code: crate::domain::request::HoldReason,
    },
    Resume,
    Complete {
        note: Option<String>,
        /// Link to the subject's export package, for the completion email.
        download_url: Option<String>,
    },
    Withdraw {
        note: Option<String>,
    },
    /// Give the request to a staff member (their email address), or take it back (`None`).
    Assign {
        assignee: Option<String>,
    },
    /// Run a reviewed rectification again (after staff edited its corrections).
    Rerun,
}

impl StaffAction {
    fn action(&self) -> Action {
        match self {
            StaffAction::Start => Action::Start,
            StaffAction::Deny { .. } => Action::Deny,
            StaffAction::Extend { .. } => Action::Extend,
            StaffAction::Hold { .. } => Action::Hold,
            StaffAction::Resume => Action::Resume,
            StaffAction::Complete { .. } => Action::Complete,
            StaffAction::Withdraw { .. } => Action::Withdraw,
            StaffAction::Assign { .. } => Action::Assign,
            StaffAction::Rerun => Action::Rerun,
        }
    }
}

fn extension_error(e: ExtensionError) -> AppError {
    match e {
        ExtensionError::MissingReason => AppError::field("reason", e.to_string()),
        ExtensionError::NotLater { .. } | ExtensionError::TooFar { .. } => {
            AppError::field("until", e.to_string())
        }
        ExtensionError::AlreadyExtended
        | ExtensionError::TooLate { .. }
        | ExtensionError::NotAllowed => AppError::Conflict {
            detail: e.to_string(),
            current_status: None,
        },
    }
}

pub async fn load(state: &AppState, reference_text: &str) -> Result<Request, AppError> {
    let r = reference::normalize(reference_text);
    state
        .store
        .request_by_reference(&r)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no request with reference {r}")))
}

/// Apply one staff action, atomically with its event and audit entry.
pub async fn act(
    state: &AppState,
    actor: &Actor,
    reference_text: &str,
    act: StaffAction,
) -> Result<Request, AppError> {
    let current = load(state, reference_text).await?;
    act_on(state, actor, current, act).await
}

/// [`act`] on a request the caller has just read or stored (its version is checked when
/// the change is stored, so a stale copy fails with a conflict, never overwrites).
pub async fn act_on(
    state: &AppState,
    actor: &Actor,
    current: Request,
    act: StaffAction,
) -> Result<Request, AppError> {
    act_on_after(state, actor, current, act, None).await
}

/// What the caller of [`act_on_after`] already did and knows.
#[derive(Default)]
struct Prior {
    /// A step taken in memory, stored with the action in one commit: its event, and the
    /// version stored before it (`current` is the request after it).
    step: Option<(Event, i64)>,
    /// The request's tasks as just read (a completion's).
    tasks: Option<Vec<crate::store::Task>>,
    /// The request was stored by this very call and not linked to an earlier one: it
    /// has no link and no identity check to read before it starts.
    fresh: bool,
    /// The package the completion hands out, recorded in its transaction.
    export: Option<crate::store::Export>,
    /// What the completion email says of recipients (`recipients::subject_context`), read
    /// while the package was built.
    recipients: Option<serde_json::Value>,
    /// The task whose finish is stored with the action (see [`finish_last_task`]).
    finished: Option<crate::store::FinishedTask>,
}

/// [`act_on`], after a [`Prior`] step not stored yet.
async fn act_on_after(
    state: &AppState,
    actor: &Actor,
    current: Request,
    act: StaffAction,
    prior: Option<Prior>,
) -> Result<Request, AppError> {
    crate::services::suppression::guard(&current, &act)?;
    crate::services::appeals::guard(&current, &act)?;
    let mut prior = prior.unwrap_or_default();
    let export = prior.export.take();
    let known_recipients = prior.recipients.take();
    let finished_task = prior.finished.take();
    if !prior.fresh {
        crate::services::duplicates::guard(state, &current, &act).await?;
        if matches!(act, StaffAction::Start) {
            crate::services::verification::gate_start(state, &current).await?;
        }
    }
    if matches!(act, StaffAction::Rerun) && current.kind != Kind::Rectification {
        return Err(AppError::Conflict {
            detail: "only a rectification is run again (after its corrections are edited); \
                     retry a failed task instead"
                .into(),
            current_status: Some(current.status.to_string()),
        });
    }
    let now = state.clock.now();
    let action = act.action();
    let next_status =
        transition(current.status, action, current.held_from).map_err(|e| AppError::Conflict {
            detail: e.to_string(),
            current_status: Some(current.status.to_string()),
        })?;
    // A completion reads the tasks once: for the package and for the completion email.
    let (prior, tasks) = match prior.tasks {
        Some(tasks) => (prior.step, tasks),
        None if action == Action::Complete => (
            prior.step,
            state.store.tasks_for_request(&current.id).await?,
        ),
        None => (prior.step, Vec::new()),
    };
    // Staff completing an access or portability request: the subject gets their package
    // (built now from the access results, recorded with the completion) unless the
    // caller already built one. Dropped on any error before the completion is stored,
    // the package takes its file with it.
    let (act, package) = match act {
        StaffAction::Complete {
            note,
            download_url: None,
        } if matches!(current.kind, Kind::Access | Kind::Portability) => {
            let package = crate::services::export::build_for_completion(state, &current, &tasks)
                .await
                .map_err(|e| AppError::Internal(format!("export package: {e}")))?;
            let download_url = package.as_ref().map(|p| p.url().to_string());
            (StaffAction::Complete { note, download_url }, package)
        }
        other => (other, None),
    };
    let export = export.or_else(|| package.as_ref().map(|p| p.export.clone()));
    let mut next = current.clone();
    next.status = next_status;
    next.version += 1;
    next.updated_at = now;
    let mut note: Option<String> = None;
    let mut detail = serde_json::json!({ "from": current.status, "to": next_status });
    match &act {
        StaffAction::Start | StaffAction::Rerun => {}
        StaffAction::Deny { reason, note: n } => {
            next.deny_reason = Some(*reason);
            next.deny_note = n.as_deref().map(clean_text).filter(|s| !s.is_empty());
            next.closed_at = Some(now);
            note = Some(reason.to_string());
            detail["reason"] = reason.as_str().into();
        }
        StaffAction::Extend { reason, until } => {
            let due = current.due_date.ok_or_else(|| AppError::Conflict {
                detail: "the request has no due date yet (it is not verified)".into(),
                current_status: Some(current.status.to_string()),
            })?;
            let reason = clean_text(reason);
            let new_due = deadline::extend_under(
                &crate::services::appeals::extension_rules(state, &current),
                due,
                current.extended,
                today(state),
                *until,
                &reason,
            )
            .map_err(extension_error)?;
            next.original_due_date = Some(due);
            next.due_date = Some(new_due);
            next.extended = true;
            next.extension_reason = Some(reason.clone());
            note = Some(format!("due date {due} -> {new_due}: {reason}"));
            detail["due_date"] = new_due.to_string().into();
        }
        StaffAction::Hold { reason, code } => {
            next.hold_reason = Some(*code);
            detail["hold_reason"] = code.as_str().into();
            let reason = clean_text(reason);
            if reason.is_empty() {
                return Err(AppError::field(
                    "reason",
                    "putting a request on hold needs a reason",
                ));
            }
            next.held_from = Some(current.status);
            next.hold_started_at = Some(now);
            note = Some(reason);
        }
        StaffAction::Resume => {
            // Under a regime whose clock a hold may not pause, or for a hold whose reason
            // is not waiting for the subject, the due date stays.
            let regime_pauses = state.config.regime_rules(current.regime).hold_pauses;
            let reason = current
                .hold_reason
                .unwrap_or(crate::domain::request::HoldReason::Other);
            let pauses = regime_pauses && reason.may_pause();
            if let (true, Some(due), Some(held_at)) =
                (pauses, current.due_date, current.hold_started_at)
            {
                let moved = deadline::due_after_hold(due, held_at, now);
                next.due_date = Some(moved);
                next.original_due_date = current
                    .original_due_date
                    .map(|d| deadline::due_after_hold(d, held_at, now));
                let days = deadline::whole_days_on_hold(held_at, now);
                note = Some(format!(
                    "{days} whole day(s) on hold; due date {due} -> {moved}"
                ));
                detail["due_date"] = moved.to_string().into();
            } else if let (false, Some(due)) = (pauses, current.due_date) {
                note = Some(if regime_pauses {
                    format!("a hold for {reason} does not pause the clock; due date stays {due}")
                } else {
                    format!(
                        "the {} clock does not pause on hold; due date stays {due}",
                        current.regime
                    )
                });
            }
            next.held_from = None;
            next.hold_reason = None;
            next.hold_started_at = None;
        }
        StaffAction::Assign { assignee } => {
            next.assignee = assignee.clone();
            note = Some(match assignee {
                Some(a) => format!("assigned to {a}"),
                None => "unassigned".into(),
            });
        }
        StaffAction::Complete { note: n, .. } | StaffAction::Withdraw { note: n } => {
            next.closed_at = Some(now);
            if action == Action::Complete {
                next.completed_at = Some(now);
            }
            note = n.as_deref().map(clean_text).filter(|s| !s.is_empty());
        }
    }
    let event = Event {
        at: now,
        actor: actor.name.clone(),
        action: action.to_string(),
        from_status: Some(current.status),
        to_status: next_status,
        note,
    };
    let mut changes = Changes {
        now: Some(now),
        export,
        finished_task,
        ..Default::default()
    };
    // The completion email says per system and table what was done, skipped and why, and
    // who received the data when the subject asked; recipients are told (GDPR art. 19).
    let (systems, recipients, notices) = if action == Action::Complete {
        let systems = crate::services::outcomes::summarise(current.kind, &tasks);
        let recipients = match known_recipients {
            Some(known) => known,
            None => crate::services::recipients::subject_context(state, &current).await?,
        };
        let notices =
            crate::services::recipients::queue_notices(state, &mut changes, &current, &tasks)?;
        (systems, recipients, notices)
    } else {
        (Vec::new(), serde_json::Value::Null, Vec::new())
    };
    if !notices.is_empty() {
        detail["recipients_notified"] = notices.clone().into();
    }
    let a = audit(
        actor,
        &format!("request.{action}"),
        &next.reference,
        now,
        detail,
    );
    tell_subject(state, &mut changes, &next, &act, (&systems, &recipients))?;
    let planned = if matches!(action, Action::Start | Action::Rerun) {
        crate::services::fanout::plan(state, &next, &mut changes)
    } else {
        crate::services::fanout::Planned::default()
    };
    let tasks = planned.tasks;
    // Before the completion is stored: a list entry without its completion errs on the
    // side of the subject; a completion without its entry would not.
    if action == Action::Complete {
        changes.suppression = crate::services::suppression::on_completed(state, &next).await?;
    }
    match prior {
        Some((step, stored_version)) => {
            state
                .store
                .update_request_steps(&next, stored_version, &[step, event], Some(&a), &changes)
                .await?
        }
        None => {
            state
                .store
                .update_request(&next, current.version, Some(&event), Some(&a), &changes)
                .await?
        }
    }
    if let Some(package) = package {
        package.recorded();
    }
    if !changes.jobs.is_empty() {
        state.queue.wake();
    }
    tracing::info!(reference = %next.reference, action = %action, status = %next.status, tasks, "request changed");
    if let Some(entry) = &changes.suppression {
        tracing::info!(reference = %next.reference, scope = %entry.scope, "subject on the suppression list");
    }

    // An erasure also covers what Rightsdesk itself keeps of the person.
    let next = if action == Action::Complete && next.kind == Kind::Erasure {
        erase_own_copies(state, actor, next).await?
    } else {
        next
    };
    // The notices went out with the completion; the timeline and the audit log say to
    // whom and how.
    let next = if notices.is_empty() {
        next
    } else {
        tracing::info!(reference = %next.reference, recipients = notices.len(), "recipients told (art. 19)");
        record_edit(
            state,
            actor,
            &next,
            next.clone(),
            "recipients_notified",
            (
                "request.recipients_notified",
                serde_json::json!({ "recipients": notices }),
            ),
            crate::services::recipients::timeline_note(next.kind, &notices),
            &Changes::default(),
        )
        .await?
    };

    match action {
        // Nothing declared to search, or a rectification nothing can apply: straight on
        // to review, saying why.
        Action::Start | Action::Rerun if tasks == 0 => {
            let note = planned
                .not_run
                .unwrap_or_else(|| "every connector task has finished".into());
            finish_tasks_noted(state, next, note).await
        }
        // Every task was skipped at once: on to review (never completed by itself).
        Action::Start | Action::Rerun if planned.to_run == 0 => {
            tasks_progressed(state, &next.reference).await?;
            load(state, &next.reference).await
        }
        // Tasks may have finished while the request was on hold.
        Action::Resume if next.status == Status::InProgress => {
            crate::services::fanout::release_ready(state, &next.reference).await?;
            tasks_progressed(state, &next.reference).await?;
            load(state, &next.reference).await
        }
        _ => Ok(next),
    }
}

/// Queue the email the subject must get for this action (extension, hold, refusal,
/// completion), with a fresh status link.
fn tell_subject(
    state: &AppState,
    changes: &mut Changes,
    req: &Request,
    act: &StaffAction,
    (systems, recipients): (
        &[crate::services::outcomes::SystemOutcome],
        &serde_json::Value,
    ),
) -> Result<(), AppError> {
    let template = match act {
        StaffAction::Extend { .. } => "extended",
        StaffAction::Hold { .. } => "on_hold",
        StaffAction::Deny { .. } => "denied",
        StaffAction::Complete { .. } => "completed",
        StaffAction::Start
        | StaffAction::Resume
        | StaffAction::Withdraw { .. }
        | StaffAction::Assign { .. }
        | StaffAction::Rerun => {
            return Ok(());
        }
    };
    let Some(email_ct) = &req.email_ct else {
        return Ok(());
    };
    let email = state
        .keys
        .open_at(crate::crypto::Field::request("email_ct", &req.id), email_ct)
        .map_err(|e| AppError::Internal(format!("request {}: {e}", req.reference)))?;
    let status_url = crate::services::intake::status_link(state, changes, req);
    let mut ctx = serde_json::json!({ "reference": req.reference, "status_url": status_url });
    match act {
        StaffAction::Extend { .. } => {
            ctx["reason"] = req.extension_reason.clone().unwrap_or_default().into();
            ctx["new_due_date"] = req
                .due_date
                .map(|d| d.to_string())
                .unwrap_or_default()
                .into();
        }
        StaffAction::Hold { reason, code } => {
            ctx["reason"] = clean_text(reason).into();
            // Tell the subject the truth about their deadline.
            ctx["clock_paused"] =
                (code.may_pause() && state.config.regime_rules(req.regime).hold_pauses).into();
        }
        StaffAction::Deny { reason, .. } => {
            ctx["reason_label"] = crate::services::notify::deny_reason_label(*reason).into();
            ctx["note"] = req.deny_note.clone().into();
            ctx["complaint_authority"] =
                crate::services::appeals::complaint_authority(state, req.regime).into();
            ctx["appeal"] = crate::services::appeals::denial_context(state, req);
        }
        StaffAction::Complete { download_url, .. } => {
            ctx["kind_label"] = crate::services::notify::kind_label(req.kind).into();
            ctx["download_url"] = download_url.clone().into();
            // What was kept (or kept anonymised) for this subject, and why (art. 17(3)).
            let retained: Vec<serde_json::Value> = systems
                .iter()
                .flat_map(|s| &s.tables)
                .filter(|t| matches!(t.outcome, "kept" | "anonymised"))
                .filter_map(|t| {
                    t.reason
                        .as_ref()
                        .map(|r| serde_json::json!({ "table": t.table, "reason": r }))
                })
                .collect();
            ctx["retained"] = retained.into();
            ctx["systems"] = serde_json::to_value(systems).unwrap_or_default();
            if let (Some(c), Some(r)) = (ctx.as_object_mut(), recipients.as_object()) {
                c.extend(r.clone());
            }
        }
        _ => {}
    }
    crate::services::notify::queue(state, changes, Some(&req.id), template, &email, ctx);
    Ok(())
}

/// Every task is done: move `in_progress` to `review`.
pub async fn finish_tasks(state: &AppState, current: Request) -> Result<Request, AppError> {
    finish_tasks_noted(state, current, "every connector task has finished".into()).await
}

/// [`finish_tasks`] with the event's note saying why.
pub async fn finish_tasks_noted(
    state: &AppState,
    current: Request,
    note: String,
) -> Result<Request, AppError> {
    let Some((next, event)) = tasks_done(state, &current, note) else {
        return Ok(current);
    };
    state
        .store
        .update_request(
            &next,
            current.version,
            Some(&event),
            None,
            &Changes::default(),
        )
        .await?;
    Ok(next)
}

/// The request after its tasks finished (`review`), and the event saying so; `None`
/// when its status does not move on that.
fn tasks_done(state: &AppState, current: &Request, note: String) -> Option<(Request, Event)> {
    let now = state.clock.now();
    let status = transition(current.status, Action::TasksDone, None).ok()?;
    let mut next = current.clone();
    next.status = status;
    next.version += 1;
    next.updated_at = now;
    let event = Event {
        at: now,
        actor: "system".into(),
        action: Action::TasksDone.to_string(),
        from_status: Some(current.status),
        to_status: status,
        note: Some(note),
    };
    Some((next, event))
}

/// Delete Rightsdesk's own copies of the erased identity from its other requests, and
/// say so on the erasure's timeline and in the audit log (references and counts only).
async fn erase_own_copies(
    state: &AppState,
    actor: &Actor,
    erasure: Request,
) -> Result<Request, AppError> {
    let report = crate::services::retention::own::erase_copies_of_identity(state, &erasure).await?;
    if report.requests.is_empty() {
        return Ok(erasure);
    }
    let e = &report.erased;
    let mut note = format!(
        "Rightsdesk's own copies deleted from {} earlier request(s) of this person ({}): {} stored result(s), {} export file(s), {} identity-check proof(s)",
        report.requests.len(),
        report.requests.join(", "),
        e.task_results,
        e.export_files,
        e.identity_proofs
    );
    if report.export_files_not_deleted > 0 {
        note.push_str(&format!(
            "; {} export file(s) could NOT be deleted (see the logs)",
            report.export_files_not_deleted
        ));
    }
    tracing::info!(
        reference = %erasure.reference,
        requests = report.requests.len(),
        task_results = e.task_results,
        export_files = e.export_files,
        identity_proofs = e.identity_proofs,
        "own copies of the erased identity deleted"
    );
    record_edit(
        state,
        actor,
        &erasure,
        erasure.clone(),
        "own_copies_deleted",
        ("erasure.own_copies_deleted", serde_json::json!(report)),
        note,
        &Changes::default(),
    )
    .await
}

/// Record something that happened to a request without changing its status: an event on
/// its timeline, an audit entry, and `changes` (emails, tasks), atomically.
async fn record(
    state: &AppState,
    actor: &Actor,
    current: &Request,
    event_action: &str,
    audit_action: &str,
    note: String,
    changes: &Changes,
) -> Result<Request, AppError> {
    record_edit(
        state,
        actor,
        current,
        current.clone(),
        event_action,
        (audit_action, serde_json::json!({})),
        note,
        changes,
    )
    .await
}

/// [`record`] for a change of the request's content (`next`), with the audit detail.
#[allow(clippy::too_many_arguments)]
async fn record_edit(
    state: &AppState,
    actor: &Actor,
    current: &Request,
    mut next: Request,
    event_action: &str,
    (audit_action, audit_detail): (&str, serde_json::Value),
    note: String,
    changes: &Changes,
) -> Result<Request, AppError> {
    let now = state.clock.now();
    next.version = current.version + 1;
    next.updated_at = now;
    let event = Event {
        at: now,
        actor: actor.name.clone(),
        action: event_action.into(),
        from_status: Some(current.status),
        to_status: current.status,
        note: Some(note),
    };
    let a = audit(actor, audit_action, &next.reference, now, audit_detail);
    state
        .store
        .update_request(&next, current.version, Some(&event), Some(&a), changes)
        .await?;
    if !changes.jobs.is_empty() {
        state.queue.wake();
    }
    Ok(next)
}

/// The subject's address, to write to them; closed requests lose it after
/// `retention_own.closed_request_pii`.
pub(crate) fn subject_email(state: &AppState, req: &Request) -> Result<String, AppError> {
    let email_ct = req.email_ct.as_deref().ok_or_else(|| AppError::Conflict {
        detail: "the request no longer holds the subject's email address".into(),
        current_status: Some(req.status.to_string()),
    })?;
    state
        .keys
        .open_at(crate::crypto::Field::request("email_ct", &req.id), email_ct)
        .map_err(|e| AppError::Internal(format!("request {}: {e}", req.reference)))
}

/// Email the subject a new download link for their package (`rebuilt`: the package was
/// built again from the stored access results), recorded on the request's timeline and
/// in the audit log. The link itself is never shown to staff.
pub async fn send_export_link(
    state: &AppState,
    actor: &Actor,
    current: &Request,
    download_url: &str,
    rebuilt: bool,
) -> Result<Request, AppError> {
    let (audit_action, note) = if rebuilt {
        (
            "export.rebuild",
            "package built again; new download link sent",
        )
    } else {
        ("export.reissue", "new download link sent")
    };
    let next = send_link(state, actor, current, download_url, audit_action, note).await?;
    tracing::info!(reference = %next.reference, rebuilt, "new download link sent");
    Ok(next)
}

/// Email the subject the link of their live package again, asked for from their status
/// page (the page itself never shows it).
pub async fn email_live_export_link(
    state: &AppState,
    actor: &Actor,
    current: &Request,
    download_url: &str,
) -> Result<Request, AppError> {
    let next = send_link(
        state,
        actor,
        current,
        download_url,
        "export.link_emailed",
        "download link emailed again, asked for from the status page",
    )
    .await?;
    tracing::info!(reference = %next.reference, "download link emailed again");
    Ok(next)
}

async fn send_link(
    state: &AppState,
    actor: &Actor,
    current: &Request,
    download_url: &str,
    audit_action: &str,
    note: &str,
) -> Result<Request, AppError> {
    let email = subject_email(state, current)?;
    let mut changes = Changes {
        now: Some(state.clock.now()),
        ..Default::default()
    };
    let status_url = crate::services::intake::status_link(state, &mut changes, current);
    crate::services::notify::queue(
        state,
        &mut changes,
        Some(&current.id),
        "export_link",
        &email,
        serde_json::json!({
            "reference": current.reference,
            "kind_label": crate::services::notify::kind_label(current.kind),
            "download_url": download_url,
            "status_url": status_url,
        }),
    );
    record(
        state,
        actor,
        current,
        "export_link",
        audit_action,
        note.into(),
        &changes,
    )
    .await
}

/// An internal note on a request's timeline (staff only; the subject never sees it).
pub async fn add_note(
    state: &AppState,
    actor: &Actor,
    reference_text: &str,
    text: &str,
) -> Result<Request, AppError> {
    let text = clean_text(text);
    if text.is_empty() || text.chars().count() > 4000 {
        return Err(AppError::field("note", "write 1 to 4000 characters"));
    }
    let current = load(state, reference_text).await?;
    record(
        state,
        actor,
        &current,
        "note",
        "request.note",
        text,
        &Changes::default(),
    )
    .await
}

/// Lift the restriction a completed restriction request obtained: the subject is told
/// first and why (GDPR art. 18(3): the notice is queued in the same transaction as the
/// tasks that reset the flag columns on every connector).
pub async fn lift_restriction(
    state: &AppState,
    actor: &Actor,
    reference_text: &str,
    reason: &str,
) -> Result<Request, AppError> {
    let reason = clean_text(reason);
    if reason.is_empty() || reason.chars().count() > 2000 {
        return Err(AppError::field(
            "reason",
            "tell the subject why, in 1 to 2000 characters",
        ));
    }
    let current = load(state, reference_text).await?;
    let conflict = |detail: &str| AppError::Conflict {
        detail: detail.into(),
        current_status: Some(current.status.to_string()),
    };
    if current.kind != Kind::Restriction {
        return Err(conflict(
            "only a restriction request has a restriction to lift",
        ));
    }
    if current.status != Status::Completed {
        return Err(conflict(
            "the restriction can be lifted once the request is completed",
        ));
    }
    let tasks = state.store.tasks_for_request(&current.id).await?;
    if tasks
        .iter()
        .any(|t| t.operation == "lift" && t.status != "failed")
    {
        return Err(conflict("the restriction has already been lifted"));
    }
    let email = subject_email(state, &current)?;
    let mut changes = Changes {
        now: Some(state.clock.now()),
        ..Default::default()
    };
    let status_url = crate::services::intake::status_link(state, &mut changes, &current);
    crate::services::notify::queue(
        state,
        &mut changes,
        Some(&current.id),
        "restriction_lifted",
        &email,
        serde_json::json!({
            "reference": current.reference,
            "reason": reason,
            "complaint_authority": crate::services::notify::complaint_authority(&state.config),
            "status_url": status_url,
        }),
    );
    let planned = crate::services::fanout::plan_lift(state, &current, &mut changes);
    let next = record(
        state,
        actor,
        &current,
        "lift_restriction",
        "request.lift_restriction",
        reason,
        &changes,
    )
    .await?;
    tracing::info!(reference = %next.reference, tasks = planned, "restriction lifted");
    Ok(next)
}

/// The corrections of a rectification request, as stored.
pub fn corrections(state: &AppState, req: &Request) -> Result<Vec<Correction>, AppError> {
    req.corrections_ct
        .as_deref()
        .map(|c| {
            state
                .keys
                .open_at(crate::crypto::Field::request("corrections_ct", &req.id), c)
                .ok()
                .and_then(|c| serde_json::from_str(&c).ok())
                .ok_or_else(|| {
                    AppError::Internal(format!("request {}: corrections unreadable", req.reference))
                })
        })
        .transpose()
        .map(Option::unwrap_or_default)
}

/// The fields of a rectification's corrections that no declared connector can apply
/// (empty for other kinds): while any is left the request is not run.
pub fn unmatched_corrections(state: &AppState, req: &Request) -> Result<Vec<String>, AppError> {
    if req.kind != Kind::Rectification {
        return Ok(Vec::new());
    }
    let cs = corrections(state, req)?;
    let fields: Vec<&str> = cs.iter().map(|c| c.field.as_str()).collect();
    Ok(state
        .connectors
        .unmatched_corrections(&fields)
        .into_iter()
        .map(str::to_string)
        .collect())
}

/// Staff replace a rectification's corrections, e.g. to name the declared field the
/// subject meant ("surname" -> `customers.name`), while the request is open or in review;
/// a reviewed one is then run again with `rerun`. The timeline names the fields (not the
/// values); the audit entry holds counts only.
pub async fn edit_corrections(
    state: &AppState,
    actor: &Actor,
    reference_text: &str,
    corrections: Vec<Correction>,
) -> Result<Request, AppError> {
    let current = load(state, reference_text).await?;
    let conflict = |detail: &str| AppError::Conflict {
        detail: detail.into(),
        current_status: Some(current.status.to_string()),
    };
    if current.kind != Kind::Rectification {
        return Err(conflict("only a rectification request carries corrections"));
    }
    if !matches!(current.status, Status::Open | Status::Review) {
        return Err(conflict(
            "corrections can be edited while the request is open or in review",
        ));
    }
    let mut errors = Vec::new();
    check_corrections(current.kind, &corrections, &mut errors);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let corrections: Vec<Correction> = corrections
        .into_iter()
        .map(|c| Correction {
            field: clean_line(&c.field),
            value: clean_text(&c.value),
        })
        .collect();
    let fields: Vec<&str> = corrections.iter().map(|c| c.field.as_str()).collect();
    let unmatched = state.connectors.unmatched_corrections(&fields);
    let mut note = format!("corrections edited: {}", fields.join(", "));
    if !unmatched.is_empty() {
        note.push_str(&format!(
            "; still matching no declared field: {}",
            unmatched.join(", ")
        ));
    }
    let detail = serde_json::json!({
        "corrections": corrections.len(),
        "unmatched": unmatched.len(),
    });
    let mut next = current.clone();
    next.corrections_ct = Some(state.keys.seal_at(
        crate::crypto::Field::request("corrections_ct", &next.id),
        &serde_json::to_string(&corrections).unwrap_or_default(),
    ));
    next.updated_at = state.clock.now();
    let next = record_edit(
        state,
        actor,
        &current,
        next,
        "corrections",
        ("request.corrections", detail),
        note,
        &Changes::default(),
    )
    .await?;
    tracing::info!(reference = %next.reference, corrections = fields.len(), "corrections edited");
    Ok(next)
}

/// When every task of an `in_progress` request is finished: on to `review`, and on to
/// `completed` when the kind auto-completes and every task succeeded.
pub async fn tasks_progressed(state: &AppState, reference: &str) -> Result<(), AppError> {
    tasks_progressed_from(state, reference, None, None).await
}

/// What became of a request's automatic completion.
enum Completion {
    /// Stored (completed, or left in review when its package could not be built).
    Stored,
    /// Another change came first (its version moved on): nothing was stored.
    Conflict,
    /// The request cannot step on to review from where it is: nothing was stored.
    NotNow,
}

/// What [`finish_last_task`] did with a finished task.
pub enum LastTask {
    /// Its finish was stored with the request's completion.
    Stored,
    /// Not the request's last task, or the request does not complete by itself: nothing
    /// was stored; the caller stores the finish alone (and goes on as usual).
    Alone(
        Box<crate::store::FinishedTask>,
        Option<crate::services::task_results::Written>,
    ),
}

/// A connector task of the in-progress request `req` has just finished (`finished`, not
/// stored yet). When every other task of the request has finished and the request
/// completes by itself, the task's finish is stored in the completion's commit (one
/// commit and one read of the tasks fewer than finishing it first). Tasks finishing at
/// the same moment cannot both wait for the other: a task goes this way only when it
/// read every other one finished (stored), else it is stored alone and the tasks read
/// again after it, as before.
pub async fn finish_last_task(
    state: &AppState,
    req: &Request,
    finished: crate::store::FinishedTask,
    written: Option<crate::services::task_results::Written>,
) -> Result<LastTask, AppError> {
    // What needs no read first: a request that would not complete by itself (staff
    // review it) or a task that did not succeed takes the usual way at once.
    if req.status != Status::InProgress
        || finished.task.status != "succeeded"
        || !crate::services::suppression::auto_completes(state, req)
    {
        return Ok(LastTask::Alone(Box::new(finished), written));
    }
    // What the completion email says of recipients is read beside the tasks: one round
    // trip's wait fewer on the way to the completion.
    let (tasks, recipients) = tokio::join!(
        state.store.tasks_for_request(&req.id),
        crate::services::recipients::subject_context(state, req)
    );
    let mut tasks = match tasks {
        Ok(tasks) => tasks,
        Err(_) => return Ok(LastTask::Alone(Box::new(finished), written)),
    };
    let mut found = false;
    for t in tasks.iter_mut().filter(|t| t.id == finished.task.id) {
        *t = finished.task.clone();
        found = true;
    }
    let all_ok = current_tasks(&tasks)
        .iter()
        .all(|t| t.status == "succeeded");
    if !found || !all_ok || tasks.iter().any(|t| !is_finished(&t.status)) {
        return Ok(LastTask::Alone(Box::new(finished), written));
    }
    let keep = finished.clone();
    let outcome = complete_by_itself(
        state,
        req.clone(),
        tasks,
        false,
        written,
        Some(finished),
        recipients.ok(),
    )
    .await;
    if let Ok(Completion::Stored) = outcome {
        return Ok(LastTask::Stored);
    }
    // Not completed: nothing was stored unless the failure came after the commit. The
    // store says which; the parts just written are read from it from now on.
    let stored = match state.store.task(&keep.task.id).await? {
        Some(t) => is_finished(&t.status),
        None => true,
    };
    match outcome {
        _ if !stored => Ok(LastTask::Alone(Box::new(keep), None)),
        Err(e) if !matches!(e, AppError::Conflict { .. }) => Err(e),
        _ => Ok(LastTask::Stored),
    }
}

/// [`tasks_progressed`], starting from the request as the caller last read it (`known`)
/// when that copy was `in_progress`: a stale copy costs nothing but a second look, as
/// every write checks the version. A copy in any other status is read again (it may have
/// been resumed since, with this task still running). `written`: the result parts the
/// caller's task has just stored, which the package takes from memory.
pub async fn tasks_progressed_from(
    state: &AppState,
    reference: &str,
    mut known: Option<Request>,
    mut written: Option<crate::services::task_results::Written>,
) -> Result<(), AppError> {
    for _ in 0..3 {
        let req = match known.take() {
            Some(req) if req.status == Status::InProgress => req,
            _ => load(state, reference).await?,
        };
        if !matches!(req.status, Status::InProgress | Status::Review) {
            return Ok(());
        }
        let tasks = state.store.tasks_for_request(&req.id).await?;
        // Skipped or failed tasks leave the request to staff: it never completes by itself
        // having done less than was asked.
        let all_ok = current_tasks(&tasks)
            .iter()
            .all(|t| t.status == "succeeded");
        let auto = all_ok && crate::services::suppression::auto_completes(state, &req);
        // A worker that died between `review` and the automatic completion (its job is
        // retried after the lease): finish what it started. Other `review` requests are
        // staff's.
        let interrupted = req.status == Status::Review && !tasks.is_empty() && auto;
        if req.status == Status::Review && !interrupted {
            return Ok(());
        }
        if tasks.iter().any(|t| !is_finished(&t.status)) {
            return Ok(());
        }
        if !auto {
            let note = format!(
                "every connector task has finished: {}",
                crate::services::tasks::status_counts(&current_tasks(&tasks))
            );
            match finish_tasks_noted(state, req, note).await {
                Ok(_) => return Ok(()),
                // Another task finished at the same moment: look again.
                Err(AppError::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        match complete_by_itself(state, req, tasks, interrupted, written.take(), None, None).await {
            Ok(Completion::Stored | Completion::NotNow) => return Ok(()),
            // Another task finished at the same moment: look again.
            Ok(Completion::Conflict) | Err(AppError::Conflict { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A request whose `tasks` have all succeeded goes on to `review` and at once to
/// `completed`, in one commit (both events on the timeline); a request already in
/// `review` was `interrupted` between the two. `finished`: the task whose finish is
/// stored in that commit (see [`finish_last_task`]).
async fn complete_by_itself(
    state: &AppState,
    req: Request,
    tasks: Vec<crate::store::Task>,
    interrupted: bool,
    written: Option<crate::services::task_results::Written>,
    finished: Option<crate::store::FinishedTask>,
    recipients: Option<serde_json::Value>,
) -> Result<Completion, AppError> {
    let note = format!(
        "every connector task has finished: {}",
        crate::services::tasks::status_counts(&current_tasks(&tasks))
    );
    let stored_version = req.version;
    let (reviewed, step) = if interrupted {
        (req, None)
    } else {
        match tasks_done(state, &req, note) {
            Some((next, event)) => (next, Some(event)),
            None => return Ok(Completion::NotNow),
        }
    };
    // Access and portability: the package is built before completing, so the
    // completion email carries its link, and recorded with the completion. Without a
    // package the request stays in review for staff.
    // What the completion email says of recipients (unless the caller read it) is read
    // while the package is built (one round trip fewer on the way to the completion).
    let (built, recipients) = tokio::join!(
        async {
            if matches!(reviewed.kind, Kind::Access | Kind::Portability) {
                Some(crate::services::export::build_from(state, &reviewed, &tasks, written).await)
            } else {
                None
            }
        },
        async {
            match recipients {
                Some(known) => Ok(known),
                None => crate::services::recipients::subject_context(state, &reviewed).await,
            }
        }
    );
    let package = match built {
        Some(Ok(built)) => Some(built),
        Some(Err(e)) => {
            tracing::error!(reference = %reviewed.reference, error = %e, "export package failed; the request stays in review");
            let changes = Changes {
                finished_task: finished,
                ..Default::default()
            };
            return match step {
                Some(event) => {
                    match state
                        .store
                        .update_request(&reviewed, stored_version, Some(&event), None, &changes)
                        .await
                    {
                        Ok(()) => Ok(Completion::Stored),
                        Err(StoreError::Conflict) => Ok(Completion::Conflict),
                        Err(e) => Err(e.into()),
                    }
                }
                None => match changes.finished_task {
                    Some(f) => {
                        state.store.finish_task(&f.task, f.ledger.as_ref()).await?;
                        Ok(Completion::Stored)
                    }
                    None => Ok(Completion::Stored),
                },
            };
        }
        None => None,
    };
    let prior = Prior {
        step: step.map(|event| (event, stored_version)),
        tasks: Some(tasks),
        fresh: false,
        export: package.as_ref().map(|p| p.export.clone()),
        recipients: Some(recipients?),
        finished,
    };
    let request_id = reviewed.id.clone();
    // Boxed: `act` itself calls back here when a request is resumed.
    let completed = Box::pin(act_on_after(
        state,
        &Actor::system(),
        reviewed,
        StaffAction::Complete {
            note: None,
            download_url: package.as_ref().map(|p| p.url().to_string()),
        },
        Some(prior),
    ))
    .await;
    if let Some(package) = package {
        // Not completed: the package's row went with the completion's transaction,
        // unless the failure came after it. When that cannot be read, the file stays
        // (a file without its row is removed by nothing, but a row without its file
        // would be a broken link).
        let stored = completed.is_ok()
            || state
                .store
                .exports_for_request(&request_id)
                .await
                .map_or(true, |all| all.iter().any(|e| e.id == package.export.id));
        if stored {
            package.recorded();
        } else {
            package.discard();
        }
    }
    completed.map(|_| Completion::Stored)
}
