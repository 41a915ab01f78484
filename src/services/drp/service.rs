//! The covered business's side of the Data Rights Protocol: pairing, exercise, status,
//! revoke, and the status object built from the request's real state. The HTTP layer
//! (`drp::http`) only moves bytes; the job (`drp::callback`) tells agents of changes.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value, json};

use crate::app::context::AppState;
use crate::crypto::{Field, new_token, token_hash};
use crate::domain::client::ClientAddr;
use crate::domain::deadline::Regime;
use crate::domain::request::{DenyReason, Kind, Status};
use crate::error::AppError;
use crate::services::drp::verify::{self, DrpError, Expect, Verified};
use crate::services::workflow::{self, Actor, StaffAction, StaffEntry};
use crate::store::drp::{DirectoryLoad, DrpAgent, DrpRequest};
use crate::store::{NewAudit, Request, Store};

/// The message the spec gives for a right the business does not handle.
pub const UNSUPPORTED: &str = "Unsupported rights actions submitted.";

/// Read, validate and load a directory file into the store.
pub async fn load_directory(
    store: &dyn Store,
    path: &std::path::Path,
    now: DateTime<Utc>,
) -> Result<(usize, DirectoryLoad), Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![format!("cannot read {}: {e}", path.display())])?;
    let agents = crate::domain::drp_directory::parse(&text)?;
    let rows: Vec<DrpAgent> = agents
        .iter()
        .map(|a| DrpAgent {
            id: a.id.clone(),
            name: a.name.clone(),
            verify_key: base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                a.verify_key,
            ),
            web_url: a.web_url.clone(),
            in_directory: true,
            token_hash: None,
            paired_at: None,
            suspended_at: None,
            suspended_by: None,
            loaded_at: now,
        })
        .collect();
    let load = store
        .drp_load_agents(&rows, now)
        .await
        .map_err(|e| vec![format!("storing the directory: {e}")])?;
    Ok((rows.len(), load))
}

fn internal(e: impl std::fmt::Display) -> DrpError {
    tracing::error!(error = %e, "DRP request failed");
    DrpError::new(500, "internal error; try again later")
}

fn expect<'a>(state: &'a AppState, agent_id: &'a str, key: &'a [u8; 32]) -> Expect<'a> {
    let cfg = &state.config.drp;
    Expect {
        agent_id,
        verify_key: key,
        business_id: &cfg.business_id,
        now: state.clock.now(),
        skew: cfg.allowed_skew.chrono(),
        max_window: cfg.max_window.chrono(),
    }
}

fn actor(agent: &str) -> Actor {
    Actor {
        name: format!("drp:{agent}"),
        client_addr: None,
    }
}

/// `POST /v1/agent/{agent-id}`: every failure is an empty 403 (spec 2.05.1).
pub async fn pair(state: &AppState, agent_id: &str, body: &[u8]) -> Result<Value, DrpError> {
    let refuse = |why: &str| {
        tracing::info!(agent = %agent_id.chars().take(100).collect::<String>(), why, "DRP pairing refused");
        DrpError {
            status: 403,
            message: why.to_string(),
            fatal: false,
            empty_body: true,
        }
    };
    if !crate::domain::drp_directory::valid_agent_id(agent_id) {
        return Err(refuse("agent id malformed"));
    }
    let agent = state
        .store
        .drp_agent(agent_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| refuse("agent not in the directory"))?;
    if !agent.in_directory || agent.suspended_at.is_some() {
        return Err(refuse("agent dropped from the directory or suspended"));
    }
    let key = agent.key().ok_or_else(|| refuse("agent key unusable"))?;
    let v =
        verify::verify(body, &expect(state, &agent.id, &key)).map_err(|e| refuse(&e.message))?;
    let now = state.clock.now();
    let expires = v.expires_at.unwrap_or(now);
    if !state
        .store
        .drp_remember_message(&v.digest, &agent.id, expires, now)
        .await
        .map_err(internal)?
    {
        return Err(refuse("replayed pairing message"));
    }
    let token = new_token();
    let audit = NewAudit {
        at: now,
        actor: format!("drp:{}", agent.id),
        action: "drp.agent.paired".into(),
        request_ref: None,
        client_addr: None,
        detail: json!({ "agent": agent.id, "drp_version": v.claims.get("drp.version") }),
    };
    if !state
        .store
        .drp_pair_agent(&agent.id, &token_hash(&token), now, &audit)
        .await
        .map_err(internal)?
    {
        return Err(refuse("agent changed while pairing"));
    }
    tracing::info!(agent = %agent.id, "DRP agent paired");
    Ok(json!({ "agent-id": agent.id, "token": token }))
}

/// The agent behind a bearer token: 401 without a known token, 403 when the agent may
/// not act (suspended, or dropped from the directory).
pub async fn authenticate(state: &AppState, header: Option<&str>) -> Result<DrpAgent, DrpError> {
    let token = header
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 200)
        .ok_or_else(|| {
            DrpError::new(
                401,
                "an `Authorization: Bearer <token>` header from pairing is required",
            )
        })?;
    let agent = state
        .store
        .drp_agent_by_token(&token_hash(token))
        .await
        .map_err(internal)?
        .ok_or_else(|| DrpError::new(401, "the bearer token is unknown; pair again"))?;
    if agent.suspended_at.is_some() {
        return Err(DrpError::forbidden(
            "this agent is suspended by the covered business",
        ));
    }
    if !agent.in_directory {
        return Err(DrpError::forbidden(
            "this agent is no longer in the DRP directory",
        ));
    }
    Ok(agent)
}

/// `GET /v1/agent/{agent-id}`.
pub async fn agent_info(
    state: &AppState,
    agent_id: &str,
    header: Option<&str>,
) -> Result<Value, DrpError> {
    let agent = authenticate(state, header).await?;
    if agent.id != agent_id {
        return Err(DrpError::forbidden(
            "the bearer token belongs to another agent",
        ));
    }
    Ok(json!({}))
}

/// A DRP right and the request kind that carries it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Right {
    Access,
    /// `access:categories`: an access request whose package holds the categories of
    /// personal information found, per table, and no records.
    AccessCategories,
    Deletion,
    /// `sale:opt_out`: an `opt_out_sale` request.
    SaleOptOut,
    /// `sale:opt_in`: an `opt_in` request taking back the opt-out of sale and sharing.
    SaleOptIn,
}

impl Right {
    /// `None`: a right this deployment does not handle.
    pub fn parse(exercise: &str) -> Option<Right> {
        match exercise {
            "access" | "access:specific" => Some(Right::Access),
            "access:categories" => Some(Right::AccessCategories),
            "deletion" => Some(Right::Deletion),
            "sale:opt_out" => Some(Right::SaleOptOut),
            "sale:opt_in" => Some(Right::SaleOptIn),
            _ => None,
        }
    }
    pub fn kind(self) -> Kind {
        match self {
            Right::Access | Right::AccessCategories => Kind::Access,
            Right::Deletion => Kind::Erasure,
            Right::SaleOptOut => Kind::OptOutSale,
            Right::SaleOptIn => Kind::OptIn,
        }
    }
}

/// The parts of an exercise message we act on, checked before anything is stored.
struct Exercise {
    right: Right,
    exercise: String,
    regime: Regime,
    callback: Option<String>,
    agent_request_id: Option<String>,
    drp_version: Option<String>,
    submission: workflow::Submission,
    email_verified: bool,
}

fn opt_text(
    claims: &Map<String, Value>,
    key: &str,
    max: usize,
) -> Result<Option<String>, DrpError> {
    match claims.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() <= max && !s.chars().any(char::is_control) => {
            Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty()))
        }
        Some(_) => Err(DrpError::bad(format!(
            "`{key}` must be a string of at most {max} characters"
        ))),
    }
}

fn parse_exercise(state: &AppState, v: &Verified) -> Result<Exercise, DrpError> {
    let c = &v.claims;
    let exercise =
        opt_text(c, "exercise", 100)?.ok_or_else(|| DrpError::bad("`exercise` is missing"))?;
    let right = Right::parse(&exercise).ok_or_else(|| DrpError::bad(UNSUPPORTED))?;
    let drp_version = opt_text(c, "drp.version", 20)?;
    let regime = match opt_text(c, "regime", 40)? {
        None => Regime::Ccpa,
        Some(r) => r.parse::<Regime>().map_err(|_| {
            DrpError::bad(format!(
                "regime `{r}` is not handled here; leave it out or use ccpa"
            ))
        })?,
    };
    let callback = opt_text(c, "status_callback", 2000)?;
    if let Some(url) = &callback {
        let ok = match reqwest::Url::parse(url) {
            Ok(u) => {
                u.host_str().is_some()
                    && (u.scheme() == "https"
                        || (u.scheme() == "http" && state.config.drp.callback_allow_http))
                    && u.username().is_empty()
                    && u.password().is_none()
            }
            Err(_) => false,
        };
        if !ok {
            return Err(DrpError::bad("`status_callback` must be an https:// URL"));
        }
    }
    let agent_request_id = opt_text(c, "agent-request-id", 200)?;
    let email = opt_text(c, "email", 320)?
        .ok_or_else(|| DrpError::bad("an `email` claim is needed to find the subject's data"))?;
    let name = opt_text(c, "name", 200)?;
    let email_verified = match c.get("email_verified") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(DrpError::bad("`email_verified` must be true or false")),
    };
    if let Some(r) = c.get("relationships")
        && !r.is_array()
    {
        return Err(DrpError::bad("`relationships` must be a list of strings"));
    }
    let mut errors = Vec::new();
    let submission = workflow::parse_submission(
        right.kind(),
        &email,
        name.as_deref(),
        None,
        None,
        (None, None),
        &mut errors,
    );
    let mut submission = match submission {
        Some(s) if errors.is_empty() => s,
        _ => {
            let text: Vec<String> = errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect();
            return Err(DrpError::bad(format!(
                "the identity claims are not usable: {}",
                text.join("; ")
            )));
        }
    };
    if right == Right::AccessCategories {
        // The package answers with categories only (see `export::CATEGORIES_ONLY`).
        submission.scope = Some(crate::services::export::CATEGORIES_ONLY.to_string());
    }
    Ok(Exercise {
        right,
        exercise,
        regime,
        callback,
        agent_request_id,
        drp_version,
        submission,
        email_verified,
    })
}

fn app_error(e: AppError) -> DrpError {
    match e {
        AppError::TooManyRequests { .. } => {
            DrpError::new(429, "too many requests for this subject; try again later")
        }
        AppError::Validation(fields) => DrpError::bad(
            fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => internal(other),
    }
}

/// `POST /v1/data-rights-request`.
pub async fn exercise(
    state: &AppState,
    header: Option<&str>,
    body: &[u8],
) -> Result<Value, DrpError> {
    let agent = authenticate(state, header).await?;
    let key = agent
        .key()
        .ok_or_else(|| DrpError::forbidden("the agent's directory key is unusable"))?;
    let v = verify::verify(body, &expect(state, &agent.id, &key))?;
    let ex = parse_exercise(state, &v)?;
    let now = state.clock.now();
    if !state
        .store
        .drp_remember_message(&v.digest, &agent.id, v.expires_at.unwrap_or(now), now)
        .await
        .map_err(internal)?
    {
        return Err(DrpError::new(
            409,
            "this signed request was received already (replay)",
        ));
    }
    match create(state, &agent, &v, ex).await {
        Ok(out) => Ok(out),
        Err(e) => {
            // Nothing was filed: the agent may send the same message again.
            let _ = state.store.drp_forget_message(&v.digest).await;
            Err(e)
        }
    }
}

async fn create(
    state: &AppState,
    agent: &DrpAgent,
    v: &Verified,
    ex: Exercise,
) -> Result<Value, DrpError> {
    let now = state.clock.now();
    let who = actor(&agent.id);
    // An opt-out needs no verification (CCPA regs. § 7026(d)): the agent's is honoured
    // for the identity it gives. Taking one back (`sale:opt_in`) is verified as usual:
    // done by someone else, it would take a protection away from the subject.
    let opt_out = ex.right == Right::SaleOptOut;
    let trusted = (state.config.drp.trust_agent_verification && ex.email_verified) || opt_out;
    let req = if trusted {
        workflow::create_staff_request(
            state,
            &who,
            StaffEntry {
                submission: ex.submission,
                received_at: now,
                verified_at: now,
                regime: ex.regime,
                verification_note: if opt_out && !ex.email_verified {
                    format!(
                        "opt-out from DRP agent {}: honoured for the identity given, no verification needed",
                        agent.id
                    )
                } else {
                    format!(
                        "email verified by DRP agent {} (email_verified claim; trust_agent_verification)",
                        agent.id
                    )
                },
            },
        )
        .await
        .map_err(app_error)?
    } else {
        crate::services::intake::submit_under(
            state,
            &ClientAddr(None),
            ex.submission,
            Some(ex.regime),
            // The protocol carries no language: the subject is written to in English.
            crate::domain::language::Language::En,
        )
        .await
        .map_err(app_error)?
    };
    let id = uuid::Uuid::new_v4().to_string();
    let claims_ct = state.keys.seal_at(
        Field::new("drp_requests", "claims_ct", &id),
        &Value::Object(v.claims.clone()).to_string(),
    );
    let drp = DrpRequest {
        id: id.clone(),
        agent_id: agent.id.clone(),
        request_id: req.id.clone(),
        request_ref: req.reference.clone(),
        exercise: ex.exercise.clone(),
        agent_request_id: ex.agent_request_id,
        drp_version: ex.drp_version,
        status_callback: ex.callback,
        claims_ct: Some(claims_ct),
        callback_digest: None,
        callback_at: None,
        created_at: now,
    };
    state
        .store
        .drp_insert_request(&drp)
        .await
        .map_err(internal)?;
    state
        .store
        .append_audit(&NewAudit {
            at: now,
            actor: who.name.clone(),
            action: "drp.request".into(),
            request_ref: Some(req.reference.clone()),
            client_addr: None,
            detail: json!({
                "agent": agent.id,
                "drp_request": id,
                "exercise": ex.exercise,
                "categories_only": ex.right == Right::AccessCategories,
                "identity_from_agent": trusted,
            }),
        })
        .await
        .map_err(internal)?;
    tracing::info!(reference = %req.reference, agent = %agent.id, exercise = %ex.exercise, "DRP request filed");
    // Opt-outs (and opt-ins) open with the identity in hand are carried out at once, once
    // the DRP request is stored (so its callbacks find it).
    let req = if trusted
        && req.status == Status::Open
        && crate::domain::optout::is_opt_out_kind(req.kind)
        && state
            .store
            .link_of(&req.id)
            .await
            .map_err(internal)?
            .is_none()
    {
        workflow::act(state, &who, &req.reference, StaffAction::Start)
            .await
            .map_err(app_error)?
    } else {
        req
    };
    Ok(status_object(state, &drp, &req))
}

/// The DRP request `request_id`, if this agent manages it: 404 unknown, 403 another agent's.
async fn owned(
    state: &AppState,
    agent: &DrpAgent,
    request_id: &str,
) -> Result<(DrpRequest, Request), DrpError> {
    if request_id.len() > 100 {
        return Err(DrpError::new(404, "no such data rights request"));
    }
    let drp = state
        .store
        .drp_request(request_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| DrpError::new(404, "no such data rights request"))?;
    if drp.agent_id != agent.id {
        return Err(DrpError::forbidden(
            "this data rights request is managed by another agent",
        ));
    }
    let req = state
        .store
        .request_by_reference(&drp.request_ref)
        .await
        .map_err(internal)?
        .ok_or_else(|| internal("a DRP request's Rightsdesk request is missing"))?;
    Ok((drp, req))
}

/// `GET /v1/data-rights-request/{request_id}`.
pub async fn status(
    state: &AppState,
    header: Option<&str>,
    request_id: &str,
) -> Result<Value, DrpError> {
    let agent = authenticate(state, header).await?;
    let (drp, req) = owned(state, &agent, request_id).await?;
    Ok(status_object(state, &drp, &req))
}

/// `DELETE /v1/data-rights-request/{request_id}`: a signed revoke; the request is
/// withdrawn (DRP `revoked`).
pub async fn revoke(
    state: &AppState,
    header: Option<&str>,
    request_id: &str,
    body: &[u8],
) -> Result<Value, DrpError> {
    let agent = authenticate(state, header).await?;
    let key = agent
        .key()
        .ok_or_else(|| DrpError::forbidden("the agent's directory key is unusable"))?;
    let v = verify::verify_revoke(body, &expect(state, &agent.id, &key))?;
    let reason = opt_text(&v.claims, "reason", 2000)?;
    let (drp, req) = owned(state, &agent, request_id).await?;
    if req.status == Status::Withdrawn {
        return Ok(status_object(state, &drp, &req));
    }
    if req.status.is_final() {
        return Err(DrpError::new(
            409,
            format!(
                "the request is already {}; it cannot be revoked",
                drp_status(&req).0
            ),
        ));
    }
    let now = state.clock.now();
    if let Some(x) = v.expires_at
        && !state
            .store
            .drp_remember_message(&v.digest, &agent.id, x, now)
            .await
            .map_err(internal)?
    {
        return Err(DrpError::new(
            409,
            "this signed request was received already (replay)",
        ));
    }
    let note = Some(match reason {
        Some(r) => format!("revoked through DRP agent {}: {r}", agent.id),
        None => format!("revoked through DRP agent {}", agent.id),
    });
    let next = workflow::act(
        state,
        &actor(&agent.id),
        &req.reference,
        StaffAction::Withdraw { note },
    )
    .await
    .map_err(|e| match e {
        AppError::Conflict { detail, .. } => DrpError::new(409, detail),
        other => internal(other),
    })?;
    Ok(status_object(state, &drp, &next))
}

/// The spec's `status` and `reason` for a request's state.
pub fn drp_status(req: &Request) -> (&'static str, Option<&'static str>) {
    match req.status {
        Status::AwaitingVerification => ("in_progress", Some("need_user_verification")),
        Status::Open | Status::InProgress | Status::Review | Status::OnHold => {
            ("in_progress", None)
        }
        Status::Completed => ("fulfilled", None),
        Status::Withdrawn => ("revoked", None),
        // Never confirmed in time: the spec's "need_user_verification stage timed out".
        Status::Expired => ("denied", Some("insuf_verification")),
        Status::Denied => ("denied", Some(deny_reason(req.deny_reason))),
    }
}

/// Our deny reasons in the spec's words.
pub fn deny_reason(r: Option<DenyReason>) -> &'static str {
    match r {
        Some(DenyReason::InsufficientVerification) => "insuf_verification",
        Some(DenyReason::NoMatch) => "no_match",
        // A repeat merged into the same person's open request: the spec's reason for a
        // request the business already has.
        Some(DenyReason::Excessive) | Some(DenyReason::Duplicate) => "too_many_requests",
        Some(DenyReason::OutsideJurisdiction) => "outside_jurisdiction",
        Some(DenyReason::LegalExemption) => "claim_not_covered",
        Some(DenyReason::ManifestlyUnfounded) | Some(DenyReason::Other) | None => "other",
    }
}

/// The end of `day` (23:59:59 in the deployment's zone), in UTC.
fn end_of_day(state: &AppState, day: NaiveDate) -> DateTime<Utc> {
    let tz = state.config.deadlines.timezone.0;
    let naive = day.and_hms_opt(23, 59, 59).unwrap_or_default();
    naive
        .and_local_timezone(tz)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| naive.and_utc())
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// When the request is due: its due date, or (not verified yet) the date it would have
/// from its receipt.
pub fn expected_by(state: &AppState, req: &Request) -> DateTime<Utc> {
    let due = req.due_date.unwrap_or_else(|| {
        let received = req
            .received_at
            .with_timezone(&state.config.deadlines.timezone.0)
            .date_naive();
        crate::domain::optout::due_date(
            &state.config.deadline_policy(Some(req.regime)),
            &state.config.regime_rules(req.regime),
            req.kind,
            received,
            received,
        )
    });
    end_of_day(state, due)
}

/// Where the agent sends the subject to confirm (spec 3.02.1): our page, which explains
/// the link we emailed; the link itself goes only to the subject.
pub fn user_verification_url(state: &AppState, drp: &DrpRequest) -> String {
    crate::services::notify::link(
        state,
        &format!("{}/verify/{}", state.config.drp.base(), drp.id),
    )
}

/// The spec's status object for a request, from its real state and due date.
pub fn status_object(state: &AppState, drp: &DrpRequest, req: &Request) -> Value {
    let (status, reason) = drp_status(req);
    let mut o = Map::new();
    o.insert("request_id".into(), drp.id.clone().into());
    if let Some(a) = &drp.agent_request_id {
        o.insert("agent_request_id".into(), a.clone().into());
    }
    o.insert("received_at".into(), rfc3339(req.received_at).into());
    o.insert("status".into(), status.into());
    if let Some(r) = reason {
        o.insert("reason".into(), r.into());
    }
    if status == "in_progress" {
        o.insert(
            "expected_by".into(),
            rfc3339(expected_by(state, req)).into(),
        );
    }
    let details: Option<String> = match req.status {
        Status::AwaitingVerification => Some(
            "We emailed the subject a link to confirm this request; work starts once it is confirmed."
                .into(),
        ),
        Status::OnHold => Some("On hold; the privacy team will continue it.".into()),
        Status::Completed if req.kind == Kind::Access => Some(
            "Completed; the subject was emailed a link to download their data.".into(),
        ),
        Status::Completed => Some("Completed.".into()),
        Status::Denied => Some(
            req.deny_note
                .clone()
                .unwrap_or_else(|| "Refused.".into()),
        ),
        _ if req.extended => req
            .extension_reason
            .as_ref()
            .map(|r| format!("The due date was extended: {r}")),
        _ => None,
    };
    if let Some(d) = details {
        o.insert("processing_details".into(), d.into());
    }
    if req.status == Status::AwaitingVerification {
        o.insert(
            "user_verification_url".into(),
            user_verification_url(state, drp).into(),
        );
        let until = req.received_at + state.config.deadlines.unverified_expire.chrono();
        o.insert("expires_at".into(), rfc3339(until).into());
    } else if let Some(closed) = req.closed_at {
        let kept = closed + state.config.retention_own.closed_request_pii.chrono();
        o.insert("expires_at".into(), rfc3339(kept).into());
    }
    Value::Object(o)
}

/// A digest of what the agent would be told, to send each change once.
pub fn digest(status: &Value) -> String {
    crate::crypto::sha256_hex(status.to_string().as_bytes())
}

/// Suspend or reinstate an agent (admin).
pub async fn set_suspended(
    state: &AppState,
    who: &str,
    client: Option<String>,
    agent_id: &str,
    suspend: bool,
) -> Result<bool, AppError> {
    let now = state.clock.now();
    let audit = NewAudit {
        at: now,
        actor: who.to_string(),
        action: if suspend {
            "drp.agent.suspended".into()
        } else {
            "drp.agent.reinstated".into()
        },
        request_ref: None,
        client_addr: client,
        detail: json!({ "agent": agent_id }),
    };
    Ok(state
        .store
        .drp_suspend_agent(
            agent_id,
            suspend.then_some(now),
            suspend.then_some(who),
            &audit,
        )
        .await?)
}

/// A short wait the callback job gives an agent that did not answer 2xx.
pub fn callback_timeout() -> std::time::Duration {
    std::time::Duration::from_secs(10)
}

/// For the staff queue: reference -> agent id of the page's requests (by reference) that
/// an agent filed (one query for the page).
pub async fn agents_of(
    state: &AppState,
    references: &[String],
) -> Result<std::collections::BTreeMap<String, String>, AppError> {
    Ok(state
        .store
        .drp_requests_of(references)
        .await?
        .into_iter()
        .map(|d| (d.request_ref, d.agent_id))
        .collect())
}

/// For the case page: the DRP requests this request carries out, with their agent.
pub async fn case_view(state: &AppState, req: &Request) -> Result<Vec<Value>, AppError> {
    let mut out = Vec::new();
    for d in state
        .store
        .drp_requests_of(std::slice::from_ref(&req.reference))
        .await?
    {
        let agent = state.store.drp_agent(&d.agent_id).await?;
        out.push(json!({
            "agent": d.agent_id,
            "agent_name": agent.as_ref().map(|a| a.name.clone()).unwrap_or_default(),
            "suspended": agent.as_ref().is_some_and(|a| a.suspended_at.is_some()),
            "exercise": d.exercise,
            "request_id": d.id,
            "agent_request_id": d.agent_request_id,
            "callback": d.status_callback.is_some(),
            "callback_at": d.callback_at.map(rfc3339),
        }));
    }
    Ok(out)
}
