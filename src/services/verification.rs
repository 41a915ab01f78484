//! Identity proofing beyond the emailed link (issue 12). For the kinds in
//! `[verification] extra_for`, a verified request does not fan out until its identity
//! check is `confirmed`: by a connector finding the value the subject gave on the row of
//! their address (`account_field`), or by staff recording how they verified
//! (`staff_review`). A request whose address matches nothing in any connector is flagged
//! `no_match` for staff. The subject is never told which part of a check failed.

use chrono::Utc;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::app::context::AppState;
use crate::config::VerificationMethod;
use crate::connectors::Identity;
use crate::domain::request::Kind;
use crate::error::{AppError, FieldError};
use crate::store::{IdentityCheck, NewAudit, Request};

pub const NEEDED: &str = "needed";
pub const CONFIRMED: &str = "confirmed";
pub const FAILED: &str = "failed";
pub const NO_MATCH: &str = "no_match";

/// The intake field that carries the value for `account_field`.
pub const FIELD: &str = "account_value";

/// Whether `kind` needs more than the emailed link. Opt-outs (and taking one back) never
/// do: they are honoured for the address given, whatever `extra_for` lists.
pub fn needs_extra(state: &AppState, kind: Kind) -> bool {
    state.config.verification.extra_for.contains(&kind)
        && !crate::domain::optout::is_opt_out_kind(kind)
}

/// At intake: for `account_field` kinds the value is required (at most 200 characters).
pub fn check_field(state: &AppState, kind: Kind, value: Option<&str>) -> Result<(), AppError> {
    if !needs_extra(state, kind)
        || state.config.verification.method != VerificationMethod::AccountField
    {
        return Ok(());
    }
    let label = if state.config.verification.field_label.is_empty() {
        "this value"
    } else {
        state.config.verification.field_label.as_str()
    };
    match value.map(str::trim) {
        Some(v)
            if !v.is_empty() && v.chars().count() <= 200 && !v.chars().any(char::is_control) =>
        {
            Ok(())
        }
        _ => Err(AppError::Validation(vec![FieldError::new(
            FIELD,
            format!("{label} is needed for this kind of request (up to 200 characters)"),
        )])),
    }
}

/// At intake, after the request is stored: remember the method and the value given.
pub async fn record_intake(
    state: &AppState,
    req: &Request,
    value: Option<&str>,
) -> Result<(), AppError> {
    if !needs_extra(state, req.kind) {
        return Ok(());
    }
    let method = state.config.verification.method;
    let proof_ct = match method {
        VerificationMethod::AccountField => value.map(|v| {
            state.keys.seal_at(
                crate::crypto::Field::new("identity_checks", "proof_ct", &req.id),
                v.trim(),
            )
        }),
        VerificationMethod::StaffReview => None,
    };
    state
        .store
        .put_identity_check(&IdentityCheck {
            request_id: req.id.clone(),
            method: method.as_str().into(),
            state: NEEDED.into(),
            proof_ct,
            note_ct: None,
            checked_by: None,
            checked_at: None,
            created_at: state.clock.now(),
        })
        .await?;
    Ok(())
}

/// After the subject used the emailed link: run the account check where configured.
/// `true` when the request may fan out now.
pub async fn after_verify(state: &AppState, req: &Request) -> Result<bool, AppError> {
    let Some(mut check) = state.store.identity_check(&req.id).await? else {
        return Ok(true);
    };
    if check.state == CONFIRMED {
        return Ok(true);
    }
    if check.method != VerificationMethod::AccountField.as_str() {
        return Ok(false);
    }
    let outcome = match_account(state, req, &check).await?;
    check.state = outcome.into();
    check.checked_by = Some("connector".into());
    check.checked_at = Some(state.clock.now());
    state.store.put_identity_check(&check).await?;
    audit(
        state,
        req,
        "identity.check",
        "system",
        json!({ "state": outcome }),
    )
    .await?;
    tracing::info!(reference = %req.reference, state = outcome, "identity check");
    Ok(outcome == CONFIRMED)
}

/// Constant-time comparison of the given value with a stored one (trimmed; numbers as
/// their text).
fn same_value(given: &str, stored: &serde_json::Value) -> bool {
    let stored = match stored {
        serde_json::Value::String(s) => s.trim().to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return false,
    };
    crate::crypto::constant_time_eq(given.trim().as_bytes(), stored.as_bytes())
}

async fn match_account(
    state: &AppState,
    req: &Request,
    check: &IdentityCheck,
) -> Result<&'static str, AppError> {
    let field = &state.config.verification.verify_field;
    let mut parts = field.splitn(3, '.');
    let (Some(conn), Some(table), Some(column)) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(NEEDED);
    };
    let decrypt = |ct: &Option<String>| {
        ct.as_deref()
            .map(|c| {
                state.keys.open_at(
                    crate::crypto::Field::new("identity_checks", "proof_ct", &req.id),
                    c,
                )
            })
            .transpose()
            .map_err(|e| AppError::Internal(format!("request {}: {e}", req.reference)))
    };
    let email = req
        .email_ct
        .as_deref()
        .map(|c| {
            state
                .keys
                .open_at(crate::crypto::Field::request("email_ct", &req.id), c)
        })
        .transpose()
        .map_err(|e| AppError::Internal(format!("request {}: {e}", req.reference)))?;
    let (Some(email), Some(given)) = (email, decrypt(&check.proof_ct)?) else {
        return Ok(FAILED);
    };
    let who = Identity::from_email(&email);
    let Some(connector) = state.connectors.get(conn) else {
        tracing::warn!(reference = %req.reference, connector = conn, "identity check: the verify_field connector is not declared; staff must verify");
        return Ok(NEEDED);
    };
    let found = match connector.access(&who).await {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(reference = %req.reference, connector = conn, error = %e, "identity check could not run; staff must verify");
            return Ok(NEEDED);
        }
    };
    // Every row is compared, so the time taken does not say which row or part differed.
    let mut matched = false;
    for t in found.tables.iter().filter(|t| t.table == table) {
        for row in &t.rows {
            if let Some(v) = row.get(column) {
                matched |= same_value(&given, v);
            }
        }
    }
    if matched {
        return Ok(CONFIRMED);
    }
    if found.row_count() > 0 {
        return Ok(FAILED);
    }
    for name in state.connectors.names() {
        if name == conn {
            continue;
        }
        let Some(other) = state.connectors.get(&name) else {
            continue;
        };
        match other.access(&who).await {
            Ok(f) if f.row_count() > 0 => return Ok(FAILED),
            Ok(_) => {}
            Err(_) => return Ok(FAILED),
        }
    }
    Ok(NO_MATCH)
}

/// Fan-out waits for a confirmed identity where one is needed.
pub async fn gate_start(state: &AppState, req: &Request) -> Result<(), AppError> {
    match state.store.identity_check(&req.id).await? {
        Some(c) if c.state != CONFIRMED => Err(AppError::Conflict {
            detail: format!(
                "identity check needed ({}; state {}): record how the requester was verified first",
                c.method, c.state
            ),
            current_status: Some(req.status.to_string()),
        }),
        _ => Ok(()),
    }
}

/// What staff see of a request's identity check (never the value the subject gave).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckView {
    /// `email_link` (no extra check), `account_field` or `staff_review`.
    pub method: String,
    /// `confirmed`, `needed`, `failed` or `no_match`.
    pub state: String,
    /// How staff verified, when they did.
    pub note: Option<String>,
    pub checked_by: Option<String>,
    pub checked_at: Option<chrono::DateTime<Utc>>,
}

pub async fn view(state: &AppState, req: &Request) -> Result<CheckView, AppError> {
    Ok(match state.store.identity_check(&req.id).await? {
        Some(c) => CheckView {
            note: c.note_ct.as_deref().and_then(|n| {
                state
                    .keys
                    .open_at(
                        crate::crypto::Field::new("identity_checks", "note_ct", &req.id),
                        n,
                    )
                    .ok()
            }),
            method: c.method,
            state: c.state,
            checked_by: c.checked_by,
            checked_at: c.checked_at,
        },
        None => CheckView {
            method: if req.verification_note_ct.is_some() {
                "staff_note".into()
            } else {
                "email_link".into()
            },
            state: CONFIRMED.into(),
            note: None,
            checked_by: None,
            checked_at: None,
        },
    })
}

/// Staff record how they verified the requester; the check is confirmed.
pub async fn staff_confirm(
    state: &AppState,
    actor: &str,
    client: Option<String>,
    req: &Request,
    note: &str,
) -> Result<CheckView, AppError> {
    let note = note.trim();
    if note.is_empty() || note.chars().count() > 2000 {
        return Err(AppError::field(
            "note",
            "say how the requester's identity was verified (1 to 2000 characters)",
        ));
    }
    let now = state.clock.now();
    let existing = state.store.identity_check(&req.id).await?;
    let check = IdentityCheck {
        request_id: req.id.clone(),
        method: existing
            .as_ref()
            .map(|c| c.method.clone())
            .unwrap_or_else(|| VerificationMethod::StaffReview.as_str().into()),
        state: CONFIRMED.into(),
        proof_ct: existing.and_then(|c| c.proof_ct),
        note_ct: Some(state.keys.seal_at(
            crate::crypto::Field::new("identity_checks", "note_ct", &req.id),
            note,
        )),
        checked_by: Some(actor.to_string()),
        checked_at: Some(now),
        created_at: now,
    };
    state.store.put_identity_check(&check).await?;
    let entry = NewAudit {
        at: now,
        actor: actor.to_string(),
        action: "identity.confirm".into(),
        request_ref: Some(req.reference.clone()),
        client_addr: client,
        detail: json!({ "method": check.method }),
    };
    state.store.append_audit(&entry).await?;
    tracing::info!(reference = %req.reference, "identity confirmed by staff");
    view(state, req).await
}

async fn audit(
    state: &AppState,
    req: &Request,
    action: &str,
    actor: &str,
    detail: serde_json::Value,
) -> Result<(), AppError> {
    state
        .store
        .append_audit(&NewAudit {
            at: state.clock.now(),
            actor: actor.into(),
            action: action.into(),
            request_ref: Some(req.reference.clone()),
            client_addr: None,
            detail,
        })
        .await?;
    Ok(())
}
