//! The privacy inbox's triage items: messages read from the IMAP folder, kept encrypted
//! until staff convert them into a request or dismiss them, then purged with closed
//! requests' personal data.

use chrono::{DateTime, Utc};

use super::*;

/// One message of the privacy inbox. Sender, subject and body are sealed under the
/// deployment key (`*_ct`); only services open them.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TriageItem {
    pub id: String,
    /// SHA-256 of the Message-ID (or of the whole message): reading a message twice
    /// (a move that failed, two replicas) never makes two items.
    pub message_key: String,
    pub received_at: DateTime<Utc>,
    pub from_ct: String,
    pub subject_ct: String,
    pub body_ct: String,
    pub guessed_kind: Option<String>,
    pub language: Option<String>,
    /// `new`, `converted` or `dismissed`.
    pub status: String,
    pub reason: Option<String>,
    pub request_ref: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// An attachment of a triage item; `data_ct` is its content in base64, sealed like the
/// other columns (bound to table, column and row).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TriageAttachment {
    pub id: String,
    pub item_id: String,
    pub name_ct: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub data_ct: String,
}

/// How staff decided a triage item.
#[derive(Debug, Clone)]
pub struct Decision<'a> {
    /// `converted` or `dismissed`.
    pub status: &'a str,
    pub reason: Option<&'a str>,
    pub request_ref: Option<&'a str>,
    pub by: &'a str,
    pub at: DateTime<Utc>,
}

/// An attachment without its content, for lists.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TriageAttachmentInfo {
    pub id: String,
    pub item_id: String,
    pub name_ct: String,
    pub content_type: String,
    pub size_bytes: i64,
}

#[async_trait::async_trait]
pub trait InboxStore: Send + Sync {
    /// Store an item with its attachments in one transaction; `false` when an item with
    /// the same `message_key` exists (nothing is written then).
    async fn inbox_insert(
        &self,
        item: &crate::store::inbox::TriageItem,
        attachments: &[crate::store::inbox::TriageAttachment],
    ) -> Result<bool>;
    /// Items of a status (`None`: every status), newest first, with the total.
    async fn inbox_items(
        &self,
        status: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<crate::store::inbox::TriageItem>>;
    async fn inbox_item(&self, id: &str) -> Result<Option<crate::store::inbox::TriageItem>>;
    async fn inbox_attachment_list(
        &self,
        item_id: &str,
    ) -> Result<Vec<crate::store::inbox::TriageAttachmentInfo>>;
    async fn inbox_attachment(
        &self,
        id: &str,
    ) -> Result<Option<crate::store::inbox::TriageAttachment>>;
    /// Decide a `new` item (`converted` with the request's reference, or `dismissed` with
    /// a reason), with its audit entry; `false` when it was decided already.
    async fn inbox_decide(
        &self,
        id: &str,
        decision: &crate::store::inbox::Decision<'_>,
        audit: &NewAudit,
    ) -> Result<bool>;
    /// Delete items decided before `before` (with their attachments); how many.
    async fn inbox_purge_decided(&self, before: DateTime<Utc>) -> Result<u64>;
}

/// The queries of [`InboxStore`], one text for both backends.
macro_rules! inbox_queries {
    (
        store = $store:ident,
        db = $db:ty,
        migrator = $migrator:expr,
        begin_write = $begin:literal,
        audit_lock = $lock:literal,
        claim_sql = $claim:literal $(,)?
    ) => {
        #[async_trait::async_trait]
        impl $crate::store::InboxStore for $store {
            async fn inbox_insert(
                &self,
                item: &$crate::store::inbox::TriageItem,
                attachments: &[$crate::store::inbox::TriageAttachment],
            ) -> $crate::store::Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "INSERT INTO inbox_items (id, message_key, received_at, from_ct, subject_ct, body_ct, \
                     guessed_kind, language, status, reason, request_ref, decided_by, decided_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                     ON CONFLICT (message_key) DO NOTHING",
                )
                .bind(&item.id)
                .bind(&item.message_key)
                .bind(item.received_at)
                .bind(&item.from_ct)
                .bind(&item.subject_ct)
                .bind(&item.body_ct)
                .bind(&item.guessed_kind)
                .bind(&item.language)
                .bind(&item.status)
                .bind(&item.reason)
                .bind(&item.request_ref)
                .bind(&item.decided_by)
                .bind(item.decided_at)
                .bind(item.created_at)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                for a in attachments {
                    sqlx::query(
                        "INSERT INTO inbox_attachments (id, item_id, name_ct, content_type, size_bytes, data_ct) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(&a.id)
                    .bind(&a.item_id)
                    .bind(&a.name_ct)
                    .bind(&a.content_type)
                    .bind(a.size_bytes)
                    .bind(&a.data_ct)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn inbox_items(
                &self,
                status: Option<&str>,
                page: $crate::store::PageRequest,
            ) -> $crate::store::Result<$crate::store::Page<$crate::store::inbox::TriageItem>> {
                let items: Vec<$crate::store::inbox::TriageItem> = sqlx::query_as(
                    "SELECT id, message_key, received_at, from_ct, subject_ct, body_ct, guessed_kind, language, \
                     status, reason, request_ref, decided_by, decided_at, created_at FROM inbox_items \
                     WHERE ($1 IS NULL OR status = $1) ORDER BY received_at DESC, id DESC LIMIT $2 OFFSET $3",
                )
                .bind(status)
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(&self.pool)
                .await?;
                let (total,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM inbox_items WHERE ($1 IS NULL OR status = $1)",
                )
                .bind(status)
                .fetch_one(&self.pool)
                .await?;
                Ok($crate::store::Page { items, total })
            }

            async fn inbox_item(
                &self,
                id: &str,
            ) -> $crate::store::Result<Option<$crate::store::inbox::TriageItem>> {
                Ok(sqlx::query_as(
                    "SELECT id, message_key, received_at, from_ct, subject_ct, body_ct, guessed_kind, language, \
                     status, reason, request_ref, decided_by, decided_at, created_at FROM inbox_items WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn inbox_attachment_list(
                &self,
                item_id: &str,
            ) -> $crate::store::Result<Vec<$crate::store::inbox::TriageAttachmentInfo>> {
                Ok(sqlx::query_as(
                    "SELECT id, item_id, name_ct, content_type, size_bytes FROM inbox_attachments \
                     WHERE item_id = $1 ORDER BY id",
                )
                .bind(item_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn inbox_attachment(
                &self,
                id: &str,
            ) -> $crate::store::Result<Option<$crate::store::inbox::TriageAttachment>> {
                Ok(sqlx::query_as(
                    "SELECT id, item_id, name_ct, content_type, size_bytes, data_ct FROM inbox_attachments WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn inbox_decide(
                &self,
                id: &str,
                d: &$crate::store::inbox::Decision<'_>,
                audit: &$crate::store::NewAudit,
            ) -> $crate::store::Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE inbox_items SET status = $2, reason = $3, request_ref = $4, decided_by = $5, \
                     decided_at = $6 WHERE id = $1 AND status = 'new'",
                )
                .bind(id)
                .bind(d.status)
                .bind(d.reason)
                .bind(d.request_ref)
                .bind(d.by)
                .bind(d.at)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                self.append_audit_tx(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn inbox_purge_decided(
                &self,
                before: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<u64> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "DELETE FROM inbox_attachments WHERE item_id IN \
                     (SELECT id FROM inbox_items WHERE status <> 'new' AND decided_at < $1)",
                )
                .bind(before)
                .execute(&mut *tx)
                .await?;
                let done = sqlx::query("DELETE FROM inbox_items WHERE status <> 'new' AND decided_at < $1")
                    .bind(before)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(done.rows_affected())
            }
        }
    };
}
