//! Duplicate requests (issue 20 item 4): a request that becomes open while the same
//! person (same blind index of the canonical address) has an earlier open request of the
//! same kind is linked to that first one and not processed. Its subject is told the
//! first's reference by email — only the mailbox learns it, after it proved it is theirs:
//! intake answers exactly as before (no enumeration). Staff see the links, can unlink (the
//! request is then worked like any other) or merge (it closes as denied, `duplicate`).

use serde_json::json;

use crate::app::context::AppState;
use crate::domain::request::DenyReason;
use crate::error::AppError;
use crate::services::workflow::{self, Actor, StaffAction};
use crate::store::{Changes, Event, NewAudit, Request, RequestLink};

/// The links of one request, for staff.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Links {
    /// The earlier request this one repeats (its reference), while linked.
    pub duplicate_of: Option<String>,
    /// Later requests linked to this one (references).
    pub duplicates: Vec<String>,
}

pub async fn links(state: &AppState, req: &Request) -> Result<Links, AppError> {
    Ok(Links {
        duplicate_of: state.store.link_of(&req.id).await?.map(|(_, r)| r),
        duplicates: state
            .store
            .links_to(&req.id)
            .await?
            .into_iter()
            .map(|(_, r)| r)
            .collect(),
    })
}

/// After `req` became open: link it to the same person's earlier open request of the
/// same kind, if there is one, and tell the subject. Returns whether it was linked (then
/// it must not be started).
pub async fn link_if_duplicate(state: &AppState, req: &Request) -> Result<bool, AppError> {
    let Some(index) = req.email_index.as_deref() else {
        return Ok(false);
    };
    let Some(first) = state
        .store
        .earlier_open_request(index, req.kind, &req.id)
        .await?
    else {
        return Ok(false);
    };
    let now = state.clock.now();
    let linked = state
        .store
        .link_request(&RequestLink {
            request_id: req.id.clone(),
            first_id: first.id.clone(),
            linked_at: now,
        })
        .await?;
    if !linked {
        return Ok(false);
    }
    // Tell the subject which request already covers this one.
    let current = workflow::load(state, &req.reference).await?;
    let mut changes = Changes {
        now: Some(now),
        ..Default::default()
    };
    if let Some(email_ct) = &current.email_ct {
        let email = state
            .keys
            .open_at(
                crate::crypto::Field::request("email_ct", &current.id),
                email_ct,
            )
            .map_err(|e| AppError::Internal(format!("request {}: {e}", current.reference)))?;
        let status_url = crate::services::intake::status_link(state, &mut changes, &current);
        crate::services::notify::queue(
            state,
            &mut changes,
            Some(&current.id),
            "duplicate",
            &email,
            json!({
                "reference": current.reference,
                "first_reference": first.reference,
                "kind_label": crate::services::notify::kind_label(current.kind),
                "status_url": status_url,
            }),
        );
    }
    let note = format!(
        "linked to {}, an earlier open request of the same kind for the same person; not processed twice",
        first.reference
    );
    record(
        state,
        &Actor::system(),
        &current,
        "linked",
        ("request.linked", json!({ "first": first.reference })),
        note,
        &changes,
    )
    .await?;
    tracing::info!(reference = %current.reference, first = %first.reference, "duplicate request linked");
    Ok(true)
}

/// A linked request is not started: staff unlink or merge it first.
pub async fn guard(state: &AppState, req: &Request, act: &StaffAction) -> Result<(), AppError> {
    if !matches!(act, StaffAction::Start) {
        return Ok(());
    }
    if let Some((_, first)) = state.store.link_of(&req.id).await? {
        return Err(AppError::Conflict {
            detail: format!(
                "this request repeats {first} and is not processed twice; unlink it to work it, or merge it"
            ),
            current_status: Some(req.status.to_string()),
        });
    }
    Ok(())
}

/// Staff take the link away: the request is worked like any other.
pub async fn unlink(state: &AppState, actor: &Actor, reference: &str) -> Result<Request, AppError> {
    let current = workflow::load(state, reference).await?;
    let Some((_, first)) = state.store.link_of(&current.id).await? else {
        return Err(AppError::Conflict {
            detail: "the request is not linked to another".into(),
            current_status: Some(current.status.to_string()),
        });
    };
    state.store.unlink_request(&current.id).await?;
    record(
        state,
        actor,
        &current,
        "unlinked",
        ("request.unlinked", json!({ "first": first })),
        format!("no longer linked to {first}; it is worked on its own"),
        &Changes::default(),
    )
    .await
}

/// Staff merge a linked request into the one it repeats: it closes as denied with the
/// reason `duplicate` (the subject is told, and answered under the first reference).
pub async fn merge(state: &AppState, actor: &Actor, reference: &str) -> Result<Request, AppError> {
    let current = workflow::load(state, reference).await?;
    let Some((_, first)) = state.store.link_of(&current.id).await? else {
        return Err(AppError::Conflict {
            detail: "only a request linked to an earlier one can be merged into it".into(),
            current_status: Some(current.status.to_string()),
        });
    };
    if current.status.is_final() {
        return Err(AppError::Conflict {
            detail: "the request is already closed".into(),
            current_status: Some(current.status.to_string()),
        });
    }
    workflow::act(
        state,
        actor,
        reference,
        StaffAction::Deny {
            reason: DenyReason::Duplicate,
            note: Some(format!(
                "Your request repeats {first}, which we are already working on; we answer you under {first}."
            )),
        },
    )
    .await
}

async fn record(
    state: &AppState,
    actor: &Actor,
    current: &Request,
    event_action: &str,
    (audit_action, detail): (&str, serde_json::Value),
    note: String,
    changes: &Changes,
) -> Result<Request, AppError> {
    let now = state.clock.now();
    let mut next = current.clone();
    next.version += 1;
    next.updated_at = now;
    let event = Event {
        at: now,
        actor: actor.name.clone(),
        action: event_action.into(),
        from_status: Some(current.status),
        to_status: current.status,
        note: Some(note),
    };
    let audit = NewAudit {
        at: now,
        actor: actor.name.clone(),
        action: audit_action.into(),
        request_ref: Some(current.reference.clone()),
        client_addr: actor.client_addr.clone(),
        detail,
    };
    state
        .store
        .update_request(&next, current.version, Some(&event), Some(&audit), changes)
        .await?;
    if !changes.jobs.is_empty() {
        state.queue.wake();
    }
    Ok(next)
}
