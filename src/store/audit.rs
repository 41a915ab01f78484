//! The audit log: the keyed hash chain's keys and head, appends, filtered reads and the walk for verification.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// The audit chain's keys, loaded at start (`audit::install`); every entry is sealed
    /// with them.
    fn set_chain_keys(&self, keys: crate::store::audit_chain::ChainKeys);
    fn chain_keys(&self) -> Option<crate::store::audit_chain::ChainKeys>;
    /// Retired epochs of the chain key: `(epoch, key under the deployment key)`.
    async fn audit_key_rows(&self) -> Result<Vec<(i64, String)>>;
    async fn insert_audit_key(&self, epoch: i64, key_ct: &str, now: DateTime<Utc>) -> Result<()>;
    /// The last sequence number that may be unkeyed (written before the chain was keyed);
    /// 0 when the row is missing.
    async fn audit_unkeyed_until(&self) -> Result<i64>;
    /// The newest audit entry (entries still pending are chained first).
    async fn audit_head(&self) -> Result<Option<AuditEntry>>;
    /// Write an audit entry by itself (one transaction); chained by [`Self::seal_audit`].
    async fn append_audit(&self, entry: &NewAudit) -> Result<()>;
    /// Entries newest first (entries still pending are chained first).
    async fn list_audit(&self, filter: &AuditFilter) -> Result<Page<AuditEntry>>;
    /// Entries after `after_seq` in order, for chain verification (entries still pending
    /// are chained first).
    async fn audit_after(&self, after_seq: i64, limit: i64) -> Result<Vec<AuditEntry>>;
    /// Chain up to `limit` pending entries, oldest first, in one transaction under the
    /// chain's lock: each gets the next sequence number and its keyed hash in
    /// `audit_log` and leaves `audit_pending`. Returns how many were chained (0 when
    /// the chain's keys are not loaded: nothing can be sealed then).
    async fn seal_audit(&self, limit: i64) -> Result<usize>;
    /// Chain every pending entry, [`SEAL_BATCH`] per transaction.
    async fn seal_all_audit(&self) -> Result<()> {
        while self.seal_audit(SEAL_BATCH).await? == SEAL_BATCH as usize {}
        Ok(())
    }
    /// Whether any entry waits to be chained (one cheap read, no lock).
    async fn audit_pending(&self) -> Result<bool>;
    /// Notified after an entry is written (before its transaction commits), so that a
    /// sealer can chain it soon.
    fn audit_written(&self) -> std::sync::Arc<tokio::sync::Notify>;
}

/// Pending entries chained per sealing transaction at most.
pub const SEAL_BATCH: i64 = 500;

/// The queries of [`AuditStore`], one text for both backends.
macro_rules! audit_queries {
    (
        store = $store:ident,
        db = $db:ty,
        migrator = $migrator:expr,
        begin_write = $begin:literal,
        audit_lock = $lock:literal,
        claim_sql = $claim:literal $(,)?
    ) => {
        #[async_trait::async_trait]
        impl $crate::store::AuditStore for $store {
            fn set_chain_keys(&self, keys: $crate::store::audit_chain::ChainKeys) {
                *self.chain.write().unwrap_or_else(|p| p.into_inner()) = Some(keys);
            }

            fn chain_keys(&self) -> Option<$crate::store::audit_chain::ChainKeys> {
                self.chain.read().unwrap_or_else(|p| p.into_inner()).clone()
            }

            async fn audit_key_rows(&self) -> $crate::store::Result<Vec<(i64, String)>> {
                Ok(
                    sqlx::query_as("SELECT epoch, key_ct FROM audit_keys ORDER BY epoch")
                        .fetch_all(&self.pool)
                        .await?,
                )
            }

            async fn insert_audit_key(
                &self,
                epoch: i64,
                key_ct: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO audit_keys (epoch, key_ct, created_at) VALUES ($1, $2, $3)",
                )
                .bind(epoch)
                .bind(key_ct)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn audit_unkeyed_until(&self) -> $crate::store::Result<i64> {
                let v: Option<i64> =
                    sqlx::query_scalar("SELECT unkeyed_until FROM audit_chain WHERE id = 1")
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(v.unwrap_or(0))
            }

            async fn audit_head(&self) -> $crate::store::Result<Option<$crate::store::AuditEntry>> {
                self.seal_before_read().await?;
                let sql = format!(
                    "SELECT {} FROM audit_log ORDER BY seq DESC LIMIT 1",
                    $crate::store::common::AUDIT_COLUMNS
                );
                Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn append_audit(
                &self,
                entry: &$crate::store::NewAudit,
            ) -> $crate::store::Result<()> {
                let mut tx = self.begin_write().await?;
                self.append_audit_tx(&mut tx, entry).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn audit_pending(&self) -> $crate::store::Result<bool> {
                let any: Option<i64> = sqlx::query_scalar("SELECT id FROM audit_pending LIMIT 1")
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(any.is_some())
            }

            fn audit_written(&self) -> std::sync::Arc<tokio::sync::Notify> {
                self.audit_written.clone()
            }

            async fn seal_audit(&self, limit: i64) -> $crate::store::Result<usize> {
                let Some(keys) = $crate::store::AuditStore::chain_keys(self) else {
                    return Ok(0);
                };
                let mut tx = self.begin_write().await?;
                if !$lock.is_empty() {
                    sqlx::query($lock).execute(&mut *tx).await?;
                }
                // Taken after the lock (entries another sealer chained meanwhile are
                // gone), by id: an entry with a smaller id whose transaction commits
                // later is not seen by this statement and stays pending.
                let mut pending: Vec<(
                    i64,
                    chrono::DateTime<chrono::Utc>,
                    String,
                    String,
                    Option<String>,
                    Option<String>,
                    String,
                )> = sqlx::query_as(
                    "DELETE FROM audit_pending WHERE id IN (SELECT id FROM audit_pending ORDER BY id LIMIT $1) \
                     RETURNING id, at, actor, action, request_ref, client_addr, detail",
                )
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
                pending.sort_by_key(|p| p.0);
                if pending.is_empty() {
                    tx.commit().await?;
                    return Ok(0);
                }
                let last: Option<(i64, String)> =
                    sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                        .fetch_optional(&mut *tx)
                        .await?;
                let (mut seq, mut prev_hash) =
                    last.unwrap_or((0, $crate::store::audit_chain::GENESIS.to_string()));
                let mut rows = Vec::with_capacity(pending.len());
                for (_, at, actor, action, request_ref, client_addr, detail) in &pending {
                    seq += 1;
                    let row = $crate::store::audit_chain::seal(
                        &$crate::store::audit_chain::EntryFields {
                            seq,
                            at: *at,
                            actor,
                            action,
                            request_ref: request_ref.as_deref(),
                            client_addr: client_addr.as_deref(),
                            detail,
                            prev_hash: &prev_hash,
                        },
                        &keys,
                    );
                    prev_hash = row.hash.clone();
                    rows.push(row);
                }
                let mut insert = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO audit_log (seq, at, actor, action, request_ref, client_addr, detail, prev_hash, hash, key_epoch) ",
                );
                insert.push_values(&rows, |mut b, r| {
                    b.push_bind(r.seq)
                        .push_bind(r.at)
                        .push_bind(r.actor.clone())
                        .push_bind(r.action.clone())
                        .push_bind(r.request_ref.clone())
                        .push_bind(r.client_addr.clone())
                        .push_bind(r.detail.clone())
                        .push_bind(r.prev_hash.clone())
                        .push_bind(r.hash.clone())
                        .push_bind(r.key_epoch);
                });
                insert.build().execute(&mut *tx).await?;
                tx.commit().await?;
                for r in &rows {
                    if keys.is_checkpoint(r.seq) {
                        $crate::store::audit_chain::checkpoint(r.seq, &r.hash, "every_n");
                    }
                }
                Ok(rows.len())
            }

            async fn list_audit(
                &self,
                f: &$crate::store::AuditFilter,
            ) -> $crate::store::Result<$crate::store::Page<$crate::store::AuditEntry>> {
                self.seal_before_read().await?;
                fn filters(qb: &mut sqlx::QueryBuilder<$db>, f: &$crate::store::AuditFilter) {
                    qb.push(" WHERE 1 = 1");
                    if let Some(r) = &f.request_ref {
                        qb.push(" AND request_ref = ").push_bind(r.clone());
                    }
                    if let Some(a) = &f.actor {
                        qb.push(" AND actor = ").push_bind(a.clone());
                    }
                    if let Some(t) = f.from {
                        qb.push(" AND at >= ").push_bind(t);
                    }
                    if let Some(t) = f.to {
                        qb.push(" AND at < ").push_bind(t);
                    }
                }
                let mut count = sqlx::QueryBuilder::<$db>::new("SELECT COUNT(*) FROM audit_log");
                filters(&mut count, f);
                let total: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {} FROM audit_log",
                    $crate::store::common::AUDIT_COLUMNS
                ));
                filters(&mut qb, f);
                qb.push(" ORDER BY seq DESC LIMIT ")
                    .push_bind(f.page.limit())
                    .push(" OFFSET ")
                    .push_bind(f.page.offset());
                let items = qb.build_query_as().fetch_all(&self.pool).await?;
                Ok($crate::store::Page { items, total })
            }

            async fn audit_after(
                &self,
                after_seq: i64,
                limit: i64,
            ) -> $crate::store::Result<Vec<$crate::store::AuditEntry>> {
                self.seal_before_read().await?;
                let sql = format!(
                    "SELECT {} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                    $crate::store::common::AUDIT_COLUMNS
                );
                Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(after_seq)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?)
            }
        }

        impl $store {
            /// Before a read of the log: chain every pending entry, so a reader sees the
            /// whole log. Nothing pending (the usual case): no transaction, no lock.
            async fn seal_before_read(&self) -> $crate::store::Result<()> {
                if $crate::store::AuditStore::audit_pending(self).await? {
                    $crate::store::AuditStore::seal_all_audit(self).await?;
                }
                Ok(())
            }
        }
    };
}
