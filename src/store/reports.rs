//! Read-only views for the team's reports and charts: the request register (no personal
//! data: reference, kind, regime, dates, outcome) and the due dates of open requests.

use chrono::{DateTime, NaiveDate, Utc};

use super::*;

/// One line of the request register.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RegisterRow {
    pub reference: String,
    pub kind: String,
    pub regime: String,
    pub source: String,
    pub status: String,
    pub received_at: DateTime<Utc>,
    pub verified_at: Option<DateTime<Utc>>,
    pub due_date: Option<NaiveDate>,
    pub extended: bool,
    pub deny_reason: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

#[async_trait::async_trait]
pub trait ReportStore: Send + Sync {
    /// The register of requests received in `[from, to)`, oldest first.
    async fn register_rows(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<RegisterRow>>;
    /// The due date of every request not yet closed (open, in progress, review, on hold).
    async fn open_due_dates(&self) -> Result<Vec<Option<NaiveDate>>>;
}

/// The queries of [`ReportStore`], one text for both backends.
macro_rules! reports_queries {
    (
        store = $store:ident,
        db = $db:ty,
        migrator = $migrator:expr,
        begin_write = $begin:literal,
        audit_lock = $lock:literal,
        claim_sql = $claim:literal $(,)?
    ) => {
        #[async_trait::async_trait]
        impl $crate::store::ReportStore for $store {
            async fn register_rows(
                &self,
                from: chrono::DateTime<chrono::Utc>,
                to: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<Vec<$crate::store::RegisterRow>> {
                Ok(sqlx::query_as(
                    "SELECT reference, kind, regime, source, status, received_at, verified_at, due_date, extended, \
                     deny_reason, completed_at, closed_at FROM requests \
                     WHERE received_at >= $1 AND received_at < $2 ORDER BY received_at, reference",
                )
                .bind(from)
                .bind(to)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn open_due_dates(&self) -> $crate::store::Result<Vec<Option<chrono::NaiveDate>>> {
                let rows: Vec<(Option<chrono::NaiveDate>,)> = sqlx::query_as(
                    "SELECT due_date FROM requests WHERE status IN ('open', 'in_progress', 'review', 'on_hold')",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(|(d,)| d).collect())
            }
        }
    };
}
