//! Opt-outs forwarded by the company's site (issue 21 item 5), and taking an opt-out back
//! from its status link (`opt_in`).
//!
//! The site forwards a Global Privacy Control signal (or an opt-out its signed-in user
//! chose) with a `site` token: the site vouches for the identity, so the request starts
//! `open` with its clock running and is carried out at once. Each signal becomes, or
//! joins, one `opt_out_sale` (or `limit_sensitive`) request per identity: an open one of
//! the same kind, or the completed one whose entry is still on the suppression list.

use serde_json::json;

use crate::app::context::AppState;
use crate::domain::client::ClientAddr;
use crate::domain::identity::SubjectEmail;
use crate::domain::optout::OptOutScope;
use crate::domain::request::{Kind, Source, Status};
use crate::error::{AppError, FieldError};
use crate::services::workflow::{self, Actor, StaffAction, StaffEntry, Submission};
use crate::store::{NewAudit, Request};

/// Where a forwarded opt-out came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalSource {
    /// The browser sent `Sec-GPC: 1` (Global Privacy Control).
    Gpc,
    /// The signed-in user chose the opt-out on the company's site.
    Site,
}

impl SignalSource {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "gpc" => Some(Self::Gpc),
            "site" => Some(Self::Site),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Gpc => "gpc",
            Self::Site => "site",
        }
    }
}

/// A forwarded opt-out, checked.
#[derive(Debug, Clone)]
pub struct Signal {
    pub kind: Kind,
    pub email: SubjectEmail,
    pub source: SignalSource,
    pub residence: Option<String>,
}

impl Signal {
    /// Check what the site sent: an address (`email`, or `identifiers.email`), the
    /// source, and optionally the kind (`opt_out_sale`, the default, or
    /// `limit_sensitive`) and residence.
    pub fn parse(
        kind: Option<Kind>,
        email: Option<&str>,
        identifier_email: Option<&str>,
        source: &str,
        residence: Option<&str>,
    ) -> Result<Self, AppError> {
        let mut errors = Vec::new();
        let kind = kind.unwrap_or(Kind::OptOutSale);
        if OptOutScope::of_opt_out(kind).is_none() {
            errors.push(FieldError::new(
                "kind",
                "a forwarded opt-out is opt_out_sale or limit_sensitive",
            ));
        }
        let (field, text) = match (email, identifier_email) {
            (Some(e), None) => ("email", Some(e)),
            (None, Some(e)) => ("identifiers.email", Some(e)),
            (Some(_), Some(_)) => {
                errors.push(FieldError::new(
                    "email",
                    "give the address once: email or identifiers.email",
                ));
                ("email", None)
            }
            (None, None) => {
                errors.push(FieldError::new(
                    "email",
                    "give the subject's address (email or identifiers.email)",
                ));
                ("email", None)
            }
        };
        let email = text.and_then(|t| match SubjectEmail::parse(t) {
            Ok(e) => Some(e),
            Err(e) => {
                errors.push(FieldError::new(field, e.to_string()));
                None
            }
        });
        let source = SignalSource::parse(source);
        if source.is_none() {
            errors.push(FieldError::new("source", "expected gpc or site"));
        }
        let residence = match residence.map(str::trim) {
            None | Some("") => None,
            Some(r) => match crate::domain::regime::parse_residence(r) {
                Ok(r) => Some(r),
                Err(e) => {
                    errors.push(FieldError::new("residence", e.to_string()));
                    None
                }
            },
        };
        match (email, source) {
            (Some(email), Some(source)) if errors.is_empty() => Ok(Self {
                kind,
                email,
                source,
                residence,
            }),
            _ => Err(AppError::Validation(errors)),
        }
    }
}

/// What a forwarded signal did.
#[derive(Debug, Clone)]
pub struct Forwarded {
    pub request: Request,
    /// It joined a request that already covers the identity (nothing new was created).
    pub joined: bool,
}

/// Take a forwarded opt-out: join the identity's open request of the kind, or the
/// completed one still in force, else create one (open, started at once).
pub async fn forward(
    state: &AppState,
    actor: &Actor,
    signal: Signal,
) -> Result<Forwarded, AppError> {
    let scope = OptOutScope::of_opt_out(signal.kind)
        .ok_or_else(|| AppError::field("kind", "not an opt-out"))?;
    let index = state.keys.blind_index(signal.email.expose());
    let existing = match state
        .store
        .earlier_open_request(&index, signal.kind, "")
        .await?
    {
        Some(r) => Some(r),
        None => {
            let hash = crate::services::suppression::hash_of(state, &signal.email).await?;
            match state.store.suppressed_by(&hash, scope.code()).await? {
                Some(reference) => Some(workflow::load(state, &reference).await?),
                None => None,
            }
        }
    };
    if let Some(request) = existing {
        state
            .store
            .append_audit(&NewAudit {
                at: state.clock.now(),
                actor: actor.name.clone(),
                action: "optout.joined".into(),
                request_ref: Some(request.reference.clone()),
                client_addr: actor.client_addr.clone(),
                detail: json!({ "source": signal.source.code(), "kind": signal.kind }),
            })
            .await?;
        tracing::info!(reference = %request.reference, source = signal.source.code(), "forwarded opt-out joined its request");
        return Ok(Forwarded {
            request,
            joined: true,
        });
    }
    let now = state.clock.now();
    let regime = state.config.regime_for(signal.residence.as_deref());
    let source_words = match signal.source {
        SignalSource::Gpc => "a Global Privacy Control signal",
        SignalSource::Site => "an opt-out chosen on the company's site",
    };
    let entry = StaffEntry {
        submission: Submission {
            kind: signal.kind,
            email: signal.email,
            name: None,
            details: None,
            corrections: None,
            scope: None,
            residence: signal.residence,
            recipients_requested: false,
        },
        received_at: now,
        verified_at: now,
        regime,
        verification_note: format!(
            "{source_words}, forwarded by the company's site for its signed-in user ({})",
            actor.name
        ),
    };
    let req = workflow::create_open_request(
        state,
        actor,
        entry,
        Source::Subject,
        &format!("forwarded by the company's site: {source_words}"),
    )
    .await?;
    tracing::info!(reference = %req.reference, source = signal.source.code(), "forwarded opt-out received");
    let req = if req.status == Status::Open {
        workflow::act(state, &Actor::system(), &req.reference, StaffAction::Start).await?
    } else {
        req
    };
    Ok(Forwarded {
        request: req,
        joined: false,
    })
}

/// What "take back my opt-out" on a status page did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptIn {
    /// An opt-out still being worked on was withdrawn.
    Withdrawn,
    /// An `opt_in` request was made and started (its reference).
    Requested(String),
    /// Nothing to take back (not an opt-out, or no longer in force).
    Nothing,
}

/// Whether the status page of `req` offers "take back my opt-out".
pub async fn can_opt_in(state: &AppState, req: &Request) -> Result<bool, AppError> {
    if OptOutScope::of_opt_out(req.kind).is_none() {
        return Ok(false);
    }
    crate::services::suppression::in_force(state, req).await
}

/// The subject takes their opt-out back from its status link: one still being worked on
/// is withdrawn; a completed one gets an `opt_in` request (the status link proves the
/// mailbox, so it starts open and runs at once), which reverses the declared columns and
/// takes the address off the list for that scope when it completes.
pub async fn opt_in_from_status(
    state: &AppState,
    client: &ClientAddr,
    token: &str,
) -> Result<OptIn, AppError> {
    let req = crate::services::intake::request_for_status_link(state, token).await?;
    if !can_opt_in(state, &req).await? {
        return Ok(OptIn::Nothing);
    }
    let Some(scope) = OptOutScope::of_opt_out(req.kind) else {
        return Ok(OptIn::Nothing);
    };
    let actor = Actor {
        name: "subject".into(),
        client_addr: client.text(),
    };
    if !req.status.is_final() {
        workflow::act(
            state,
            &actor,
            &req.reference,
            StaffAction::Withdraw {
                note: Some("withdrawn by the subject from the status page".into()),
            },
        )
        .await?;
        return Ok(OptIn::Withdrawn);
    }
    let email_ct = req.email_ct.as_deref().ok_or(AppError::Gone)?;
    let email = state
        .keys
        .open_at(crate::crypto::Field::request("email_ct", &req.id), email_ct)
        .map_err(|e| AppError::Internal(format!("request {}: {e}", req.reference)))?;
    let email = SubjectEmail::parse(&email).map_err(|e| {
        AppError::Internal(format!("request {}: stored address: {e}", req.reference))
    })?;
    // One opt-in at a time: a repeated click joins the one under way.
    let index = state.keys.blind_index(email.expose());
    if let Some(open) = state
        .store
        .earlier_open_request(&index, Kind::OptIn, "")
        .await?
        && open.scope.as_deref() == Some(scope.code())
    {
        return Ok(OptIn::Requested(open.reference));
    }
    let now = state.clock.now();
    let entry = StaffEntry {
        submission: Submission {
            kind: Kind::OptIn,
            email,
            name: None,
            details: None,
            corrections: None,
            scope: Some(scope.code().to_string()),
            residence: req.residence.clone(),
            recipients_requested: false,
        },
        received_at: now,
        verified_at: now,
        regime: req.regime,
        verification_note: format!(
            "asked from the status link of {}, which only the subject's mailbox received",
            req.reference
        ),
    };
    let opt_in = workflow::create_open_request(
        state,
        &actor,
        entry,
        Source::Subject,
        &format!(
            "the subject takes back the opt-out {} from its status link",
            req.reference
        ),
    )
    .await?;
    let opt_in = if opt_in.status == Status::Open {
        workflow::act(
            state,
            &Actor::system(),
            &opt_in.reference,
            StaffAction::Start,
        )
        .await?
    } else {
        opt_in
    };
    tracing::info!(reference = %opt_in.reference, opt_out = %req.reference, "opt-out taken back");
    Ok(OptIn::Requested(opt_in.reference))
}
