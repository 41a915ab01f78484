//! `[drp]`: the Data Rights Protocol covered-business API (off by default).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::HumanDuration;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DrpConfig {
    /// Serve the DRP routes. Off unless `business_id` and `directory` are set too.
    pub enabled: bool,
    /// Our id in the DRP business directory; signed messages must name it in `business-id`.
    pub business_id: String,
    /// Where the routes live (`/drp` gives `/drp/v1/agent/{agent-id}` and so on).
    pub base_path: String,
    /// Local copy of the directory's `agents.json` (loaded at start and by
    /// `rightsdesk drp directory PATH`).
    pub directory: Option<PathBuf>,
    /// `true`: an `email_verified: true` claim counts as verified identity and the request
    /// starts at once. `false` (default): the subject confirms through our own emailed link.
    pub trust_agent_verification: bool,
    /// How far in the future `issued-at` may be (the agents' clocks run a little fast).
    pub allowed_skew: HumanDuration,
    /// Longest accepted `expires-at` minus `issued-at` (the spec recommends 10 minutes).
    pub max_window: HumanDuration,
    /// Status callbacks to plain `http://` URLs (tests, private networks). Off: `https://` only.
    pub callback_allow_http: bool,
    /// Status callbacks to private, loopback or link-local addresses (tests, agents inside
    /// the company's network). Off: a callback URL that resolves to one is refused.
    pub callback_allow_private: bool,
}

impl Default for DrpConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            business_id: String::new(),
            base_path: "/drp".into(),
            directory: None,
            trust_agent_verification: false,
            allowed_skew: HumanDuration(Duration::from_secs(60)),
            max_window: HumanDuration(Duration::from_secs(600)),
            callback_allow_http: false,
            callback_allow_private: false,
        }
    }
}

impl DrpConfig {
    /// What is wrong with an enabled configuration, if anything.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.enabled {
            return out;
        }
        if self.business_id.trim().is_empty() {
            out.push("[drp] enabled needs business_id (our id in the DRP directory)".into());
        }
        if self.directory.is_none() {
            out.push("[drp] enabled needs directory (the path of the agents.json copy)".into());
        }
        let b = self.base_path.trim_end_matches('/');
        if !b.starts_with('/') || b.len() < 2 || b.contains(['?', '#', ' ', '{', '}']) {
            out.push(format!(
                "[drp] base_path `{}` must be a path such as /drp",
                self.base_path
            ));
        }
        out
    }

    /// The base path without a trailing slash.
    pub fn base(&self) -> String {
        self.base_path.trim_end_matches('/').to_string()
    }
}
