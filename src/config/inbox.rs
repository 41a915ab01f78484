//! `[inbox]`: the privacy inbox read over IMAP (off unless `url` is set).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::HumanDuration;
use crate::secret::Secret;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InboxConfig {
    /// `imaps://host:993` (TLS through rustls). `imap://` (no TLS) only to a loopback
    /// address. Empty: no inbox is read.
    pub url: String,
    /// The mailbox user. Set it with `RIGHTSDESK_INBOX__USERNAME` to keep it out of files.
    pub username: String,
    /// The mailbox password: from the environment, `RIGHTSDESK_INBOX__PASSWORD`.
    pub password: Secret<String>,
    /// The folder read for new messages.
    pub folder: String,
    /// Where a message goes once it is a triage item (created when missing).
    pub processed_folder: String,
    /// Longest wait between two reads of the folder; where the server has IDLE, new mail
    /// is read as soon as the server announces it.
    pub poll_interval: HumanDuration,
    /// PEM file of a certificate authority to trust besides the public ones (a company's
    /// own mail server).
    pub ca_file: Option<PathBuf>,
    /// Attachments larger than this are listed on the item, not kept.
    pub max_attachment_bytes: u64,
}

impl Default for InboxConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            username: String::new(),
            password: Secret::new(String::new()),
            folder: "INBOX".into(),
            processed_folder: "Rightsdesk/Processed".into(),
            poll_interval: HumanDuration(Duration::from_secs(60)),
            ca_file: None,
            max_attachment_bytes: 10 * 1024 * 1024,
        }
    }
}

impl InboxConfig {
    pub fn enabled(&self) -> bool {
        !self.url.trim().is_empty()
    }

    /// What is wrong with a configured inbox, if anything.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.enabled() {
            return out;
        }
        match crate::domain::inbox::parse_url(&self.url) {
            Ok(_) => {}
            Err(e) => out.push(format!("[inbox] url: {e}")),
        }
        if self.username.trim().is_empty() {
            out.push("[inbox] needs username (or RIGHTSDESK_INBOX__USERNAME)".into());
        }
        if self.password.expose().is_empty() {
            out.push("[inbox] needs the password in RIGHTSDESK_INBOX__PASSWORD".into());
        }
        if self.folder.trim().is_empty() || self.processed_folder.trim().is_empty() {
            out.push("[inbox] folder and processed_folder must not be empty".into());
        }
        if self.folder == self.processed_folder {
            out.push("[inbox] processed_folder must differ from folder".into());
        }
        if self.poll_interval.0 < Duration::from_secs(1) {
            out.push("[inbox] poll_interval must be at least 1s".into());
        }
        out
    }
}
