//! Bulk work from the queue: one staff action applied to many requests. Each request
//! still goes through the workflow on its own (its transition checked, its event, audit
//! entry and subject email written), so a request the action does not fit is refused
//! and left as it was; the answer says, per request, what happened.

use serde::Serialize;

use crate::app::context::AppState;
use crate::domain::reference;
use crate::error::AppError;
use crate::services::workflow::{self, Actor, StaffAction};

/// The most requests one bulk action may touch.
pub const MAX_REQUESTS: usize = 1000;

/// What to do to every selected request.
#[derive(Debug, Clone)]
pub enum BulkAction {
    /// A workflow action (assign, start, extend, hold, deny).
    Act(StaffAction),
    /// A staff note in each request's history.
    Note(String),
}

/// What happened to one request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BulkOutcome {
    pub reference: String,
    pub done: bool,
    /// The status after the action (or the unchanged one when refused), when known.
    pub status: Option<String>,
    /// Why it was refused.
    pub reason: Option<String>,
}

/// The result of a bulk action, refused ones first.
#[derive(Debug, Clone, Serialize)]
pub struct BulkReport {
    pub done: usize,
    pub refused: usize,
    pub outcomes: Vec<BulkOutcome>,
}

fn why(e: &AppError) -> String {
    match e {
        AppError::Validation(fields) => fields
            .iter()
            .map(|f| format!("{}: {}", f.field.replace('_', " "), f.message))
            .collect::<Vec<_>>()
            .join("; "),
        AppError::Internal(_) => "something went wrong on our side; try this one again".into(),
        other => other.to_string(),
    }
}

/// Apply `action` to each request in `references`, one by one, in the order given
/// (duplicates once).
pub async fn apply(
    state: &AppState,
    actor: &Actor,
    references: &[String],
    action: &BulkAction,
) -> Result<BulkReport, AppError> {
    let mut seen = std::collections::HashSet::new();
    let refs: Vec<String> = references
        .iter()
        .map(|r| reference::normalize(r))
        .filter(|r| !r.is_empty() && seen.insert(r.clone()))
        .collect();
    if refs.is_empty() {
        return Err(AppError::field("requests", "select at least one request"));
    }
    if refs.len() > MAX_REQUESTS {
        return Err(AppError::field(
            "requests",
            format!("at most {MAX_REQUESTS} requests at a time"),
        ));
    }
    let mut outcomes = Vec::with_capacity(refs.len());
    for r in refs {
        let result = match action {
            BulkAction::Act(a) => workflow::act(state, actor, &r, a.clone()).await,
            BulkAction::Note(text) => workflow::add_note(state, actor, &r, text).await,
        };
        outcomes.push(match result {
            Ok(req) => BulkOutcome {
                reference: req.reference,
                done: true,
                status: Some(req.status.as_str().to_string()),
                reason: None,
            },
            Err(e) => {
                let status = match state.store.request_by_reference(&r).await {
                    Ok(Some(req)) => Some(req.status.as_str().to_string()),
                    _ => None,
                };
                tracing::info!(reference = %r, error = %e, "bulk action refused for a request");
                BulkOutcome {
                    reference: r,
                    done: false,
                    status,
                    reason: Some(why(&e)),
                }
            }
        });
    }
    let done = outcomes.iter().filter(|o| o.done).count();
    let refused = outcomes.len() - done;
    outcomes.sort_by_key(|o| o.done);
    Ok(BulkReport {
        done,
        refused,
        outcomes,
    })
}
