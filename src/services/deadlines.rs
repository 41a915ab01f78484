//! Deadline enforcement, run by the `deadlines.sweep` job: reminders before the due date,
//! escalation once overdue, expiry of requests never verified, CCPA receipt checks, and
//! removal of dead verification links. Every notice is recorded so it goes out once.

use async_trait::async_trait;
use chrono::{NaiveDate, TimeDelta};
use serde_json::json;

use crate::app::context::AppState;
use crate::domain::deadline;
use crate::domain::request::{Action, Status, transition};
use crate::jobs::{JobError, JobHandler};
use crate::services::notify::{self, kind_label};
use crate::services::workflow;
use crate::store::{Changes, Event, Job, NewAudit, Request, StoreError};

pub const SWEEP: &str = "deadlines.sweep";

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    pub reminders: u32,
    pub escalations: u32,
    pub expired: u32,
    pub ccpa_flagged: u32,
    pub manual_escalations: u32,
    pub tokens_removed: u64,
}

const PAGE: i64 = 500;

/// The most urgent reminder threshold crossed: with reminders [7, 3, 1] and 2 days left,
/// the 3-day reminder is due (a missed sweep never skips a reminder, and a request
/// entered late does not get every earlier one at once).
pub fn reminder_due(days_left: i64, thresholds: &[u32]) -> Option<u32> {
    thresholds
        .iter()
        .copied()
        .filter(|d| days_left >= 0 && days_left <= i64::from(*d))
        .min()
}

/// `n` business days (Monday to Friday) after `from`.
pub fn add_business_days(from: NaiveDate, n: u32) -> NaiveDate {
    crate::domain::regime::Period::business_days(n).after(from)
}

fn staff_recipient(state: &AppState, req: &Request) -> String {
    req.assignee
        .clone()
        .unwrap_or_else(|| state.config.email.privacy_team.clone())
}

fn staff_mail(
    state: &AppState,
    req: &Request,
    due: NaiveDate,
    headline: &str,
    message: &str,
) -> Changes {
    let mut changes = Changes {
        now: Some(state.clock.now()),
        ..Default::default()
    };
    let ctx = json!({
        "reference": req.reference,
        "kind_label": notify::staff_kind_label(req.kind),
        "due_date": due.to_string(),
        "headline": headline,
        "message": message,
        "portal_url": notify::link(state, &format!("/portal/requests/{}", req.reference)),
    });
    let to = staff_recipient(state, req);
    notify::queue(
        state,
        &mut changes,
        Some(&req.id),
        "staff_deadline",
        &to,
        ctx.clone(),
    );
    if req.assignee.is_some()
        && to != state.config.email.privacy_team
        && headline.starts_with("Overdue")
    {
        // Escalation reaches the team as well as the assignee.
        notify::queue(
            state,
            &mut changes,
            Some(&req.id),
            "staff_deadline",
            &state.config.email.privacy_team,
            ctx,
        );
    }
    changes
}

/// Run every deadline duty once.
pub async fn sweep(state: &AppState) -> Result<SweepReport, StoreError> {
    let mut report = SweepReport::default();
    let today = workflow::today(state);
    let max_ahead = state
        .config
        .deadlines
        .reminders_days
        .iter()
        .copied()
        .max()
        .unwrap_or(0);
    let due_by = today + TimeDelta::days(i64::from(max_ahead));
    let mut after = String::new();
    loop {
        let page = state.store.sweep_candidates(due_by, &after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id.clone();
        for req in &page {
            let Some(due) = req.due_date else { continue };
            let days_left = deadline::days_until(today, due);
            if deadline::is_overdue(today, due) {
                let changes = staff_mail(
                    state,
                    req,
                    due,
                    "Overdue",
                    &format!(
                        "This request was due on {due} and has not been answered. Answer it today or record why not."
                    ),
                );
                if state
                    .store
                    .send_notice(&req.id, "overdue", due, &changes)
                    .await?
                {
                    report.escalations += 1;
                    tracing::warn!(reference = %req.reference, due_date = %due, "request overdue; escalated");
                }
            } else if let Some(d) = reminder_due(days_left, &state.config.deadlines.reminders_days)
            {
                let headline = match days_left {
                    0 => "Due today".to_string(),
                    1 => "Due tomorrow".to_string(),
                    n => format!("Due in {n} days"),
                };
                let changes = staff_mail(
                    state,
                    req,
                    due,
                    &headline,
                    "This request must be answered by its due date.",
                );
                if state
                    .store
                    .send_notice(&req.id, &format!("reminder:{d}"), due, &changes)
                    .await?
                {
                    report.reminders += 1;
                    tracing::info!(reference = %req.reference, days_left, "deadline reminder sent");
                }
            }
        }
        if (page.len() as i64) < PAGE {
            break;
        }
    }

    // Requests never verified expire; their identity is wiped.
    let cutoff = state.clock.now() - state.config.deadlines.unverified_expire.chrono();
    loop {
        let page = state.store.unverified_before(cutoff, PAGE).await?;
        if page.is_empty() {
            break;
        }
        for req in &page {
            match expire(state, req).await {
                Ok(()) => report.expired += 1,
                Err(StoreError::Conflict) => {}
                Err(e) => return Err(e),
            }
        }
        if (page.len() as i64) < PAGE {
            break;
        }
    }

    // CCPA: receipt must be confirmed within 10 business days.
    let tz = state.config.deadlines.timezone.0;
    let ccpa_cutoff = state.clock.now() - TimeDelta::days(10);
    for req in state.store.ccpa_unacknowledged(ccpa_cutoff, PAGE).await? {
        let received = req.received_at.with_timezone(&tz).date_naive();
        // `[regimes.ccpa] acknowledge` may change the period or switch the check off.
        let Some(ack_by) = state
            .config
            .regime_rules(req.regime)
            .acknowledge_by(received)
        else {
            continue;
        };
        if today <= ack_by {
            continue;
        }
        let due = req.due_date.unwrap_or(ack_by);
        let changes = staff_mail(
            state,
            &req,
            due,
            "Receipt not confirmed",
            &format!(
                "CCPA requires confirming receipt within 10 business days (by {ack_by}); no confirmation has reached the requester."
            ),
        );
        if state
            .store
            .send_notice(&req.id, "ccpa_ack", ack_by, &changes)
            .await?
        {
            report.ccpa_flagged += 1;
            tracing::warn!(reference = %req.reference, "CCPA receipt not confirmed in time; escalated");
        }
    }

    report.manual_escalations = escalate_waiting_tasks(state, today).await?;
    report.tokens_removed = state.store.purge_dead_tokens(state.clock.now()).await?;
    Ok(report)
}

/// A manual task whose person has not confirmed within the connector's
/// `escalate_after_days`: the request's assignee (or the privacy team) is told once.
async fn escalate_waiting_tasks(state: &AppState, today: NaiveDate) -> Result<u32, StoreError> {
    let mut sent = 0;
    for decl in state.connectors.decls() {
        let Some(settings) = decl.manual_settings() else {
            continue;
        };
        let days = settings.escalate_after_days;
        let cutoff = state.clock.now() - TimeDelta::days(i64::from(days));
        for (reference, task_id, operation) in state
            .store
            .tasks_waiting_since(decl.name(), cutoff, PAGE)
            .await?
        {
            let Some(req) = state.store.request_by_reference(&reference).await? else {
                continue;
            };
            let due = req.due_date.unwrap_or(today);
            let changes = staff_mail(
                state,
                &req,
                due,
                "Manual task waiting",
                &format!(
                    "The {} task for connector \"{}\" was sent to {} more than {days} day(s) ago and has not been confirmed. Chase them, or record the outcome yourself.",
                    operation,
                    decl.name(),
                    settings.email
                ),
            );
            if state
                .store
                .send_notice(&req.id, &format!("task_waiting:{task_id}"), due, &changes)
                .await?
            {
                sent += 1;
                tracing::warn!(reference = %req.reference, connector = decl.name(), "manual task waiting; escalated");
            }
        }
    }
    Ok(sent)
}

/// Expire one unverified request: the subject is told, identity and free text are wiped,
/// its links removed; the reference, kind and dates stay.
async fn expire(state: &AppState, req: &Request) -> Result<(), StoreError> {
    let Ok(status) = transition(req.status, Action::Expire, None) else {
        return Ok(());
    };
    let now = state.clock.now();
    let mut changes = Changes {
        now: Some(now),
        delete_tokens: true,
        ..Default::default()
    };
    if let Some(email) = req.email_ct.as_deref().and_then(|c| {
        state
            .keys
            .open_at(crate::crypto::Field::request("email_ct", &req.id), c)
            .ok()
    }) {
        notify::queue(
            state,
            &mut changes,
            Some(&req.id),
            "expired",
            &email,
            json!({ "reference": req.reference, "kind_label": kind_label(req.kind) }),
        );
    }
    let mut next = req.clone();
    next.status = status;
    next.email_ct = None;
    next.email_index = None;
    next.name_ct = None;
    next.details_ct = None;
    next.corrections_ct = None;
    next.closed_at = Some(now);
    next.version += 1;
    next.updated_at = now;
    let event = Event {
        at: now,
        actor: "system".into(),
        action: Action::Expire.to_string(),
        from_status: Some(req.status),
        to_status: Status::Expired,
        note: Some("never verified; identity data wiped".into()),
    };
    let audit = NewAudit {
        at: now,
        actor: "system".into(),
        action: "request.expire".into(),
        request_ref: Some(req.reference.clone()),
        client_addr: None,
        detail: json!({}),
    };
    state
        .store
        .update_request(&next, req.version, Some(&event), Some(&audit), &changes)
        .await?;
    tracing::info!(reference = %req.reference, "unverified request expired");
    Ok(())
}

/// The `deadlines.sweep` job.
pub struct SweepJob;

#[async_trait]
impl JobHandler for SweepJob {
    async fn run(&self, _job: &Job, state: &AppState) -> Result<(), JobError> {
        let report = sweep(state)
            .await
            .map_err(|e| JobError::retry(e.to_string()))?;
        state.queue.wake();
        tracing::info!(?report, "deadline sweep done");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_urgent_crossed_threshold() {
        let t = [7, 3, 1];
        assert_eq!(reminder_due(8, &t), None);
        assert_eq!(reminder_due(7, &t), Some(7));
        assert_eq!(reminder_due(5, &t), Some(7));
        assert_eq!(reminder_due(3, &t), Some(3));
        assert_eq!(reminder_due(2, &t), Some(3));
        assert_eq!(reminder_due(1, &t), Some(1));
        assert_eq!(reminder_due(0, &t), Some(1));
        assert_eq!(reminder_due(-1, &t), None);
        assert_eq!(reminder_due(3, &[]), None);
    }

    #[test]
    fn business_days_skip_weekends() {
        let fri = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        assert_eq!(
            add_business_days(fri, 1),
            NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
        );
        assert_eq!(
            add_business_days(fri, 10),
            NaiveDate::from_ymd_opt(2026, 12, 4).unwrap()
        );
    }
}
