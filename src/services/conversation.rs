//! Asking the subject for information and talking with them (issue 20 item 5): staff
//! ask a question (the request goes on hold `awaiting_subject`, which stops the clock
//! where the regime lets it) or send a message; the subject answers on the status page,
//! with up to three files, and the answer resumes the request. The same file machinery
//! (checked by content, sealed under the deployment key, purged with the request's
//! personal data) stores an authorized agent's signed permission (`services::agents`).
//!
//! Events and the audit log carry message and file ids, never their text.

use serde::Serialize;
use serde_json::json;

use crate::app::context::AppState;
use crate::crypto::{Field, sha256_hex};
use crate::domain::client::ClientAddr;
use crate::domain::identity::clean_text;
use crate::domain::request::{HoldReason, Status};
use crate::domain::upload::{self, MAX_FILES, UploadError};
use crate::error::{AppError, FieldError};
use crate::services::workflow::{self, Actor, StaffAction};
use crate::store::{Changes, Event, Message, NewAudit, NewFile, Request, StoredFile};

/// Longest question, message or reply.
pub const MAX_TEXT: usize = 4000;

/// Answers one request takes from its status link in a day (each may carry three files of
/// 10 MiB): enough for any conversation, a bound for someone flooding a link.
pub const MAX_REPLIES_PER_DAY: i64 = 20;

/// A file as received, before it is checked.
#[derive(Clone)]
pub struct Upload {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Upload([redacted], {} bytes)", self.bytes.len())
    }
}

/// What the files of one form or reply are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilePurpose {
    Reply,
    AgentPermission,
}

impl FilePurpose {
    fn as_str(self) -> &'static str {
        match self {
            FilePurpose::Reply => "reply",
            FilePurpose::AgentPermission => "agent_permission",
        }
    }
}

/// The error of refused files, for the `files` field.
pub fn upload_error(e: UploadError) -> AppError {
    AppError::Validation(vec![FieldError::new("files", e.to_string())])
}

fn file_aad(file_id: &str) -> Vec<u8> {
    format!("rightsdesk/v2\0request_files\0body\0{file_id}").into_bytes()
}

/// Check files (count, size, type by content) and seal them for `request_id`.
pub fn seal_files(
    state: &AppState,
    request_id: &str,
    purpose: FilePurpose,
    message_id: Option<&str>,
    uploads: Vec<Upload>,
) -> Result<Vec<NewFile>, AppError> {
    if uploads.len() > MAX_FILES {
        return Err(upload_error(UploadError::TooMany));
    }
    let now = state.clock.now();
    let mut out = Vec::with_capacity(uploads.len());
    for u in uploads {
        let kind = upload::check(&u.name, &u.bytes).map_err(upload_error)?;
        let id = uuid::Uuid::now_v7().to_string();
        let name = upload::clean_name(&u.name);
        out.push(NewFile {
            file: StoredFile {
                id: id.clone(),
                request_id: request_id.to_string(),
                message_id: message_id.map(String::from),
                purpose: purpose.as_str().into(),
                name_ct: state
                    .keys
                    .seal_at(Field::new("request_files", "name_ct", &id), &name),
                media_type: kind.media_type().into(),
                size_bytes: i64::try_from(u.bytes.len()).unwrap_or(i64::MAX),
                sha256: sha256_hex(&u.bytes),
                created_at: now,
            },
            body: state.keys.seal_chunk(&file_aad(&id), &u.bytes),
        });
    }
    Ok(out)
}

/// A file of a request for staff: its name, type and content (opened).
pub struct OpenedFile {
    pub name: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// Open a stored file of `req` (staff download); audited by the caller's layer.
pub async fn open_file(
    state: &AppState,
    actor: &Actor,
    req: &Request,
    file_id: &str,
) -> Result<OpenedFile, AppError> {
    let f = state
        .store
        .request_file(&req.id, file_id)
        .await?
        .ok_or_else(|| AppError::NotFound("no such file".into()))?;
    let bytes = state
        .keys
        .open_chunk(&file_aad(&f.file.id), &f.body)
        .map_err(|e| AppError::Internal(format!("file of {}: {e}", req.reference)))?;
    let name = state
        .keys
        .open_at(
            Field::new("request_files", "name_ct", &f.file.id),
            &f.file.name_ct,
        )
        .unwrap_or_else(|_| "file".into());
    state
        .store
        .append_audit(&NewAudit {
            at: state.clock.now(),
            actor: actor.name.clone(),
            action: "request.file_view".into(),
            request_ref: Some(req.reference.clone()),
            client_addr: actor.client_addr.clone(),
            detail: json!({ "file_id": f.file.id, "purpose": f.file.purpose }),
        })
        .await?;
    Ok(OpenedFile {
        name,
        media_type: f.file.media_type,
        bytes,
    })
}

/// One entry of the conversation as staff and subject see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageView {
    pub id: String,
    pub at: chrono::DateTime<chrono::Utc>,
    /// `staff` or `subject`.
    pub author: String,
    /// The staff member (staff views only), or `subject`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// `question`, `message` or `reply`.
    pub purpose: String,
    /// `null` once the request's personal data is wiped.
    pub text: Option<String>,
    pub files: Vec<FileView>,
}

/// A file as listed in the conversation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FileView {
    pub id: String,
    pub name: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// `reply` or `agent_permission`.
    pub purpose: String,
}

pub(crate) fn file_view(state: &AppState, f: &StoredFile) -> FileView {
    FileView {
        id: f.id.clone(),
        name: state
            .keys
            .open_at(Field::new("request_files", "name_ct", &f.id), &f.name_ct)
            .unwrap_or_else(|_| "file".into()),
        media_type: f.media_type.clone(),
        size_bytes: f.size_bytes,
        sha256: f.sha256.clone(),
        purpose: f.purpose.clone(),
    }
}

/// The conversation of a request, oldest first; `staff` views name the staff member.
pub async fn view(
    state: &AppState,
    req: &Request,
    staff: bool,
) -> Result<Vec<MessageView>, AppError> {
    let messages = state.store.messages(&req.id).await?;
    let files = state.store.request_files(&req.id).await?;
    Ok(messages
        .into_iter()
        .map(|m| MessageView {
            text: m.body_ct.as_deref().and_then(|c| {
                state
                    .keys
                    .open_at(Field::new("request_messages", "body_ct", &m.id), c)
                    .ok()
            }),
            files: files
                .iter()
                .filter(|f| f.message_id.as_deref() == Some(m.id.as_str()))
                .map(|f| file_view(state, f))
                .collect(),
            actor: staff.then(|| m.actor.clone()),
            id: m.id,
            at: m.at,
            author: m.author,
            purpose: m.purpose,
        })
        .collect())
}

fn checked_text(field: &str, text: &str) -> Result<String, AppError> {
    let text = clean_text(text);
    if text.is_empty() || text.chars().count() > MAX_TEXT {
        return Err(AppError::field(
            field,
            format!("write 1 to {MAX_TEXT} characters"),
        ));
    }
    Ok(text)
}

fn new_message(
    state: &AppState,
    req: &Request,
    author: &str,
    actor: &str,
    purpose: &str,
    text: &str,
) -> Message {
    let id = uuid::Uuid::now_v7().to_string();
    Message {
        body_ct: Some(
            state
                .keys
                .seal_at(Field::new("request_messages", "body_ct", &id), text),
        ),
        id,
        request_id: req.id.clone(),
        at: state.clock.now(),
        author: author.into(),
        actor: actor.into(),
        purpose: purpose.into(),
    }
}

fn subject_address(state: &AppState, req: &Request) -> Result<String, AppError> {
    let ct = req.email_ct.as_deref().ok_or_else(|| AppError::Conflict {
        detail: "the subject's personal data of this request has been wiped".into(),
        current_status: Some(req.status.to_string()),
    })?;
    state
        .keys
        .open_at(Field::request("email_ct", &req.id), ct)
        .map_err(|e| AppError::Internal(format!("request {}: {e}", req.reference)))
}

/// Staff ask the subject for information: the request goes on hold `awaiting_subject`
/// (the subject is emailed the question with their status link, where they answer) and
/// the question joins the conversation.
pub async fn ask(
    state: &AppState,
    actor: &Actor,
    reference: &str,
    question: &str,
) -> Result<Request, AppError> {
    let question = checked_text("question", question)?;
    let held = workflow::act(
        state,
        actor,
        reference,
        StaffAction::Hold {
            reason: question.clone(),
            code: HoldReason::AwaitingSubject,
        },
    )
    .await?;
    let m = new_message(state, &held, "staff", &actor.name, "question", &question);
    let event = Event {
        at: m.at,
        actor: actor.name.clone(),
        action: "question".into(),
        from_status: Some(held.status),
        to_status: held.status,
        note: Some(format!("message {}", m.id)),
    };
    let audit = NewAudit {
        at: m.at,
        actor: actor.name.clone(),
        action: "request.question".into(),
        request_ref: Some(held.reference.clone()),
        client_addr: actor.client_addr.clone(),
        detail: json!({ "message_id": m.id }),
    };
    state
        .store
        .add_message(&m, &[], &event, &audit, &Changes::default())
        .await?;
    tracing::info!(reference = %held.reference, message = %m.id, "subject asked for information");
    Ok(held)
}

/// Staff send the subject a message (no change of status); it is emailed with the
/// status link and joins the conversation.
pub async fn message(
    state: &AppState,
    actor: &Actor,
    reference: &str,
    text: &str,
) -> Result<Request, AppError> {
    let text = checked_text("text", text)?;
    let req = workflow::load(state, reference).await?;
    let to = subject_address(state, &req)?;
    let m = new_message(state, &req, "staff", &actor.name, "message", &text);
    let mut changes = Changes {
        now: Some(m.at),
        ..Default::default()
    };
    let status_url = crate::services::intake::status_link(state, &mut changes, &req);
    crate::services::notify::queue(
        state,
        &mut changes,
        Some(&req.id),
        "message",
        &to,
        json!({ "reference": req.reference, "message": text, "status_url": status_url }),
    );
    let event = Event {
        at: m.at,
        actor: actor.name.clone(),
        action: "message".into(),
        from_status: Some(req.status),
        to_status: req.status,
        note: Some(format!("message {}", m.id)),
    };
    let audit = NewAudit {
        at: m.at,
        actor: actor.name.clone(),
        action: "request.message".into(),
        request_ref: Some(req.reference.clone()),
        client_addr: actor.client_addr.clone(),
        detail: json!({ "message_id": m.id }),
    };
    state
        .store
        .add_message(&m, &[], &event, &audit, &changes)
        .await?;
    state.queue.wake();
    tracing::info!(reference = %req.reference, message = %m.id, "message sent to the subject");
    Ok(req)
}

/// Whether the subject may answer now: the request is open and its identity kept.
pub fn may_reply(req: &Request) -> bool {
    !req.status.is_final() && req.status != Status::AwaitingVerification && req.email_ct.is_some()
}

/// The subject answers on the status page behind `token`, with up to three files. A
/// request on hold waiting for the subject resumes (its due date moves where the regime
/// stops the clock).
pub async fn reply(
    state: &AppState,
    client: &ClientAddr,
    token: &str,
    text: &str,
    uploads: Vec<Upload>,
) -> Result<Request, AppError> {
    let req = crate::services::intake::request_for_status_link(state, token).await?;
    if !may_reply(&req) {
        return Err(AppError::Conflict {
            detail: "this request no longer takes answers".into(),
            current_status: Some(req.status.to_string()),
        });
    }
    let now = state.clock.now();
    let (hits, ends) = state
        .store
        .hit_rate_limit(
            &format!("reply:{}", req.id),
            now + chrono::TimeDelta::days(1),
            now,
        )
        .await?;
    if hits > MAX_REPLIES_PER_DAY {
        tracing::warn!(reference = %req.reference, "subject answers over the daily limit");
        return Err(AppError::TooManyRequests {
            retry_after_secs: u64::try_from((ends - now).num_seconds().max(1)).unwrap_or(1),
        });
    }
    let text = clean_text(text);
    if text.chars().count() > MAX_TEXT {
        return Err(AppError::field(
            "text",
            format!("write at most {MAX_TEXT} characters"),
        ));
    }
    if text.is_empty() && uploads.is_empty() {
        return Err(AppError::field("text", "write an answer or add a file"));
    }
    let m = new_message(state, &req, "subject", "subject", "reply", &text);
    let files = seal_files(state, &req.id, FilePurpose::Reply, Some(&m.id), uploads)?;
    let event = Event {
        at: m.at,
        actor: "subject".into(),
        action: "subject_reply".into(),
        from_status: Some(req.status),
        to_status: req.status,
        note: Some(format!("message {} with {} file(s)", m.id, files.len())),
    };
    let audit = NewAudit {
        at: m.at,
        actor: "subject".into(),
        action: "request.subject_reply".into(),
        request_ref: Some(req.reference.clone()),
        client_addr: client.text(),
        detail: json!({
            "message_id": m.id,
            "files": files.iter().map(|f| &f.file.id).collect::<Vec<_>>(),
        }),
    };
    state
        .store
        .add_message(&m, &files, &event, &audit, &Changes::default())
        .await?;
    tracing::info!(reference = %req.reference, message = %m.id, files = files.len(), "subject answered");
    if req.status == Status::OnHold && req.hold_reason == Some(HoldReason::AwaitingSubject) {
        let actor = Actor {
            name: "subject".into(),
            client_addr: client.text(),
        };
        return workflow::act(state, &actor, &req.reference, StaffAction::Resume).await;
    }
    Ok(req)
}
