//! Links between a request and the earlier open request of the same person and kind that it repeats.

use chrono::{DateTime, Utc};

use super::*;

/// A request linked to the earlier one it repeats.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestLink {
    pub request_id: String,
    pub first_id: String,
    pub linked_at: DateTime<Utc>,
}

#[async_trait::async_trait]
pub trait LinkStore: Send + Sync {
    /// The earliest other request of this person and kind that is open (open, in
    /// progress, in review or on hold) and not itself linked to another.
    async fn earlier_open_request(
        &self,
        email_index: &str,
        kind: Kind,
        except_id: &str,
    ) -> Result<Option<Request>>;
    /// Link a request to the one it repeats; `false` when it was linked already.
    async fn link_request(&self, link: &RequestLink) -> Result<bool>;
    /// Remove a request's link; `false` when it had none.
    async fn unlink_request(&self, request_id: &str) -> Result<bool>;
    /// The request this one is linked to: `(id, reference)`.
    async fn link_of(&self, request_id: &str) -> Result<Option<(String, String)>>;
    /// The requests linked to this one: `(id, reference)`, oldest first.
    async fn links_to(&self, first_id: &str) -> Result<Vec<(String, String)>>;
}

/// The queries of [`LinkStore`], one text for both backends.
macro_rules! links_queries {
    (
        store = $store:ident,
        db = $db:ty,
        migrator = $migrator:expr,
        begin_write = $begin:literal,
        audit_lock = $lock:literal,
        claim_sql = $claim:literal $(,)?
    ) => {
        #[async_trait::async_trait]
        impl $crate::store::LinkStore for $store {
            async fn earlier_open_request(
                &self,
                email_index: &str,
                kind: $crate::domain::request::Kind,
                except_id: &str,
            ) -> $crate::store::Result<Option<$crate::store::Request>> {
                let sql = format!(
                    "SELECT {} FROM requests WHERE email_index = $1 AND kind = $2 AND id <> $3 \
                     AND status IN ('open', 'in_progress', 'review', 'on_hold') \
                     AND NOT EXISTS (SELECT 1 FROM request_links l WHERE l.request_id = requests.id) \
                     ORDER BY received_at, id LIMIT 1",
                    $crate::store::common::REQUEST_COLUMNS
                );
                let row: Option<$crate::store::RequestRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(email_index)
                    .bind(kind.as_str())
                    .bind(except_id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map($crate::store::Request::try_from).transpose()
            }

            async fn link_request(
                &self,
                link: &$crate::store::RequestLink,
            ) -> $crate::store::Result<bool> {
                let done = sqlx::query(
                    "INSERT INTO request_links (request_id, first_id, linked_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (request_id) DO NOTHING",
                )
                .bind(&link.request_id)
                .bind(&link.first_id)
                .bind(link.linked_at)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn unlink_request(&self, request_id: &str) -> $crate::store::Result<bool> {
                let done = sqlx::query("DELETE FROM request_links WHERE request_id = $1")
                    .bind(request_id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn link_of(
                &self,
                request_id: &str,
            ) -> $crate::store::Result<Option<(String, String)>> {
                Ok(sqlx::query_as(
                    "SELECT r.id, r.reference FROM request_links l JOIN requests r ON r.id = l.first_id \
                     WHERE l.request_id = $1",
                )
                .bind(request_id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn links_to(
                &self,
                first_id: &str,
            ) -> $crate::store::Result<Vec<(String, String)>> {
                Ok(sqlx::query_as(
                    "SELECT r.id, r.reference FROM request_links l JOIN requests r ON r.id = l.request_id \
                     WHERE l.first_id = $1 ORDER BY l.linked_at, r.id",
                )
                .bind(first_id)
                .fetch_all(&self.pool)
                .await?)
            }
        }
    };
}
