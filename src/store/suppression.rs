//! The suppression list: keyed hashes of the addresses of people who objected or had their data erased, kept after their requests' personal data is purged, and the list's own key.

use chrono::{DateTime, Utc};

use super::*;

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

#[async_trait::async_trait]
pub trait SuppressionStore: Send + Sync {
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
    /// Delete every entry of `address_hash` with `scope` (an opt-out taken back, whichever
    /// request added it), with the event of request `request_id` and the audit entry, in
    /// one transaction. Returns how many were deleted.
    async fn lift_suppressions_of(
        &self,
        address_hash: &str,
        scope: &str,
        request_id: &str,
        event: &Event,
        audit: &NewAudit,
    ) -> Result<u64>;
    /// The reference of the request that put `address_hash` on the list with `scope`
    /// (the earliest such entry), if it is there.
    async fn suppressed_by(&self, address_hash: &str, scope: &str) -> Result<Option<String>>;
}

/// The queries of [`SuppressionStore`], one text for both backends.
macro_rules! suppression_queries {
    (
        store = $store:ident,
        db = $db:ty,
        migrator = $migrator:expr,
        begin_write = $begin:literal,
        audit_lock = $lock:literal,
        claim_sql = $claim:literal $(,)?
    ) => {
        impl $store {
            /// The statement that adds an entry (by itself, or in a request's
            /// transaction: `Changes::suppression`); an entry already there stays.
            fn add_suppression_query(
                e: &$crate::store::Suppression,
            ) -> sqlx::query::Query<'static, $db, <$db as sqlx::Database>::Arguments> {
                sqlx::query(
                    "INSERT INTO suppressions (address_hash, scope, processing, request_id, added_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_id, scope) DO NOTHING",
                )
                .bind(e.address_hash.clone())
                .bind(e.scope.clone())
                .bind(e.processing.clone())
                .bind(e.request_id.clone())
                .bind(e.added_at)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::SuppressionStore for $store {
            async fn suppression_key(&self) -> $crate::store::Result<Option<String>> {
                Ok(sqlx::query_scalar("SELECT key_ct FROM suppression_keys WHERE id = 'v1'")
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn insert_suppression_key(
                &self,
                key_ct: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO suppression_keys (id, key_ct, created_at) VALUES ('v1', $1, $2) \
                     ON CONFLICT (id) DO NOTHING",
                )
                .bind(key_ct)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn add_suppression(
                &self,
                e: &$crate::store::Suppression,
            ) -> $crate::store::Result<bool> {
                let done = Self::add_suppression_query(e).execute(&self.pool).await?;
                Ok(done.rows_affected() > 0)
            }

            async fn suppressions_for(
                &self,
                hashes: &[String],
            ) -> $crate::store::Result<Vec<$crate::store::Suppression>> {
                if hashes.is_empty() {
                    return Ok(Vec::new());
                }
                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "SELECT id, address_hash, scope, processing, request_id, added_at FROM suppressions WHERE address_hash IN (",
                );
                let mut sep = qb.separated(", ");
                for h in hashes.iter().take($crate::store::SUPPRESSION_BATCH) {
                    sep.push_bind(h.clone());
                }
                qb.push(") ORDER BY id");
                Ok(qb.build_query_as().fetch_all(&self.pool).await?)
            }

            async fn suppressions_after(
                &self,
                after_id: i64,
                limit: i64,
            ) -> $crate::store::Result<Vec<$crate::store::Suppression>> {
                Ok(sqlx::query_as(
                    "SELECT id, address_hash, scope, processing, request_id, added_at FROM suppressions \
                     WHERE id > $1 ORDER BY id LIMIT $2",
                )
                .bind(after_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn suppressions_of_request(
                &self,
                request_id: &str,
            ) -> $crate::store::Result<Vec<$crate::store::Suppression>> {
                Ok(sqlx::query_as(
                    "SELECT id, address_hash, scope, processing, request_id, added_at FROM suppressions \
                     WHERE request_id = $1 ORDER BY id",
                )
                .bind(request_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn lift_suppressions(
                &self,
                request_id: &str,
                event: &$crate::store::Event,
                audit: &$crate::store::NewAudit,
            ) -> $crate::store::Result<u64> {
                let mut tx = self.begin_write().await?;
                let lifted = sqlx::query("DELETE FROM suppressions WHERE request_id = $1")
                    .bind(request_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if lifted > 0 {
                    Self::insert_event_tx(&mut tx, request_id, event).await?;
                    self.append_audit_tx(&mut tx, audit).await?;
                }
                tx.commit().await?;
                Ok(lifted)
            }

            async fn lift_suppressions_of(
                &self,
                address_hash: &str,
                scope: &str,
                request_id: &str,
                event: &$crate::store::Event,
                audit: &$crate::store::NewAudit,
            ) -> $crate::store::Result<u64> {
                let mut tx = self.begin_write().await?;
                let lifted =
                    sqlx::query("DELETE FROM suppressions WHERE address_hash = $1 AND scope = $2")
                        .bind(address_hash)
                        .bind(scope)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                Self::insert_event_tx(&mut tx, request_id, event).await?;
                self.append_audit_tx(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(lifted)
            }

            async fn suppressed_by(
                &self,
                address_hash: &str,
                scope: &str,
            ) -> $crate::store::Result<Option<String>> {
                Ok(sqlx::query_scalar(
                    "SELECT r.reference FROM suppressions s JOIN requests r ON r.id = s.request_id \
                     WHERE s.address_hash = $1 AND s.scope = $2 ORDER BY s.id LIMIT 1",
                )
                .bind(address_hash)
                .bind(scope)
                .fetch_optional(&self.pool)
                .await?)
            }
        }
    };
}
