//! Outgoing email: templates rendered to text + HTML, and their delivery through SMTP or
//! as `.eml` files in `data_dir/outbox/`.
//!
//! Template contexts (all strings unless noted; every template also takes `reference`
//! and `organisation`):
//!
//! | template | variables |
//! |---|---|
//! | `verify` | `kind_label`, `verify_url`, `expires_hours` (number) |
//! | `received` | `kind_label`, `due_date`, `status_url` |
//! | `extended` | `reason`, `new_due_date`, `status_url` |
//! | `on_hold` | `reason`, `status_url` |
//! | `denied` | `reason_label` (a sentence), `note` (optional), `status_url`, `complaint_authority`, `appeal` (optional: `until`, `answer_within`, `authority`) |
//! | `appeal_decided` | `original_reference`, `kind_label`, `reversed` (bool), `reason`, `authority_name`, `authority_url`, `due_date` (optional), `status_url` |
//! | `completed` | `kind_label`, `status_url`, `download_url` (optional), `retained` (optional list of `{table, reason}`: what was kept for this subject), `systems` (list of `{system, outcome, text, tables: [{table, outcome, records, text, reason}]}`), `recipients_asked` (bool, optional), `recipients` (list of `{name, role, purpose, transfer, told}`), `register_provided` (bool) |
//! | `recipient_notice` | to a recipient (GDPR art. 19): `recipient`, `request_words`, `article`, `action`, `subject_email`, `corrections` (list of `{field, value}`), `privacy_team` |
//! | `expired` | `kind_label` |
//! | `staff_new_request` | `kind_label`, `due_date`, `portal_url` — never the subject's identity |
//!
//! `kind_label` fits "your … request" (`access`, `erasure`, `data portability`);
//! `complaint_authority` fits "a supervisory authority, such as …".
//!
//! The subject templates take their words from the translation files through `t(..)`
//! ([`crate::i18n`]) and are rendered with [`Templates::render_in`] in the request's
//! language; the staff templates are English text.

mod templates;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, Mailboxes, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{EmailConfig, EmailTransport};

pub(crate) use templates::format_value;
pub use templates::{Rendered, TEMPLATE_NAMES, Templates};

/// How long one SMTP delivery may take, connection included.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error("unknown email template `{0}`")]
    UnknownTemplate(String),
    #[error("email template {name}: {source}")]
    Template {
        name: String,
        #[source]
        source: minijinja::Error,
    },
    #[error("email template directory {} does not exist", .0.display())]
    TemplateDir(PathBuf),
    #[error("reading email template {}: {source}", path.display())]
    TemplateFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("email.from `{0}` is not a mailbox like `Privacy Team <privacy@example.com>`")]
    InvalidFrom(String),
    #[error("email.smtp_url: {0}")]
    Transport(String),
}

/// A send failure; permanent ones (5xx, bad address) are not retried.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub message: String,
    pub permanent: bool,
}

impl SendError {
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: true,
        }
    }

    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: false,
        }
    }
}

/// Renders and delivers email. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    from: Mailbox,
    templates: Templates,
    transport: Transport,
}

enum Transport {
    File { outbox: PathBuf },
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let transport = match &self.inner.transport {
            Transport::File { .. } => "file",
            Transport::Smtp(_) => "smtp",
        };
        f.debug_struct("Mailer")
            .field("from", &self.inner.from.to_string())
            .field("transport", &transport)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    pub fn from_config(cfg: &EmailConfig, data_dir: &Path) -> Result<Self, EmailError> {
        let from: Mailbox = cfg
            .from
            .parse()
            .map_err(|_| EmailError::InvalidFrom(cfg.from.clone()))?;
        let templates = Templates::new(cfg.templates_dir.as_deref())?;
        let transport = match cfg.transport {
            EmailTransport::File => Transport::File {
                outbox: data_dir.join("outbox"),
            },
            EmailTransport::Smtp => {
                // lettre's URL errors name the scheme or the parse problem, never the
                // password.
                let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(cfg.smtp_url.expose())
                    .map_err(|e| EmailError::Transport(e.to_string()))?;
                Transport::Smtp(builder.timeout(Some(SMTP_TIMEOUT)).build())
            }
        };
        Ok(Self {
            inner: Arc::new(Inner {
                from,
                templates,
                transport,
            }),
        })
    }

    pub fn templates(&self) -> &Templates {
        &self.inner.templates
    }

    /// Build a multipart/alternative (text + HTML) message from `from` to `to` and deliver it.
    pub async fn send(&self, to: &str, rendered: &Rendered) -> Result<(), SendError> {
        let message = self.message(to, rendered)?;
        match &self.inner.transport {
            Transport::File { outbox } => {
                let file = write_eml(outbox, &message.formatted())
                    .await
                    .map_err(|e| SendError::transient(format!("writing to the outbox: {e}")))?;
                tracing::debug!(file = %file.display(), "email written to the outbox");
                Ok(())
            }
            Transport::Smtp(smtp) => match smtp.send(message).await {
                Ok(_) => {
                    tracing::debug!("email delivered over SMTP");
                    Ok(())
                }
                Err(e) => Err(smtp_error(&e, to)),
            },
        }
    }

    fn message(&self, to: &str, rendered: &Rendered) -> Result<Message, SendError> {
        let to = parse_recipient(to)?;
        let domain = self.inner.from.email.domain();
        Message::builder()
            .from(self.inner.from.clone())
            .to(to)
            .subject(templates::clean_subject(&rendered.subject))
            .message_id(Some(format!(
                "<{}@{domain}>",
                uuid::Uuid::new_v4().simple()
            )))
            .date_now()
            .multipart(MultiPart::alternative_plain_html(
                rendered.text.clone(),
                rendered.html.clone(),
            ))
            .map_err(|e| SendError::permanent(format!("building the message: {e}")))
    }
}

/// Exactly one mailbox, on one line. Errors never repeat the value.
fn parse_recipient(to: &str) -> Result<Mailbox, SendError> {
    let bad = || SendError::permanent("recipient is not a valid email address");
    if to.chars().any(char::is_control) {
        return Err(bad());
    }
    // A list like `a@x, b@y` must not quietly become one of its members: parse a list
    // and require exactly one.
    let list: Mailboxes = to.parse().map_err(|_| bad())?;
    let mut list = list.into_iter();
    match (list.next(), list.next()) {
        (Some(one), None) => Ok(one),
        _ => Err(bad()),
    }
}

/// The server's reply may quote the recipient; it must not reach logs or job records.
fn smtp_error(e: &lettre::transport::smtp::Error, to: &str) -> SendError {
    let mut message = format!("SMTP: {e}");
    let mut needles = vec![to.trim().to_owned()];
    if let Ok(mb) = to.trim().parse::<Mailbox>() {
        needles.push(mb.email.to_string());
    }
    for needle in needles.iter().filter(|n| !n.is_empty()) {
        message = replace_ignore_ascii_case(&message, needle, "[recipient]");
    }
    SendError {
        message,
        permanent: e.is_permanent(),
    }
}

fn replace_ignore_ascii_case(haystack: &str, needle: &str, with: &str) -> String {
    // ASCII lowercasing keeps byte offsets, so indexes found in the lowered copy are
    // valid in the original.
    let lower = haystack.to_ascii_lowercase();
    let needle = needle.to_ascii_lowercase();
    let mut out = String::with_capacity(haystack.len());
    let mut last = 0;
    for (i, _) in lower.match_indices(&needle) {
        out.push_str(&haystack[last..i]);
        out.push_str(with);
        last = i + needle.len();
    }
    out.push_str(&haystack[last..]);
    out
}

/// Write `bytes` as `<yyyymmddTHHMMSS>-<uuid>.eml` through a hidden temporary name, so a
/// reader of the outbox never sees half a message.
async fn write_eml(outbox: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
    use tokio::io::AsyncWriteExt;

    tokio::fs::create_dir_all(outbox).await?;
    let name = format!(
        "{}-{}.eml",
        chrono::Utc::now().format("%Y%m%dT%H%M%S"),
        uuid::Uuid::new_v4()
    );
    let tmp = outbox.join(format!(".{name}.tmp"));
    let path = outbox.join(&name);
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    // Messages carry personal data and one-time links.
    #[cfg(unix)]
    options.mode(0o600);
    let result = async {
        let mut file = options.open(&tmp).await?;
        file.write_all(bytes).await?;
        file.sync_all().await?;
        drop(file);
        tokio::fs::rename(&tmp, &path).await
    }
    .await;
    if let Err(e) = result {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(e);
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn rendered(subject: &str) -> Rendered {
        Rendered {
            subject: subject.into(),
            text: "Hello,\n\nhttps://privacy.example.com/verify/abc\n".into(),
            html: "<!DOCTYPE html><p>Hello</p>".into(),
        }
    }

    fn file_config() -> EmailConfig {
        EmailConfig {
            transport: EmailTransport::File,
            ..EmailConfig::default()
        }
    }

    fn eml_files(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|rd| rd.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        files.sort();
        files
    }

    #[tokio::test]
    async fn file_transport_writes_one_eml() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::from_config(&file_config(), dir.path()).unwrap();
        mailer
            .send("someone@example.com", &rendered("Hello there"))
            .await
            .unwrap();
        let files = eml_files(&dir.path().join("outbox"));
        assert_eq!(files.len(), 1, "{files:?}");
        let name = files[0].file_name().unwrap().to_str().unwrap();
        assert!(name.ends_with(".eml") && !name.starts_with('.'), "{name}");
        assert_eq!(name.as_bytes()[8], b'T', "{name}");
        let eml = std::fs::read_to_string(&files[0]).unwrap();
        assert!(eml.contains("Subject: Hello there\r\n"), "{eml}");
        assert!(eml.contains("From: \"Privacy Team\" <privacy@example.com>\r\n"));
        assert!(eml.contains("To: someone@example.com\r\n"));
        assert!(eml.contains("Message-ID: <"));
        assert!(eml.contains("@example.com>\r\n"));
        assert!(eml.contains("Date: "));
        assert!(eml.contains("multipart/alternative"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[tokio::test]
    async fn bad_recipients_are_permanent_and_not_repeated() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::from_config(&file_config(), dir.path()).unwrap();
        for to in [
            "not an address",
            "someone@example.com\r\nBcc: evil@example.net",
            "Someone\r\nBcc: evil@example.net <someone@example.com>",
            "someone@example.com, evil@example.net",
            "",
        ] {
            let err = mailer.send(to, &rendered("x")).await.unwrap_err();
            assert!(err.permanent, "{to:?}");
            assert!(!err.message.contains("example"), "{}", err.message);
        }
        assert!(eml_files(&dir.path().join("outbox")).is_empty());
    }

    #[tokio::test]
    async fn a_display_name_is_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::from_config(&file_config(), dir.path()).unwrap();
        mailer
            .send("Jane Doe <jane@example.com>", &rendered("x"))
            .await
            .unwrap();
        let files = eml_files(&dir.path().join("outbox"));
        let eml = std::fs::read_to_string(&files[0]).unwrap();
        assert!(
            eml.contains("To: \"Jane Doe\" <jane@example.com>\r\n"),
            "{eml}"
        );
    }

    #[test]
    fn config_errors_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = EmailConfig {
            from: "not a mailbox".into(),
            ..file_config()
        };
        assert!(matches!(
            Mailer::from_config(&cfg, dir.path()),
            Err(EmailError::InvalidFrom(_))
        ));
        let cfg = EmailConfig {
            transport: EmailTransport::Smtp,
            smtp_url: Secret::new("ftp://user:hunter2@mail.example.com".into()),
            ..file_config()
        };
        let err = Mailer::from_config(&cfg, dir.path()).unwrap_err();
        assert!(matches!(err, EmailError::Transport(_)));
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn mailer_and_send_future_cross_tasks() {
        fn shareable<T: Send + Sync + Clone + 'static>() {}
        fn sendable<T: Send>(_: &T) {}
        shareable::<Mailer>();
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::from_config(&file_config(), dir.path()).unwrap();
        let r = rendered("x");
        sendable(&mailer.send("someone@example.com", &r));
    }

    #[test]
    fn recipients_are_redacted_from_server_replies() {
        assert_eq!(
            replace_ignore_ascii_case(
                "550 <Someone@Example.com>: no such user",
                "someone@example.com",
                "[recipient]"
            ),
            "550 <[recipient]>: no such user"
        );
    }
}
