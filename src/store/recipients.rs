//! Recipients (GDPR art. 19): whether the subject asked to be told who received their
//! data. The ask is written with the request (`Changes::recipients_asked`).

use super::*;

#[async_trait::async_trait]
pub trait RecipientStore: Send + Sync {
    /// Whether the subject of this request asked to be told the recipients.
    async fn recipients_asked(&self, request_id: &str) -> Result<bool>;
}

/// The queries of [`RecipientStore`], one text for both backends.
macro_rules! recipients_queries {
    (
        store = $store:ident,
        db = $db:ty,
        migrator = $migrator:expr,
        begin_write = $begin:literal,
        audit_lock = $lock:literal,
        claim_sql = $claim:literal $(,)?
    ) => {
        #[async_trait::async_trait]
        impl $crate::store::RecipientStore for $store {
            async fn recipients_asked(&self, request_id: &str) -> $crate::store::Result<bool> {
                let n: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM recipient_asks WHERE request_id = $1")
                        .bind(request_id)
                        .fetch_one(&self.pool)
                        .await?;
                Ok(n > 0)
            }
        }
    };
}
