//! Appeals of refusals (issue 21 item 3): under a regime with an appeal right a refused
//! subject appeals from their status page; the appeal is a request of kind `appeal`
//! linked to the refusal, due by the regime's appeal deadline, decided (upheld or
//! reversed, with reasons) by an admin or a user with the `appeals` permission who did not
//! make the refusal. The decision is emailed with the authority's complaint contact; a
//! reversed appeal reopens the refused request.

use chrono::{DateTime, NaiveDate, Utc};

use crate::app::context::AppState;
use crate::domain::appeal::{AppealOutcome, appeal_open_until, may_appeal};
use crate::domain::deadline::Regime;
use crate::domain::identity::{SubjectEmail, clean_text};
use crate::domain::reference;
use crate::domain::regime::{Period, RegimeRules};
use crate::domain::request::{Action, DenyReason, Kind, Source, Status, transition};
use crate::error::AppError;
use crate::services::workflow::{self, Actor, StaffAction, Submission};
use crate::store::appeals::{AppealDecision, NewAppeal, Versioned};
use crate::store::{Appeal, Changes, Event, NewAudit, Request, StoreError};

/// The permission a portal user needs, besides the agent role, to decide appeals.
pub const PERMISSION: &str = "appeals";

/// Longest reasons text (the subject's and the decision's).
const MAX_REASONS: usize = 5000;

/// An appeal is decided, never started, completed or refused like other requests.
pub fn guard(req: &Request, act: &StaffAction) -> Result<(), AppError> {
    if req.kind != Kind::Appeal {
        return Ok(());
    }
    match act {
        StaffAction::Start
        | StaffAction::Rerun
        | StaffAction::Complete { .. }
        | StaffAction::Deny { .. } => Err(AppError::Conflict {
            detail: "an appeal is decided, upheld or reversed with reasons \
                     (POST /api/v1/requests/{id}/decide)"
                .into(),
            current_status: Some(req.status.to_string()),
        }),
        _ => Ok(()),
    }
}

/// The rules an extension of `req` follows: an appeal's own extension, none for an
/// opt-out under a regime with an opt-out period, else the regime's.
pub fn extension_rules(state: &AppState, req: &Request) -> RegimeRules {
    let mut rules = state.config.regime_rules(req.regime);
    if req.kind == Kind::Appeal {
        rules.extension = rules.appeal.and(rules.appeal_extension);
    }
    // An opt-out (or taking one back) is due on the regime's opt-out period, which has no
    // extension (CCPA regs § 7026(f): 15 business days, no extension provided).
    if matches!(
        req.kind,
        Kind::OptOutSale | Kind::LimitSensitive | Kind::OptIn
    ) && rules.opt_out.is_some()
    {
        rules.extension = None;
    }
    rules
}

fn local_date(state: &AppState, t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&state.config.deadlines.timezone.0)
        .date_naive()
}

/// Who a refused subject may complain to under `regime`: the configured
/// `processing.supervisory_authority` under the GDPR (and the company's own `days:N`),
/// else the regime's authority.
pub fn complaint_authority(state: &AppState, regime: Regime) -> String {
    if matches!(regime, Regime::Gdpr | Regime::Days(_)) {
        return crate::services::notify::complaint_authority(&state.config);
    }
    match state.config.regime_rules(regime).authority {
        Some(a) if a.url.is_empty() => a.name,
        Some(a) => format!("{} ({})", a.name, a.url),
        None => crate::services::notify::complaint_authority(&state.config),
    }
}

/// How long the answer to an appeal of `req`'s refusal may take, when its regime gives an
/// appeal right and the refusal is one that may be appealed (not an appeal's own, not a
/// duplicate merged into the first request); `None` otherwise.
pub fn appeal_right(state: &AppState, req: &Request) -> Option<Period> {
    if req.kind == Kind::Appeal || req.deny_reason == Some(DenyReason::Duplicate) {
        return None;
    }
    state.config.regime_rules(req.regime).appeal
}

/// What a refusal tells the subject about appealing it, when the regime has an appeal
/// right: until when, how long the answer may take, and who they may complain to after.
pub fn denial_context(state: &AppState, req: &Request) -> serde_json::Value {
    let (Some(period), Some(closed)) = (appeal_right(state, req), req.closed_at) else {
        return serde_json::Value::Null;
    };
    let until = appeal_open_until(
        local_date(state, closed),
        state.config.deadlines.appeal_window_days,
    );
    serde_json::json!({
        "until": until.format("%-d %B %Y").to_string(),
        "answer_within": period.to_string(),
        "authority": complaint_authority(state, req.regime),
    })
}

/// What the status page of a refused request offers: the appeal form until this day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub until: NaiveDate,
    /// How long the answer may take.
    pub answer_within: Period,
}

/// Whether `req` may be appealed now: refused (not as a duplicate) under a regime with
/// an appeal right, within `deadlines.appeal_window_days`, and not appealed since.
pub async fn offer(state: &AppState, req: &Request) -> Result<Option<Offer>, AppError> {
    let (Some(period), Some(closed)) = (appeal_right(state, req), req.closed_at) else {
        return Ok(None);
    };
    if req.status != Status::Denied {
        return Ok(None);
    }
    let window = state.config.deadlines.appeal_window_days;
    let refused_on = local_date(state, closed);
    if !may_appeal(refused_on, window, workflow::today(state)) {
        return Ok(None);
    }
    let appeals = state.store.appeals_of(&req.id).await?;
    if appeals.iter().any(|a| a.denied_at >= closed) {
        return Ok(None);
    }
    Ok(Some(Offer {
        until: appeal_open_until(refused_on, window),
        answer_within: period,
    }))
}

fn open_field(state: &AppState, req: &Request, column: &str, ct: &str) -> Result<String, AppError> {
    state
        .keys
        .open_at(crate::crypto::Field::request(column, &req.id), ct)
        .map_err(|e| AppError::Internal(format!("request {}: {column}: {e}", req.reference)))
}

/// Who made the refusal now in force (the actor of the last `deny` event).
async fn refused_by(state: &AppState, req: &Request) -> Result<String, AppError> {
    let events = state.store.events(&req.id).await?;
    Ok(events
        .iter()
        .rev()
        .find(|e| e.action == Action::Deny.as_str())
        .map(|e| e.actor.clone())
        .unwrap_or_else(|| "unknown".into()))
}

/// The subject appeals the refusal behind status link `token`, with their reasons. The
/// appeal is a new request, open at once (the status link proves the address), due by the
/// regime's appeal deadline; the subject gets its reference and status link by email.
pub async fn file(
    state: &AppState,
    client_addr: Option<String>,
    token: &str,
    reasons: &str,
) -> Result<Request, AppError> {
    let original = crate::services::intake::request_for_status_link(state, token).await?;
    let not_open = || AppError::Conflict {
        detail: "this decision cannot be appealed (any more)".into(),
        current_status: Some(original.status.to_string()),
    };
    let offer = offer(state, &original).await?.ok_or_else(not_open)?;
    let reasons = clean_text(reasons);
    if reasons.chars().count() > MAX_REASONS {
        return Err(AppError::field(
            "reasons",
            format!("must be at most {MAX_REASONS} characters"),
        ));
    }
    let (Some(email_ct), Some(denied_at)) = (&original.email_ct, original.closed_at) else {
        return Err(not_open());
    };
    let email = open_field(state, &original, "email_ct", email_ct)?;
    let email = SubjectEmail::parse(&email).map_err(|e| {
        AppError::Internal(format!(
            "request {}: stored address: {e}",
            original.reference
        ))
    })?;
    let denied_by = refused_by(state, &original).await?;
    let now = state.clock.now();
    let today = workflow::today(state);
    let rules = state.config.regime_rules(original.regime);
    let submission = Submission {
        kind: Kind::Appeal,
        email,
        name: None,
        details: (!reasons.is_empty()).then_some(reasons),
        corrections: None,
        scope: None,
        residence: original.residence.clone(),
        recipients_requested: false,
    };
    let mut appeal = workflow::new_request(
        state,
        &submission,
        Source::Subject,
        Status::Open,
        original.regime,
        now,
    );
    appeal.verified_at = Some(now);
    // The appeal is answered in the language the subject was answered in.
    appeal.language = original.language;
    appeal.clock_started_on = Some(today);
    appeal.due_date = rules.appeal_due(today);
    let actor = Actor {
        name: "subject".into(),
        client_addr,
    };
    for _ in 0..5 {
        let mut changes = Changes {
            now: Some(now),
            ..Default::default()
        };
        let status_url = crate::services::intake::status_link(state, &mut changes, &appeal);
        crate::services::notify::queue(
            state,
            &mut changes,
            Some(&appeal.id),
            "received",
            submission.email.expose(),
            serde_json::json!({
                "reference": appeal.reference,
                "kind_label": crate::services::notify::kind_label(Kind::Appeal),
                "due_date": appeal.due_date.map(|d| d.to_string()).unwrap_or_default(),
                "status_url": status_url,
            }),
        );
        // The privacy team hears of it like of any new request (never the subject's identity).
        crate::services::notify::queue(
            state,
            &mut changes,
            Some(&appeal.id),
            "staff_new_request",
            &state.config.email.privacy_team,
            serde_json::json!({
                "reference": appeal.reference,
                "kind_label": crate::services::notify::staff_kind_label(Kind::Appeal),
                "due_date": appeal.due_date.map(|d| d.to_string()).unwrap_or_default(),
                "portal_url": crate::services::notify::link(
                    state,
                    &format!("/portal/requests/{}", appeal.reference),
                ),
            }),
        );
        let event = Event {
            at: now,
            actor: actor.name.clone(),
            action: "submit".into(),
            from_status: None,
            to_status: Status::Open,
            note: Some(format!("appeal of {}", original.reference)),
        };
        let original_event = Event {
            at: now,
            actor: actor.name.clone(),
            action: "appealed".into(),
            from_status: Some(original.status),
            to_status: original.status,
            note: Some(format!("appealed: {}", appeal.reference)),
        };
        let audit = NewAudit {
            at: now,
            actor: actor.name.clone(),
            action: "appeal.file".into(),
            request_ref: Some(appeal.reference.clone()),
            client_addr: actor.client_addr.clone(),
            detail: serde_json::json!({
                "original": original.reference,
                "due_date": appeal.due_date,
                "open_until": offer.until,
            }),
        };
        let filed = state
            .store
            .file_appeal(&NewAppeal {
                request: &appeal,
                original_id: &original.id,
                denied_at,
                denied_by: &denied_by,
                event: &event,
                original_event: &original_event,
                audit: &audit,
                changes: &changes,
            })
            .await;
        match filed {
            Ok(()) => {
                state.queue.wake();
                tracing::info!(reference = %appeal.reference, original = %original.reference, "appeal filed");
                return Ok(appeal);
            }
            Err(StoreError::Duplicate) => {
                // The same refusal appealed at the same moment, or a reference collision.
                let appeals = state.store.appeals_of(&original.id).await?;
                if appeals.iter().any(|a| a.denied_at >= denied_at) {
                    return Err(not_open());
                }
                appeal.reference = reference::generate();
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Internal(
        "could not allocate a unique reference".into(),
    ))
}

/// The appeal a request is, if it is one.
pub async fn of_request(state: &AppState, req: &Request) -> Result<Option<Appeal>, AppError> {
    if req.kind != Kind::Appeal {
        return Ok(None);
    }
    Ok(state.store.appeal_by_request(&req.id).await?)
}

/// Decide an appeal. `may_decide`: the caller is an admin or holds the `appeals`
/// permission. The person who made the refusal may not decide its appeal (403). A
/// reversed appeal reopens the refused request, due by the later of its own due date and
/// the appeal's.
pub async fn decide(
    state: &AppState,
    actor: &Actor,
    may_decide: bool,
    reference_text: &str,
    outcome: AppealOutcome,
    reason: &str,
) -> Result<Request, AppError> {
    let current = workflow::load(state, reference_text).await?;
    if !may_decide {
        return Err(AppError::Forbidden(
            "deciding an appeal needs the admin role or the appeals permission".into(),
        ));
    }
    let appeal = of_request(state, &current)
        .await?
        .ok_or_else(|| AppError::Conflict {
            detail: format!("{} is not an appeal", current.reference),
            current_status: Some(current.status.to_string()),
        })?;
    if let Some(done) = appeal.outcome {
        return Err(AppError::Conflict {
            detail: format!("the appeal was already decided ({done})"),
            current_status: Some(current.status.to_string()),
        });
    }
    if appeal.denied_by == actor.name {
        return Err(AppError::Forbidden(
            "you made the refusal under appeal; another staff member must decide the appeal".into(),
        ));
    }
    let reason = clean_text(reason);
    if reason.is_empty() {
        return Err(AppError::field(
            "reason",
            "give the reasons for the decision; the subject is told them",
        ));
    }
    if reason.chars().count() > MAX_REASONS {
        return Err(AppError::field(
            "reason",
            format!("must be at most {MAX_REASONS} characters"),
        ));
    }
    let next_status =
        transition(current.status, Action::Decide, current.held_from).map_err(|e| {
            AppError::Conflict {
                detail: e.to_string(),
                current_status: Some(current.status.to_string()),
            }
        })?;
    let now = state.clock.now();
    let mut next = current.clone();
    next.status = next_status;
    next.closed_at = Some(now);
    next.completed_at = Some(now);
    next.version += 1;
    next.updated_at = now;
    let event = Event {
        at: now,
        actor: actor.name.clone(),
        action: Action::Decide.to_string(),
        from_status: Some(current.status),
        to_status: next_status,
        note: Some(format!("appeal {outcome}: {reason}")),
    };
    let audit = NewAudit {
        at: now,
        actor: actor.name.clone(),
        action: "appeal.decide".into(),
        request_ref: Some(current.reference.clone()),
        client_addr: actor.client_addr.clone(),
        detail: serde_json::json!({ "outcome": outcome, "original": appeal.original_reference }),
    };

    let original = workflow::load(state, &appeal.original_reference).await?;
    let reopened = match outcome {
        AppealOutcome::Upheld => None,
        AppealOutcome::Reversed => {
            let status = transition(original.status, Action::Reopen, None).map_err(|e| {
                AppError::Conflict {
                    detail: format!("{}: {e}", original.reference),
                    current_status: Some(original.status.to_string()),
                }
            })?;
            let mut o = original.clone();
            o.status = status;
            o.deny_reason = None;
            o.deny_note = None;
            o.closed_at = None;
            o.due_date = match (original.due_date, current.due_date) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            o.version += 1;
            o.updated_at = now;
            Some(o)
        }
    };
    let reopen_event = reopened.as_ref().map(|o| Event {
        at: now,
        actor: actor.name.clone(),
        action: Action::Reopen.to_string(),
        from_status: Some(original.status),
        to_status: o.status,
        note: Some(format!(
            "refusal reversed on appeal {}; due date {}",
            current.reference,
            o.due_date.map(|d| d.to_string()).unwrap_or_default()
        )),
    });
    let reopen_audit = reopened.as_ref().map(|o| NewAudit {
        at: now,
        actor: actor.name.clone(),
        action: "request.reopen".into(),
        request_ref: Some(o.reference.clone()),
        client_addr: actor.client_addr.clone(),
        detail: serde_json::json!({ "appeal": current.reference, "due_date": o.due_date }),
    });

    // The subject is told the decision, the reasons and where to complain.
    let mut changes = Changes {
        now: Some(now),
        ..Default::default()
    };
    if let Some(email_ct) = &current.email_ct {
        let email = open_field(state, &current, "email_ct", email_ct)?;
        let status_url = match &reopened {
            Some(o) => crate::services::intake::status_link(state, &mut changes, o),
            None => crate::services::intake::status_link(state, &mut changes, &next),
        };
        let authority = state.config.regime_rules(current.regime).authority;
        crate::services::notify::queue(
            state,
            &mut changes,
            Some(&current.id),
            "appeal_decided",
            &email,
            serde_json::json!({
                "reference": current.reference,
                "original_reference": original.reference,
                "kind_label": crate::services::notify::kind_label(original.kind),
                "reversed": outcome == AppealOutcome::Reversed,
                "reason": reason,
                "authority_name": authority.as_ref().map(|a| a.name.clone())
                    .unwrap_or_else(|| crate::services::notify::complaint_authority(&state.config)),
                "authority_url": authority.map(|a| a.url).unwrap_or_default(),
                "due_date": reopened.as_ref().and_then(|o| o.due_date)
                    .map(|d| d.format("%-d %B %Y").to_string()),
                "status_url": status_url,
            }),
        );
    }
    let reopen = match (&reopened, &reopen_event, &reopen_audit) {
        (Some(o), Some(e), Some(a)) => Some(Versioned {
            request: o,
            expected_version: original.version,
            event: e,
            audit: a,
        }),
        _ => None,
    };
    state
        .store
        .decide_appeal(&AppealDecision {
            appeal: Versioned {
                request: &next,
                expected_version: current.version,
                event: &event,
                audit: &audit,
            },
            outcome,
            reason: &reason,
            decided_by: &actor.name,
            decided_at: now,
            changes: &changes,
            reopen,
        })
        .await?;
    state.queue.wake();
    tracing::info!(reference = %next.reference, original = %original.reference, outcome = %outcome, "appeal decided");
    Ok(next)
}

/// Whether a portal user may decide appeals: an admin, or an agent holding the
/// `appeals` permission.
pub async fn user_may_decide(
    state: &AppState,
    user: &crate::store::User,
) -> Result<bool, AppError> {
    use crate::domain::staff::Role;
    if user.role == Role::Admin {
        return Ok(true);
    }
    if user.role < Role::Agent {
        return Ok(false);
    }
    Ok(state
        .store
        .permissions_of(&user.id)
        .await?
        .iter()
        .any(|p| p == PERMISSION))
}
