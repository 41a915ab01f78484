//! Export packages: records, download links and counts, expiry.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;

#[async_trait]
pub trait ExportStore: Send + Sync {
    async fn insert_export(&self, export: &Export) -> Result<()>;
    async fn export_by_token(&self, token_hash: &str) -> Result<Option<Export>>;
    async fn exports_for_request(&self, request_id: &str) -> Result<Vec<Export>>;
    /// Count one download if the export is still live (not expired, deleted or used up);
    /// false otherwise. Atomic, so concurrent downloads cannot exceed the limit.
    async fn count_export_download(&self, id: &str, now: DateTime<Utc>) -> Result<bool>;
    async fn mark_export_deleted(&self, id: &str, now: DateTime<Utc>) -> Result<bool>;
    /// A new download link for a package whose file still exists: the old token stops
    /// working, downloads count from zero. `false` when the package was deleted.
    async fn reissue_export(
        &self,
        id: &str,
        token_hash: &str,
        token_ct: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool>;
    /// Exports past `expires_at` whose file is not deleted yet, oldest first.
    async fn expired_exports(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<Export>>;
}

/// The queries of [`ExportStore`], one text for both backends.
macro_rules! exports_queries {
    (
        store = $store:ident,
        db = $db:ty,
        migrator = $migrator:expr,
        begin_write = $begin:literal,
        audit_lock = $lock:literal,
        claim_sql = $claim:literal $(,)?
    ) => {
        impl $store {
            /// The statement that records a package (by itself, or in a request's
            /// transaction: `Changes::export`).
            fn insert_export_query(
                e: &$crate::store::Export,
            ) -> sqlx::query::Query<'static, $db, <$db as sqlx::Database>::Arguments> {
                sqlx::query(
                    "INSERT INTO exports (id, request_id, token_hash, file_name, manifest, size_bytes, downloads, \
                     max_downloads, expires_at, created_at, deleted_at, token_ct) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(&e.id)
                .bind(&e.request_id)
                .bind(&e.token_hash)
                .bind(&e.file_name)
                .bind(&e.manifest)
                .bind(e.size_bytes)
                .bind(e.downloads)
                .bind(e.max_downloads)
                .bind(e.expires_at)
                .bind(e.created_at)
                .bind(e.deleted_at)
                .bind(&e.token_ct)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::ExportStore for $store {

            async fn insert_export(&self, e: &$crate::store::Export) -> $crate::store::Result<()> {
                Self::insert_export_query(e).execute(&self.pool).await?;
                Ok(())
            }

            async fn export_by_token(&self, token_hash: &str) -> $crate::store::Result<Option<$crate::store::Export>> {
                Ok(sqlx::query_as(
                    "SELECT id, request_id, token_hash, token_ct, file_name, manifest, size_bytes, downloads, max_downloads, \
                     expires_at, created_at, deleted_at FROM exports WHERE token_hash = $1",
                )
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn exports_for_request(&self, request_id: &str) -> $crate::store::Result<Vec<$crate::store::Export>> {
                Ok(sqlx::query_as(
                    "SELECT id, request_id, token_hash, token_ct, file_name, manifest, size_bytes, downloads, max_downloads, \
                     expires_at, created_at, deleted_at FROM exports WHERE request_id = $1 ORDER BY created_at, id",
                )
                .bind(request_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn count_export_download(&self, id: &str, now: chrono::DateTime<chrono::Utc>) -> $crate::store::Result<bool> {
                let r = sqlx::query(
                    "UPDATE exports SET downloads = downloads + 1 \
                     WHERE id = $1 AND downloads < max_downloads AND expires_at > $2 AND deleted_at IS NULL",
                )
                .bind(id)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn mark_export_deleted(&self, id: &str, now: chrono::DateTime<chrono::Utc>) -> $crate::store::Result<bool> {
                let r = sqlx::query("UPDATE exports SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL")
                    .bind(id)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn reissue_export(
                &self,
                id: &str,
                token_hash: &str,
                token_ct: &str,
                expires_at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<bool> {
                let r = sqlx::query(
                    "UPDATE exports SET token_hash = $2, token_ct = $3, expires_at = $4, downloads = 0 \
                     WHERE id = $1 AND deleted_at IS NULL",
                )
                .bind(id)
                .bind(token_hash)
                .bind(token_ct)
                .bind(expires_at)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn expired_exports(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> $crate::store::Result<Vec<$crate::store::Export>> {
                Ok(sqlx::query_as(
                    "SELECT id, request_id, token_hash, token_ct, file_name, manifest, size_bytes, downloads, max_downloads, \
                     expires_at, created_at, deleted_at FROM exports WHERE expires_at <= $1 AND deleted_at IS NULL \
                     ORDER BY expires_at, id LIMIT $2",
                )
                .bind(now)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }
        }
    };
}
