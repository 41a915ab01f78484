//! One `Config`: defaults, then `rightsdesk.toml`, then `RIGHTSDESK_<SECTION>__<KEY>`
//! environment variables. Secrets are wrapped so `Debug` never prints them.

pub mod drp;
pub mod inbox;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::domain::deadline::{ClockStart, DeadlinePolicy, Regime};
use crate::domain::regime::{RegimeOverride, RegimeRules};
use crate::domain::request::Kind;
use crate::secret::Secret;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP server binds.
    pub listen: String,
    /// Address of the separate listener that serves `/metrics` (Prometheus); empty: no
    /// metrics endpoint. Never served on `listen`.
    pub metrics_listen: String,
    /// A client must send a request's whole header within this time, and an idle
    /// keep-alive connection is closed after it.
    pub header_read_timeout: HumanDuration,
    /// Connections served at once on `listen`; further clients wait in the kernel's
    /// backlog until one closes.
    pub max_connections: u32,
    /// Base of every emailed link.
    pub public_url: String,
    /// The company's name as subjects know it (emails and public pages).
    pub organisation: String,
    /// `sqlite://path` or `postgres://…`.
    pub database_url: Secret<String>,
    /// Most PostgreSQL connections this process opens (1..=1000). Replicas × this must stay
    /// under the server's `max_connections`. SQLite ignores it.
    pub database_pool_size: u32,
    /// Exports, generated keys, the file outbox.
    pub data_dir: PathBuf,
    /// Connector and retention declarations.
    pub datamap_dir: PathBuf,
    /// File holding the deployment key (64 hex characters) when `RIGHTSDESK_SECRET_KEY`
    /// is not set. Embedded SQLite default: `data/secret.key`, generated on first start.
    pub secret_key_file: Option<PathBuf>,
    /// `text` (readable lines for a terminal; `pretty` is the same) or `json` (one object
    /// per line with the HTTP request id and the request reference of the spans).
    pub log_format: String,
    /// A tracing filter such as `info` or `rightsdesk=debug,info`.
    pub log_level: String,
    pub email: EmailConfig,
    pub deadlines: DeadlinesConfig,
    pub workflow: WorkflowConfig,
    pub verification: VerificationConfig,
    pub retention_own: RetentionOwnConfig,
    pub jobs: JobsConfig,
    pub schedules: SchedulesConfig,
    pub intake: IntakeConfig,
    pub portal: PortalConfig,
    pub processing: ProcessingConfig,
    pub connectors: ConnectorsConfig,
    pub audit: AuditConfig,
    /// `[regimes.<name>]`: per-regime overrides of the built-in rules (docs/regimes.md).
    /// The name is a regime (`vcdpa`, `gdpr`, `"days:30"`, ...).
    pub regimes: BTreeMap<String, RegimeOverride>,
    /// `[drp]`: the Data Rights Protocol covered-business API (docs/drp.md).
    pub drp: crate::config::drp::DrpConfig,
    /// `[inbox]`: the privacy inbox read over IMAP (docs/inbox.md).
    pub inbox: crate::config::inbox::InboxConfig,
    /// `[webhooks]`: outgoing webhooks (endpoints are configured in the portal).
    pub webhooks: WebhooksConfig,
    /// `[i18n]`: the languages of the subject's pages and emails.
    pub i18n: I18nConfig,
}

/// `[i18n]`: the subject's pages and emails come in English, German, French, Spanish and
/// Brazilian Portuguese from built-in Fluent files; a company replaces any message with
/// its own files.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct I18nConfig {
    /// Directory whose `<language>/*.ftl` files (`de/ours.ftl`) replace the built-in
    /// messages of the same name in that language.
    pub dir: Option<PathBuf>,
    /// A message or argument missing in a language is an error instead of falling back to
    /// English (for checking translation files; tests run with it).
    pub strict: bool,
}

/// `[webhooks]`: where outgoing webhooks may be sent and how long one may take.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Endpoints on plain `http://` URLs (tests, private networks). Off: `https://` only.
    pub allow_http: bool,
    /// Endpoints that resolve to private, loopback or link-local addresses. Off: refused,
    /// like the HTTP connector and the DRP callbacks.
    pub allow_private: bool,
    /// How long one delivery attempt may take.
    pub timeout: HumanDuration,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            allow_http: false,
            allow_private: false,
            timeout: HumanDuration(std::time::Duration::from_secs(10)),
        }
    }
}

/// `[connectors]`: what data map files may read from the environment, and how much one
/// task may read.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectorsConfig {
    /// Environment variables a data map may name in `${VAR}` besides `RIGHTSDESK_DM_*`.
    pub env_allow: Vec<String>,
    /// Rows one task may read for one subject from one connector; past it the task
    /// fails with a clear error instead of exhausting memory or filling the store.
    pub max_rows_per_subject: u64,
    /// Erasure tasks of one connector that a worker runs together when they are ready
    /// at the same time (one traversal for all their subjects; SQL on PostgreSQL). 1
    /// runs each alone.
    pub batch_subjects: usize,
}

impl Default for ConnectorsConfig {
    fn default() -> Self {
        Self {
            env_allow: Vec::new(),
            max_rows_per_subject: 5_000_000,
            batch_subjects: 100,
        }
    }
}

/// `[audit]`: the anchoring of the audit chain.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// A checkpoint (sequence number and head hash) goes to the log and the metrics every
    /// this many entries (and on every `audit verify`).
    pub checkpoint_every: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            checkpoint_every: 100,
        }
    }
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
    /// The subject's residence (`DE`, `US-VA`) -> regime. Adds to and overrides the
    /// built-in table (EU/EEA -> gdpr, GB -> uk_gdpr, BR -> lgpd, US-CA -> ccpa, US-VA ->
    /// vcdpa, ...); a residence in neither table gets `regime`.
    pub jurisdictions: BTreeMap<String, Regime>,
    /// Under a regime with an appeal right, a refusal may be appealed from the status page
    /// for this many days after it was made.
    pub appeal_window_days: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkflowConfig {
    /// Kinds whose fan-out starts right after the subject verifies.
    pub auto_start: Vec<Kind>,
    /// Kinds that complete when every task succeeded.
    pub auto_complete: Vec<Kind>,
}

/// Identity proofing beyond the emailed link, per request kind (issue 12).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VerificationConfig {
    /// Kinds that need more than control of the inbox before fan-out starts.
    pub extra_for: Vec<Kind>,
    /// `account_field`: the subject also gives a value the product knows, and a connector
    /// must confirm it; `staff_review`: staff record how they verified.
    pub method: VerificationMethod,
    /// For `account_field`: `connector.table.column` holding the value, e.g.
    /// `shop.customers.customer_number`.
    pub verify_field: String,
    /// What the request form calls that value.
    pub field_label: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationMethod {
    AccountField,
    #[default]
    StaffReview,
}

impl VerificationMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            VerificationMethod::AccountField => "account_field",
            VerificationMethod::StaffReview => "staff_review",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionOwnConfig {
    pub exports_expire: HumanDuration,
    /// After this, a closed request's identity and free text are wiped.
    pub closed_request_pii: HumanDuration,
    /// Finished (`done`) jobs are deleted after this; dead jobs stay until a human acts.
    pub finished_jobs_keep: HumanDuration,
    /// A status link stops working this many days after its request closed (and in any
    /// case when `closed_request_pii` wipes the request).
    pub status_link_days: u32,
}

/// The register of processing as subjects are told it (GDPR art. 15(1)): every access
/// export's `about-your-data.json` carries it. Fill it with what the privacy policy says;
/// empty by default (the export then says that the register was not provided).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessingConfig {
    /// Who decides why and how the data is processed: name, address, contact.
    pub controller: String,
    /// The data protection officer or privacy contact.
    pub dpo: String,
    /// The supervisory authority a subject may complain to.
    pub supervisory_authority: String,
    /// `[[processing.purposes]]`: why data is processed, on which basis, for how long.
    pub purposes: Vec<ProcessingPurpose>,
    /// `[[processing.recipients]]`: who receives the data, and transfers abroad.
    pub recipients: Vec<ProcessingRecipient>,
    /// `[[processing.sources]]`: where data comes from when not from the subject.
    pub sources: Vec<ProcessingSource>,
    /// `[[processing.automated_decisions]]`: automated decision-making and profiling
    /// (GDPR art. 15(1)(h), art. 22). Empty with a register given: the register lists none.
    pub automated_decisions: Vec<AutomatedDecision>,
}

impl ProcessingConfig {
    /// Whether the company gave its register at all (purposes are its backbone): without
    /// it, access packages say plainly that the art. 15(1) information was not provided.
    pub fn provided(&self) -> bool {
        !self.purposes.is_empty()
    }

    /// Recipients told of erasures, rectifications and restrictions (GDPR art. 19).
    pub fn notified_recipients(&self) -> impl Iterator<Item = &ProcessingRecipient> {
        self.recipients
            .iter()
            .filter(|r| !r.notify.trim().is_empty() || !r.connector.trim().is_empty())
    }
}

/// One automated decision or profiling activity, as the subject is told it (GDPR art.
/// 15(1)(h)): that it exists, the logic involved, its significance and its envisaged
/// consequences for the subject.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AutomatedDecision {
    pub name: String,
    /// It evaluates personal aspects (art. 4(4)): profiling.
    pub profiling: bool,
    /// A decision based solely on automated processing with legal or similarly
    /// significant effects (art. 22(1)).
    pub solely_automated: bool,
    /// Meaningful information about the logic involved.
    pub logic: String,
    /// Its significance for the subject.
    pub significance: String,
    /// The envisaged consequences for the subject.
    pub consequences: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessingPurpose {
    pub name: String,
    pub description: String,
    pub legal_basis: LegalBasis,
    /// Categories of personal data (the data map's field categories, or plain words).
    pub categories: Vec<String>,
    /// How long, or the criteria for it.
    pub retention: String,
}

/// GDPR art. 6(1), plus `processor` when the deployment processes on a customer's behalf
/// (art. 28: the customer's basis applies).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    Consent,
    #[default]
    Contract,
    LegalObligation,
    VitalInterests,
    PublicTask,
    LegitimateInterests,
    Processor,
}

impl LegalBasis {
    /// Plain words for the subject, with the article.
    pub fn plain_words(self) -> &'static str {
        match self {
            Self::Consent => "your consent (GDPR art. 6(1)(a)); you may withdraw it at any time",
            Self::Contract => {
                "a contract with you or steps you asked for before one (GDPR art. 6(1)(b))"
            }
            Self::LegalObligation => "a legal obligation we are under (GDPR art. 6(1)(c))",
            Self::VitalInterests => "protecting someone's vital interests (GDPR art. 6(1)(d))",
            Self::PublicTask => "a task in the public interest (GDPR art. 6(1)(e))",
            Self::LegitimateInterests => {
                "our legitimate interests (GDPR art. 6(1)(f)); you may object to this processing"
            }
            Self::Processor => {
                "we process this data for a customer of ours (GDPR art. 28); their legal basis applies"
            }
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessingRecipient {
    pub name: String,
    /// `processor`, `independent controller`, `joint controller`…
    pub role: String,
    pub purpose: String,
    /// Transfer outside the EEA/UK and its safeguard; empty when none.
    pub transfer: String,
    /// Where this recipient is told of an erasure, rectification or restriction (GDPR
    /// art. 19): an email address. Empty: not told by email.
    pub notify: String,
    /// Or the connector through which it is told: its task for the request is the notice.
    pub connector: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessingSource {
    pub name: String,
    pub categories: Vec<String>,
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
    /// How often the pool looks for work nobody told it about (another replica's jobs,
    /// retries whose time has come, expired leases): one idle worker per interval.
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
    /// Purge of Rightsdesk's own data by `[retention_own]` (expired exports, closed
    /// requests' identity data, dead links, expired sessions, finished jobs).
    pub own_data_purge: String,
}

impl Default for SchedulesConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            deadline_sweep: "0 */5 * * * *".into(),
            own_data_purge: "0 15 4 * * *".into(),
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
    /// Proxies whose `X-Forwarded-For` is believed: IP addresses or CIDR ranges
    /// (`10.0.0.5`, `10.0.0.0/8`, `fd00::/8`).
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
    /// Wrong second-factor codes (TOTP or recovery) that lock the second step for
    /// `lockout`, counted apart from passwords; a correct password does not reset it.
    pub max_failed_codes: u32,
    /// Sign-in attempts (password or code) per client address per hour; IPv6 clients
    /// count per /64.
    pub sign_in_per_client_per_hour: u32,
    /// Sign-in attempts (password or code) per account per hour.
    pub sign_in_per_account_per_hour: u32,
    /// Password hashes computed at once; 0 means one per core.
    pub hashing_threads: u32,
    /// Sign-in attempts that may wait for a hashing turn; more are answered 429 at once.
    pub hashing_queue: u32,
    /// How long an attempt waits for a hashing turn before it is answered 429.
    pub hashing_wait: HumanDuration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            metrics_listen: "127.0.0.1:9090".into(),
            header_read_timeout: HumanDuration(Duration::from_secs(10)),
            max_connections: 1024,
            public_url: "http://127.0.0.1:8080".into(),
            organisation: "Example Ltd".into(),
            database_url: Secret::new("sqlite://data/rightsdesk.db".into()),
            database_pool_size: 16,
            data_dir: "data".into(),
            datamap_dir: "datamap".into(),
            secret_key_file: None,
            log_format: "text".into(),
            log_level: "info".into(),
            email: EmailConfig::default(),
            deadlines: DeadlinesConfig::default(),
            workflow: WorkflowConfig::default(),
            verification: VerificationConfig::default(),
            retention_own: RetentionOwnConfig::default(),
            jobs: JobsConfig::default(),
            schedules: SchedulesConfig::default(),
            intake: IntakeConfig::default(),
            portal: PortalConfig::default(),
            processing: ProcessingConfig::default(),
            connectors: ConnectorsConfig::default(),
            audit: AuditConfig::default(),
            regimes: BTreeMap::new(),
            drp: crate::config::drp::DrpConfig::default(),
            inbox: crate::config::inbox::InboxConfig::default(),
            webhooks: WebhooksConfig::default(),
            i18n: I18nConfig::default(),
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
            jurisdictions: BTreeMap::new(),
            appeal_window_days: 60,
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
            finished_jobs_keep: HumanDuration::parse("30d").unwrap_or_default(),
            status_link_days: 90,
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
            max_failed_codes: 5,
            sign_in_per_client_per_hour: 60,
            sign_in_per_account_per_hour: 30,
            hashing_threads: 0,
            hashing_queue: 64,
            hashing_wait: HumanDuration(Duration::from_secs(5)),
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

/// The 1-based line of `file` (TOML) where the key path `key` is written, if it is.
fn key_line(file: &Path, key: &[String]) -> Option<usize> {
    use toml::de::{DeTable, DeValue};
    let text = std::fs::read_to_string(file).ok()?;
    let doc = DeTable::parse(&text).ok()?;
    let mut table = doc.get_ref();
    let mut at = None;
    for (i, k) in key.iter().enumerate() {
        let (name, value) = table
            .iter()
            .find(|(name, _)| name.get_ref().as_ref() == k.as_str())?;
        at = Some(name.span().start);
        if i + 1 < key.len() {
            match value.get_ref() {
                DeValue::Table(t) => table = t,
                _ => break,
            }
        }
    }
    Some(text.get(..at?)?.matches('\n').count() + 1)
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
                // An empty key (`[""]`) is shown quoted, so the message still names it.
                e.path
                    .iter()
                    .map(|p| if p.is_empty() { "\"\"" } else { p.as_str() })
                    .collect::<Vec<_>>()
                    .join(".")
            };
            // Name the file and, for a bad value, the line that holds the key.
            let file = e
                .metadata
                .as_ref()
                .and_then(|m| m.source.as_ref())
                .and_then(|s| s.file_path())
                .map(Path::to_path_buf);
            let line = file.as_deref().and_then(|f| key_line(f, &e.path));
            let source = match (&e.metadata, &file, line) {
                (Some(m), Some(f), Some(l)) => {
                    format!(" (from {} {}, line {l})", m.name, f.display())
                }
                (Some(m), Some(f), None) => format!(" (from {} {})", m.name, f.display()),
                (Some(m), None, _) => format!(" (from {})", m.name),
                (None, _, _) => String::new(),
            };
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
        if let Some(o) = v["i18n"].as_object_mut() {
            o.remove("dir");
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
        for p in self.inbox.problems() {
            bad("inbox", p);
        }
        for p in self.drp.problems() {
            bad("drp", p);
        }
        if self.listen.parse::<SocketAddr>().is_err() {
            bad(
                "listen",
                format!("`{}` is not an address like 127.0.0.1:8080", self.listen),
            );
        }
        if !self.metrics_listen.is_empty() && self.metrics_listen.parse::<SocketAddr>().is_err() {
            bad(
                "metrics_listen",
                format!(
                    "`{}` is not an address like 127.0.0.1:9090 (or \"\" for none)",
                    self.metrics_listen
                ),
            );
        }
        if !self.metrics_listen.is_empty()
            && self.metrics_listen == self.listen
            && !self.listen.ends_with(":0")
        {
            bad(
                "metrics_listen",
                "must differ from `listen`: metrics are never served on the public listener".into(),
            );
        }
        if self.header_read_timeout.0.is_zero() {
            bad("header_read_timeout", "must be more than 0s".into());
        }
        if self.max_connections == 0 {
            bad("max_connections", "must be at least 1".into());
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
        if !(1..=1000).contains(&self.database_pool_size) {
            bad("database_pool_size", "must be 1..=1000".into());
        }
        if !matches!(self.log_format.as_str(), "text" | "pretty" | "json") {
            bad("log_format", "must be `text` or `json`".into());
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
        if let Some(dir) = &self.i18n.dir
            && !dir.is_dir()
        {
            bad("i18n.dir", format!("{} is not a directory", dir.display()));
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
        if self.connectors.batch_subjects == 0 || self.connectors.batch_subjects > 1000 {
            bad(
                "connectors.batch_subjects",
                "must be 1..=1000 (1: every erasure alone)".into(),
            );
        }
        if self.jobs.max_attempts == 0 {
            bad("jobs.max_attempts", "must be at least 1".into());
        }
        if self.jobs.lease.0 < Duration::from_secs(5) {
            bad("jobs.lease", "must be at least 5s".into());
        }
        if let Err(e) = crate::domain::schedule::parse_cron(&self.schedules.deadline_sweep) {
            bad("schedules.deadline_sweep", e.to_string());
        }
        if let Err(e) = crate::domain::schedule::parse_cron(&self.schedules.own_data_purge) {
            bad("schedules.own_data_purge", e.to_string());
        }
        if self.verification.method == VerificationMethod::AccountField
            && !self.verification.extra_for.is_empty()
            && self
                .verification
                .verify_field
                .split('.')
                .filter(|p| !p.is_empty())
                .count()
                != 3
        {
            bad(
                "verification.verify_field",
                "must be `connector.table.column` when method is account_field".into(),
            );
        }
        for (i, p) in self.intake.trusted_proxies.iter().enumerate() {
            if IpRange::parse(p).is_none() {
                bad(
                    &format!("intake.trusted_proxies[{i}]"),
                    format!("`{p}` is not an IP address or a CIDR range like 10.0.0.0/8"),
                );
            }
        }
        if !(1..=3650).contains(&self.deadlines.appeal_window_days) {
            bad(
                "deadlines.appeal_window_days",
                "must be from 1 to 3650 days".into(),
            );
        }
        for code in self.deadlines.jurisdictions.keys() {
            if crate::domain::regime::parse_residence(code).ok().as_deref() != Some(code.as_str()) {
                bad(
                    &format!("deadlines.jurisdictions.{code}"),
                    "must be an upper-case country code like `BR` or a country and region like `US-VA` (ISO 3166)".into(),
                );
            }
        }
        for (name, o) in &self.regimes {
            match name.parse::<Regime>() {
                Err(e) => bad(&format!("regimes.{name}"), e.to_string()),
                Ok(regime) => {
                    for (field, message) in o.problems() {
                        bad(&format!("regimes.{name}.{field}"), message);
                    }
                    let rules = regime.rules().with(o);
                    if rules
                        .authority
                        .as_ref()
                        .is_some_and(|a| a.name.trim().is_empty())
                    {
                        bad(
                            &format!("regimes.{name}.authority_name"),
                            "is needed when only authority_url is given for a regime without a built-in authority".into(),
                        );
                    }
                    if rules.authority.as_ref().is_some_and(|a| a.url.is_empty()) {
                        bad(
                            &format!("regimes.{name}.authority_url"),
                            "is needed when only authority_name is given for a regime without a built-in authority".into(),
                        );
                    }
                }
            }
        }
        for (i, r) in self.processing.recipients.iter().enumerate() {
            let key = format!("processing.recipients[{i}]");
            if r.name.trim().is_empty() {
                bad(&format!("{key}.name"), "a recipient needs a name".into());
            }
            let notify = r.notify.trim();
            if !notify.is_empty() && notify.parse::<lettre::Address>().is_err() {
                bad(
                    &format!("{key}.notify"),
                    format!("`{notify}` is not an email address"),
                );
            }
            if !notify.is_empty() && !r.connector.trim().is_empty() {
                bad(
                    &key,
                    "give `notify` (an email address) or `connector` (a connector's name), not both"
                        .into(),
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

    /// What is allowed but probably not meant: `rightsdesk check` prints these and still
    /// passes.
    pub fn warnings(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        if !self.processing.provided() {
            out.push(Problem {
                key: "processing".into(),
                message: "no register of processing ([[processing.purposes]]) is configured: \
                          access packages will tell subjects that the company did not provide \
                          the information of GDPR art. 15(1) (purposes, legal bases, recipients, \
                          retention, sources, automated decisions and profiling)"
                    .into(),
            });
        }
        out
    }

    /// The regime of a request from a subject living in `residence` (normalised).
    pub fn regime_for(&self, residence: Option<&str>) -> Regime {
        crate::domain::regime::regime_for_residence(
            residence,
            &self.deadlines.jurisdictions,
            self.deadlines.regime,
        )
    }

    /// A regime's rules: the built-in row with `[regimes.<name>]` applied.
    pub fn regime_rules(&self, regime: Regime) -> RegimeRules {
        let rules = regime.rules();
        match self.regimes.get(&regime.to_string()) {
            Some(o) => rules.with(o),
            None => rules,
        }
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

/// An IP address or a CIDR range (`10.0.0.0/8`, `fd00::/8`), as `intake.trusted_proxies`
/// holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    network: std::net::IpAddr,
    prefix: u8,
}

impl IpRange {
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let network: std::net::IpAddr = addr.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { network, prefix })
    }

    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        let ip = match (self.network, ip) {
            // An IPv4 peer may arrive as an IPv4-mapped IPv6 address.
            (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            _ => ip,
        };
        match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
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
    fn trusted_proxies_take_addresses_and_cidr_ranges() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let r = IpRange::parse("10.0.0.0/8").unwrap();
        assert!(r.contains(ip("10.200.3.4")));
        assert!(!r.contains(ip("11.0.0.1")));
        assert!(r.contains(ip("::ffff:10.1.2.3")));
        let one = IpRange::parse("192.168.1.7").unwrap();
        assert!(one.contains(ip("192.168.1.7")) && !one.contains(ip("192.168.1.8")));
        assert!(IpRange::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        let v6 = IpRange::parse("fd00::/8").unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        for bad in ["10.0.0.0/33", "10.0.0/8", "proxy", "::/129", "10.0.0.0/x"] {
            assert!(IpRange::parse(bad).is_none(), "{bad}");
        }
        let c = Config {
            intake: IntakeConfig {
                trusted_proxies: vec!["10.0.0.0/8".into(), "nope/3".into()],
                ..Default::default()
            },
            ..Default::default()
        };
        let keys: Vec<String> = c.problems().into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["intake.trusted_proxies[1]"]);
    }

    #[test]
    fn durations_parse() {
        assert_eq!(HumanDuration::parse("14d").unwrap().0.as_secs(), 14 * 86400);
        assert!(HumanDuration::parse("24 months").is_ok());
        assert!(HumanDuration::parse("soon").is_err());
    }
}
