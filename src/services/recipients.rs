//! GDPR art. 19: the recipients of the register (`[[processing.recipients]]`) are told of
//! an erasure, rectification or restriction once it is completed, and the subject who
//! asked is told who they are. A recipient with `notify` gets an email through the
//! outbox (retried like every email), queued in the completion's transaction; one with
//! `connector` is told through that connector's task of the request, and what the task
//! did is what the audit entry says.

use serde_json::{Value, json};

use crate::app::context::AppState;
use crate::config::ProcessingRecipient;
use crate::domain::request::Kind;
use crate::error::AppError;
use crate::store::{Changes, Request, Task};

/// The email template of the notice to a recipient.
pub const NOTICE_TEMPLATE: &str = "recipient_notice";

/// Kinds whose completion recipients are told of (art. 19: arts. 16, 17(1) and 18).
pub fn notifies(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Erasure | Kind::Rectification | Kind::Restriction
    )
}

/// What the recipient is asked to do, after "Please …".
pub fn action_for(kind: Kind) -> &'static str {
    match kind {
        Kind::Erasure => {
            "erase the personal data about this person that we disclosed to you, unless the law requires you to keep it"
        }
        Kind::Rectification => {
            "correct the personal data about this person that we disclosed to you, as listed below"
        }
        Kind::Restriction => {
            "stop processing the personal data about this person that we disclosed to you, except to store it, until we tell you that the restriction is lifted"
        }
        _ => "take note of this request",
    }
}

/// How the subject's request is named to a recipient ("an erasure request").
fn request_words(kind: Kind) -> &'static str {
    match kind {
        Kind::Erasure => "erasure",
        Kind::Rectification => "rectification (correction)",
        Kind::Restriction => "restriction of processing",
        _ => "data-subject",
    }
}

/// The article of the right exercised.
fn article(kind: Kind) -> &'static str {
    match kind {
        Kind::Erasure => "17",
        Kind::Rectification => "16",
        Kind::Restriction => "18",
        _ => "19",
    }
}

fn told(r: &ProcessingRecipient, kind: Kind) -> bool {
    notifies(kind) && (!r.notify.trim().is_empty() || !r.connector.trim().is_empty())
}

/// The recipients as the subject's completion email lists them (when asked).
pub fn for_subject(state: &AppState, kind: Kind) -> Vec<Value> {
    state
        .config
        .processing
        .recipients
        .iter()
        .map(|r| {
            json!({
                "name": r.name,
                "role": r.role,
                "purpose": r.purpose,
                "transfer": r.transfer,
                "told": told(r, kind),
            })
        })
        .collect()
}

/// The context of the completion email about recipients: whether the subject asked,
/// and who they are.
pub async fn subject_context(state: &AppState, req: &Request) -> Result<Value, AppError> {
    let asked = state.store.recipients_asked(&req.id).await?;
    Ok(json!({
        "recipients_asked": asked,
        "recipients": if asked { for_subject(state, req.kind) } else { Vec::new() },
        "register_provided": state.config.processing.provided(),
    }))
}

/// Queue the notice to every recipient with `notify` in `changes`, and say for each
/// recipient how it was told (for the audit entry and the timeline). Nothing for kinds
/// art. 19 does not cover. Only what the recipient needs to act: the reference, the
/// subject's email address (how the recipient finds the data) and, for a rectification,
/// the corrections; never the name or the free text of the request.
pub fn queue_notices(
    state: &AppState,
    changes: &mut Changes,
    req: &Request,
    tasks: &[Task],
) -> Result<Vec<Value>, AppError> {
    if !notifies(req.kind) {
        return Ok(Vec::new());
    }
    let recipients: Vec<&ProcessingRecipient> =
        state.config.processing.notified_recipients().collect();
    if recipients.is_empty() {
        return Ok(Vec::new());
    }
    // A request whose identity was already wiped cannot be passed on: said, not sent.
    let subject_email = match req.email_ct {
        Some(_) => Some(crate::services::workflow::subject_email(state, req)?),
        None => None,
    };
    let corrections = if req.kind == Kind::Rectification {
        crate::services::workflow::corrections(state, req)?
    } else {
        Vec::new()
    };
    let current = crate::services::tasks::current_tasks(tasks);
    let mut out = Vec::new();
    for r in recipients {
        let notify = r.notify.trim();
        if let (false, None) = (notify.is_empty(), &subject_email) {
            out.push(json!({ "recipient": r.name, "via": "email", "status": "no address on the request" }));
        } else if let (false, Some(subject_email)) = (notify.is_empty(), &subject_email) {
            crate::services::notify::queue(
                state,
                changes,
                Some(&req.id),
                NOTICE_TEMPLATE,
                notify,
                json!({
                    "reference": req.reference,
                    "recipient": r.name,
                    "request_words": request_words(req.kind),
                    "article": article(req.kind),
                    "action": action_for(req.kind),
                    "subject_email": subject_email,
                    "corrections": corrections,
                    "privacy_team": state.config.email.privacy_team,
                }),
            );
            out.push(json!({ "recipient": r.name, "via": "email", "status": "queued" }));
        } else {
            let connector = r.connector.trim();
            let status = current
                .iter()
                .find(|t| t.connector == connector)
                .map(|t| t.status.clone())
                .unwrap_or_else(|| "no task".into());
            out.push(json!({
                "recipient": r.name,
                "via": "connector",
                "connector": connector,
                "status": status,
            }));
        }
    }
    Ok(out)
}

/// One line for the request's timeline: who was told, and how.
pub fn timeline_note(kind: Kind, notices: &[Value]) -> String {
    let parts: Vec<String> = notices
        .iter()
        .map(|n| {
            let name = n["recipient"].as_str().unwrap_or("?");
            match n["via"].as_str() {
                Some("email") if n["status"] == "queued" => format!("{name}: notice emailed"),
                Some("email") => {
                    format!("{name}: NOT told, {}", n["status"].as_str().unwrap_or("?"))
                }
                _ => {
                    let status = n["status"].as_str().unwrap_or("?");
                    let connector = n["connector"].as_str().unwrap_or("?");
                    if status == "succeeded" {
                        format!("{name}: told through connector {connector} (task succeeded)")
                    } else {
                        format!("{name}: NOT told, connector {connector} task {status}")
                    }
                }
            }
        })
        .collect();
    format!(
        "recipients told of the {} (GDPR art. 19): {}",
        request_words(kind),
        parts.join("; ")
    )
}
