//! The privacy inbox: messages in the `[inbox]` IMAP folder become triage items (sender,
//! subject, text, attachments, all encrypted; the kind guessed from the words), and the
//! message moves to the processed folder. Auto-replies, bounces and mailing lists never
//! become items. Staff convert an item into a request (the sender gets the usual
//! verification link, so a forged From: gains nothing) or dismiss it with a reason.

use std::sync::Arc;
use std::time::Duration;

use async_imap::Session;
use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use mail_parser::{MessageParser, MimeHeaders};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_stream::StreamExt;

use crate::app::context::AppState;
use crate::crypto::Field;
use crate::domain::client::ClientAddr;
use crate::domain::inbox::{MailSignals, automated, guess_kind, guess_language, parse_url};
use crate::domain::request::Kind;
use crate::error::{AppError, FieldError};
use crate::services::{intake, workflow};
use crate::store::inbox::{Decision, TriageAttachment, TriageItem};
use crate::store::{NewAudit, StoreError};

/// What one read of the folder did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Messages in the folder.
    pub read: usize,
    /// New triage items.
    pub items: usize,
    /// Auto-replies, bounces, list mail: moved, no item.
    pub automated: usize,
    /// Already an item (read before; the move had failed): moved, no second item.
    pub known: usize,
    /// Messages moved to the processed folder.
    pub moved: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error("the inbox is not configured")]
    NotConfigured,
    #[error("connecting to the mail server: {0}")]
    Connect(String),
    #[error("the mail server answered: {0}")]
    Imap(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

impl From<async_imap::error::Error> for InboxError {
    fn from(e: async_imap::error::Error) -> Self {
        InboxError::Imap(e.to_string())
    }
}

/// A stream the IMAP client runs on: TLS, or plain TCP to a loopback address.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> Io for T {}

type ImapSession = Session<Box<dyn Io>>;

/// What the server can do, read once per connection.
#[derive(Debug, Clone, Copy)]
struct Caps {
    /// `MOVE` (RFC 6851); else copy, flag deleted and expunge.
    can_move: bool,
    /// `IDLE` (RFC 2177); else poll every `poll_interval`.
    idle: bool,
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest text body kept for staff (the rest is cut with a note).
const MAX_BODY_CHARS: usize = 100_000;
/// Attachments kept per message (more are listed in the body's note, not kept).
const MAX_ATTACHMENTS: usize = 10;

fn tls_config(state: &AppState) -> Result<rustls::ClientConfig, InboxError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &state.config.inbox.ca_file {
        use rustls_pki_types::pem::PemObject;
        let certs = rustls_pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|e| InboxError::Connect(format!("[inbox] ca_file: {e}")))?;
        for c in certs {
            let c = c.map_err(|e| InboxError::Connect(format!("[inbox] ca_file: {e}")))?;
            roots
                .add(c)
                .map_err(|e| InboxError::Connect(format!("[inbox] ca_file: {e}")))?;
        }
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| InboxError::Connect(e.to_string()))
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
}

/// Connect, sign in, read the server's capabilities and make sure the processed folder
/// exists (once per connection, not per read).
async fn connect(state: &AppState) -> Result<(ImapSession, Caps), InboxError> {
    let cfg = &state.config.inbox;
    if !cfg.enabled() {
        return Err(InboxError::NotConfigured);
    }
    let url = parse_url(&cfg.url).map_err(InboxError::Connect)?;
    let tcp = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio::net::TcpStream::connect((url.host.as_str(), url.port)),
    )
    .await
    .map_err(|_| InboxError::Connect("timed out".into()))?
    .map_err(|e| InboxError::Connect(e.to_string()))?;
    let stream: Box<dyn Io> = if url.tls {
        let name = rustls_pki_types::ServerName::try_from(url.host.clone())
            .map_err(|e| InboxError::Connect(e.to_string()))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(tls_config(state)?))
            .connect(name, tcp)
            .await
            .map_err(|e| InboxError::Connect(format!("TLS: {e}")))?;
        Box::new(tls)
    } else {
        Box::new(tcp)
    };
    let mut client = async_imap::Client::new(stream);
    client
        .read_response()
        .await
        .map_err(|e| InboxError::Connect(e.to_string()))?
        .ok_or_else(|| InboxError::Connect("the server closed the connection".into()))?;
    let mut session = client
        .login(&cfg.username, cfg.password.expose())
        .await
        .map_err(|(e, _)| InboxError::Imap(format!("sign-in refused: {e}")))?;
    let caps = session
        .capabilities()
        .await
        .map(|c| Caps {
            can_move: c.has_str("MOVE"),
            idle: c.has_str("IDLE"),
        })
        .unwrap_or(Caps {
            can_move: false,
            idle: false,
        });
    // The processed folder may exist already; a real failure shows at the move.
    let _ = session.create(&cfg.processed_folder).await;
    Ok((session, caps))
}

/// Read the folder once: every message becomes an item (or is recognised as automatic)
/// and moves to the processed folder.
pub async fn poll_once(state: &AppState) -> Result<PollReport, InboxError> {
    let (mut session, caps) = connect(state).await?;
    let report = process_folder(state, &mut session, caps).await;
    let _ = session.logout().await;
    report
}

async fn process_folder(
    state: &AppState,
    session: &mut ImapSession,
    caps: Caps,
) -> Result<PollReport, InboxError> {
    let cfg = &state.config.inbox;
    session.select(&cfg.folder).await?;
    let mut uids: Vec<u32> = session.uid_search("ALL").await?.into_iter().collect();
    uids.sort_unstable();
    let mut report = PollReport {
        read: uids.len(),
        ..Default::default()
    };
    for uid in uids {
        let raw = {
            let fetches: Vec<_> = session
                .uid_fetch(uid.to_string(), "(UID BODY.PEEK[])")
                .await?
                .collect()
                .await;
            let mut raw = None;
            for f in fetches {
                if let Some(b) = f?.body() {
                    raw = Some(b.to_vec());
                }
            }
            raw
        };
        let Some(raw) = raw else {
            continue;
        };
        match ingest(state, &raw).await? {
            Ingested::Item(_) => report.items += 1,
            Ingested::Automated(_) => report.automated += 1,
            Ingested::Known => report.known += 1,
        }
        let set = uid.to_string();
        if caps.can_move {
            session.uid_mv(&set, &cfg.processed_folder).await?;
        } else {
            session.uid_copy(&set, &cfg.processed_folder).await?;
            for r in session
                .uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
                .await?
                .collect::<Vec<_>>()
                .await
            {
                r?;
            }
            for r in session.uid_expunge(&set).await?.collect::<Vec<_>>().await {
                r?;
            }
        }
        report.moved += 1;
    }
    Ok(report)
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    /// A new triage item (its id).
    Item(String),
    /// A machine's message (why).
    Automated(&'static str),
    /// Read before.
    Known,
}

/// Turn one raw message into a triage item, unless a machine sent it or it was read before.
pub async fn ingest(state: &AppState, raw: &[u8]) -> Result<Ingested, InboxError> {
    let parsed = MessageParser::default().parse(raw);
    let message_key = crate::crypto::sha256_hex(
        parsed
            .as_ref()
            .and_then(|m| m.message_id())
            .map(|id| id.as_bytes())
            .unwrap_or(raw),
    );
    let now = state.clock.now();
    let Some(m) = parsed else {
        // Not a message at all: staff still see it, as text.
        return store_item(
            state,
            message_key,
            now,
            String::new(),
            String::new(),
            String::from_utf8_lossy(raw)
                .chars()
                .take(MAX_BODY_CHARS)
                .collect(),
            Vec::new(),
        )
        .await;
    };
    let from = m
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .trim()
        .to_string();
    let header = |name: &'static str| m.header_raw(name).map(str::trim);
    let ct = m
        .content_type()
        .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or_default()));
    let signals = MailSignals {
        auto_submitted: header("Auto-Submitted"),
        precedence: header("Precedence"),
        list: header("List-Id").is_some() || header("List-Unsubscribe").is_some(),
        content_type: ct.as_deref(),
        vendor_autoreply: header("X-Autoreply").is_some()
            || header("X-Autorespond").is_some()
            || header("X-Auto-Reply").is_some(),
        return_path: header("Return-Path"),
        from: Some(from.as_str()),
    };
    if let Some(why) = automated(&signals) {
        tracing::info!(reason = why, "inbox: automatic message skipped");
        return Ok(Ingested::Automated(why));
    }
    let subject = m.subject().unwrap_or_default().trim().to_string();
    let mut body: String = m
        .body_text(0)
        .map(|b| b.into_owned())
        .unwrap_or_default()
        .chars()
        .take(MAX_BODY_CHARS)
        .collect();
    let received = m
        .date()
        .and_then(|d| Utc.timestamp_opt(d.to_timestamp(), 0).single())
        .filter(|d| *d <= now)
        .unwrap_or(now);
    let limit = state.config.inbox.max_attachment_bytes;
    let mut attachments = Vec::new();
    let mut not_kept = Vec::new();
    for (i, part) in m.attachments().enumerate() {
        let name = part
            .attachment_name()
            .map(str::to_string)
            .unwrap_or_else(|| format!("attachment-{}", i + 1));
        let data = part.contents();
        if attachments.len() >= MAX_ATTACHMENTS || data.len() as u64 > limit {
            not_kept.push(format!("{name} ({} bytes)", data.len()));
            continue;
        }
        let content_type = part
            .content_type()
            .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or_default()))
            .unwrap_or_else(|| "application/octet-stream".into());
        attachments.push((name, content_type, data.to_vec()));
    }
    if !not_kept.is_empty() {
        body.push_str(&format!(
            "\n\n[Rightsdesk: attachments not kept (more than {MAX_ATTACHMENTS}, or over {limit} bytes): {}]",
            not_kept.join(", ")
        ));
    }
    store_item(
        state,
        message_key,
        received,
        from,
        subject,
        body,
        attachments,
    )
    .await
}

async fn store_item(
    state: &AppState,
    message_key: String,
    received_at: DateTime<Utc>,
    from: String,
    subject: String,
    body: String,
    attachments: Vec<(String, String, Vec<u8>)>,
) -> Result<Ingested, InboxError> {
    let id = uuid::Uuid::now_v7().to_string();
    let seal = |column: &str, text: &str| {
        state
            .keys
            .seal_at(Field::new("inbox_items", column, &id), text)
    };
    let item = TriageItem {
        id: id.clone(),
        message_key,
        received_at,
        from_ct: seal("from_ct", &from),
        subject_ct: seal("subject_ct", &subject),
        guessed_kind: guess_kind(&subject, &body).map(|k| k.as_str().to_string()),
        language: guess_language(&format!("{subject}\n{body}")).map(str::to_string),
        body_ct: seal("body_ct", &body),
        status: "new".into(),
        reason: None,
        request_ref: None,
        decided_by: None,
        decided_at: None,
        created_at: state.clock.now(),
    };
    let files: Vec<TriageAttachment> = attachments
        .into_iter()
        .map(|(name, content_type, data)| {
            let aid = uuid::Uuid::now_v7().to_string();
            TriageAttachment {
                name_ct: state
                    .keys
                    .seal_at(Field::new("inbox_attachments", "name_ct", &aid), &name),
                size_bytes: data.len() as i64,
                data_ct: state.keys.seal_at(
                    Field::new("inbox_attachments", "data_ct", &aid),
                    &base64::engine::general_purpose::STANDARD.encode(&data),
                ),
                content_type,
                item_id: id.clone(),
                id: aid,
            }
        })
        .collect();
    if !state.store.inbox_insert(&item, &files).await? {
        return Ok(Ingested::Known);
    }
    // Other systems hear of it by id and guess only: the sender and text stay here.
    if let Err(e) = crate::services::webhooks::emit(
        state,
        "inbox.item",
        None,
        json!({ "item": id, "guessed_kind": item.guessed_kind, "received_at": item.received_at }),
    )
    .await
    {
        tracing::warn!(item = %id, error = %e, "inbox: the inbox.item webhook event was not queued");
    }
    tracing::info!(item = %id, kind = ?item.guessed_kind, attachments = files.len(), "inbox: new triage item");
    Ok(Ingested::Item(id))
}

/// Read the inbox until `stop`: at start, whenever the server announces new mail (IDLE,
/// where it has it), and at least every `poll_interval`. Errors are logged and the
/// connection is made again after a pause.
pub async fn run(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let poll = state.config.inbox.poll_interval.0;
    let mut pause = Duration::from_secs(5);
    loop {
        if *stop.borrow() {
            return;
        }
        let outcome = async {
            let (mut session, caps) = connect(&state).await?;
            loop {
                let report = process_folder(&state, &mut session, caps).await?;
                if report.read > 0 {
                    tracing::info!(
                        read = report.read,
                        items = report.items,
                        automated = report.automated,
                        known = report.known,
                        "inbox read"
                    );
                }
                if *stop.borrow() {
                    let _ = session.logout().await;
                    return Ok::<(), InboxError>(());
                }
                if caps.idle {
                    let mut handle = session.idle();
                    handle.init().await?;
                    {
                        let (wait, _interrupt) = handle.wait_with_timeout(poll);
                        tokio::select! {
                            r = wait => { r?; }
                            _ = stop.changed() => {}
                        }
                    }
                    session = handle.done().await?;
                } else {
                    tokio::select! {
                        _ = tokio::time::sleep(poll) => {}
                        _ = stop.changed() => {}
                    }
                }
            }
        }
        .await;
        match outcome {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, "inbox: could not read the mail folder; trying again");
                pause = (pause * 2).min(poll.max(Duration::from_secs(5)));
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => {}
        }
    }
}

/// A triage item opened for staff.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ItemView {
    pub id: String,
    pub received_at: DateTime<Utc>,
    pub from: String,
    pub subject: String,
    pub body: String,
    pub guessed_kind: Option<String>,
    pub language: Option<String>,
    pub status: String,
    pub reason: Option<String>,
    pub request_ref: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub attachments: Vec<AttachmentView>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct AttachmentView {
    pub id: String,
    pub name: String,
    pub content_type: String,
    pub size_bytes: i64,
}

fn open(state: &AppState, item: &TriageItem, column: &str, ct: &str) -> String {
    state
        .keys
        .open_at(Field::new("inbox_items", column, &item.id), ct)
        .unwrap_or_else(|_| "(could not be decrypted)".into())
}

/// An item for staff; `attachments: None` is a queue line (no body, no attachments).
fn view(state: &AppState, item: &TriageItem, attachments: Option<Vec<AttachmentView>>) -> ItemView {
    ItemView {
        id: item.id.clone(),
        received_at: item.received_at,
        from: open(state, item, "from_ct", &item.from_ct),
        subject: open(state, item, "subject_ct", &item.subject_ct),
        body: if attachments.is_some() {
            open(state, item, "body_ct", &item.body_ct)
        } else {
            String::new()
        },
        guessed_kind: item.guessed_kind.clone(),
        language: item.language.clone(),
        status: item.status.clone(),
        reason: item.reason.clone(),
        request_ref: item.request_ref.clone(),
        decided_by: item.decided_by.clone(),
        decided_at: item.decided_at,
        attachments: attachments.unwrap_or_default(),
    }
}

/// The items of a status (`new` by default in the portal), newest first.
pub async fn list(
    state: &AppState,
    status: Option<&str>,
    page: crate::store::PageRequest,
) -> Result<(Vec<ItemView>, i64), AppError> {
    let found = state.store.inbox_items(status, page).await?;
    let items = found
        .items
        .iter()
        // The queue shows sender, subject and guess: the bodies stay sealed.
        .map(|i| view(state, i, None))
        .collect();
    Ok((items, found.total))
}

/// One item, opened by a staff member (audited: it is personal data).
pub async fn open_item(
    state: &AppState,
    actor: &str,
    client: &ClientAddr,
    id: &str,
) -> Result<ItemView, AppError> {
    let item = state
        .store
        .inbox_item(id)
        .await?
        .ok_or_else(|| AppError::NotFound("no such triage item".into()))?;
    let attachments = state
        .store
        .inbox_attachment_list(id)
        .await?
        .into_iter()
        .map(|a| AttachmentView {
            name: state
                .keys
                .open_at(
                    Field::new("inbox_attachments", "name_ct", &a.id),
                    &a.name_ct,
                )
                .unwrap_or_else(|_| "(name could not be decrypted)".into()),
            id: a.id,
            content_type: a.content_type,
            size_bytes: a.size_bytes,
        })
        .collect();
    state
        .store
        .append_audit(&NewAudit {
            at: state.clock.now(),
            actor: actor.into(),
            action: "inbox.view".into(),
            request_ref: item.request_ref.clone(),
            client_addr: client.text(),
            detail: json!({ "item": item.id }),
        })
        .await?;
    Ok(view(state, &item, Some(attachments)))
}

/// An attachment's name, type and content, for download (audited).
pub async fn attachment(
    state: &AppState,
    actor: &str,
    client: &ClientAddr,
    item_id: &str,
    id: &str,
) -> Result<(String, String, Vec<u8>), AppError> {
    let a = state
        .store
        .inbox_attachment(id)
        .await?
        .filter(|a| a.item_id == item_id)
        .ok_or_else(|| AppError::NotFound("no such attachment".into()))?;
    let data = state
        .keys
        .open_at(
            Field::new("inbox_attachments", "data_ct", &a.id),
            &a.data_ct,
        )
        .ok()
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .ok_or_else(|| AppError::Internal("the attachment could not be decrypted".into()))?;
    let name = state
        .keys
        .open_at(
            Field::new("inbox_attachments", "name_ct", &a.id),
            &a.name_ct,
        )
        .unwrap_or_else(|_| "attachment".into());
    state
        .store
        .append_audit(&NewAudit {
            at: state.clock.now(),
            actor: actor.into(),
            action: "inbox.attachment_download".into(),
            request_ref: None,
            client_addr: client.text(),
            detail: json!({ "item": item_id, "attachment": a.id }),
        })
        .await?;
    Ok((name, a.content_type, data))
}

/// Convert a new item into a request of `kind` (under `regime`, else from the rules for
/// subject requests) for the sender's address: the sender is emailed the usual
/// verification link, exactly as if they had used the form. Returns the reference.
pub async fn convert(
    state: &AppState,
    actor: &str,
    client: &ClientAddr,
    id: &str,
    kind: Kind,
    regime: Option<crate::domain::deadline::Regime>,
) -> Result<String, AppError> {
    let item = state
        .store
        .inbox_item(id)
        .await?
        .ok_or_else(|| AppError::NotFound("no such triage item".into()))?;
    if item.status != "new" {
        return Err(AppError::Conflict {
            detail: format!("this item was {} already", item.status),
            current_status: None,
        });
    }
    let from = open(state, &item, "from_ct", &item.from_ct);
    let subject = open(state, &item, "subject_ct", &item.subject_ct);
    let body = open(state, &item, "body_ct", &item.body_ct);
    // The request's free text: the message, cut to what a form would take.
    let details: String = format!("By email. Subject: {subject}\n\n{body}")
        .chars()
        .take(4900)
        .collect();
    let mut errors: Vec<FieldError> = Vec::new();
    let submission = workflow::parse_submission(
        kind,
        &from,
        None,
        Some(&details),
        None,
        (None, None),
        &mut errors,
    );
    let submission = match submission {
        Some(s) if errors.is_empty() => s,
        _ => {
            // The sender's address is what fails here: say so on the item's field.
            let errors = errors
                .into_iter()
                .map(|e| {
                    if e.field == "email" {
                        FieldError::new("from", format!("the sender's address: {}", e.message))
                    } else {
                        e
                    }
                })
                .collect();
            return Err(AppError::Validation(errors));
        }
    };
    // The sender is written to in the language their message was in (English when the
    // guess found none of ours).
    let language = item
        .language
        .as_deref()
        .and_then(crate::domain::language::Language::from_tag_loose)
        .unwrap_or_default();
    let req = intake::submit_under(state, client, submission, regime, language).await?;
    let now = state.clock.now();
    let decided = state
        .store
        .inbox_decide(
            id,
            &Decision {
                status: "converted",
                reason: None,
                request_ref: Some(&req.reference),
                by: actor,
                at: now,
            },
            &NewAudit {
                at: now,
                actor: actor.into(),
                action: "inbox.convert".into(),
                request_ref: Some(req.reference.clone()),
                client_addr: client.text(),
                detail: json!({ "item": id, "kind": kind.as_str(), "regime": regime.map(|r| r.to_string()) }),
            },
        )
        .await?;
    if !decided {
        return Err(AppError::Conflict {
            detail: "this item was decided by someone else meanwhile".into(),
            current_status: None,
        });
    }
    Ok(req.reference)
}

/// Dismiss a new item (spam, not a rights request, answered elsewhere) with a reason.
pub async fn dismiss(
    state: &AppState,
    actor: &str,
    client: &ClientAddr,
    id: &str,
    reason: &str,
) -> Result<(), AppError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::Validation(vec![FieldError::new(
            "reason",
            "say why in 1 to 500 characters",
        )]));
    }
    let item = state
        .store
        .inbox_item(id)
        .await?
        .ok_or_else(|| AppError::NotFound("no such triage item".into()))?;
    let now = state.clock.now();
    let decided = state
        .store
        .inbox_decide(
            &item.id,
            &Decision {
                status: "dismissed",
                reason: Some(reason),
                request_ref: None,
                by: actor,
                at: now,
            },
            &NewAudit {
                at: now,
                actor: actor.into(),
                action: "inbox.dismiss".into(),
                request_ref: None,
                client_addr: client.text(),
                detail: json!({ "item": id }),
            },
        )
        .await?;
    if !decided {
        return Err(AppError::Conflict {
            detail: format!("this item was {} already", item.status),
            current_status: None,
        });
    }
    Ok(())
}
