//! Subject intake: submitting a request, proving the email address through a link, and
//! the limits that keep intake from being flooded or used to enumerate customers.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use crate::app::context::AppState;
use crate::crypto::{new_token, token_hash};
use crate::domain::client::ClientAddr;
use crate::domain::language::Language;
use crate::domain::request::{Action, Kind, Source, Status, transition};
use crate::error::{AppError, FieldError};
use crate::services::notify::{self, kind_label};
use crate::services::workflow::{self, Actor, Correction, StaffAction, Submission};
use crate::store::{Changes, Event, NewAudit, Request, RequestToken, StoreError, TokenPurpose};

/// What a subject sent.
#[derive(Debug, Clone)]
pub struct IntakeInput {
    pub kind: Kind,
    pub email: String,
    pub name: Option<String>,
    pub details: Option<String>,
    pub corrections: Option<Vec<Correction>>,
    /// ISO 3166-1 alpha-2 (`DE`) or ISO 3166-2 (`US-VA`); empty means not given.
    pub residence: Option<String>,
    /// For an objection: `marketing`, `profiling` or `processing` (then `processing`
    /// names it).
    pub scope: Option<String>,
    pub processing: Option<String>,
    /// "Tell me who received my data" (GDPR art. 19).
    pub recipients_requested: bool,
}

/// Parse and validate; every problem named by its field.
pub fn parse(input: IntakeInput) -> Result<Submission, AppError> {
    let mut errors: Vec<FieldError> = Vec::new();
    let s = workflow::parse_submission(
        input.kind,
        &input.email,
        input.name.as_deref(),
        input.details.as_deref(),
        input.corrections,
        (input.scope.as_deref(), input.processing.as_deref()),
        &mut errors,
    );
    let residence = match input.residence.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(r) => match crate::domain::regime::parse_residence(r) {
            Ok(r) => Some(r),
            Err(e) => {
                errors.push(FieldError::new("residence", e.to_string()));
                None
            }
        },
    };
    let s = s.map(|s| Submission {
        residence,
        recipients_requested: input.recipients_requested,
        ..s
    });
    match s {
        Some(s) if errors.is_empty() => Ok(s),
        _ => Err(AppError::Validation(errors)),
    }
}

fn retry_after(ends: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    u64::try_from((ends - now).num_seconds().max(1)).unwrap_or(1)
}

/// Count one submission from this client; 429 past the hourly limit.
pub async fn limit_client(state: &AppState, client: &ClientAddr) -> Result<(), AppError> {
    let Some(key) = client.limit_key() else {
        return Ok(());
    };
    let now = state.clock.now();
    let (hits, ends) = state
        .store
        .hit_rate_limit(&format!("intake:ip:{key}"), now + TimeDelta::hours(1), now)
        .await?;
    if hits > i64::from(state.config.intake.per_client_per_hour) {
        return Err(AppError::TooManyRequests {
            retry_after_secs: retry_after(ends, now),
        });
    }
    Ok(())
}

/// What the caller of intake is told: always a fresh-looking reference awaiting
/// verification. `request` is the request the submission went to (a new one, or the
/// pending one that got a fresh link); `None` when a per-address limit held it back.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub reference: String,
    pub status: Status,
    pub request: Option<Request>,
}

/// Where a submission went.
enum Outcome {
    Created(Request),
    /// A request for this address and kind was already waiting: it got a fresh link.
    Resent(Request),
    /// The address reached a per-address limit: nothing was sent.
    Limited {
        retry_after_secs: u64,
    },
}

/// Accept a request from a subject, answering the same whatever happened to it: a new
/// request, a fresh link for a request already waiting for that address, or nothing
/// because the address reached its limits. The caller cannot tell someone else asked
/// for that address: the answer's reference is new each time (the email carries the real
/// one) and a per-address limit answers like a fresh request. The answer given is
/// audited with the real reference, so staff can match a reference a subject quotes.
pub async fn submit_answer(
    state: &AppState,
    client: &ClientAddr,
    s: Submission,
) -> Result<Accepted, AppError> {
    submit_answer_for(state, client, s, None, Language::En).await
}

/// [`submit_answer`] for a request an authorized agent sends: the subject's verification
/// email says who asked (`agent`: the agent's name and organisation). `language` is the
/// one the subject is written to in from now on (the form's, or the API's `language`).
pub async fn submit_answer_for(
    state: &AppState,
    client: &ClientAddr,
    s: Submission,
    agent: Option<&serde_json::Value>,
    language: Language,
) -> Result<Accepted, AppError> {
    let kind = s.kind;
    let (request, real) = match submit_outcome(state, client, s, None, agent, language).await? {
        Outcome::Created(req) => {
            return Ok(Accepted {
                reference: req.reference.clone(),
                status: req.status,
                request: Some(req),
            });
        }
        Outcome::Resent(req) => (Some(req.clone()), Some(req.reference)),
        Outcome::Limited { .. } => (None, None),
    };
    let answered = crate::domain::reference::generate();
    state
        .store
        .append_audit(&NewAudit {
            at: state.clock.now(),
            actor: "subject".into(),
            action: if real.is_some() {
                "intake.answered_again".into()
            } else {
                "intake.limited".into()
            },
            request_ref: real,
            client_addr: client.text(),
            detail: json!({ "kind": kind, "answered_reference": answered }),
        })
        .await?;
    Ok(Accepted {
        reference: answered,
        status: Status::AwaitingVerification,
        request,
    })
}

/// Accept a request from a subject (see `submit_answer` for what the caller is told). A
/// second submission for the same address and kind while unverified sends a fresh link
/// instead of creating a duplicate; past a per-address limit this is `TooManyRequests`.
pub async fn submit(
    state: &AppState,
    client: &ClientAddr,
    s: Submission,
) -> Result<Request, AppError> {
    submit_under(state, client, s, None, Language::En).await
}

/// [`submit`] under a chosen regime (`None`: from the residence) and in a language, for
/// requests filed by a Data Rights Protocol agent under the regime it names, or converted
/// from the privacy inbox in the language the message was written in.
pub async fn submit_under(
    state: &AppState,
    client: &ClientAddr,
    s: Submission,
    regime: Option<crate::domain::deadline::Regime>,
    language: Language,
) -> Result<Request, AppError> {
    match submit_outcome(state, client, s, regime, None, language).await? {
        Outcome::Created(r) | Outcome::Resent(r) => Ok(r),
        Outcome::Limited { retry_after_secs } => {
            Err(AppError::TooManyRequests { retry_after_secs })
        }
    }
}

async fn submit_outcome(
    state: &AppState,
    client: &ClientAddr,
    s: Submission,
    regime: Option<crate::domain::deadline::Regime>,
    agent: Option<&serde_json::Value>,
    language: Language,
) -> Result<Outcome, AppError> {
    let now = state.clock.now();
    let index = state.keys.blind_index(s.email.expose());
    let (hits, ends) = state
        .store
        .hit_rate_limit(
            &format!("intake:email:{index}"),
            now + TimeDelta::hours(1),
            now,
        )
        .await?;
    if hits > i64::from(state.config.intake.per_email_per_hour) {
        return Ok(Outcome::Limited {
            retry_after_secs: retry_after(ends, now),
        });
    }
    let day_ago = now - TimeDelta::hours(24);
    let sends = state.store.verification_sends(&index, day_ago).await?;
    if sends.len() >= state.config.intake.sends_per_email_per_day as usize {
        let oldest = sends.first().copied().unwrap_or(now);
        return Ok(Outcome::Limited {
            retry_after_secs: retry_after(oldest + TimeDelta::hours(24), now),
        });
    }
    let actor = Actor {
        name: "subject".into(),
        client_addr: client.text(),
    };
    let token = new_token();
    let expires = now + state.config.deadlines.verification_expires.chrono();
    let hours = state
        .config
        .deadlines
        .verification_expires
        .0
        .as_secs()
        .div_ceil(3600);

    if let Some(pending) = state.store.pending_request(&index, s.kind).await? {
        let mut changes = link_changes(state, &pending, &token, expires, &s, (hours, agent));
        changes.revoke_purpose = Some(TokenPurpose::Verify);
        // The fresh link's email is written in the language of this submission.
        if pending.language != language {
            state
                .store
                .set_request_language(&pending.id, language)
                .await?;
        }
        let mut next = pending.clone();
        next.version += 1;
        next.updated_at = now;
        next.language = language;
        let audit = NewAudit {
            at: now,
            actor: actor.name.clone(),
            action: "intake.resend".into(),
            request_ref: Some(pending.reference.clone()),
            client_addr: actor.client_addr.clone(),
            detail: json!({}),
        };
        state
            .store
            .update_request(&next, pending.version, None, Some(&audit), &changes)
            .await?;
        state.queue.wake();
        tracing::info!(reference = %next.reference, "verification link sent again");
        return Ok(Outcome::Resent(next));
    }

    let mut req = workflow::new_request(
        state,
        &s,
        Source::Subject,
        Status::AwaitingVerification,
        regime.unwrap_or_else(|| state.config.regime_for(s.residence.as_deref())),
        now,
    );
    req.language = language;
    let event = Event {
        at: now,
        actor: actor.name.clone(),
        action: "submit".into(),
        from_status: None,
        to_status: Status::AwaitingVerification,
        note: None,
    };
    for _ in 0..5 {
        let changes = link_changes(state, &req, &token, expires, &s, (hours, agent));
        let audit = NewAudit {
            at: now,
            actor: actor.name.clone(),
            action: "intake.submit".into(),
            request_ref: Some(req.reference.clone()),
            client_addr: actor.client_addr.clone(),
            detail: json!({ "kind": req.kind }),
        };
        match state
            .store
            .insert_request(&req, &event, &audit, &changes)
            .await
        {
            Ok(()) => {
                state.queue.wake();
                tracing::info!(reference = %req.reference, kind = %req.kind, "request submitted");
                return Ok(Outcome::Created(req));
            }
            Err(StoreError::Duplicate) => {
                req.reference = crate::domain::reference::generate();
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Internal(
        "could not allocate a unique reference".into(),
    ))
}

/// A verification link and the email that carries it.
fn link_changes(
    state: &AppState,
    req: &Request,
    token: &str,
    expires: DateTime<Utc>,
    s: &Submission,
    (hours, agent): (u64, Option<&serde_json::Value>),
) -> Changes {
    let now = state.clock.now();
    let mut changes = Changes {
        now: Some(now),
        tokens: vec![RequestToken {
            token_hash: token_hash(token),
            request_id: req.id.clone(),
            purpose: TokenPurpose::Verify,
            expires_at: Some(expires),
            created_at: now,
        }],
        verification_send: Some(state.keys.blind_index(s.email.expose())),
        recipients_asked: s.recipients_requested,
        ..Default::default()
    };
    let mut context = json!({
        "reference": req.reference,
        "kind_label": kind_label(req.kind),
        "verify_url": notify::link(state, &format!("/verify/{token}")),
        "expires_hours": hours,
    });
    // Sent by an authorized agent: the subject confirms directly (CCPA regs § 7063).
    if let Some(agent) = agent {
        context["agent"] = agent.clone();
    }
    notify::queue(
        state,
        &mut changes,
        Some(&req.id),
        "verify",
        s.email.expose(),
        context,
    );
    changes
}

/// A fresh status link for the subject, added to `changes`; returns its URL.
pub fn status_link(state: &AppState, changes: &mut Changes, req: &Request) -> String {
    let token = new_token();
    changes.tokens.push(RequestToken {
        token_hash: token_hash(&token),
        request_id: req.id.clone(),
        purpose: TokenPurpose::Status,
        expires_at: None,
        created_at: state.clock.now(),
    });
    notify::link(state, &format!("/status/{token}"))
}

/// How many times a day a status page may email the download link.
const LINK_EMAILS_PER_DAY: i64 = 3;

/// When the status links of `req` stop working: `status_link_days` after it closed — for
/// a refusal the subject may appeal, not before the appeal window has closed (the appeal
/// form is on the status page) — and never later than `closed_request_pii` (when its
/// identity is wiped). `None` while open.
pub fn status_link_end(state: &AppState, req: &Request) -> Option<DateTime<Utc>> {
    let closed = req.closed_at?;
    let cfg = &state.config.retention_own;
    let mut days = i64::from(cfg.status_link_days);
    if req.status == Status::Denied && crate::services::appeals::appeal_right(state, req).is_some()
    {
        // The window counts whole days from the refusal's local date: one more day covers
        // its last day in every time zone, and one after it the page says it has closed.
        days = days.max(i64::from(state.config.deadlines.appeal_window_days) + 2);
    }
    Some(closed + TimeDelta::days(days).min(cfg.closed_request_pii.chrono()))
}

/// The request a status link belongs to, while the link lives (see [`status_link_end`]);
/// `Gone` otherwise, the same for unknown, expired and wiped.
pub async fn request_for_status_link(state: &AppState, token: &str) -> Result<Request, AppError> {
    if token.len() > 100 {
        return Err(AppError::Gone);
    }
    let now = state.clock.now();
    let req = state
        .store
        .request_by_token(&token_hash(token), TokenPurpose::Status, now)
        .await?
        .ok_or(AppError::Gone)?;
    if req.email_ct.is_none() || status_link_end(state, &req).is_some_and(|end| end <= now) {
        return Err(AppError::Gone);
    }
    Ok(req)
}

/// What the "email me the download link" button of a status page did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkEmail {
    /// The link of the live package went to the request's verified address.
    Sent,
    /// No package can be downloaded (none yet, expired, used up or deleted).
    NoPackage,
}

/// Email the live download link of the request behind status link `token` to the
/// request's own (verified) address, never to anyone else: the status page itself never
/// shows the link. At most [`LINK_EMAILS_PER_DAY`] a day per request (429 past that).
pub async fn email_download_link(
    state: &AppState,
    client: &ClientAddr,
    token: &str,
) -> Result<LinkEmail, AppError> {
    let req = request_for_status_link(state, token).await?;
    if req.verified_at.is_none() {
        return Ok(LinkEmail::NoPackage);
    }
    let now = state.clock.now();
    let (hits, ends) = state
        .store
        .hit_rate_limit(
            &format!("status:link:{}", req.id),
            now + TimeDelta::hours(24),
            now,
        )
        .await?;
    if hits > LINK_EMAILS_PER_DAY {
        return Err(AppError::TooManyRequests {
            retry_after_secs: retry_after(ends, now),
        });
    }
    let url = crate::services::export::live_link(state, &req.id)
        .await
        .map_err(|e| AppError::Internal(format!("export link: {e}")))?;
    let Some(url) = url else {
        return Ok(LinkEmail::NoPackage);
    };
    let actor = Actor {
        name: "subject".into(),
        client_addr: client.text(),
    };
    workflow::email_live_export_link(state, &actor, &req, &url).await?;
    Ok(LinkEmail::Sent)
}

/// The request a verification link belongs to, if the link is still usable.
pub async fn pending_for_link(state: &AppState, token: &str) -> Result<Request, AppError> {
    if token.len() > 100 {
        return Err(AppError::Gone);
    }
    state
        .store
        .request_by_token(&token_hash(token), TokenPurpose::Verify, state.clock.now())
        .await?
        .ok_or(AppError::Gone)
}

/// Use a verification link: the request opens, its clock starts, the subject gets the
/// acknowledgement with a status link and the privacy team is told. Unknown, used and
/// expired links all answer `Gone`.
pub async fn verify(
    state: &AppState,
    client: &ClientAddr,
    token: &str,
) -> Result<Request, AppError> {
    let current = pending_for_link(state, token).await?;
    let subject = Actor {
        name: "subject".into(),
        client_addr: client.text(),
    };
    confirm_request(
        state,
        &subject,
        current,
        Some(token_hash(token)),
        "email address confirmed through the emailed link",
    )
    .await
}

/// Open a request waiting for verification on staff's word (an authorized agent's power
/// of attorney that staff accepted): as [`verify`], and the subject's unused verification
/// links stop working. 409 when the request is not waiting for verification.
pub async fn confirm_by_staff(
    state: &AppState,
    actor: &Actor,
    current: Request,
    note: &str,
) -> Result<Request, AppError> {
    if current.status != Status::AwaitingVerification {
        return Err(AppError::Conflict {
            detail: "the request is not waiting for verification".into(),
            current_status: Some(current.status.to_string()),
        });
    }
    confirm_request(state, actor, current, None, note).await
}

/// The shared part of [`verify`] and [`confirm_by_staff`]: with `consume` the subject's
/// link is used up; without it every unused verification link is revoked.
async fn confirm_request(
    state: &AppState,
    actor: &Actor,
    current: Request,
    consume: Option<String>,
    note: &str,
) -> Result<Request, AppError> {
    let now = state.clock.now();
    let status = transition(current.status, Action::Verify, None).map_err(|_| AppError::Gone)?;
    let policy = state.config.deadline_policy(Some(current.regime));
    let rules = state.config.regime_rules(current.regime);
    let tz = &state.config.deadlines.timezone.0;
    let received = current.received_at.with_timezone(tz).date_naive();
    let verified = now.with_timezone(tz).date_naive();
    let mut next = current.clone();
    next.status = status;
    next.verified_at = Some(now);
    next.clock_started_on = Some(policy.start_day_under(&rules, received, verified));
    let due = crate::domain::optout::due_date(&policy, &rules, current.kind, received, verified);
    next.due_date = Some(due);
    next.version += 1;
    next.updated_at = now;

    let mut changes = Changes {
        revoke_purpose: consume.is_none().then_some(TokenPurpose::Verify),
        consume_token: consume,
        now: Some(now),
        ..Default::default()
    };
    let email = current
        .email_ct
        .as_deref()
        .map(|c| {
            state
                .keys
                .open_at(crate::crypto::Field::request("email_ct", &current.id), c)
        })
        .transpose()
        .map_err(|e| AppError::Internal(format!("request {}: {e}", current.reference)))?
        .ok_or(AppError::Gone)?;
    let status_url = status_link(state, &mut changes, &next);
    notify::queue(
        state,
        &mut changes,
        Some(&next.id),
        "received",
        &email,
        json!({
            "reference": next.reference,
            "kind_label": kind_label(next.kind),
            "due_date": due.to_string(),
            "status_url": status_url,
        }),
    );
    notify::queue(
        state,
        &mut changes,
        Some(&next.id),
        "staff_new_request",
        &state.config.email.privacy_team,
        json!({
            "reference": next.reference,
            "kind_label": notify::staff_kind_label(next.kind),
            "due_date": due.to_string(),
            "portal_url": notify::link(state, &format!("/portal/requests/{}", next.reference)),
        }),
    );
    let event = Event {
        at: now,
        actor: actor.name.clone(),
        action: Action::Verify.to_string(),
        from_status: Some(current.status),
        to_status: status,
        note: Some(note.into()),
    };
    let audit = NewAudit {
        at: now,
        actor: actor.name.clone(),
        action: "request.verify".into(),
        request_ref: Some(next.reference.clone()),
        client_addr: actor.client_addr.clone(),
        detail: json!({ "due_date": due.to_string() }),
    };
    state
        .store
        .update_request(&next, current.version, Some(&event), Some(&audit), &changes)
        .await?;
    state.queue.wake();
    tracing::info!(reference = %next.reference, due_date = %due, "request verified");

    // Kinds that need more than the link fan out only once the identity is confirmed.
    let confirmed = crate::services::verification::after_verify(state, &next).await?;
    // A repeat of the same person's open request is linked, not processed twice.
    if crate::services::duplicates::link_if_duplicate(state, &next).await? {
        return workflow::load(state, &next.reference).await;
    }
    if confirmed && crate::services::suppression::auto_starts(state, &next) {
        return workflow::act(state, &Actor::system(), &next.reference, StaffAction::Start).await;
    }
    Ok(next)
}
