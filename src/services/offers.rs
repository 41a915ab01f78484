//! Which staff actions a request allows now (issue 20 item 6): the portal offers an
//! action only when `workflow::act` would accept it. Every answer comes from the rule
//! the workflow itself applies (the status machine, the regime's extension rule, the
//! marketing-objection and duplicate guards, the identity gate), never a copy of it.

use crate::app::context::AppState;
use crate::domain::deadline;
use crate::domain::request::{Action, DenyReason, HoldReason, transition};
use crate::error::AppError;
use crate::services::workflow::{self, StaffAction};
use crate::store::Request;

/// What the case page may offer, action by action.
pub async fn allowed(state: &AppState, req: &Request) -> Result<serde_json::Value, AppError> {
    let ok = |a| transition(req.status, a, req.held_from).is_ok();
    let absolute_ok = |act: &StaffAction| {
        crate::services::suppression::guard(req, act).is_ok()
            && crate::services::appeals::guard(req, act).is_ok()
    };
    let linked = state.store.link_of(&req.id).await?.is_some();
    let identity_ok = crate::services::verification::gate_start(state, req)
        .await
        .is_ok();
    Ok(serde_json::json!({
        "start": ok(Action::Start) && !linked && identity_ok
            && absolute_ok(&StaffAction::Start),
        "assign": ok(Action::Assign),
        "hold": ok(Action::Hold)
            && absolute_ok(&StaffAction::Hold { reason: String::new(), code: HoldReason::Other }),
        "resume": ok(Action::Resume),
        "extend": ok(Action::Extend) && may_extend(state, req),
        // An opt-out may still be refused as believed fraudulent (with a note).
        "deny": ok(Action::Deny)
            && (absolute_ok(&StaffAction::Deny { reason: DenyReason::Other, note: None })
                || absolute_ok(&StaffAction::Deny {
                    reason: DenyReason::ManifestlyUnfounded,
                    note: Some("believed fraudulent".into()),
                })),
        "complete": ok(Action::Complete)
            && absolute_ok(&StaffAction::Complete { note: None, download_url: None }),
        "withdraw": ok(Action::Withdraw),
    }))
}

/// Whether an extension with a reason and the default new date would be accepted: the
/// regime's rule (`deadline::extend_under`) as `workflow::act` applies it — only once,
/// only where the regime allows one, not after the due date where notice is required.
pub fn may_extend(state: &AppState, req: &Request) -> bool {
    let Some(due) = req.due_date else {
        return false;
    };
    deadline::extend_under(
        &crate::services::appeals::extension_rules(state, req),
        due,
        req.extended,
        workflow::today(state),
        None,
        "a reason",
    )
    .is_ok()
}
