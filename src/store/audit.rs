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
    /// The newest audit entry.
    async fn audit_head(&self) -> Result<Option<AuditEntry>>;
    async fn append_audit(&self, entry: &NewAudit) -> Result<AuditEntry>;
    async fn list_audit(&self, filter: &AuditFilter) -> Result<Page<AuditEntry>>;
    /// Entries after `after_seq` in order, for chain verification.
    async fn audit_after(&self, after_seq: i64, limit: i64) -> Result<Vec<AuditEntry>>;
}

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
            ) -> $crate::store::Result<$crate::store::AuditEntry> {
                let mut tx = self.begin_write().await?;
                let row = self.append_audit_tx(&mut tx, entry).await?;
                tx.commit().await?;
                Ok(row)
            }

            async fn list_audit(
                &self,
                f: &$crate::store::AuditFilter,
            ) -> $crate::store::Result<$crate::store::Page<$crate::store::AuditEntry>> {
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
    };
}
