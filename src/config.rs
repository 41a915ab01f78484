//! One `Config`: defaults, then `rightsdesk.toml`, then `RIGHTSDESK_<SECTION>__<KEY>`
//! environment variables. Secrets are wrapped so `Debug` never prints them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::domain::deadline::{ClockStart, DeadlinePolicy, Regime};
use crate::domain::request::Kind;
use crate::secret::Secret;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP server binds.
    pub listen: String,
    /// Base of every emailed link.
    pub public_url: String,
    /// The company's name as subjects know it (emails and public pages).
    pub organisation: String,
    /// `sqlite://path` or `postgres://…`.
    pub database_url: Secret<String>,
    /// Exports, generated keys, the file outbox.
    pub data_dir: PathBuf,
    /// Connector and retention declarations.
    pub datamap_dir: PathBuf,
    /// File holding the deployment key (64 hex characters) when `RIGHTSDESK_SECRET_KEY`
    /// is not set. Embedded SQLite default: `data/secret.key`, generated on first start.
    pub secret_key_file: Option<PathBuf>,
    /// `pretty` or `json`.
    pub log_format: String,
    /// A tracing filter such as `info` or `rightsdesk=debug,info`.
    pub log_level: String,
    pub email: EmailConfig,
    pub deadlines: DeadlinesConfig,
    pub workflow: WorkflowConfig,
    pub retention_own: RetentionOwnConfig,
    pub jobs: JobsConfig,
    pub schedules: SchedulesConfig,
    pub intake: IntakeConfig,
    pub portal: PortalConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    /// `file` (`.eml` files in `data/outbox/`) or `smtp`.
    pub transport: EmailTransport,
    /// lettre URL form: `smtp://host:port`, `smtp://host:587?tls=required`, `smtps://user:pass@host`.
    pub smtp_url: Secret<String>,
    pub from: String,
    /// Staff notifications and escalations.
    pub privacy_team: String,
    /// Directory whose `<name>/{subject.txt,body.txt,body.html}` override the built-in templates.
    pub templates_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailTransport {
    File,
    Smtp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeadlinesConfig {
    pub regime: Regime,
    /// The privacy policy's own promise in days; 0 switches it off.
    pub policy_days: u32,
    pub clock_starts: ClockStart,
    /// A due date ends at 23:59:59 in this zone (IANA name such as `Europe/Berlin`).
    pub timezone: Timezone,
    pub reminders_days: Vec<u32>,
    /// One verification link's life.
    pub verification_expires: HumanDuration,
    /// A request never verified expires after this.
    pub unverified_expire: HumanDuration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkflowConfig {
    /// Kinds whose fan-out starts right after the subject verifies.
    pub auto_start: Vec<Kind>,
    /// Kinds that complete when every task succeeded.
    pub auto_complete: Vec<Kind>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionOwnConfig {
    pub exports_expire: HumanDuration,
    /// After this, a closed request's identity and free text are wiped.
    pub closed_request_pii: HumanDuration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    /// Jobs run at once by this process; 0 makes it serve HTTP only.
    pub workers: usize,
    /// How long a claimed job stays ours without a heartbeat.
    pub lease: HumanDuration,
    /// Attempts before a job is `dead`.
    pub max_attempts: u32,
    /// How often an idle worker looks for work.
    pub poll_interval: HumanDuration,
    /// On shutdown, how long running jobs may finish before their leases are given back.
    pub shutdown_grace: HumanDuration,
}

/// Cron patterns, seconds first (`sec min hour day month weekday`), in UTC.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulesConfig {
    /// Off: this process enqueues no scheduled work (another replica does).
    pub enabled: bool,
    /// Reminders, escalation, expiry of unverified requests, CCPA receipt checks.
    pub deadline_sweep: String,
}

impl Default for SchedulesConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            deadline_sweep: "0 */5 * * * *".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntakeConfig {
    /// Intake submissions per client address per hour.
    pub per_client_per_hour: u32,
    /// Intake submissions per email address per hour.
    pub per_email_per_hour: u32,
    /// Verification emails per address per 24 hours.
    pub sends_per_email_per_day: u32,
    /// Proxies whose `X-Forwarded-For` is believed (IP addresses).
    pub trusted_proxies: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortalConfig {
    pub initial_admin_email: String,
    /// Every user needs TOTP, not only admins (admins always do).
    pub require_totp_for_all: bool,
    /// A session ends after this long without a request.
    pub session_idle: HumanDuration,
    /// A session ends this long after sign-in, active or not.
    pub session_absolute: HumanDuration,
    /// Failed sign-ins in a row that lock an account for `lockout`.
    pub max_failed_logins: u32,
    pub lockout: HumanDuration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            organisation: "Example Ltd".into(),
            database_url: Secret::new("sqlite://data/rightsdesk.db".into()),
            data_dir: "data".into(),
            datamap_dir: "datamap".into(),
            secret_key_file: None,
            log_format: "pretty".into(),
            log_level: "info".into(),
            email: EmailConfig::default(),
            deadlines: DeadlinesConfig::default(),
            workflow: WorkflowConfig::default(),
            retention_own: RetentionOwnConfig::default(),
            jobs: JobsConfig::default(),
            schedules: SchedulesConfig::default(),
            intake: IntakeConfig::default(),
            portal: PortalConfig::default(),
        }
    }
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            transport: EmailTransport::File,
            smtp_url: Secret::new("smtp://127.0.0.1:2525".into()),
            from: "Privacy Team <privacy@example.com>".into(),
            privacy_team: "privacy@example.com".into(),
            templates_dir: None,
        }
    }
}

impl Default for DeadlinesConfig {
    fn default() -> Self {
        Self {
            regime: Regime::Gdpr,
            policy_days: 30,
            clock_starts: ClockStart::Verified,
            timezone: Timezone(chrono_tz::UTC),
            reminders_days: vec![7, 3, 1],
            verification_expires: HumanDuration::parse("24h").unwrap_or_default(),
            unverified_expire: HumanDuration::parse("14d").unwrap_or_default(),
        }
    }
}

impl Default for WorkflowConfig {
    fn default() -> Self {
        Self {
            auto_start: vec![Kind::Access, Kind::Portability],
            auto_complete: vec![Kind::Access, Kind::Portability],
        }
    }
}

impl Default for RetentionOwnConfig {
    fn default() -> Self {
        Self {
            exports_expire: HumanDuration::parse("7d").unwrap_or_default(),
            closed_request_pii: HumanDuration::parse("24 months").unwrap_or_default(),
        }
    }
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            workers: 4,
            lease: HumanDuration::parse("60s").unwrap_or_default(),
            max_attempts: 8,
            poll_interval: HumanDuration::parse("1s").unwrap_or_default(),
            shutdown_grace: HumanDuration::parse("20s").unwrap_or_default(),
        }
    }
}

impl Default for IntakeConfig {
    fn default() -> Self {
        Self {
            per_client_per_hour: 10,
            per_email_per_hour: 3,
            sends_per_email_per_day: 3,
            trusted_proxies: Vec::new(),
        }
    }
}

impl Default for PortalConfig {
    fn default() -> Self {
        Self {
            initial_admin_email: "admin@example.com".into(),
            require_totp_for_all: false,
            session_idle: HumanDuration(Duration::from_secs(30 * 60)),
            session_absolute: HumanDuration(Duration::from_secs(12 * 3600)),
            max_failed_logins: 5,
            lockout: HumanDuration(Duration::from_secs(15 * 60)),
        }
    }
}

/// One problem found in the configuration, named by the key that holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Environment variables under our prefix that are not config keys.
const NOT_CONFIG: &[&str] = &["config", "secret_key"];

impl Config {
    /// Defaults, then the TOML file (when given or found), then the environment.
    pub fn load(path: Option<&Path>) -> Result<Self, Box<Problem>> {
        let mut fig = Figment::from(Serialized::defaults(Config::default_for_figment()));
        let path = path
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("RIGHTSDESK_CONFIG").map(PathBuf::from));
        match &path {
            Some(p) if !p.exists() => {
                return Err(Box::new(Problem {
                    key: "--config".into(),
                    message: format!("file {} does not exist", p.display()),
                }));
            }
            Some(p) => fig = fig.merge(Toml::file_exact(p)),
            None if Path::new("rightsdesk.toml").exists() => {
                fig = fig.merge(Toml::file_exact("rightsdesk.toml"))
            }
            None => {}
        }
        fig = fig.merge(Env::prefixed("RIGHTSDESK_").split("__").filter(|k| {
            let k = k.as_str().to_ascii_lowercase();
            !NOT_CONFIG.contains(&k.as_str()) && !k.starts_with("test_")
        }));
        fig.extract::<Config>().map_err(|e| {
            let key = if e.path.is_empty() {
                "config".to_string()
            } else {
                e.path.join(".")
            };
            let source = e
                .metadata
                .as_ref()
                .map(|m| format!(" (from {})", m.name))
                .unwrap_or_default();
            Box::new(Problem {
                key,
                message: format!("{}{}", e.kind, source),
            })
        })
    }

    /// Defaults with the secrets exposed, because figment round-trips through serde and
    /// `Secret` serializes as the redaction marker.
    fn default_for_figment() -> serde_json::Value {
        let d = Config::default();
        let mut v = serde_json::to_value(&d).unwrap_or_default();
        v["database_url"] = d.database_url.expose().clone().into();
        v["email"]["smtp_url"] = d.email.smtp_url.expose().clone().into();
        // `None` has no TOML form; leaving the key out keeps the default.
        if let Some(o) = v.as_object_mut() {
            o.remove("secret_key_file");
        }
        if let Some(o) = v["email"].as_object_mut() {
            o.remove("templates_dir");
        }
        v
    }

    /// Checks that serde cannot express; every problem names its key.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut bad = |key: &str, message: String| {
            out.push(Problem {
                key: key.into(),
                message,
            })
        };
        if self.listen.parse::<SocketAddr>().is_err() {
            bad(
                "listen",
                format!("`{}` is not an address like 127.0.0.1:8080", self.listen),
            );
        }
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            bad("public_url", "must start with http:// or https://".into());
        }
        let db = self.database_url.expose();
        if !(db.starts_with("sqlite:")
            || db.starts_with("postgres://")
            || db.starts_with("postgresql://"))
        {
            bad(
                "database_url",
                "must start with sqlite: or postgres://".into(),
            );
        }
        if !matches!(self.log_format.as_str(), "pretty" | "json") {
            bad("log_format", "must be `pretty` or `json`".into());
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log_level).is_err() {
            bad("log_level", "is not a valid log filter".into());
        }
        if self.email.from.parse::<lettre::message::Mailbox>().is_err() {
            bad(
                "email.from",
                "is not a mailbox like `Privacy Team <privacy@example.com>`".into(),
            );
        }
        if self
            .email
            .privacy_team
            .parse::<lettre::message::Mailbox>()
            .is_err()
        {
            bad("email.privacy_team", "is not an email address".into());
        }
        if self.email.transport == EmailTransport::Smtp {
            let url = self.email.smtp_url.expose();
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                bad(
                    "email.smtp_url",
                    "must start with smtp:// or smtps://".into(),
                );
            }
        }
        if let Some(dir) = &self.email.templates_dir
            && !dir.is_dir()
        {
            bad(
                "email.templates_dir",
                format!("{} is not a directory", dir.display()),
            );
        }
        if self
            .deadlines
            .reminders_days
            .iter()
            .any(|d| *d == 0 || *d > 365)
        {
            bad(
                "deadlines.reminders_days",
                "each entry must be 1..=365".into(),
            );
        }
        if self.deadlines.verification_expires.0 < Duration::from_secs(60) {
            bad(
                "deadlines.verification_expires",
                "must be at least 60s".into(),
            );
        }
        if self.jobs.workers > 256 {
            bad(
                "jobs.workers",
                "must be 0..=256 (0: this process serves HTTP only)".into(),
            );
        }
        if self.jobs.max_attempts == 0 {
            bad("jobs.max_attempts", "must be at least 1".into());
        }
        if self.jobs.lease.0 < Duration::from_secs(5) {
            bad("jobs.lease", "must be at least 5s".into());
        }
        if let Err(e) = crate::scheduler::parse_cron(&self.schedules.deadline_sweep) {
            bad("schedules.deadline_sweep", e.to_string());
        }
        for (i, p) in self.intake.trusted_proxies.iter().enumerate() {
            if p.parse::<std::net::IpAddr>().is_err() {
                bad(
                    &format!("intake.trusted_proxies[{i}]"),
                    format!("`{p}` is not an IP address"),
                );
            }
        }
        if self
            .portal
            .initial_admin_email
            .parse::<lettre::Address>()
            .is_err()
        {
            bad(
                "portal.initial_admin_email",
                "is not an email address".into(),
            );
        }
        out
    }

    pub fn deadline_policy(&self, regime: Option<Regime>) -> DeadlinePolicy {
        DeadlinePolicy {
            regime: regime.unwrap_or(self.deadlines.regime),
            policy_days: self.deadlines.policy_days,
            clock_starts: self.deadlines.clock_starts,
        }
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.expose().starts_with("sqlite:")
    }
}

/// A duration written as in DESIGN.md: `60s`, `15m`, `24h`, `14d`, `24 months`, `2 years`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub fn parse(s: &str) -> Result<Self, humantime::DurationError> {
        humantime::parse_duration(s.trim()).map(HumanDuration)
    }
    pub fn chrono(self) -> chrono::TimeDelta {
        chrono::TimeDelta::from_std(self.0).unwrap_or(chrono::TimeDelta::MAX)
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(self.0).to_string())
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        HumanDuration::parse(&s).map_err(|e| {
            serde::de::Error::custom(format!(
                "`{s}` is not a duration like 60s, 24h, 14d or 24 months ({e})"
            ))
        })
    }
}

/// An IANA time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timezone(pub chrono_tz::Tz);

impl Serialize for Timezone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.name())
    }
}

impl<'de> Deserialize<'de> for Timezone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<chrono_tz::Tz>().map(Timezone).map_err(|_| {
            serde::de::Error::custom(format!(
                "`{s}` is not a time zone like UTC or Europe/Berlin"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let c = Config::default();
        assert!(c.problems().is_empty(), "{:?}", c.problems());
        assert!(c.is_sqlite());
    }

    #[test]
    fn debug_hides_secrets() {
        let c = Config {
            database_url: Secret::new("postgres://u:hunter2@db/x".into()),
            ..Default::default()
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn durations_parse() {
        assert_eq!(HumanDuration::parse("14d").unwrap().0.as_secs(), 14 * 86400);
        assert!(HumanDuration::parse("24 months").is_ok());
        assert!(HumanDuration::parse("soon").is_err());
    }
}
