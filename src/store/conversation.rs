//! The conversation of a request: staff questions and messages, the subject's replies,
//! the files sent with them or with an authorized agent's request (encrypted), and the
//! authorized agent acting for the subject.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;

/// One message of a request's conversation; `body_ct` is `None` once wiped.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Message {
    pub id: String,
    pub request_id: String,
    pub at: DateTime<Utc>,
    /// `staff` or `subject`.
    pub author: String,
    /// The staff member, or `subject`.
    pub actor: String,
    /// `question` (the request waits for the answer), `message` or `reply`.
    pub purpose: String,
    pub body_ct: Option<String>,
}

/// A stored file, without its content.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredFile {
    pub id: String,
    pub request_id: String,
    pub message_id: Option<String>,
    /// `reply` or `agent_permission`.
    pub purpose: String,
    pub name_ct: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
}

/// A file to store: its record and its sealed content.
#[derive(Clone)]
pub struct NewFile {
    pub file: StoredFile,
    pub body: Vec<u8>,
}

/// The person or organisation acting for the subject of a request.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AgentRecord {
    pub request_id: String,
    pub name_ct: Option<String>,
    pub email_ct: Option<String>,
    pub organisation_ct: Option<String>,
    /// `document` (signed permission uploaded), `power_of_attorney` or `none`.
    pub authority: String,
    pub statement_ct: Option<String>,
    pub poa_accepted_at: Option<DateTime<Utc>>,
    pub poa_accepted_by: Option<String>,
    pub consent_at: Option<DateTime<Utc>>,
    pub consent_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[async_trait]
pub trait ConversationStore: Send + Sync {
    /// Store a message with its files, its request event, its audit entry and `changes`
    /// (the email that carries it), atomically.
    async fn add_message(
        &self,
        message: &Message,
        files: &[NewFile],
        event: &Event,
        audit: &NewAudit,
        changes: &Changes,
    ) -> Result<()>;
    /// A request's messages, oldest first.
    async fn messages(&self, request_id: &str) -> Result<Vec<Message>>;
    /// A request's files (without content), oldest first.
    async fn request_files(&self, request_id: &str) -> Result<Vec<StoredFile>>;
    /// One file of a request with its sealed content.
    async fn request_file(&self, request_id: &str, file_id: &str) -> Result<Option<NewFile>>;
    /// Record the agent of a request with the permission document(s), its event, audit
    /// entry and `changes` (the agent's link and email), atomically; `Duplicate` when the
    /// request has an agent already.
    async fn insert_agent(
        &self,
        agent: &AgentRecord,
        files: &[NewFile],
        event: &Event,
        audit: &NewAudit,
        changes: &Changes,
    ) -> Result<()>;
    async fn agent(&self, request_id: &str) -> Result<Option<AgentRecord>>;
    /// Store a staff decision about the agent (power of attorney accepted, the subject's
    /// consent recorded) with its event and audit entry.
    async fn update_agent(
        &self,
        agent: &AgentRecord,
        event: &Event,
        audit: &NewAudit,
    ) -> Result<()>;
    /// Of the requests whose personal data was wiped: delete their files and wipe their
    /// messages and agents' identities. Returns how many files were deleted.
    async fn wipe_conversations(&self) -> Result<u64>;
}

const FILE_COLUMNS: &str =
    "id, request_id, message_id, purpose, name_ct, media_type, size_bytes, sha256, created_at";

/// The queries of [`ConversationStore`], one text for both backends.
macro_rules! conversation_queries {
    (
        store = $store:ident,
        db = $db:ty,
        migrator = $migrator:expr,
        begin_write = $begin:literal,
        audit_lock = $lock:literal,
        claim_sql = $claim:literal $(,)?
    ) => {
        impl $store {
            async fn insert_files_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                files: &[$crate::store::NewFile],
            ) -> $crate::store::Result<()> {
                for f in files {
                    sqlx::query(
                        "INSERT INTO request_files (id, request_id, message_id, purpose, name_ct, media_type, \
                         size_bytes, sha256, body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(&f.file.id)
                    .bind(&f.file.request_id)
                    .bind(&f.file.message_id)
                    .bind(&f.file.purpose)
                    .bind(&f.file.name_ct)
                    .bind(&f.file.media_type)
                    .bind(f.file.size_bytes)
                    .bind(&f.file.sha256)
                    .bind(&f.body)
                    .bind(f.file.created_at)
                    .execute(&mut **tx)
                    .await?;
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::ConversationStore for $store {
            async fn add_message(
                &self,
                m: &$crate::store::Message,
                files: &[$crate::store::NewFile],
                event: &$crate::store::Event,
                audit: &$crate::store::NewAudit,
                changes: &$crate::store::Changes,
            ) -> $crate::store::Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO request_messages (id, request_id, at, author, actor, purpose, body_ct) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&m.id)
                .bind(&m.request_id)
                .bind(m.at)
                .bind(&m.author)
                .bind(&m.actor)
                .bind(&m.purpose)
                .bind(&m.body_ct)
                .execute(&mut *tx)
                .await?;
                Self::insert_files_tx(&mut tx, files).await?;
                Self::insert_event_tx(&mut tx, &m.request_id, event).await?;
                self.append_audit_tx(&mut tx, audit).await?;
                Self::apply_changes_tx(&mut tx, &m.request_id, changes).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn messages(
                &self,
                request_id: &str,
            ) -> $crate::store::Result<Vec<$crate::store::Message>> {
                Ok(sqlx::query_as(
                    "SELECT id, request_id, at, author, actor, purpose, body_ct FROM request_messages \
                     WHERE request_id = $1 ORDER BY at, id",
                )
                .bind(request_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn request_files(
                &self,
                request_id: &str,
            ) -> $crate::store::Result<Vec<$crate::store::StoredFile>> {
                let sql = format!(
                    "SELECT {} FROM request_files WHERE request_id = $1 ORDER BY created_at, id",
                    $crate::store::conversation::file_columns()
                );
                Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(request_id)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn request_file(
                &self,
                request_id: &str,
                file_id: &str,
            ) -> $crate::store::Result<Option<$crate::store::NewFile>> {
                let sql = format!(
                    "SELECT {} FROM request_files WHERE request_id = $1 AND id = $2",
                    $crate::store::conversation::file_columns()
                );
                let file: Option<$crate::store::StoredFile> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(request_id)
                        .bind(file_id)
                        .fetch_optional(&self.pool)
                        .await?;
                let Some(file) = file else {
                    return Ok(None);
                };
                let (body,): (Vec<u8>,) =
                    sqlx::query_as("SELECT body FROM request_files WHERE id = $1")
                        .bind(file_id)
                        .fetch_one(&self.pool)
                        .await?;
                Ok(Some($crate::store::NewFile { file, body }))
            }

            async fn insert_agent(
                &self,
                a: &$crate::store::AgentRecord,
                files: &[$crate::store::NewFile],
                event: &$crate::store::Event,
                audit: &$crate::store::NewAudit,
                changes: &$crate::store::Changes,
            ) -> $crate::store::Result<()> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "INSERT INTO request_agents (request_id, name_ct, email_ct, organisation_ct, authority, \
                     statement_ct, poa_accepted_at, poa_accepted_by, consent_at, consent_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (request_id) DO NOTHING",
                )
                .bind(&a.request_id)
                .bind(&a.name_ct)
                .bind(&a.email_ct)
                .bind(&a.organisation_ct)
                .bind(&a.authority)
                .bind(&a.statement_ct)
                .bind(a.poa_accepted_at)
                .bind(&a.poa_accepted_by)
                .bind(a.consent_at)
                .bind(&a.consent_by)
                .bind(a.created_at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if done == 0 {
                    return Err($crate::store::StoreError::Duplicate);
                }
                Self::insert_files_tx(&mut tx, files).await?;
                Self::insert_event_tx(&mut tx, &a.request_id, event).await?;
                self.append_audit_tx(&mut tx, audit).await?;
                Self::apply_changes_tx(&mut tx, &a.request_id, changes).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn agent(
                &self,
                request_id: &str,
            ) -> $crate::store::Result<Option<$crate::store::AgentRecord>> {
                Ok(sqlx::query_as(
                    "SELECT request_id, name_ct, email_ct, organisation_ct, authority, statement_ct, \
                     poa_accepted_at, poa_accepted_by, consent_at, consent_by, created_at \
                     FROM request_agents WHERE request_id = $1",
                )
                .bind(request_id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn update_agent(
                &self,
                a: &$crate::store::AgentRecord,
                event: &$crate::store::Event,
                audit: &$crate::store::NewAudit,
            ) -> $crate::store::Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "UPDATE request_agents SET poa_accepted_at = $2, poa_accepted_by = $3, consent_at = $4, \
                     consent_by = $5 WHERE request_id = $1",
                )
                .bind(&a.request_id)
                .bind(a.poa_accepted_at)
                .bind(&a.poa_accepted_by)
                .bind(a.consent_at)
                .bind(&a.consent_by)
                .execute(&mut *tx)
                .await?;
                Self::insert_event_tx(&mut tx, &a.request_id, event).await?;
                self.append_audit_tx(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn wipe_conversations(&self) -> $crate::store::Result<u64> {
                let mut tx = self.begin_write().await?;
                let wiped = "SELECT id FROM requests WHERE pii_wiped_at IS NOT NULL";
                let files = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM request_files WHERE request_id IN ({wiped})"
                )))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE request_messages SET body_ct = NULL WHERE body_ct IS NOT NULL AND request_id IN ({wiped})"
                )))
                .execute(&mut *tx)
                .await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE request_agents SET name_ct = NULL, email_ct = NULL, organisation_ct = NULL, \
                     statement_ct = NULL WHERE name_ct IS NOT NULL AND request_id IN ({wiped})"
                )))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(files)
            }
        }
    };
}

/// The columns of `request_files` but its content.
pub(crate) fn file_columns() -> &'static str {
    FILE_COLUMNS
}
