//! Persistence of our own data: one trait per aggregate (requests, intake, outbox, staff,
//! audit, jobs, tasks, ledger, exports, retention, rotation, suppression, links, recipients, drp,
//! inbox, webhooks, reports, appeals; a file each), all of them supertraits of `Store`, implemented for SQLite (embedded
//! default) and PostgreSQL (replicas) from one SQL text per query. No SQL of ours lives
//! outside this module.
//!
//! Layer rule (tests/architecture.rs): uses `domain` and the foundation modules; never
//! `http`, `services`, `jobs`, `connectors` or `app`.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::deadline::Regime;
use crate::domain::request::{DenyReason, Kind, Source, Status};
use crate::domain::staff::Role;

#[macro_use]
mod common;
#[macro_use]
pub mod requests;
#[macro_use]
pub mod intake;
#[macro_use]
pub mod outbox;
#[macro_use]
pub mod staff;
#[macro_use]
pub mod suppression;
#[macro_use]
pub mod audit;
#[macro_use]
pub mod jobs;
#[macro_use]
pub mod tasks;
#[macro_use]
pub mod ledger;
#[macro_use]
pub mod links;
#[macro_use]
pub mod conversation;
#[macro_use]
pub mod drp;
#[macro_use]
pub mod inbox;
#[macro_use]
pub mod exports;
#[macro_use]
pub mod retention;
#[macro_use]
pub mod rotation;
#[macro_use]
pub mod recipients;
#[macro_use]
pub mod webhooks;
#[macro_use]
pub mod reports;
#[macro_use]
pub mod appeals;
pub mod audit_chain;
mod migrations;
pub mod postgres;
pub mod sqlite;

pub use appeals::{Appeal, AppealStore};

/// The ids of the requests this process changed, each sent once its change is committed:
/// a caller waiting for a request to move on (`GET /api/v1/requests/{id}/status?wait=`)
/// hears of it at once. Changes made by another replica are not sent here; a waiter
/// also reads the request again now and then.
pub type RequestChanged = tokio::sync::broadcast::Sender<String>;

/// A [`RequestChanged`] channel; a waiter that falls more than this many changes behind
/// reads its request again.
pub fn request_changed() -> RequestChanged {
    tokio::sync::broadcast::channel(1024).0
}
pub use audit::AuditStore;
pub use conversation::{AgentRecord, ConversationStore, Message, NewFile, StoredFile};
pub use drp::DrpStore;
pub use exports::ExportStore;
pub use inbox::InboxStore;
pub use intake::IntakeStore;
pub use jobs::JobStore;
pub use ledger::LedgerStore;
pub use links::{LinkStore, RequestLink};
pub use outbox::OutboxStore;
pub use recipients::RecipientStore;
pub use reports::{RegisterRow, ReportStore};
pub use requests::RequestStore;
pub use retention::RetentionStore;
pub use rotation::RotationStore;
pub use staff::StaffStore;
pub use suppression::{SUPPRESSION_BATCH, Suppression, SuppressionStore};
pub use tasks::TaskStore;
pub use webhooks::{WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent, WebhookStore};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the record was changed by someone else; reload and try again")]
    Conflict,
    #[error("a record with the same unique key exists")]
    Duplicate,
    #[error("the link is unknown, used or expired")]
    LinkGone,
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub use staff::{PortalSession, User};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A request as stored. Identity fields are ciphertexts (`*_ct`); the HTTP layer decrypts.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub id: String,
    pub reference: String,
    pub kind: Kind,
    pub status: Status,
    pub held_from: Option<Status>,
    pub hold_started_at: Option<DateTime<Utc>>,
    pub source: Source,
    pub regime: Regime,
    pub email_ct: Option<String>,
    pub email_index: Option<String>,
    pub name_ct: Option<String>,
    pub details_ct: Option<String>,
    pub corrections_ct: Option<String>,
    pub scope: Option<String>,
    pub verification_note_ct: Option<String>,
    pub received_at: DateTime<Utc>,
    pub verified_at: Option<DateTime<Utc>>,
    pub clock_started_on: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub original_due_date: Option<NaiveDate>,
    pub extended: bool,
    pub extension_reason: Option<String>,
    pub deny_reason: Option<DenyReason>,
    pub deny_note: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub assignee: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The subject's residence as given (ISO 3166-1 alpha-2 or ISO 3166-2), if any.
    pub residence: Option<String>,
    /// Why the request is on hold, while it is (issue 20 item 5).
    pub hold_reason: Option<crate::domain::request::HoldReason>,
    /// The language the subject is written to in (issue 23 item 5); rows from before it
    /// was recorded are English.
    pub language: crate::domain::language::Language,
}

#[derive(sqlx::FromRow)]
struct RequestRow {
    id: String,
    reference: String,
    kind: String,
    status: String,
    held_from: Option<String>,
    hold_started_at: Option<DateTime<Utc>>,
    source: String,
    regime: String,
    email_ct: Option<String>,
    email_index: Option<String>,
    name_ct: Option<String>,
    details_ct: Option<String>,
    corrections_ct: Option<String>,
    scope: Option<String>,
    verification_note_ct: Option<String>,
    received_at: DateTime<Utc>,
    verified_at: Option<DateTime<Utc>>,
    clock_started_on: Option<NaiveDate>,
    due_date: Option<NaiveDate>,
    original_due_date: Option<NaiveDate>,
    extended: bool,
    extension_reason: Option<String>,
    deny_reason: Option<String>,
    deny_note: Option<String>,
    completed_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    assignee: Option<String>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    residence: Option<String>,
    hold_reason: Option<String>,
    language: Option<String>,
}

fn parse<T: std::str::FromStr>(what: &str, s: &str) -> Result<T> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("{what} `{s}`")))
}

fn parse_opt<T: std::str::FromStr>(what: &str, s: Option<String>) -> Result<Option<T>> {
    s.map(|s| parse(what, &s)).transpose()
}

impl TryFrom<RequestRow> for Request {
    type Error = StoreError;
    fn try_from(r: RequestRow) -> Result<Self> {
        Ok(Request {
            kind: parse("kind", &r.kind)?,
            status: parse("status", &r.status)?,
            held_from: parse_opt("status", r.held_from)?,
            source: parse("source", &r.source)?,
            regime: parse("regime", &r.regime)?,
            deny_reason: parse_opt("deny reason", r.deny_reason)?,
            hold_reason: parse_opt("hold reason", r.hold_reason)?,
            language: r
                .language
                .as_deref()
                .and_then(crate::domain::language::Language::parse)
                .unwrap_or_default(),
            id: r.id,
            reference: r.reference,
            hold_started_at: r.hold_started_at,
            email_ct: r.email_ct,
            email_index: r.email_index,
            name_ct: r.name_ct,
            details_ct: r.details_ct,
            corrections_ct: r.corrections_ct,
            scope: r.scope,
            verification_note_ct: r.verification_note_ct,
            received_at: r.received_at,
            verified_at: r.verified_at,
            clock_started_on: r.clock_started_on,
            due_date: r.due_date,
            original_due_date: r.original_due_date,
            extended: r.extended,
            extension_reason: r.extension_reason,
            deny_note: r.deny_note,
            completed_at: r.completed_at,
            closed_at: r.closed_at,
            assignee: r.assignee,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
            residence: r.residence,
        })
    }
}

/// One step in a request's history.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub from_status: Option<Status>,
    pub to_status: Status,
    pub note: Option<String>,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    at: DateTime<Utc>,
    actor: String,
    action: String,
    from_status: Option<String>,
    to_status: String,
    note: Option<String>,
}

impl TryFrom<EventRow> for Event {
    type Error = StoreError;
    fn try_from(r: EventRow) -> Result<Self> {
        Ok(Event {
            from_status: parse_opt("status", r.from_status)?,
            to_status: parse("status", &r.to_status)?,
            at: r.at,
            actor: r.actor,
            action: r.action,
            note: r.note,
        })
    }
}

/// An audit entry to append; the store gives it a sequence number and chains its hash.
#[derive(Debug, Clone)]
pub struct NewAudit {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub request_ref: Option<String>,
    pub client_addr: Option<String>,
    pub detail: serde_json::Value,
}

/// What deleting an identity's stored copies removed (counts only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OwnCopiesErased {
    /// Access and connector tasks whose stored result (or kept values) was deleted.
    pub task_results: u64,
    /// Stored result parts deleted.
    pub result_parts: u64,
    /// Export packages marked deleted (their files were deleted first).
    pub export_files: u64,
    /// Identity checks whose proof or note was cleared.
    pub identity_proofs: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub request_ref: Option<String>,
    pub client_addr: Option<String>,
    /// Canonical JSON text of the entry's details.
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
    /// The epoch of the chain key that sealed it; 0 for entries written before the chain
    /// was keyed.
    pub key_epoch: i64,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub request_ref: Option<String>,
    pub actor: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub page: PageRequest,
}

#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub page: u32,
    pub per_page: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: 25,
        }
    }
}

impl PageRequest {
    pub fn limit(&self) -> i64 {
        i64::from(self.per_page)
    }
    pub fn offset(&self) -> i64 {
        i64::from(self.page.saturating_sub(1)) * i64::from(self.per_page)
    }
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}

#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub status: Option<Status>,
    pub kind: Option<Kind>,
    /// Only requests whose due date is before this day and that are not final.
    pub overdue_before: Option<NaiveDate>,
    /// Only requests that are not overdue as of this day.
    pub not_overdue_on: Option<NaiveDate>,
    pub reference_prefix: Option<String>,
    pub email_index: Option<String>,
    /// Only requests assigned to this staff member (their email address).
    pub assignee: Option<String>,
    pub page: PageRequest,
    // ---- portal truths ----
    /// Only requests that are not final (open, in progress, in review, on hold, or
    /// awaiting verification).
    pub open_only: bool,
    /// Only requests that are not final and due between these days (both included).
    pub due_between: Option<(NaiveDate, NaiveDate)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    #[serde(skip)]
    pub token_hash: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Dead,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Dead => "dead",
        }
    }
}

impl TryFrom<String> for JobStatus {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        match s.as_str() {
            "queued" => Ok(JobStatus::Queued),
            "running" => Ok(JobStatus::Running),
            "done" => Ok(JobStatus::Done),
            "dead" => Ok(JobStatus::Dead),
            _ => Err(format!("unknown job status `{s}`")),
        }
    }
}

/// A job's JSON payload (stored as text on both backends).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object)]
pub struct Payload(pub serde_json::Value);

impl TryFrom<String> for Payload {
    type Error = serde_json::Error;
    fn try_from(s: String) -> std::result::Result<Self, Self::Error> {
        serde_json::from_str(&s).map(Payload)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SlaRow {
    pub kind: String,
    pub status: String,
    pub received_at: DateTime<Utc>,
    pub due_date: Option<NaiveDate>,
    pub closed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
pub struct MetricsSnapshot {
    /// (status, count) of requests that are not final.
    pub open_by_status: Vec<(String, i64)>,
    pub overdue: i64,
    pub due_within_7_days: i64,
    /// Due within two days and still `open` (nobody started them).
    pub due_soon_not_started: i64,
    /// (status, count) of jobs.
    pub jobs_by_status: Vec<(String, i64)>,
    /// (status, count) of outbox messages.
    pub emails_by_status: Vec<(String, i64)>,
}

/// What a subject link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    Verify,
    Status,
    /// The status link of an authorized agent: progress only, never the subject's data.
    Agent,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::Verify => "verify",
            TokenPurpose::Status => "status",
            TokenPurpose::Agent => "agent",
        }
    }
}

/// A subject link to store (only the SHA-256 of the token).
#[derive(Debug, Clone)]
pub struct RequestToken {
    pub token_hash: String,
    pub request_id: String,
    pub purpose: TokenPurpose,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    Pending,
    Sent,
    Failed,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Failed => "failed",
        }
    }
}

impl TryFrom<String> for OutboxStatus {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        match s.as_str() {
            "pending" => Ok(OutboxStatus::Pending),
            "sent" => Ok(OutboxStatus::Sent),
            "failed" => Ok(OutboxStatus::Failed),
            _ => Err(format!("unknown outbox status `{s}`")),
        }
    }
}

/// An email waiting in (or gone from) the outbox. Recipient and template context are
/// encrypted: the context holds link tokens and free text.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OutboxMessage {
    pub id: String,
    pub request_id: Option<String>,
    pub template: String,
    pub to_ct: String,
    pub context_ct: String,
    #[sqlx(try_from = "String")]
    pub status: OutboxStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// Everything else that must change together with a request (one transaction).
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// A link (hash) used by this change: it must still be usable, and is used up.
    pub consume_token: Option<String>,
    /// The time against which `consume_token` must not have expired.
    pub now: Option<DateTime<Utc>>,
    /// Unused links of this purpose stop working (a resend replaces the old link).
    pub revoke_purpose: Option<TokenPurpose>,
    pub tokens: Vec<RequestToken>,
    pub outbox: Vec<OutboxMessage>,
    pub jobs: Vec<NewJob>,
    /// Record a verification email sent to this address (blind index).
    pub verification_send: Option<String>,
    /// Remove every link of the request (expiry, identity wiped).
    pub delete_tokens: bool,
    /// Connector tasks of a fan-out.
    pub tasks: Vec<Task>,
    /// The subject asked to be told who received their data (GDPR art. 19).
    pub recipients_asked: bool,
    /// A package built for this change (an automatic completion's), recorded with it:
    /// the completion never points at a package that is not stored, nor a stored package
    /// at a completion that did not happen.
    pub export: Option<Export>,
    /// A connector task's outcome stored with this change (the request's last task,
    /// whose finish completes it): one commit for both.
    pub finished_task: Option<FinishedTask>,
    /// An entry of the suppression list this change adds (a completed erasure's or
    /// objection's); already there, it stays as it was.
    pub suppression: Option<Suppression>,
}

/// A connector task as it finished, with an erasure's ledger entry (see
/// [`TaskStore::finish_task`](crate::store::TaskStore::finish_task)).
#[derive(Debug, Clone)]
pub struct FinishedTask {
    pub task: Task,
    pub ledger: Option<LedgerEntry>,
}

/// One connector's part of a request's fan-out. `status` is `pending`, `running`,
/// `succeeded` or `failed`; `evidence` is JSON with counts only; `result_ct` holds the
/// rows found for an access request, encrypted.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Task {
    pub id: String,
    pub request_id: String,
    pub connector: String,
    pub operation: String,
    pub status: String,
    pub attempts: i32,
    pub error: Option<String>,
    pub evidence: Option<String>,
    pub result_ct: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// One part of an access task's result: up to a few thousand rows of one table, their
/// column names, and the rows as encrypted JSON.
#[derive(Clone)]
pub struct ResultPart {
    pub seq: i64,
    pub table_name: String,
    pub columns: Vec<String>,
    pub row_count: i64,
    pub rows_ct: String,
}

/// A result part without its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultPartInfo {
    pub seq: i64,
    pub table_name: String,
    pub columns: Vec<String>,
    pub row_count: i64,
    /// The length of its encrypted rows, so that a reader can fetch several small parts
    /// in one statement and still hold a bounded amount.
    pub stored_len: i64,
}

/// An access/portability export package. The encrypted file is
/// `data_dir/exports/<id>.bin`. The download token is found by its hash; it is also
/// kept encrypted so the subject's status page (itself behind a secret link) can show it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Export {
    pub id: String,
    pub request_id: String,
    pub token_hash: String,
    pub token_ct: Option<String>,
    pub file_name: String,
    /// JSON text of the package's manifest (paths, hashes, row counts; no personal data).
    pub manifest: String,
    pub size_bytes: i64,
    pub downloads: i32,
    pub max_downloads: i32,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// An erasure to remember for replay after a restore.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct LedgerEntry {
    pub identity_hmac: String,
    pub identity_ct: Option<String>,
    pub connector: String,
    pub request_ref: String,
    pub task_id: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub payload: serde_json::Value,
    /// A second job with the same key is not enqueued (`job:time-slot` for scheduled work).
    pub dedupe_key: Option<String>,
    /// Jobs with the same key may run together: a worker that claims one claims other
    /// ready ones of its key with it (see `jobs`).
    pub batch_key: Option<String>,
    pub run_at: DateTime<Utc>,
    pub max_attempts: i32,
    pub created_at: DateTime<Utc>,
}

/// A job just claimed, and whether another was due when it was (see
/// [`JobStore::claim_next`]).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    #[sqlx(flatten)]
    pub job: Job,
    pub more: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Job {
    pub id: String,
    pub kind: String,
    #[sqlx(try_from = "String")]
    pub payload: Payload,
    pub dedupe_key: Option<String>,
    pub batch_key: Option<String>,
    #[sqlx(try_from = "String")]
    pub status: JobStatus,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Everything our database does, by aggregate (one trait and one file each); `Store`
/// itself only migrates and answers readiness.
#[async_trait]
pub trait Store:
    RequestStore
    + IntakeStore
    + OutboxStore
    + StaffStore
    + AuditStore
    + JobStore
    + TaskStore
    + LedgerStore
    + ExportStore
    + RetentionStore
    + RotationStore
    + DrpStore
    + InboxStore
    + SuppressionStore
    + LinkStore
    + RecipientStore
    + WebhookStore
    + ReportStore
    + AppealStore
    + ConversationStore
    + Send
    + Sync
    + 'static
{
    /// Apply pending migrations.
    async fn migrate(&self) -> Result<()>;
    /// The database answers and every migration is applied.
    async fn ready(&self) -> Result<bool>;
}

/// How a request's identity is checked beyond the emailed link, and where that stands
/// (`needed`, `confirmed`, `failed`, `no_match`).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct IdentityCheck {
    pub request_id: String,
    pub method: String,
    pub state: String,
    /// What the subject gave, encrypted.
    pub proof_ct: Option<String>,
    /// How staff verified, encrypted.
    pub note_ct: Option<String>,
    pub checked_by: Option<String>,
    pub checked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A table whose columns hold values under the deployment key (issue 12, key rotation).
/// Names come from the rotation's fixed list, never from input.
#[derive(Debug, Clone, Copy)]
pub struct RotatedTable {
    pub name: &'static str,
    /// Primary-key columns; integer ones are marked so they compare as numbers.
    pub key: &'static [(&'static str, bool)],
    pub columns: &'static [&'static str],
}

/// One row of a [`RotatedTable`]: key values as text and its columns' values.
#[derive(Clone, PartialEq, Eq)]
pub struct RotatedRow {
    pub key: Vec<String>,
    pub values: Vec<Option<String>>,
}

impl std::fmt::Debug for RotatedRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RotatedRow({:?}, [redacted])", self.key)
    }
}

impl RotatedTable {
    fn key_param(&self, i: usize, n: usize) -> String {
        if self.key[i].1 {
            format!("CAST(${n} AS BIGINT)")
        } else {
            format!("${n}")
        }
    }

    /// The batch query: `SELECT keys, columns FROM t [WHERE (keys) > (params)] ORDER BY keys`.
    pub fn select_sql(&self, after: bool) -> String {
        let keys: Vec<&str> = self.key.iter().map(|(k, _)| *k).collect();
        let mut select: Vec<String> = keys.iter().map(|k| format!("CAST({k} AS TEXT)")).collect();
        select.extend(self.columns.iter().map(|c| c.to_string()));
        let mut sql = format!("SELECT {} FROM {}", select.join(", "), self.name);
        if after {
            let params: Vec<String> = (0..keys.len()).map(|i| self.key_param(i, i + 1)).collect();
            sql.push_str(&format!(
                " WHERE ({}) > ({})",
                keys.join(", "),
                params.join(", ")
            ));
        }
        let limit = if after { keys.len() + 1 } else { 1 };
        sql.push_str(&format!(" ORDER BY {} LIMIT ${limit}", keys.join(", ")));
        sql
    }

    /// `UPDATE t SET c1 = $1, .. WHERE k1 = $n ..`.
    pub fn update_sql(&self) -> String {
        let sets: Vec<String> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} = ${}", i + 1))
            .collect();
        let n = self.columns.len();
        let wheres: Vec<String> = self
            .key
            .iter()
            .enumerate()
            .map(|(i, (k, _))| format!("{k} = {}", self.key_param(i, n + i + 1)))
            .collect();
        format!(
            "UPDATE {} SET {} WHERE {}",
            self.name,
            sets.join(", "),
            wheres.join(" AND ")
        )
    }
}

/// A link that finishes a connector task outside its job (`purpose`: `callback` for the
/// HTTP connector, `manual` for a person's completion link). Only the hash is stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TaskToken {
    pub token_hash: String,
    pub task_id: String,
    pub request_ref: String,
    pub purpose: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

// --- retention purges, legal holds (issue 8; src/services/retention) ---

/// One execution of a retention policy (or of its dry run). `status` is `running`,
/// `succeeded` or `failed`; counters grow batch by batch while it runs.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct RetentionRun {
    pub id: String,
    pub connector: String,
    pub policy: String,
    /// `schedule`, `api` or `cli`.
    pub trigger_kind: String,
    pub actor: String,
    pub dry_run: bool,
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Rows whose age column is before this instant are due.
    pub cutoff: DateTime<Utc>,
    /// Due rows found (for a dry run: the rows a real run would purge).
    pub rows_matched: i64,
    pub rows_purged: i64,
    /// Due rows kept because their subject is under a legal hold.
    pub rows_held: i64,
    pub batches: i32,
    pub error: Option<String>,
}

/// A legal hold: the subject's rows are neither purged nor erased while it is in force.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct LegalHold {
    pub id: String,
    pub email_ct: String,
    pub email_index: String,
    pub reason_ct: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub released_by: Option<String>,
    pub released_at: Option<DateTime<Utc>>,
}

pub type SharedStore = Arc<dyn Store>;

/// Connect to the configured database (creating an embedded SQLite file if needed).
pub async fn connect(database_url: &str) -> Result<SharedStore> {
    connect_with_pool_size(database_url, 16).await
}

/// As `connect`, with at most `pool_size` PostgreSQL connections (SQLite keeps its own
/// small pool: one writer at a time anyway).
pub async fn connect_with_pool_size(database_url: &str, pool_size: u32) -> Result<SharedStore> {
    if database_url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(database_url).await?))
    } else {
        Ok(Arc::new(
            postgres::PgStore::connect_sized(database_url, pool_size).await?,
        ))
    }
}
