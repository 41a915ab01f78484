//! Intake and verification: verification sends, rate-limit buckets, identity checks, and the clean-up of dead links.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;

#[async_trait]
pub trait IntakeStore: Send + Sync {
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
    /// Remove verification links that were used or have expired.
    async fn purge_dead_tokens(&self, now: DateTime<Utc>) -> Result<u64>;

    /// Insert or replace the identity check of a request.
    async fn put_identity_check(&self, check: &IdentityCheck) -> Result<()>;
    async fn identity_check(&self, request_id: &str) -> Result<Option<IdentityCheck>>;
}

/// The queries of [`IntakeStore`], one text for both backends.
macro_rules! intake_queries {
    (
        store = $store:ident,
        db = $db:ty,
        migrator = $migrator:expr,
        begin_write = $begin:literal,
        audit_lock = $lock:literal,
        claim_sql = $claim:literal $(,)?
    ) => {
        #[async_trait::async_trait]
        impl $crate::store::IntakeStore for $store {

            async fn verification_sends(
                &self,
                email_index: &str,
                since: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<Vec<chrono::DateTime<chrono::Utc>>> {
                Ok(sqlx::query_scalar(
                    "SELECT at FROM verification_sends WHERE email_index = $1 AND at > $2 ORDER BY at",
                )
                .bind(email_index)
                .bind(since)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn hit_rate_limit(
                &self,
                bucket: &str,
                window_ends: chrono::DateTime<chrono::Utc>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<(i64, chrono::DateTime<chrono::Utc>)> {
                let (hits, ends): (i64, chrono::DateTime<chrono::Utc>) = sqlx::query_as(
                    "INSERT INTO rate_limits (bucket, hits, expires_at) VALUES ($1, 1, $2) \
                     ON CONFLICT (bucket) DO UPDATE SET \
                       hits = CASE WHEN rate_limits.expires_at <= $3 THEN 1 ELSE rate_limits.hits + 1 END, \
                       expires_at = CASE WHEN rate_limits.expires_at <= $3 THEN $2 ELSE rate_limits.expires_at END \
                     RETURNING CAST(hits AS BIGINT), expires_at",
                )
                .bind(bucket)
                .bind(window_ends)
                .bind(now)
                .fetch_one(&self.pool)
                .await?;
                Ok((hits, ends))
            }

            async fn purge_dead_tokens(&self, now: chrono::DateTime<chrono::Utc>) -> $crate::store::Result<u64> {
                let r = sqlx::query(
                    "DELETE FROM request_tokens WHERE purpose = 'verify' AND (used_at IS NOT NULL OR expires_at < $1)",
                )
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected())
            }

            async fn put_identity_check(&self, c: &$crate::store::IdentityCheck) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO identity_checks (request_id, method, state, proof_ct, note_ct, checked_by, checked_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (request_id) DO UPDATE SET method = excluded.method, state = excluded.state, \
                     proof_ct = excluded.proof_ct, note_ct = excluded.note_ct, checked_by = excluded.checked_by, \
                     checked_at = excluded.checked_at",
                )
                .bind(&c.request_id)
                .bind(&c.method)
                .bind(&c.state)
                .bind(&c.proof_ct)
                .bind(&c.note_ct)
                .bind(&c.checked_by)
                .bind(c.checked_at)
                .bind(c.created_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn identity_check(
                &self,
                request_id: &str,
            ) -> $crate::store::Result<Option<$crate::store::IdentityCheck>> {
                Ok(sqlx::query_as(
                    "SELECT request_id, method, state, proof_ct, note_ct, checked_by, checked_at, created_at \
                     FROM identity_checks WHERE request_id = $1",
                )
                .bind(request_id)
                .fetch_optional(&self.pool)
                .await?)
            }
        }
    };
}
