//! The manual connector: a person or a vendor does the work. The task sends them an
//! email (template `manual_task`) with the instructions from the data map and a
//! single-use completion link (`/tasks/{token}`: the page changes nothing, its button
//! POSTs); the task is `waiting`, so the request stays `in_progress`, until they confirm.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{
    AccessResult, Connector, ConnectorDecl, ConnectorError, ErasureEvidence, Hasher, Identity,
    Preview, RectifyReport, SetReport,
};

/// How long a completion link stays usable unless the data map says otherwise.
pub const DEFAULT_LINK_DAYS: u32 = 14;

/// What a `manual` data-map file declares besides its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualSettings {
    /// Who does the work (a vendor's privacy desk, a colleague).
    pub email: String,
    pub instructions: Option<String>,
    pub link_days: u32,
    /// Days a task may wait for its confirmation before the privacy team is told.
    pub escalate_after_days: u32,
}

/// How long a manual task may wait unless the data map says otherwise.
pub const DEFAULT_ESCALATE_AFTER_DAYS: u32 = 7;

/// Read `email` (required), `instructions` and `link_days`; problems are
/// `(key path, message)`.
pub(crate) fn parse_settings(
    settings: &toml::Table,
    problems: &mut Vec<(String, String)>,
) -> Option<ManualSettings> {
    let before = problems.len();
    let mut email = None;
    let mut instructions = None;
    let mut link_days = DEFAULT_LINK_DAYS;
    let mut escalate_after_days = DEFAULT_ESCALATE_AFTER_DAYS;
    for (k, v) in settings {
        match (k.as_str(), v) {
            ("email", toml::Value::String(s)) => {
                let s = s.trim();
                let valid = s.len() <= 254
                    && s.split_once('@').is_some_and(|(local, domain)| {
                        !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
                    })
                    && !s.chars().any(|c| c.is_whitespace() || c.is_control());
                if valid {
                    email = Some(s.to_string());
                } else {
                    problems.push(("email".into(), "is not an email address".into()));
                }
            }
            ("instructions", toml::Value::String(s)) if s.len() <= 4000 => {
                instructions = Some(s.clone());
            }
            ("link_days", toml::Value::Integer(n)) if (1..=90).contains(n) => link_days = *n as u32,
            ("escalate_after_days", toml::Value::Integer(n)) if (1..=90).contains(n) => {
                escalate_after_days = *n as u32
            }
            ("escalate_after_days", _) => problems.push((
                "escalate_after_days".into(),
                "must be a number from 1 to 90".into(),
            )),
            ("email", _) => problems.push(("email".into(), "must be a string".into())),
            ("instructions", _) => problems.push((
                "instructions".into(),
                "must be a string of at most 4000 characters".into(),
            )),
            ("link_days", _) => {
                problems.push(("link_days".into(), "must be a number from 1 to 90".into()))
            }
            (other, _) => problems.push((
                other.to_string(),
                format!(
                    "unknown field `{other}`, expected `email`, `instructions`, `link_days` or `escalate_after_days`"
                ),
            )),
        }
    }
    if email.is_none() && !settings.contains_key("email") {
        problems.push((
            "email".into(),
            "missing key: a manual connector needs the email address of who does the work".into(),
        ));
    }
    if problems.len() > before {
        return None;
    }
    Some(ManualSettings {
        email: email?,
        instructions,
        link_days,
        escalate_after_days,
    })
}

/// What the person is asked to do, per operation.
pub fn action_label(operation: &str) -> &'static str {
    match operation {
        "access" => "find and send us a copy of the data you hold about this person",
        "erase" => "erase the data you hold about this person",
        "rectify" => "correct the data you hold about this person as described below",
        "restrict" => "restrict the processing of this person's data",
        "object" => "stop processing this person's data for the purpose they objected to",
        "opt_out" => {
            "stop selling or sharing this person's personal information (including for targeted advertising)"
        }
        "limit_sensitive" => {
            "limit the use of this person's sensitive personal information to what is necessary to provide the service"
        }
        "opt_in" => {
            "take back this person's opt-out: they agreed again to what they had opted out of"
        }
        _ => "handle this request",
    }
}

/// A declared manual connector.
pub struct ManualConnector {
    name: String,
    settings: ManualSettings,
}

impl ManualConnector {
    pub fn new(decl: &ConnectorDecl) -> Result<Self, ConnectorError> {
        Ok(Self {
            name: decl.name().to_string(),
            settings: decl
                .manual_settings()
                .cloned()
                .ok_or_else(|| ConnectorError::Failed {
                    connector: decl.name().to_string(),
                    reason: "not a manual connector".into(),
                })?,
        })
    }

    pub fn settings(&self) -> &ManualSettings {
        &self.settings
    }

    /// The email that asks the responsible person to do the task: the address, and the
    /// `manual_task` template's context with the completion `link` that expires at
    /// `expires` (the caller stores the link and queues the email).
    pub fn notice(
        &self,
        reference: &str,
        operation: &str,
        who: &Identity,
        corrections: &[(String, Value)],
        link: &str,
        expires: chrono::DateTime<chrono::Utc>,
    ) -> (String, Value) {
        let corrections: Vec<Value> = corrections
            .iter()
            .map(|(f, v)| json!({ "field": f, "value": v }))
            .collect();
        (
            self.settings.email.clone(),
            json!({
                "reference": reference,
                "connector": self.name,
                "action": action_label(operation),
                "subject_email": who.email(),
                "instructions": self.settings.instructions,
                "corrections": corrections,
                "link": link,
                "expires": expires.format("%-d %B %Y").to_string(),
            }),
        )
    }

    fn unsupported(&self) -> ConnectorError {
        ConnectorError::Failed {
            connector: self.name.clone(),
            reason: "a manual connector is done by a person through its task email".into(),
        }
    }
}

#[async_trait]
impl Connector for ManualConnector {
    fn name(&self) -> &str {
        &self.name
    }

    /// Nothing to connect to; the address was checked when the data map was read.
    async fn test(&self) -> Result<(), ConnectorError> {
        Ok(())
    }

    async fn access(&self, _who: &Identity) -> Result<AccessResult, ConnectorError> {
        Err(self.unsupported())
    }

    /// Nothing is known in advance: the person reports when they are done.
    async fn preview_erasure(&self, _who: &Identity) -> Result<Preview, ConnectorError> {
        Ok(Preview { tables: Vec::new() })
    }

    async fn erase(
        &self,
        _who: &Identity,
        _hasher: &Hasher,
    ) -> Result<ErasureEvidence, ConnectorError> {
        Err(self.unsupported())
    }

    async fn rectify(
        &self,
        _who: &Identity,
        _corrections: &[(String, Value)],
    ) -> Result<RectifyReport, ConnectorError> {
        Err(self.unsupported())
    }

    async fn restrict(
        &self,
        _who: &Identity,
        _lift: bool,
    ) -> Result<Option<SetReport>, ConnectorError> {
        Err(self.unsupported())
    }

    async fn object(&self, _who: &Identity) -> Result<Option<SetReport>, ConnectorError> {
        Err(self.unsupported())
    }

    async fn opt_out(
        &self,
        _who: &Identity,
        _scope: crate::domain::optout::OptOutScope,
        _opt_in: bool,
    ) -> Result<Option<SetReport>, ConnectorError> {
        Err(self.unsupported())
    }
}
