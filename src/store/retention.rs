//! Retention: runs, the per-policy lock, and legal holds.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;

#[async_trait]
pub trait RetentionStore: Send + Sync {
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
}

/// The queries of [`RetentionStore`], one text for both backends.
macro_rules! retention_queries {
    (
        store = $store:ident,
        db = $db:ty,
        migrator = $migrator:expr,
        begin_write = $begin:literal,
        audit_lock = $lock:literal,
        claim_sql = $claim:literal $(,)?
    ) => {
        #[async_trait::async_trait]
        impl $crate::store::RetentionStore for $store {

            async fn insert_retention_run(&self, r: &$crate::store::RetentionRun) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO retention_runs (id, connector, policy, trigger_kind, actor, dry_run, status, \
                     started_at, finished_at, cutoff, rows_matched, rows_purged, rows_held, batches, error) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                )
                .bind(&r.id)
                .bind(&r.connector)
                .bind(&r.policy)
                .bind(&r.trigger_kind)
                .bind(&r.actor)
                .bind(r.dry_run)
                .bind(&r.status)
                .bind(r.started_at)
                .bind(r.finished_at)
                .bind(r.cutoff)
                .bind(r.rows_matched)
                .bind(r.rows_purged)
                .bind(r.rows_held)
                .bind(r.batches)
                .bind(&r.error)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn update_retention_run(&self, r: &$crate::store::RetentionRun) -> $crate::store::Result<()> {
                sqlx::query(
                    "UPDATE retention_runs SET status = $2, finished_at = $3, rows_matched = $4, \
                     rows_purged = $5, rows_held = $6, batches = $7, error = $8 WHERE id = $1",
                )
                .bind(&r.id)
                .bind(&r.status)
                .bind(r.finished_at)
                .bind(r.rows_matched)
                .bind(r.rows_purged)
                .bind(r.rows_held)
                .bind(r.batches)
                .bind(&r.error)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn retention_runs(
                &self,
                page: $crate::store::PageRequest,
            ) -> $crate::store::Result<$crate::store::Page<$crate::store::RetentionRun>> {
                let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM retention_runs")
                    .fetch_one(&self.pool)
                    .await?;
                let items = sqlx::query_as(
                    "SELECT id, connector, policy, trigger_kind, actor, dry_run, status, started_at, finished_at, \
                     cutoff, rows_matched, rows_purged, rows_held, batches, error FROM retention_runs \
                     ORDER BY started_at DESC, id DESC LIMIT $1 OFFSET $2",
                )
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(&self.pool)
                .await?;
                Ok($crate::store::Page { items, total })
            }

            async fn latest_retention_runs(&self) -> $crate::store::Result<Vec<$crate::store::RetentionRun>> {
                Ok(sqlx::query_as(
                    "SELECT r.id, r.connector, r.policy, r.trigger_kind, r.actor, r.dry_run, r.status, r.started_at, \
                     r.finished_at, r.cutoff, r.rows_matched, r.rows_purged, r.rows_held, r.batches, r.error \
                     FROM retention_runs r WHERE r.dry_run = $1 AND r.id = (SELECT x.id FROM retention_runs x \
                         WHERE x.connector = r.connector AND x.policy = r.policy AND x.dry_run = $1 \
                         ORDER BY x.started_at DESC, x.id DESC LIMIT 1) \
                     ORDER BY r.connector, r.policy",
                )
                .bind(false)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn acquire_retention_lock(
                &self,
                policy_key: &str,
                run_id: &str,
                until: chrono::DateTime<chrono::Utc>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<bool> {
                let r = sqlx::query(
                    "INSERT INTO retention_locks (policy_key, run_id, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (policy_key) DO UPDATE SET run_id = excluded.run_id, expires_at = excluded.expires_at \
                     WHERE retention_locks.expires_at < $4 OR retention_locks.run_id = excluded.run_id",
                )
                .bind(policy_key)
                .bind(run_id)
                .bind(until)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn release_retention_lock(&self, policy_key: &str, run_id: &str) -> $crate::store::Result<()> {
                sqlx::query("DELETE FROM retention_locks WHERE policy_key = $1 AND run_id = $2")
                    .bind(policy_key)
                    .bind(run_id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn interrupt_retention_runs(
                &self,
                connector: &str,
                policy: &str,
                run_id: &str,
                error: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<u64> {
                let r = sqlx::query(
                    "UPDATE retention_runs SET status = 'failed', error = $4, finished_at = $5 \
                     WHERE connector = $1 AND policy = $2 AND id <> $3 AND status = 'running' AND dry_run = $6",
                )
                .bind(connector)
                .bind(policy)
                .bind(run_id)
                .bind(error)
                .bind(at)
                .bind(false)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected())
            }

            async fn insert_legal_hold(
                &self,
                h: &$crate::store::LegalHold,
                audit: &$crate::store::NewAudit,
            ) -> $crate::store::Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO legal_holds (id, email_ct, email_index, reason_ct, created_by, created_at, released_by, released_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&h.id)
                .bind(&h.email_ct)
                .bind(&h.email_index)
                .bind(&h.reason_ct)
                .bind(&h.created_by)
                .bind(h.created_at)
                .bind(&h.released_by)
                .bind(h.released_at)
                .execute(&mut *tx)
                .await?;
                self.append_audit_tx(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn legal_holds(
                &self,
                include_released: bool,
                page: $crate::store::PageRequest,
            ) -> $crate::store::Result<$crate::store::Page<$crate::store::LegalHold>> {
                let total: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM legal_holds WHERE ($1 OR released_at IS NULL)",
                )
                .bind(include_released)
                .fetch_one(&self.pool)
                .await?;
                let items = sqlx::query_as(
                    "SELECT id, email_ct, email_index, reason_ct, created_by, created_at, released_by, released_at \
                     FROM legal_holds WHERE ($1 OR released_at IS NULL) ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
                )
                .bind(include_released)
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(&self.pool)
                .await?;
                Ok($crate::store::Page { items, total })
            }

            async fn active_legal_holds(&self) -> $crate::store::Result<Vec<$crate::store::LegalHold>> {
                Ok(sqlx::query_as(
                    "SELECT id, email_ct, email_index, reason_ct, created_by, created_at, released_by, released_at \
                     FROM legal_holds WHERE released_at IS NULL ORDER BY created_at, id",
                )
                .fetch_all(&self.pool)
                .await?)
            }

            async fn active_legal_hold(&self, email_index: &str) -> $crate::store::Result<Option<$crate::store::LegalHold>> {
                Ok(sqlx::query_as(
                    "SELECT id, email_ct, email_index, reason_ct, created_by, created_at, released_by, released_at \
                     FROM legal_holds WHERE released_at IS NULL AND email_index = $1 ORDER BY created_at, id LIMIT 1",
                )
                .bind(email_index)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn release_legal_hold(
                &self,
                id: &str,
                by: &str,
                at: chrono::DateTime<chrono::Utc>,
                audit: &$crate::store::NewAudit,
            ) -> $crate::store::Result<bool> {
                let mut tx = self.begin_write().await?;
                let r = sqlx::query(
                    "UPDATE legal_holds SET released_by = $2, released_at = $3 WHERE id = $1 AND released_at IS NULL",
                )
                .bind(id)
                .bind(by)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                if r.rows_affected() != 1 {
                    return Ok(false);
                }
                self.append_audit_tx(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }
        }
    };
}
