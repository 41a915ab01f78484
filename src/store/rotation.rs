//! Key rotation: reading and rewriting every encrypted column under the new key.

use async_trait::async_trait;

use super::*;

#[async_trait]
pub trait RotationStore: Send + Sync {
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
}

/// The queries of [`RotationStore`], one text for both backends.
macro_rules! rotation_queries {
    (
        store = $store:ident,
        db = $db:ty,
        migrator = $migrator:expr,
        begin_write = $begin:literal,
        audit_lock = $lock:literal,
        claim_sql = $claim:literal $(,)?
    ) => {
        #[async_trait::async_trait]
        impl $crate::store::RotationStore for $store {
            async fn rotation_rows(
                &self,
                table: &$crate::store::RotatedTable,
                after: Option<&[String]>,
                limit: i64,
            ) -> $crate::store::Result<Vec<$crate::store::RotatedRow>> {
                use sqlx::Row;
                // Keyset pagination on the primary key (its index); names are fixed.
                let sql = table.select_sql(after.is_some());
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for k in after.unwrap_or_default() {
                    q = q.bind(k.clone());
                }
                let rows = q.bind(limit).fetch_all(&self.pool).await?;
                let nk = table.key.len();
                let mut out = Vec::with_capacity(rows.len());
                for row in rows {
                    let mut key = Vec::with_capacity(nk);
                    for i in 0..nk {
                        key.push(row.try_get::<String, _>(i)?);
                    }
                    let mut values = Vec::with_capacity(table.columns.len());
                    for i in 0..table.columns.len() {
                        values.push(row.try_get::<Option<String>, _>(nk + i)?);
                    }
                    out.push($crate::store::RotatedRow { key, values });
                }
                Ok(out)
            }

            async fn rotation_write(
                &self,
                table: &$crate::store::RotatedTable,
                rows: &[$crate::store::RotatedRow],
            ) -> $crate::store::Result<()> {
                let sql = table.update_sql();
                let mut tx = self.begin_write().await?;
                for r in rows {
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
                    for v in &r.values {
                        q = q.bind(v.clone());
                    }
                    for k in &r.key {
                        q = q.bind(k.clone());
                    }
                    q.execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn rotation_clear_verification_sends(&self) -> $crate::store::Result<u64> {
                Ok(sqlx::query("DELETE FROM verification_sends")
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }
        }
    };
}
