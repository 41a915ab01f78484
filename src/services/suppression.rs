//! Objection scopes and the suppression list (issue 20 item 1).
//!
//! A marketing objection is absolute (GDPR art. 21(3)): it is never refused or put on
//! hold, it starts as soon as the address is confirmed and completes as soon as every
//! connector confirms. Every completed objection and erasure leaves an entry on the
//! suppression list: a keyed hash of the subject's canonical address (the same
//! canonical form as the blind index: a case variant is the same person, an accent
//! variant is not) and the scope. The list outlives the request's personal data; the
//! product asks it in batches (`check`) or takes the hashes (`export`) and hashes its
//! own lists with the list key (recipe in [`RECIPE`]).

use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use serde_json::json;
use sha2::Sha256;
use utoipa::ToSchema;

use crate::app::context::AppState;
use crate::crypto::Field;
use crate::domain::client::ClientAddr;
use crate::domain::identity::SubjectEmail;
use crate::domain::objection::ObjectionScope;
use crate::domain::optout::{OptOutScope, is_opt_out_kind};
use crate::domain::request::{DenyReason, Kind, Status};
use crate::error::{AppError, FieldError};
use crate::secret::Secret;
use crate::services::workflow::{Actor, StaffAction};
use crate::store::{Event, NewAudit, Request, SUPPRESSION_BATCH, Suppression};

/// At most this many addresses per check.
pub const CHECK_LIMIT: usize = 10_000;

/// The scope an erasure puts on the list: the person asked to be forgotten.
pub const ERASURE_SCOPE: &str = "erasure";

/// How the list's hashes are made, for the product to hash its own addresses.
pub const RECIPE: &str = "hash = lowercase hex of HMAC-SHA256(key, canonical address), \
    key = the 32 bytes whose hex GET /api/v1/suppressions/key gives (admin), \
    canonical address = the address trimmed, Unicode NFC, lower-cased (full Unicode lower case), \
    NFC again; an internationalised domain in Unicode (an A-label xn-- domain turned back into Unicode)";

// ---- scopes ----

/// Check the `scope` (and `processing`) of a submission: only objections carry one, and
/// it is one of the known scopes. Returns the stored text.
pub fn parse_scope(
    kind: Kind,
    scope: Option<&str>,
    processing: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let scope = scope.map(str::trim).filter(|s| !s.is_empty());
    let processing = processing.map(str::trim).filter(|s| !s.is_empty());
    match scope {
        // An opt-in takes back the opt-out of sale and sharing unless it names another.
        None if kind == Kind::OptIn && processing.is_none() => {
            Some(OptOutScope::Sale.code().to_string())
        }
        None => {
            if processing.is_some() {
                errors.push(FieldError::new(
                    "processing",
                    "only an objection to a named processing (scope processing) names one",
                ));
            }
            None
        }
        Some(s) if kind == Kind::OptIn => match OptOutScope::parse(s) {
            Some(sc) if processing.is_none() => Some(sc.code().to_string()),
            Some(_) => {
                errors.push(FieldError::new(
                    "processing",
                    "only an objection to a named processing (scope processing) names one",
                ));
                None
            }
            None => {
                errors.push(FieldError::new(
                    "scope",
                    "the opt-out taken back is sale or sensitive",
                ));
                None
            }
        },
        Some(_) if kind != Kind::Objection => {
            errors.push(FieldError::new(
                "scope",
                "only an objection (or an opt_in: sale or sensitive) carries a scope",
            ));
            None
        }
        Some(s) => match ObjectionScope::parse(s, processing) {
            Ok(sc) => Some(sc.to_stored()),
            Err((field, e)) => {
                errors.push(FieldError::new(field, e.to_string()));
                None
            }
        },
    }
}

/// The scope of an objection (`None` for other kinds, or an objection without one).
pub fn objection_scope(req: &Request) -> Option<ObjectionScope> {
    (req.kind == Kind::Objection)
        .then_some(req.scope.as_deref())
        .flatten()
        .map(ObjectionScope::from_stored)
}

/// A marketing objection: never refused, never held.
pub fn is_absolute(req: &Request) -> bool {
    objection_scope(req).is_some_and(|s| s.is_absolute())
}

/// Whether the request starts by itself once the subject confirmed the address:
/// configured kinds, marketing objections, and opt-outs (and taking one back), which
/// need nothing from staff.
pub fn auto_starts(state: &AppState, req: &Request) -> bool {
    state.config.workflow.auto_start.contains(&req.kind)
        || is_absolute(req)
        || is_opt_out_kind(req.kind)
}

/// Whether the request completes by itself once every task succeeded.
pub fn auto_completes(state: &AppState, req: &Request) -> bool {
    state.config.workflow.auto_complete.contains(&req.kind)
        || is_absolute(req)
        || is_opt_out_kind(req.kind)
}

/// Refuse what the law does not allow for a marketing objection: a refusal (other than
/// merging it into an earlier duplicate) or a hold. An opt-out (or opt-in) is never put
/// on hold and is refused only as a duplicate or as believed fraudulent
/// (`manifestly_unfounded`, with the note telling the subject why; CCPA regs.
/// § 7026(e)): never for want of verification.
pub fn guard(req: &Request, act: &StaffAction) -> Result<(), AppError> {
    if is_opt_out_kind(req.kind) {
        let what = match act {
            StaffAction::Deny { reason, .. }
                if !matches!(
                    reason,
                    DenyReason::Duplicate | DenyReason::ManifestlyUnfounded
                ) =>
            {
                "refused for this reason"
            }
            StaffAction::Hold { .. } => "put on hold",
            StaffAction::Deny {
                reason: DenyReason::ManifestlyUnfounded,
                note,
            } if note.as_deref().is_none_or(|n| n.trim().is_empty()) => {
                return Err(AppError::field(
                    "note",
                    "say why the opt-out is believed fraudulent: the subject is told",
                ));
            }
            _ => return Ok(()),
        };
        return Err(AppError::Conflict {
            detail: format!(
                "an opt-out cannot be {what}: it needs no verification beyond the address, and may be refused only as a duplicate or as believed fraudulent (manifestly_unfounded, saying why)"
            ),
            current_status: Some(req.status.to_string()),
        });
    }
    if !is_absolute(req) {
        return Ok(());
    }
    let what = match act {
        StaffAction::Deny { reason, .. } if *reason != DenyReason::Duplicate => "refused",
        StaffAction::Hold { .. } => "put on hold",
        _ => return Ok(()),
    };
    Err(AppError::Conflict {
        detail: format!(
            "an objection to direct marketing cannot be {what} (GDPR art. 21(3)): it is carried out as soon as the connectors confirm"
        ),
        current_status: Some(req.status.to_string()),
    })
}

// ---- the list key and hashes ----

const KEY_ID: &str = "v1";

/// The list's HMAC key: made on first use (32 random bytes sealed under the deployment
/// key), then read back, and kept in memory from then on.
async fn list_key(state: &AppState) -> Result<Secret<[u8; 32]>, AppError> {
    state
        .suppression_key
        .get_or_try_init(|| stored_list_key(state))
        .await
        .cloned()
}

async fn stored_list_key(state: &AppState) -> Result<Secret<[u8; 32]>, AppError> {
    let at = Field::new("suppression_keys", "key_ct", KEY_ID);
    let sealed = match state.store.suppression_key().await? {
        Some(sealed) => sealed,
        None => {
            let fresh: [u8; 32] = rand::random();
            let sealed = state.keys.seal_at(at, &hex::encode(fresh));
            state
                .store
                .insert_suppression_key(&sealed, state.clock.now())
                .await?;
            // Read back: another replica may have stored its key first.
            state.store.suppression_key().await?.ok_or_else(|| {
                AppError::Internal("the suppression list key was not stored".into())
            })?
        }
    };
    let hex_key = state
        .keys
        .open_at(at, &sealed)
        .map_err(|e| AppError::Internal(format!("suppression list key: {e}")))?;
    let bytes: [u8; 32] = hex::decode(hex_key.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| AppError::Internal("the suppression list key is malformed".into()))?;
    Ok(Secret::new(bytes))
}

/// The list's hash of a canonical address.
fn address_hash(key: &[u8; 32], canonical: &str) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(canonical.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The list key in hex, for the product to hash its own lists (admin only; audited by
/// the caller).
pub async fn key_hex(state: &AppState) -> Result<String, AppError> {
    Ok(hex::encode(list_key(state).await?.expose()))
}

// ---- adding, checking, exporting, lifting ----

/// After a request completed: an objection or an erasure puts its subject on the list
/// (the entry returned, stored in the completion's own transaction: never a completion
/// without its entry, nor an entry without its completion; adding twice is harmless);
/// an opt-in takes the subject off it. Called before the completion is stored.
pub async fn on_completed(
    state: &AppState,
    req: &Request,
) -> Result<Option<Suppression>, AppError> {
    if req.kind == Kind::OptIn {
        opted_in(state, req).await?;
        return Ok(None);
    }
    let (scope, processing) = match req.kind {
        Kind::Objection => match objection_scope(req) {
            Some(s) => (s.code().to_string(), s.processing().map(str::to_string)),
            None => ("processing".to_string(), None),
        },
        Kind::Erasure => (ERASURE_SCOPE.to_string(), None),
        Kind::OptOutSale | Kind::LimitSensitive => match OptOutScope::of_opt_out(req.kind) {
            Some(s) => (s.code().to_string(), None),
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    let Some(hash) = subject_hash(state, req).await? else {
        return Ok(None);
    };
    Ok(Some(Suppression {
        id: 0,
        address_hash: hash,
        scope,
        processing,
        request_id: req.id.clone(),
        added_at: state.clock.now(),
    }))
}

/// The list's hash of a request's subject (`None` once the identity is wiped).
async fn subject_hash(state: &AppState, req: &Request) -> Result<Option<String>, AppError> {
    let Some(email_ct) = &req.email_ct else {
        return Ok(None);
    };
    let email = state
        .keys
        .open_at(Field::request("email_ct", &req.id), email_ct)
        .map_err(|e| AppError::Internal(format!("request {}: {e}", req.reference)))?;
    let email = SubjectEmail::parse(&email).map_err(|e| {
        AppError::Internal(format!("request {}: stored address: {e}", req.reference))
    })?;
    let key = list_key(state).await?;
    Ok(Some(address_hash(key.expose(), email.expose())))
}

/// The list's hash of an address (for looking up an identity's opt-outs).
pub async fn hash_of(state: &AppState, email: &SubjectEmail) -> Result<String, AppError> {
    let key = list_key(state).await?;
    Ok(address_hash(key.expose(), email.expose()))
}

/// A completed `opt_in`: the subject's entries of the scope it takes back leave the
/// list (whichever opt-out request put them there), with an event on the opt-in and an
/// audit entry naming its reference only.
async fn opted_in(state: &AppState, req: &Request) -> Result<(), AppError> {
    let scope = OptOutScope::of_opt_in(req.scope.as_deref());
    let Some(hash) = subject_hash(state, req).await? else {
        return Ok(());
    };
    let now = state.clock.now();
    let event = Event {
        at: now,
        actor: "system".into(),
        action: "opted_in".into(),
        from_status: Some(req.status),
        to_status: req.status,
        note: Some(format!(
            "the opt-out ({}) was taken back; taken off the suppression list",
            scope.code()
        )),
    };
    let audit = NewAudit {
        at: now,
        actor: "system".into(),
        action: "suppression.lifted".into(),
        request_ref: Some(req.reference.clone()),
        client_addr: None,
        detail: json!({ "scope": scope.code() }),
    };
    let lifted = state
        .store
        .lift_suppressions_of(&hash, scope.code(), &req.id, &event, &audit)
        .await?;
    tracing::info!(reference = %req.reference, scope = scope.code(), entries = lifted, "opt-out taken back; suppression lifted");
    Ok(())
}

/// One suppressed address of a check.
#[derive(Debug, Serialize, ToSchema)]
pub struct Suppressed {
    /// The address as the caller sent it.
    pub email: String,
    /// `marketing`, `profiling`, `processing` (see `processing`) or `erasure`.
    pub scopes: Vec<String>,
    /// The processings named by objections with scope `processing`.
    pub processing: Vec<String>,
}

/// What a check answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckResult {
    /// Only the suppressed addresses, in the order sent.
    pub suppressed: Vec<Suppressed>,
    /// Addresses that are not email addresses (not checked).
    pub invalid: Vec<String>,
}

/// Which of `emails` are on the list. Audited with counts only.
pub async fn check(
    state: &AppState,
    actor: &Actor,
    emails: Vec<String>,
) -> Result<CheckResult, AppError> {
    if emails.len() > CHECK_LIMIT {
        return Err(AppError::field(
            "emails",
            format!("at most {CHECK_LIMIT} addresses per check"),
        ));
    }
    let key = list_key(state).await?;
    // Parsing and hashing 10,000 addresses is CPU work: off the async threads.
    let hashed = tokio::task::spawn_blocking(move || {
        let mut seen = std::collections::HashSet::new();
        let mut out: Vec<(String, Option<String>)> = Vec::new();
        for e in emails {
            if !seen.insert(e.clone()) {
                continue;
            }
            let h = SubjectEmail::parse(&e)
                .ok()
                .map(|s| address_hash(key.expose(), s.expose()));
            out.push((e, h));
        }
        out
    })
    .await
    .map_err(|e| AppError::Internal(format!("suppression check: {e}")))?;
    let mut hashes: Vec<String> = hashed.iter().filter_map(|(_, h)| h.clone()).collect();
    hashes.sort();
    hashes.dedup();
    let mut found: std::collections::HashMap<String, Vec<Suppression>> = Default::default();
    for chunk in hashes.chunks(SUPPRESSION_BATCH) {
        for s in state.store.suppressions_for(chunk).await? {
            found.entry(s.address_hash.clone()).or_default().push(s);
        }
    }
    let mut result = CheckResult {
        suppressed: Vec::new(),
        invalid: Vec::new(),
    };
    for (email, h) in hashed {
        let Some(h) = h else {
            result.invalid.push(email);
            continue;
        };
        if let Some(entries) = found.get(&h) {
            let mut scopes: Vec<String> = entries.iter().map(|s| s.scope.clone()).collect();
            scopes.sort();
            scopes.dedup();
            let mut processing: Vec<String> = entries
                .iter()
                .filter_map(|s| s.processing.clone())
                .collect();
            processing.sort();
            processing.dedup();
            result.suppressed.push(Suppressed {
                email,
                scopes,
                processing,
            });
        }
    }
    state
        .store
        .append_audit(&NewAudit {
            at: state.clock.now(),
            actor: actor.name.clone(),
            action: "suppression.check".into(),
            request_ref: None,
            client_addr: actor.client_addr.clone(),
            detail: json!({
                "checked": hashes.len(),
                "suppressed": result.suppressed.len(),
                "invalid": result.invalid.len(),
            }),
        })
        .await?;
    Ok(result)
}

/// Entries read per page of an export.
pub const EXPORT_PAGE: i64 = 1000;

/// One page of the list for an export, after entry id `after`.
pub async fn export_page(state: &AppState, after: i64) -> Result<Vec<Suppression>, AppError> {
    Ok(state.store.suppressions_after(after, EXPORT_PAGE).await?)
}

/// What withdrawing from a status page did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withdrawal {
    /// An objection still being worked on was withdrawn.
    RequestWithdrawn,
    /// A completed objection's entries were taken off the list.
    Lifted,
    /// Nothing to withdraw (not an objection, or already withdrawn).
    Nothing,
}

/// Whether the status page offers "withdraw my objection".
pub async fn can_withdraw(state: &AppState, req: &Request) -> Result<bool, AppError> {
    if req.kind != Kind::Objection {
        return Ok(false);
    }
    in_force(state, req).await
}

/// Whether what `req` asked (an objection, an opt-out) still stands and may be taken
/// back: still being worked on, or completed with entries on the suppression list.
pub async fn in_force(state: &AppState, req: &Request) -> Result<bool, AppError> {
    if req.status == Status::Completed {
        return Ok(!state
            .store
            .suppressions_of_request(&req.id)
            .await?
            .is_empty());
    }
    Ok(!req.status.is_final())
}

/// The subject withdraws their objection from the status link: an objection still open
/// is withdrawn; a completed one's entries leave the suppression list (event and audit
/// entry name the reference only).
pub async fn withdraw_objection(
    state: &AppState,
    client: &ClientAddr,
    token: &str,
) -> Result<Withdrawal, AppError> {
    let req = crate::services::intake::request_for_status_link(state, token).await?;
    if !can_withdraw(state, &req).await? {
        return Ok(Withdrawal::Nothing);
    }
    let actor = Actor {
        name: "subject".into(),
        client_addr: client.text(),
    };
    if !req.status.is_final() {
        crate::services::workflow::act(
            state,
            &actor,
            &req.reference,
            StaffAction::Withdraw {
                note: Some("withdrawn by the subject from the status page".into()),
            },
        )
        .await?;
        return Ok(Withdrawal::RequestWithdrawn);
    }
    let now = state.clock.now();
    let event = Event {
        at: now,
        actor: actor.name.clone(),
        action: "objection_withdrawn".into(),
        from_status: Some(req.status),
        to_status: req.status,
        note: Some("the subject withdrew the objection; taken off the suppression list".into()),
    };
    let audit = NewAudit {
        at: now,
        actor: actor.name.clone(),
        action: "suppression.lifted".into(),
        request_ref: Some(req.reference.clone()),
        client_addr: actor.client_addr.clone(),
        detail: json!({ "scope": objection_scope(&req).map(|s| s.code()) }),
    };
    let lifted = state
        .store
        .lift_suppressions(&req.id, &event, &audit)
        .await?;
    tracing::info!(reference = %req.reference, entries = lifted, "objection withdrawn; suppression lifted");
    Ok(if lifted > 0 {
        Withdrawal::Lifted
    } else {
        Withdrawal::Nothing
    })
}
