//! Persistence: one `Store` trait, implemented for SQLite (embedded default) and
//! PostgreSQL (replicas). No SQL lives outside this module.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Role;
use crate::domain::deadline::Regime;
use crate::domain::request::{DenyReason, Kind, Source, Status};

#[macro_use]
mod common;
mod migrations;
pub mod postgres;
pub mod sqlite;

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
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::Verify => "verify",
            TokenPurpose::Status => "status",
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
    pub run_at: DateTime<Utc>,
    pub max_attempts: i32,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Job {
    pub id: String,
    pub kind: String,
    #[sqlx(try_from = "String")]
    pub payload: Payload,
    pub dedupe_key: Option<String>,
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

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Apply pending migrations.
    async fn migrate(&self) -> Result<()>;
    /// The database answers and every migration is applied.
    async fn ready(&self) -> Result<bool>;

    /// Insert a new request with its first event, audit entry and `changes`, atomically.
    async fn insert_request(
        &self,
        req: &Request,
        event: &Event,
        audit: &NewAudit,
        changes: &Changes,
    ) -> Result<()>;
    /// Write `req` if the stored version is still `expected_version`, with its event,
    /// audit entry and `changes`, atomically. `Conflict` when someone else changed it
    /// first; `LinkGone` when `changes.consume_token` is no longer usable.
    async fn update_request(
        &self,
        req: &Request,
        expected_version: i64,
        event: Option<&Event>,
        audit: Option<&NewAudit>,
        changes: &Changes,
    ) -> Result<()>;
    /// The request waiting for verification for this address and kind, if any.
    async fn pending_request(&self, email_index: &str, kind: Kind) -> Result<Option<Request>>;
    /// The request a usable link belongs to: right purpose, not used, not expired at `now`.
    async fn request_by_token(
        &self,
        token_hash: &str,
        purpose: TokenPurpose,
        now: DateTime<Utc>,
    ) -> Result<Option<Request>>;
    /// Verification emails sent to this address since `since`, oldest first.
    async fn verification_sends(
        &self,
        email_index: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>>;
    /// Count a hit in a fixed-window bucket; returns hits so far and when the window ends.
    async fn hit_rate_limit(
        &self,
        bucket: &str,
        window_ends: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(i64, DateTime<Utc>)>;
    async fn outbox_message(&self, id: &str) -> Result<Option<OutboxMessage>>;
    async fn mark_outbox(
        &self,
        id: &str,
        status: OutboxStatus,
        error: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()>;
    async fn outbox_for_request(&self, request_id: &str) -> Result<Vec<OutboxMessage>>;

    /// Requests the deadline sweep looks at: being worked (not on hold, not final, verified)
    /// and due on or before `due_by`; keyset-paged by id.
    async fn sweep_candidates(
        &self,
        due_by: NaiveDate,
        after_id: &str,
        limit: i64,
    ) -> Result<Vec<Request>>;
    /// Requests still unverified that were received before `cutoff`.
    async fn unverified_before(&self, cutoff: DateTime<Utc>, limit: i64) -> Result<Vec<Request>>;
    /// Open CCPA requests received before `cutoff` that no sent email has acknowledged.
    async fn ccpa_unacknowledged(&self, cutoff: DateTime<Utc>, limit: i64) -> Result<Vec<Request>>;
    /// Record a notice once; when it is new, apply `changes` (its email) in the same
    /// transaction. `false` when it was already sent.
    async fn send_notice(
        &self,
        request_id: &str,
        notice: &str,
        due_date: NaiveDate,
        changes: &Changes,
    ) -> Result<bool>;
    /// Remove verification links that were used or have expired.
    async fn purge_dead_tokens(&self, now: DateTime<Utc>) -> Result<u64>;
    /// What the SLA report needs of requests received in `[from, to)`.
    async fn sla_rows(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<SlaRow>>;
    /// Counts for `/metrics`.
    async fn metrics(&self, today: NaiveDate, week_ahead: NaiveDate) -> Result<MetricsSnapshot>;
    async fn request_by_reference(&self, reference: &str) -> Result<Option<Request>>;
    async fn list_requests(&self, filter: &RequestFilter) -> Result<Page<Request>>;
    async fn events(&self, request_id: &str) -> Result<Vec<Event>>;

    async fn insert_token(&self, token: &ApiToken) -> Result<()>;
    async fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>>;
    async fn list_tokens(&self) -> Result<Vec<ApiToken>>;
    async fn revoke_token(&self, id: &str, at: DateTime<Utc>) -> Result<bool>;

    /// The audit chain's keys, loaded at start (`audit::install`); every entry is sealed
    /// with them.
    fn set_chain_keys(&self, keys: crate::audit::ChainKeys);
    fn chain_keys(&self) -> Option<crate::audit::ChainKeys>;
    /// Retired epochs of the chain key: `(epoch, key under the deployment key)`.
    async fn audit_key_rows(&self) -> Result<Vec<(i64, String)>>;
    async fn insert_audit_key(&self, epoch: i64, key_ct: &str, now: DateTime<Utc>) -> Result<()>;
    /// The newest audit entry.
    async fn audit_head(&self) -> Result<Option<AuditEntry>>;
    /// The last sequence number that may be unkeyed (written before the chain was keyed);
    /// 0 when the row is missing.
    async fn audit_unkeyed_until(&self) -> Result<i64>;
    async fn append_audit(&self, entry: &NewAudit) -> Result<AuditEntry>;
    async fn list_audit(&self, filter: &AuditFilter) -> Result<Page<AuditEntry>>;
    /// Entries after `after_seq` in order, for chain verification.
    async fn audit_after(&self, after_seq: i64, limit: i64) -> Result<Vec<AuditEntry>>;

    /// `false` when a job with the same dedupe key exists.
    async fn enqueue(&self, job: &NewJob) -> Result<bool>;
    /// Claim the next due job, or one whose lease expired, for `worker` until `lease_until`.
    async fn claim_job(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<Job>>;
    /// Extend the lease of a job `worker` still holds.
    async fn heartbeat(&self, id: &str, worker: &str, lease_until: DateTime<Utc>) -> Result<bool>;
    async fn finish_job(&self, id: &str, worker: &str, now: DateTime<Utc>) -> Result<bool>;
    /// Record a failure: back to the queue at `retry_at`, or `dead` when it is `None`.
    async fn fail_job(
        &self,
        id: &str,
        worker: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Give back every running job `worker` holds (graceful shutdown).
    async fn release_leases(&self, worker: &str, now: DateTime<Utc>) -> Result<u64>;
    async fn list_jobs(&self, status: Option<JobStatus>, page: PageRequest) -> Result<Page<Job>>;
    /// Put a dead job back in the queue with fresh attempts.
    async fn retry_job(&self, id: &str, now: DateTime<Utc>) -> Result<bool>;

    // --- portal ---
    /// `Duplicate` when the email is taken.
    async fn insert_user(&self, user: &crate::http::portal::model::User) -> Result<()>;
    async fn user_by_email(&self, email: &str) -> Result<Option<crate::http::portal::model::User>>;
    async fn user_by_id(&self, id: &str) -> Result<Option<crate::http::portal::model::User>>;
    async fn list_users(&self) -> Result<Vec<crate::http::portal::model::User>>;
    async fn count_users(&self) -> Result<i64>;
    /// Count a failed sign-in; at `max` failures the account is locked until `lock_until`
    /// (and the count starts again). Returns true when this failure locked it.
    async fn user_login_failed(
        &self,
        id: &str,
        max: i32,
        lock_until: DateTime<Utc>,
    ) -> Result<bool>;
    async fn user_login_succeeded(&self, id: &str) -> Result<()>;
    /// Count a wrong second-factor code (apart from password failures). At `max` the
    /// second step is locked until `lock_until`, every session of the user ends and
    /// `on_lock` (the emails) is written, all in one transaction. Returns true when this
    /// failure locked it.
    async fn user_second_factor_failed(
        &self,
        id: &str,
        max: i32,
        lock_until: DateTime<Utc>,
        on_lock: &Changes,
    ) -> Result<bool>;
    /// A correct second-factor code: the count starts again.
    async fn user_second_factor_succeeded(&self, id: &str) -> Result<()>;
    /// Store a TOTP secret that is not confirmed yet.
    async fn set_pending_totp(&self, id: &str, secret_ct: &str) -> Result<()>;
    /// Confirm enrolment: TOTP on, with hashed recovery codes (JSON) and the used step.
    async fn enable_totp(&self, id: &str, recovery_codes: &str, step: i64) -> Result<()>;
    /// Accept `step` once: false when it (or a later step) was already used.
    async fn use_totp_step(&self, id: &str, step: i64) -> Result<bool>;
    /// Replace the recovery codes if they are still `expected` (each code works once).
    async fn swap_recovery_codes(&self, id: &str, expected: &str, next: &str) -> Result<bool>;
    async fn insert_portal_session(
        &self,
        s: &crate::http::portal::model::PortalSession,
    ) -> Result<()>;
    async fn portal_session(
        &self,
        id_hash: &str,
    ) -> Result<Option<crate::http::portal::model::PortalSession>>;
    async fn touch_portal_session(&self, id_hash: &str, at: DateTime<Utc>) -> Result<()>;
    async fn delete_portal_session(&self, id_hash: &str) -> Result<()>;

    // --- fan-out ---
    async fn tasks_for_request(&self, request_id: &str) -> Result<Vec<Task>>;
    async fn task(&self, id: &str) -> Result<Option<Task>>;
    /// Mark a task running (one more attempt); `false` when it already succeeded.
    async fn start_task(&self, id: &str, now: DateTime<Utc>) -> Result<bool>;
    /// Record a task's outcome, and for an erasure its ledger entry, atomically.
    async fn finish_task(&self, task: &Task, ledger: Option<&LedgerEntry>) -> Result<()>;
    /// A failed task back to `pending` (staff retry); `false` unless it had failed.
    async fn reset_task(&self, id: &str, now: DateTime<Utc>) -> Result<bool>;
    async fn ledger_since(&self, since: DateTime<Utc>) -> Result<Vec<LedgerEntry>>;

    // --- exports ---
    async fn insert_export(&self, export: &Export) -> Result<()>;
    async fn export_by_token(&self, token_hash: &str) -> Result<Option<Export>>;
    async fn exports_for_request(&self, request_id: &str) -> Result<Vec<Export>>;
    /// Count one download if the export is still live (not expired, deleted or used up);
    /// false otherwise. Atomic, so concurrent downloads cannot exceed the limit.
    async fn count_export_download(&self, id: &str, now: DateTime<Utc>) -> Result<bool>;
    async fn mark_export_deleted(&self, id: &str, now: DateTime<Utc>) -> Result<bool>;

    // --- task results (access rows, in parts) ---
    /// Replace the stored result of `task_id` with `parts` (one transaction).
    async fn replace_result_parts(&self, task_id: &str, parts: &[ResultPart]) -> Result<()>;
    /// Add `parts` after those already stored (a result written in batches).
    async fn append_result_parts(&self, task_id: &str, parts: &[ResultPart]) -> Result<()>;
    /// The parts of a task's result without their rows, in order.
    async fn result_part_index(&self, task_id: &str) -> Result<Vec<ResultPartInfo>>;
    /// The encrypted rows of one part.
    async fn result_part_rows(&self, task_id: &str, seq: i64) -> Result<Option<String>>;
    /// Tasks of `connector` still `waiting` (for a person or a callback) since before
    /// `cutoff`, oldest first: `(request reference, task id, operation)`.
    async fn tasks_waiting_since(
        &self,
        connector: &str,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(String, String, String)>>;
    /// Disable (`Some`) or enable (`None`) a portal user; disabling ends their sessions.
    async fn set_user_disabled(&self, id: &str, at: Option<DateTime<Utc>>) -> Result<bool>;
    /// Replace a portal user's password hash, clear their lockout and end their sessions.
    async fn set_user_password(&self, id: &str, password_hash: &str) -> Result<bool>;
    /// A new download link for a package whose file still exists: the old token stops
    /// working, downloads count from zero. `false` when the package was deleted.
    async fn reissue_export(
        &self,
        id: &str,
        token_hash: &str,
        token_ct: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool>;

    // --- retention purges, legal holds, own-data purge (issue 8; src/retention) ---
    async fn insert_retention_run(&self, run: &RetentionRun) -> Result<()>;
    /// Write a run's counters, status, finish time and error.
    async fn update_retention_run(&self, run: &RetentionRun) -> Result<()>;
    /// Runs, newest first.
    async fn retention_runs(&self, page: PageRequest) -> Result<Page<RetentionRun>>;
    /// The latest real (not dry) run of every policy that has run.
    async fn latest_retention_runs(&self) -> Result<Vec<RetentionRun>>;
    /// Take the lease of `policy_key` for `run_id` until `until` when it is free or
    /// expired at `now`; `false` when another run holds it.
    async fn acquire_retention_lock(
        &self,
        policy_key: &str,
        run_id: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    async fn release_retention_lock(&self, policy_key: &str, run_id: &str) -> Result<()>;
    /// Mark real runs of a policy still `running`, other than `run_id`, as failed with
    /// `error` (their process died; the caller holds the policy's lease). Returns how many.
    async fn interrupt_retention_runs(
        &self,
        connector: &str,
        policy: &str,
        run_id: &str,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<u64>;
    async fn insert_legal_hold(&self, hold: &LegalHold, audit: &NewAudit) -> Result<()>;
    /// Holds, newest first; released ones too when `include_released`.
    async fn legal_holds(
        &self,
        include_released: bool,
        page: PageRequest,
    ) -> Result<Page<LegalHold>>;
    /// Every hold in force (holds are few: a handful per litigation).
    async fn active_legal_holds(&self) -> Result<Vec<LegalHold>>;
    /// The hold in force for this blind index, if any.
    async fn active_legal_hold(&self, email_index: &str) -> Result<Option<LegalHold>>;
    /// Release a hold in force; `false` when it is unknown or already released.
    async fn release_legal_hold(
        &self,
        id: &str,
        by: &str,
        at: DateTime<Utc>,
        audit: &NewAudit,
    ) -> Result<bool>;
    /// Exports past `expires_at` whose file is not deleted yet, oldest first.
    async fn expired_exports(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<Export>>;
    /// Wipe the identity and free text of up to `limit` requests closed before `cutoff`
    /// (reference, kind, status, dates and outcome stay), with their emails in the outbox,
    /// event notes and access results. Returns how many requests were wiped.
    async fn wipe_closed_requests(
        &self,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<u64>;
    /// The other requests of the identity with blind index `email_index` (every one but
    /// `except_id`): `(id, reference)`, and the ids of their export packages not yet deleted.
    async fn own_copies_of_identity(
        &self,
        email_index: &str,
        except_id: &str,
    ) -> Result<(Vec<(String, String)>, Vec<String>)>;
    /// After an erasure of that identity: delete the stored access results, clear the
    /// identity-check proofs and notes of `request_ids`, mark `deleted_exports` (whose
    /// files are gone) deleted, and record that the requests may not be exported again.
    /// One transaction.
    async fn erase_own_copies(
        &self,
        request_ids: &[String],
        erasure_ref: &str,
        deleted_exports: &[String],
        now: DateTime<Utc>,
    ) -> Result<OwnCopiesErased>;
    /// The erasure whose completion deleted this request's stored copies, if any.
    async fn copies_erased_by(&self, request_id: &str) -> Result<Option<String>>;
    /// Delete expired portal sessions and rate-limit windows.
    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64>;
    /// Delete up to `limit` jobs that finished (`done`) before `before`.
    async fn prune_finished_jobs(&self, before: DateTime<Utc>, limit: i64) -> Result<u64>;

    // --- connector tasks: key-template values, ordering, callbacks and manual links ---
    /// Keep the values other connectors' key templates need from this task, unless some
    /// were kept already: a retried erasure must not replace them with what is left.
    async fn keep_task_values(&self, task_id: &str, values_ct: &str) -> Result<()>;
    async fn task_values(&self, task_id: &str) -> Result<Option<String>>;
    /// A `blocked` task (waiting for another connector's task) becomes `pending` and its
    /// job is enqueued, atomically; `false` when it was not blocked.
    async fn unblock_task(&self, task_id: &str, job: &NewJob, now: DateTime<Utc>) -> Result<bool>;
    async fn insert_task_token(&self, token: &TaskToken) -> Result<()>;
    /// A task link by hash, used or not (the caller decides what a used one means).
    async fn task_token(&self, token_hash: &str) -> Result<Option<TaskToken>>;
    /// A `running` task now `waiting` for its callback or completion link; `token` and
    /// `changes` (its email) are stored in the same transaction. `false` when the task
    /// was no longer running (a callback already finished it).
    async fn wait_task(
        &self,
        task_id: &str,
        token: Option<&TaskToken>,
        changes: &Changes,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Use a task link once and record its task's outcome (only while the task is
    /// `running` or `waiting`), with the ledger entry of an erasure, atomically. `false`
    /// when the link was used, expired, or its task already finished.
    async fn finish_task_by_token(
        &self,
        token_hash: &str,
        task: &Task,
        ledger: Option<&LedgerEntry>,
        now: DateTime<Utc>,
    ) -> Result<bool>;

    // --- operations and metrics (issue 11) ---
    /// Failed connector task attempts so far, by connector: every attempt of a task that
    /// ended `failed` or went back to `pending`, every attempt but the last of the others
    /// (a retried attempt failed). Grows like a counter; one pass over an index.
    async fn connector_task_failures(&self) -> Result<Vec<(String, i64)>>;

    // --- key rotation (issue 12) ---
    /// Up to `limit` rows of `table` after the key `after` (`None`: from the start), in
    /// key order: the key values as text, then `table.columns`.
    async fn rotation_rows(
        &self,
        table: &RotatedTable,
        after: Option<&[String]>,
        limit: i64,
    ) -> Result<Vec<RotatedRow>>;
    /// Write the rotated `columns` of each row, one transaction for the batch.
    async fn rotation_write(&self, table: &RotatedTable, rows: &[RotatedRow]) -> Result<()>;
    /// Forget the resend-cap records: their blind indexes cannot be recomputed.
    async fn rotation_clear_verification_sends(&self) -> Result<u64>;

    // --- identity proofing (issue 12) ---
    /// Insert or replace the identity check of a request.
    async fn put_identity_check(&self, check: &IdentityCheck) -> Result<()>;
    async fn identity_check(&self, request_id: &str) -> Result<Option<IdentityCheck>>;

    // ---- suppression list (issue 20 item 1) ----
    /// The sealed key of the suppression list, if one was made.
    async fn suppression_key(&self) -> Result<Option<String>>;
    /// Store the list's sealed key unless one exists (two replicas may race: the first
    /// wins, and both read it back).
    async fn insert_suppression_key(&self, key_ct: &str, now: DateTime<Utc>) -> Result<()>;
    /// Add an entry; `false` when the request already added one with that scope.
    async fn add_suppression(&self, entry: &Suppression) -> Result<bool>;
    /// Every entry whose hash is among `hashes` (at most [`SUPPRESSION_BATCH`] of them).
    async fn suppressions_for(&self, hashes: &[String]) -> Result<Vec<Suppression>>;
    /// Up to `limit` entries with an id above `after_id`, in id order (export pages).
    async fn suppressions_after(&self, after_id: i64, limit: i64) -> Result<Vec<Suppression>>;
    /// The entries a request added.
    async fn suppressions_of_request(&self, request_id: &str) -> Result<Vec<Suppression>>;
    /// Delete the entries a request added, with the request's event and audit entry, in
    /// one transaction. Returns how many were deleted.
    async fn lift_suppressions(
        &self,
        request_id: &str,
        event: &Event,
        audit: &NewAudit,
    ) -> Result<u64>;

    // ---- duplicate requests (issue 20 item 4) ----
    /// The earliest other request of this person and kind that is open (open, in
    /// progress, in review or on hold) and not itself linked to another.
    async fn earlier_open_request(
        &self,
        email_index: &str,
        kind: Kind,
        except_id: &str,
    ) -> Result<Option<Request>>;
    /// Link a request to the one it repeats; `false` when it was linked already.
    async fn link_request(&self, link: &RequestLink) -> Result<bool>;
    /// Remove a request's link; `false` when it had none.
    async fn unlink_request(&self, request_id: &str) -> Result<bool>;
    /// The request this one is linked to: `(id, reference)`.
    async fn link_of(&self, request_id: &str) -> Result<Option<(String, String)>>;
    /// The requests linked to this one: `(id, reference)`, oldest first.
    async fn links_to(&self, first_id: &str) -> Result<Vec<(String, String)>>;
}

/// A request linked to the earlier one it repeats.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestLink {
    pub request_id: String,
    pub first_id: String,
    pub linked_at: DateTime<Utc>,
}

/// At most this many hashes per `suppressions_for` call.
pub const SUPPRESSION_BATCH: usize = 500;

/// One entry of the suppression list: a keyed hash of a canonical address and a scope
/// (`marketing`, `profiling`, `processing`, `erasure`).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Suppression {
    /// 0 for an entry not stored yet.
    pub id: i64,
    pub address_hash: String,
    pub scope: String,
    pub processing: Option<String>,
    pub request_id: String,
    pub added_at: DateTime<Utc>,
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

// --- retention purges, legal holds (issue 8; src/retention) ---

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
