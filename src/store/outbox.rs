//! The email outbox: messages written with the change that caused them, sent by the job queue.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;

#[async_trait]
pub trait OutboxStore: Send + Sync {
    async fn outbox_message(&self, id: &str) -> Result<Option<OutboxMessage>>;
    /// A message to send, with the language of its request (the default language when
    /// the request sets none, or the message belongs to no request), in one read.
    async fn outbox_message_to_send(
        &self,
        id: &str,
    ) -> Result<Option<(OutboxMessage, crate::domain::language::Language)>>;
    async fn mark_outbox(
        &self,
        id: &str,
        status: OutboxStatus,
        error: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()>;
    async fn outbox_for_request(&self, request_id: &str) -> Result<Vec<OutboxMessage>>;
}

/// The queries of [`OutboxStore`], one text for both backends.
macro_rules! outbox_queries {
    (
        store = $store:ident,
        db = $db:ty,
        migrator = $migrator:expr,
        begin_write = $begin:literal,
        audit_lock = $lock:literal,
        claim_sql = $claim:literal $(,)?
    ) => {
        #[async_trait::async_trait]
        impl $crate::store::OutboxStore for $store {

            async fn outbox_message(&self, id: &str) -> $crate::store::Result<Option<$crate::store::OutboxMessage>> {
                Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM outbox WHERE id = $1",
                    $crate::store::common::OUTBOX_COLUMNS
                )))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn outbox_message_to_send(
                &self,
                id: &str,
            ) -> $crate::store::Result<Option<($crate::store::OutboxMessage, $crate::domain::language::Language)>> {
                #[derive(sqlx::FromRow)]
                struct Row {
                    #[sqlx(flatten)]
                    message: $crate::store::OutboxMessage,
                    language: Option<String>,
                }
                let columns: Vec<String> = $crate::store::common::OUTBOX_COLUMNS
                    .split(", ")
                    .map(|c| format!("o.{c}"))
                    .collect();
                let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {}, r.language FROM outbox o LEFT JOIN requests r ON r.id = o.request_id \
                     WHERE o.id = $1",
                    columns.join(", ")
                )))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|r| {
                    let language = r
                        .language
                        .as_deref()
                        .and_then($crate::domain::language::Language::parse)
                        .unwrap_or_default();
                    (r.message, language)
                }))
            }

            async fn mark_outbox(
                &self,
                id: &str,
                status: $crate::store::OutboxStatus,
                error: Option<&str>,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<()> {
                let sent_at = (status == $crate::store::OutboxStatus::Sent).then_some(at);
                // Delivery bookkeeping, like the job queue's: on PostgreSQL it commits
                // without waiting for the WAL flush (`store::jobs::ASYNC_COMMIT`); a mark
                // lost to a database crash is a message sent again (at least once).
                let async_commit = if $lock.is_empty() {
                    ""
                } else {
                    $crate::store::jobs::ASYNC_COMMIT
                };
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE outbox SET status = $2, last_error = $3, attempts = attempts + 1, sent_at = $4{async_commit} \
                     WHERE outbox.id = $1",
                )))
                .bind(id)
                .bind(status.as_str())
                .bind(error)
                .bind(sent_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn outbox_for_request(&self, request_id: &str) -> $crate::store::Result<Vec<$crate::store::OutboxMessage>> {
                Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM outbox WHERE request_id = $1 ORDER BY created_at, id",
                    $crate::store::common::OUTBOX_COLUMNS
                )))
                .bind(request_id)
                .fetch_all(&self.pool)
                .await?)
            }
        }
    };
}
