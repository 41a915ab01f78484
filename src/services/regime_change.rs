//! Staff change of a request's regime (issue 21 item 2): with a reason, audited; the due
//! date is recomputed under the new regime from the same clock start day.

use chrono::NaiveDate;

use crate::app::context::AppState;
use crate::domain::deadline::Regime;
use crate::domain::identity::clean_text;
use crate::domain::request::Kind;
use crate::error::AppError;
use crate::services::workflow::{self, Actor};
use crate::store::{Event, NewAudit, Request};

/// The due dates of `req` under `regime`, counted from its clock start day: `(due_date,
/// original_due_date)`. An extension already granted keeps its length in days, up to
/// the new regime's maximum (none where the new regime allows no extension).
pub fn due_dates_under(
    state: &AppState,
    req: &Request,
    regime: Regime,
) -> (Option<NaiveDate>, Option<NaiveDate>) {
    let Some(start) = req.clock_started_on else {
        return (req.due_date, req.original_due_date);
    };
    let policy = state.config.deadline_policy(Some(regime));
    let rules = state.config.regime_rules(regime);
    let base = policy.due_date_under(&rules, start, start);
    match (req.extended, req.due_date, req.original_due_date) {
        (true, Some(due), Some(original)) => {
            let days = (due - original).num_days().max(0).unsigned_abs();
            let wanted = base
                .checked_add_days(chrono::Days::new(days))
                .unwrap_or(NaiveDate::MAX);
            let max = rules.max_extension(base).unwrap_or(base);
            (Some(wanted.min(max)), Some(base))
        }
        _ => (Some(base), None),
    }
}

/// Put `reference_text` under `regime`, with `reason` (422 without); 409 for a closed
/// request or an appeal (whose regime is the refused request's).
pub async fn change(
    state: &AppState,
    actor: &Actor,
    reference_text: &str,
    regime: Regime,
    reason: &str,
) -> Result<Request, AppError> {
    let reason = clean_text(reason);
    if reason.is_empty() {
        return Err(AppError::field(
            "reason",
            "say why the request falls under another regime",
        ));
    }
    if reason.chars().count() > 2000 {
        return Err(AppError::field("reason", "must be at most 2000 characters"));
    }
    let current = workflow::load(state, reference_text).await?;
    if current.status.is_final() {
        return Err(AppError::Conflict {
            detail: format!(
                "cannot change the regime of a request that is {}",
                current.status
            ),
            current_status: Some(current.status.to_string()),
        });
    }
    if current.kind == Kind::Appeal {
        return Err(AppError::Conflict {
            detail: "an appeal follows the regime of the refused request".into(),
            current_status: Some(current.status.to_string()),
        });
    }
    if current.regime == regime {
        return Err(AppError::field(
            "regime",
            format!("the request is already under {regime}"),
        ));
    }
    let now = state.clock.now();
    let mut next = current.clone();
    next.regime = regime;
    (next.due_date, next.original_due_date) = due_dates_under(state, &current, regime);
    next.version += 1;
    next.updated_at = now;
    let show = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_else(|| "none".into());
    let event = Event {
        at: now,
        actor: actor.name.clone(),
        action: "regime".into(),
        from_status: Some(current.status),
        to_status: current.status,
        note: Some(format!(
            "regime {} -> {regime}; due date {} -> {}: {reason}",
            current.regime,
            show(current.due_date),
            show(next.due_date)
        )),
    };
    let audit = NewAudit {
        at: now,
        actor: actor.name.clone(),
        action: "request.regime".into(),
        request_ref: Some(current.reference.clone()),
        client_addr: actor.client_addr.clone(),
        detail: serde_json::json!({
            "from": current.regime.to_string(),
            "to": regime.to_string(),
            "clock_started_on": current.clock_started_on,
            "due_date_before": current.due_date,
            "due_date": next.due_date,
        }),
    };
    state
        .store
        .change_regime(&next, current.version, &event, &audit)
        .await?;
    tracing::info!(reference = %next.reference, from = %current.regime, to = %regime, "regime changed");
    Ok(next)
}
