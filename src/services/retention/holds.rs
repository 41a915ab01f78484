//! Legal holds: while a hold is in force, the subject's rows (found by the same
//! traversal as an access request) are skipped by every retention purge, and an
//! erasure task for the subject is refused instead of run. The address is stored
//! encrypted with a blind index, like a request's; holds are audited without it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::app::context::AppState;
use crate::connectors::Identity;
use crate::domain::identity::{SubjectEmail, clean_text};
use crate::error::AppError;
use crate::store::{LegalHold, NewAudit, Page, PageRequest, StoreError};

const MAX_REASON: usize = 2000;

/// A hold as staff see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HoldView {
    pub id: String,
    pub email: String,
    pub reason: String,
    pub active: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub released_by: Option<String>,
    pub released_at: Option<DateTime<Utc>>,
}

fn view(state: &AppState, h: LegalHold) -> Result<HoldView, AppError> {
    let open = |column: &str, ct: &str| {
        state
            .keys
            .open_at(crate::crypto::Field::new("legal_holds", column, &h.id), ct)
            .map_err(|e| AppError::Internal(format!("legal hold {}: {column}: {e}", h.id)))
    };
    Ok(HoldView {
        email: open("email_ct", &h.email_ct)?,
        reason: open("reason_ct", &h.reason_ct)?,
        active: h.released_at.is_none(),
        id: h.id,
        created_by: h.created_by,
        created_at: h.created_at,
        released_by: h.released_by,
        released_at: h.released_at,
    })
}

/// Put a subject under legal hold.
pub async fn create(
    state: &AppState,
    email: &str,
    reason: &str,
    actor: &str,
    client: Option<String>,
) -> Result<HoldView, AppError> {
    let email = SubjectEmail::parse(email).map_err(|e| AppError::field("email", e.to_string()))?;
    let reason = clean_text(reason.trim());
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(AppError::field(
            "reason",
            format!("must be 1 to {MAX_REASON} characters"),
        ));
    }
    let now = state.clock.now();
    let id = uuid::Uuid::now_v7().to_string();
    let at = |column| crate::crypto::Field::new("legal_holds", column, &id);
    let hold = LegalHold {
        email_ct: state.keys.seal_at(at("email_ct"), email.expose()),
        email_index: state.keys.blind_index(email.expose()),
        reason_ct: state.keys.seal_at(at("reason_ct"), &reason),
        id: id.clone(),
        created_by: actor.to_string(),
        created_at: now,
        released_by: None,
        released_at: None,
    };
    let audit = NewAudit {
        at: now,
        actor: actor.to_string(),
        action: "hold.create".into(),
        request_ref: None,
        client_addr: client,
        detail: json!({ "hold_id": hold.id }),
    };
    state.store.insert_legal_hold(&hold, &audit).await?;
    tracing::info!(hold = %hold.id, "legal hold placed");
    view(state, hold)
}

/// Holds, newest first (released ones too when asked).
pub async fn list(
    state: &AppState,
    include_released: bool,
    page: PageRequest,
) -> Result<Page<HoldView>, AppError> {
    let p = state.store.legal_holds(include_released, page).await?;
    Ok(Page {
        items: p
            .items
            .into_iter()
            .map(|h| view(state, h))
            .collect::<Result<_, _>>()?,
        total: p.total,
    })
}

/// [`list`] for someone reading it: holds name subjects, so every read is audited
/// (the count of holds shown, never their addresses).
pub async fn view_list(
    state: &AppState,
    include_released: bool,
    page: PageRequest,
    actor: &str,
    client: Option<String>,
) -> Result<Page<HoldView>, AppError> {
    let list = list(state, include_released, page).await?;
    state
        .store
        .append_audit(&NewAudit {
            at: state.clock.now(),
            actor: actor.to_string(),
            action: "hold.view".into(),
            request_ref: None,
            client_addr: client,
            detail: json!({ "holds": list.items.len(), "include_released": include_released }),
        })
        .await?;
    Ok(list)
}

/// Release a hold in force.
pub async fn release(
    state: &AppState,
    id: &str,
    actor: &str,
    client: Option<String>,
) -> Result<(), AppError> {
    let now = state.clock.now();
    let audit = NewAudit {
        at: now,
        actor: actor.to_string(),
        action: "hold.release".into(),
        request_ref: None,
        client_addr: client,
        detail: json!({ "hold_id": id }),
    };
    if id.len() > 64
        || !state
            .store
            .release_legal_hold(id, actor, now, &audit)
            .await?
    {
        return Err(AppError::NotFound(
            "no legal hold in force with that id".into(),
        ));
    }
    tracing::info!(hold = %id, "legal hold released");
    Ok(())
}

/// The id of a hold in force for this address, if any. The hold's blind index is of the
/// canonical address; every spelling is looked up, so a hold placed before intake
/// canonicalised internationalised domains (typed with an `xn--` A-label) still applies.
pub async fn active_for(state: &AppState, email: &str) -> Result<Option<String>, StoreError> {
    for spelling in Identity::from_email(email).spellings() {
        if let Some(h) = state
            .store
            .active_legal_hold(&state.keys.blind_index(spelling))
            .await?
        {
            return Ok(Some(h.id));
        }
    }
    Ok(None)
}

/// Every subject under hold, for a purge to skip.
pub async fn held_identities(state: &AppState) -> Result<Vec<Identity>, String> {
    let holds = state
        .store
        .active_legal_holds()
        .await
        .map_err(|e| e.to_string())?;
    holds
        .iter()
        .map(|h| {
            state
                .keys
                .open_at(
                    crate::crypto::Field::new("legal_holds", "email_ct", &h.id),
                    &h.email_ct,
                )
                .map(|e| Identity::from_email(&e))
                .map_err(|e| format!("legal hold {}: {e}", h.id))
        })
        .collect()
}
