//! Messages to subjects and staff: queued in the outbox in the same transaction as the
//! change that causes them, then sent by the `email.send` job with retries.

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::app::context::AppState;
use crate::domain::request::Kind;
use crate::jobs::{JobError, JobHandler};
use crate::store::{Changes, Job, NewJob, OutboxMessage, OutboxStatus};

pub const SEND_EMAIL: &str = "email.send";

/// How a kind is named to a person.
pub fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Access => "a copy of your personal data",
        Kind::Portability => "your personal data in a portable format",
        Kind::Erasure => "erasure of your personal data",
        Kind::Rectification => "correction of your personal data",
        Kind::Restriction => "restriction of the processing of your personal data",
        Kind::Objection => "objection to the processing of your personal data",
    }
}

/// Who a subject may complain to (GDPR art. 77), named in refusals.
pub const COMPLAINT_AUTHORITY: &str =
    "the data protection supervisory authority where you live or work";

/// How a refusal reason is explained to the subject.
pub fn deny_reason_label(reason: crate::domain::request::DenyReason) -> &'static str {
    use crate::domain::request::DenyReason as D;
    match reason {
        D::InsufficientVerification => {
            "we could not confirm that the request was made by the person the data is about"
        }
        D::NoMatch => "we hold no personal data matching the details you gave",
        D::ManifestlyUnfounded => "the request is manifestly unfounded",
        D::Excessive => {
            "the request is excessive, in particular because it repeats an earlier request"
        }
        D::LegalExemption => "a legal exemption applies to the data concerned",
        D::OutsideJurisdiction => {
            "the data protection law you relied on does not apply to this processing"
        }
        D::Other => "of the reason explained below",
        D::Duplicate => {
            "it repeats a request of yours that we are already working on; we answer you there"
        }
    }
}

/// A link into the public site.
pub fn link(state: &AppState, path: &str) -> String {
    format!("{}{}", state.config.public_url.trim_end_matches('/'), path)
}

/// Add one email to `changes`: an encrypted outbox row and the job that sends it.
pub fn queue(
    state: &AppState,
    changes: &mut Changes,
    request_id: Option<&str>,
    template: &str,
    to: &str,
    mut context: Value,
) {
    let now = state.clock.now();
    if let Some(obj) = context.as_object_mut() {
        obj.entry("organisation")
            .or_insert_with(|| state.config.organisation.clone().into());
    }
    let id = uuid::Uuid::now_v7().to_string();
    changes.outbox.push(OutboxMessage {
        id: id.clone(),
        request_id: request_id.map(String::from),
        template: template.to_string(),
        to_ct: state
            .keys
            .seal_at(crate::crypto::Field::new("outbox", "to_ct", &id), to),
        context_ct: state.keys.seal_at(
            crate::crypto::Field::new("outbox", "context_ct", &id),
            &context.to_string(),
        ),
        status: OutboxStatus::Pending,
        attempts: 0,
        last_error: None,
        created_at: now,
        sent_at: None,
    });
    changes.jobs.push(NewJob {
        kind: SEND_EMAIL.into(),
        payload: json!({ "outbox_id": id }),
        dedupe_key: Some(format!("email:{id}")),
        run_at: now,
        max_attempts: i32::try_from(state.config.jobs.max_attempts).unwrap_or(8),
        created_at: now,
    });
}

/// Sends one outbox message.
pub struct SendEmail;

#[async_trait]
impl JobHandler for SendEmail {
    async fn run(&self, job: &Job, state: &AppState) -> Result<(), JobError> {
        let id = job.payload.0["outbox_id"]
            .as_str()
            .ok_or_else(|| JobError::permanent("payload has no outbox_id"))?;
        let store = &state.store;
        let msg = store
            .outbox_message(id)
            .await
            .map_err(|e| JobError::retry(e.to_string()))?
            .ok_or_else(|| JobError::permanent("outbox message is gone"))?;
        if msg.status != OutboxStatus::Pending {
            return Ok(());
        }
        let (template, request_id) = (msg.template.clone(), msg.request_id.clone());
        let fail = |error: String, permanent: bool| async move {
            let last = permanent || job.attempts >= job.max_attempts;
            let now = state.clock.now();
            let status = if last {
                OutboxStatus::Failed
            } else {
                OutboxStatus::Pending
            };
            let _ = store.mark_outbox(id, status, Some(&error), now).await;
            if last {
                // The reference, never the address.
                tracing::error!(outbox = %id, template = %template, request = ?request_id, error = %error, "email could not be delivered");
            }
            if permanent {
                JobError::permanent(error)
            } else {
                JobError::retry(error)
            }
        };
        let (to, context) = match (
            state.keys.open_at(
                crate::crypto::Field::new("outbox", "to_ct", &msg.id),
                &msg.to_ct,
            ),
            state.keys.open_at(
                crate::crypto::Field::new("outbox", "context_ct", &msg.id),
                &msg.context_ct,
            ),
        ) {
            (Ok(t), Ok(c)) => (t, c),
            _ => {
                return Err(fail(
                    "cannot decrypt the message with the deployment key".into(),
                    true,
                )
                .await);
            }
        };
        let context: Value = serde_json::from_str(&context).unwrap_or(Value::Null);
        let rendered = match state.mailer.templates().render(&msg.template, &context) {
            Ok(r) => r,
            Err(e) => return Err(fail(format!("template: {e}"), true).await),
        };
        match state.mailer.send(&to, &rendered).await {
            Ok(()) => {
                store
                    .mark_outbox(id, OutboxStatus::Sent, None, state.clock.now())
                    .await
                    .map_err(|e| JobError::retry(e.to_string()))?;
                tracing::info!(outbox = %id, template = %msg.template, "email sent");
                Ok(())
            }
            Err(e) => Err(fail(e.message, e.permanent).await),
        }
    }
}
