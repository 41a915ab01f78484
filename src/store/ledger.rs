//! The erasure ledger and our own copies of a subject's data: what was erased, by which request, so a restore can be replayed.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;

#[async_trait]
pub trait LedgerStore: Send + Sync {
    async fn ledger_since(&self, since: DateTime<Utc>) -> Result<Vec<LedgerEntry>>;
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
}

/// The queries of [`LedgerStore`], one text for both backends.
macro_rules! ledger_queries {
    (
        store = $store:ident,
        db = $db:ty,
        migrator = $migrator:expr,
        begin_write = $begin:literal,
        audit_lock = $lock:literal,
        claim_sql = $claim:literal $(,)?
    ) => {
        #[async_trait::async_trait]
        impl $crate::store::LedgerStore for $store {

            async fn ledger_since(
                &self,
                since: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<Vec<$crate::store::LedgerEntry>> {
                Ok(sqlx::query_as(
                    "SELECT identity_hmac, identity_ct, connector, request_ref, task_id, at FROM erasure_ledger \
                     WHERE at >= $1 ORDER BY id",
                )
                .bind(since)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn own_copies_of_identity(
                &self,
                email_index: &str,
                except_id: &str,
            ) -> $crate::store::Result<(Vec<(String, String)>, Vec<String>)> {
                let requests: Vec<(String, String)> = sqlx::query_as(
                    "SELECT id, reference FROM requests WHERE email_index = $1 AND id <> $2 ORDER BY received_at, id",
                )
                .bind(email_index)
                .bind(except_id)
                .fetch_all(&self.pool)
                .await?;
                let exports: Vec<String> = sqlx::query_scalar(
                    "SELECT e.id FROM exports e JOIN requests r ON r.id = e.request_id \
                     WHERE r.email_index = $1 AND r.id <> $2 AND e.deleted_at IS NULL ORDER BY e.id",
                )
                .bind(email_index)
                .bind(except_id)
                .fetch_all(&self.pool)
                .await?;
                Ok((requests, exports))
            }

            async fn erase_own_copies(
                &self,
                request_ids: &[String],
                erasure_ref: &str,
                deleted_exports: &[String],
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<$crate::store::OwnCopiesErased> {
                let mut out = $crate::store::OwnCopiesErased::default();
                let mut tx = self.begin_write().await?;
                // A person has few requests: each statement takes them all at once.
                for chunk in request_ids.chunks(100) {
                    let list = |qb: &mut sqlx::QueryBuilder<$db>| {
                        let mut sep = qb.separated(", ");
                        for id in chunk {
                            sep.push_bind(id.clone());
                        }
                    };
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "DELETE FROM task_result_parts WHERE task_id IN (SELECT id FROM tasks WHERE request_id IN (",
                    );
                    list(&mut qb);
                    qb.push("))");
                    out.result_parts += qb.build().execute(&mut *tx).await?.rows_affected();
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "UPDATE tasks SET result_ct = NULL, values_ct = NULL WHERE (result_ct IS NOT NULL OR values_ct IS NOT NULL) AND request_id IN (",
                    );
                    list(&mut qb);
                    qb.push(")");
                    out.task_results += qb.build().execute(&mut *tx).await?.rows_affected();
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "UPDATE identity_checks SET proof_ct = NULL, note_ct = NULL WHERE (proof_ct IS NOT NULL OR note_ct IS NOT NULL) AND request_id IN (",
                    );
                    list(&mut qb);
                    qb.push(")");
                    out.identity_proofs += qb.build().execute(&mut *tx).await?.rows_affected();
                    for id in chunk {
                        sqlx::query(
                            "INSERT INTO erased_copies (request_id, erasure_ref, erased_at) VALUES ($1, $2, $3) \
                             ON CONFLICT (request_id) DO NOTHING",
                        )
                        .bind(id)
                        .bind(erasure_ref)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                for chunk in deleted_exports.chunks(100) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new("UPDATE exports SET deleted_at = ");
                    qb.push_bind(now);
                    qb.push(", token_ct = NULL WHERE deleted_at IS NULL AND id IN (");
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(id.clone());
                    }
                    qb.push(")");
                    out.export_files += qb.build().execute(&mut *tx).await?.rows_affected();
                }
                tx.commit().await?;
                Ok(out)
            }

            async fn copies_erased_by(&self, request_id: &str) -> $crate::store::Result<Option<String>> {
                Ok(sqlx::query_scalar("SELECT erasure_ref FROM erased_copies WHERE request_id = $1")
                    .bind(request_id)
                    .fetch_optional(&self.pool)
                    .await?)
            }
        }
    };
}
