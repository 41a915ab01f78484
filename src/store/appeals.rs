//! Appeals and regime changes: an appeal request linked to the refusal it contests, its
//! decision (with the reopening of the refused request when reversed), a staff change of
//! a request's regime, and the permissions portal users hold besides their role.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;
use crate::domain::appeal::AppealOutcome;

/// An appeal: the appeal request and the refused request it contests.
#[derive(Debug, Clone, PartialEq)]
pub struct Appeal {
    /// The appeal request's id.
    pub request_id: String,
    /// The appeal request's reference.
    pub reference: String,
    pub original_id: String,
    pub original_reference: String,
    /// When the contested refusal was made.
    pub denied_at: DateTime<Utc>,
    /// Who made it (event actor): they may not decide the appeal.
    pub denied_by: String,
    pub outcome: Option<AppealOutcome>,
    /// The reasons told to the subject.
    pub outcome_reason: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct AppealRow {
    request_id: String,
    reference: String,
    original_id: String,
    original_reference: String,
    denied_at: DateTime<Utc>,
    denied_by: String,
    outcome: Option<String>,
    outcome_reason: Option<String>,
    decided_by: Option<String>,
    decided_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl TryFrom<AppealRow> for Appeal {
    type Error = StoreError;
    fn try_from(r: AppealRow) -> Result<Self> {
        Ok(Appeal {
            outcome: parse_opt("appeal outcome", r.outcome)?,
            request_id: r.request_id,
            reference: r.reference,
            original_id: r.original_id,
            original_reference: r.original_reference,
            denied_at: r.denied_at,
            denied_by: r.denied_by,
            outcome_reason: r.outcome_reason,
            decided_by: r.decided_by,
            decided_at: r.decided_at,
            created_at: r.created_at,
        })
    }
}

/// A new appeal: the appeal request and what it is linked to, with the events of both
/// requests, the audit entry and `changes` (the subject's email).
pub struct NewAppeal<'a> {
    pub request: &'a Request,
    pub original_id: &'a str,
    pub denied_at: DateTime<Utc>,
    pub denied_by: &'a str,
    pub event: &'a Event,
    pub original_event: &'a Event,
    pub audit: &'a NewAudit,
    pub changes: &'a Changes,
}

/// A request changed by an appeal decision, if its stored version is still `expected_version`.
pub struct Versioned<'a> {
    pub request: &'a Request,
    pub expected_version: i64,
    pub event: &'a Event,
    pub audit: &'a NewAudit,
}

/// An appeal decided: the appeal request answered, and, when reversed, the refused
/// request reopened; atomically.
pub struct AppealDecision<'a> {
    pub appeal: Versioned<'a>,
    pub outcome: AppealOutcome,
    pub reason: &'a str,
    pub decided_by: &'a str,
    pub decided_at: DateTime<Utc>,
    pub changes: &'a Changes,
    pub reopen: Option<Versioned<'a>>,
}

#[async_trait]
pub trait AppealStore: Send + Sync {
    /// Insert an appeal request with its link, atomically. `Duplicate` when this refusal
    /// was already appealed, or (rarely) when the reference is taken.
    async fn file_appeal(&self, a: &NewAppeal<'_>) -> Result<()>;
    /// The appeal whose request this is.
    async fn appeal_by_request(&self, request_id: &str) -> Result<Option<Appeal>>;
    /// The appeals of a request, oldest first.
    async fn appeals_of(&self, original_id: &str) -> Result<Vec<Appeal>>;
    /// Record a decision. `Conflict` when the appeal was decided already or either
    /// request changed meanwhile.
    async fn decide_appeal(&self, d: &AppealDecision<'_>) -> Result<()>;
    /// Write a request's regime and due dates (from `next`) if its version is still
    /// `expected_version`, with its event and audit entry.
    async fn change_regime(
        &self,
        next: &Request,
        expected_version: i64,
        event: &Event,
        audit: &NewAudit,
    ) -> Result<()>;
    /// The permissions a portal user holds besides their role.
    async fn permissions_of(&self, user_id: &str) -> Result<Vec<String>>;
    /// Grant (`granted`) or take back a permission, with its audit entry. `false` when
    /// nothing changed.
    async fn set_permission(
        &self,
        user_id: &str,
        permission: &str,
        granted: bool,
        audit: &NewAudit,
    ) -> Result<bool>;
}

/// The queries of [`AppealStore`], one text for both backends.
macro_rules! appeals_queries {
    (
        store = $store:ident,
        db = $db:ty,
        migrator = $migrator:expr,
        begin_write = $begin:literal,
        audit_lock = $lock:literal,
        claim_sql = $claim:literal $(,)?
    ) => {
        impl $store {
            const APPEAL_SELECT: &'static str =
                "SELECT a.request_id, r.reference, a.original_id, o.reference AS original_reference, \
                 a.denied_at, a.denied_by, a.outcome, a.outcome_reason, a.decided_by, a.decided_at, a.created_at \
                 FROM appeals a JOIN requests r ON r.id = a.request_id JOIN requests o ON o.id = a.original_id";

            async fn versioned_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                v: &$crate::store::appeals::Versioned<'_>,
                sql: &'static str,
            ) -> $crate::store::Result<()> {
                let r = v.request;
                let done = sqlx::query(sql)
                    .bind(&r.id)
                    .bind(r.status.as_str())
                    .bind(r.deny_reason.map(|d| d.as_str()))
                    .bind(&r.deny_note)
                    .bind(r.closed_at)
                    .bind(r.completed_at)
                    .bind(r.due_date)
                    .bind(r.version)
                    .bind(r.updated_at)
                    .bind(v.expected_version)
                    .execute(&mut **tx)
                    .await?;
                if done.rows_affected() != 1 {
                    return Err($crate::store::StoreError::Conflict);
                }
                Self::insert_event_tx(tx, &r.id, v.event).await?;
                Self::drp_request_changed_tx(tx, r).await?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::AppealStore for $store {
            async fn file_appeal(
                &self,
                a: &$crate::store::appeals::NewAppeal<'_>,
            ) -> $crate::store::Result<()> {
                let mut tx = self.begin_write().await?;
                let columns = $crate::store::common::REQUEST_COLUMNS;
                let params: Vec<String> = (1..=columns.split(',').count()).map(|i| format!("${i}")).collect();
                let sql = format!("INSERT INTO requests ({columns}) VALUES ({})", params.join(", "));
                bind_request!(sqlx::query(sqlx::AssertSqlSafe(sql)), a.request)
                    .execute(&mut *tx)
                    .await
                    .map_err(unique_violation)?;
                sqlx::query(
                    "INSERT INTO appeals (request_id, original_id, denied_at, denied_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&a.request.id)
                .bind(a.original_id)
                .bind(a.denied_at)
                .bind(a.denied_by)
                .bind(a.request.created_at)
                .execute(&mut *tx)
                .await
                .map_err(unique_violation)?;
                Self::insert_event_tx(&mut tx, &a.request.id, a.event).await?;
                Self::insert_event_tx(&mut tx, a.original_id, a.original_event).await?;
                Self::apply_changes_tx(&mut tx, &a.request.id, a.changes).await?;
                self.append_audit_tx(&mut tx, a.audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn appeal_by_request(
                &self,
                request_id: &str,
            ) -> $crate::store::Result<Option<$crate::store::appeals::Appeal>> {
                let sql = format!("{} WHERE a.request_id = $1", Self::APPEAL_SELECT);
                let row: Option<$crate::store::appeals::AppealRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(request_id)
                        .fetch_optional(&self.pool)
                        .await?;
                row.map($crate::store::appeals::Appeal::try_from).transpose()
            }

            async fn appeals_of(
                &self,
                original_id: &str,
            ) -> $crate::store::Result<Vec<$crate::store::appeals::Appeal>> {
                let sql = format!(
                    "{} WHERE a.original_id = $1 ORDER BY a.created_at, a.request_id",
                    Self::APPEAL_SELECT
                );
                let rows: Vec<$crate::store::appeals::AppealRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(original_id)
                        .fetch_all(&self.pool)
                        .await?;
                rows.into_iter()
                    .map($crate::store::appeals::Appeal::try_from)
                    .collect()
            }

            async fn decide_appeal(
                &self,
                d: &$crate::store::appeals::AppealDecision<'_>,
            ) -> $crate::store::Result<()> {
                let mut tx = self.begin_write().await?;
                let decided = sqlx::query(
                    "UPDATE appeals SET outcome = $2, outcome_reason = $3, decided_by = $4, decided_at = $5 \
                     WHERE request_id = $1 AND outcome IS NULL",
                )
                .bind(&d.appeal.request.id)
                .bind(d.outcome.as_str())
                .bind(d.reason)
                .bind(d.decided_by)
                .bind(d.decided_at)
                .execute(&mut *tx)
                .await?;
                if decided.rows_affected() != 1 {
                    return Err($crate::store::StoreError::Conflict);
                }
                let update = "UPDATE requests SET status = $2, deny_reason = $3, deny_note = $4, closed_at = $5, \
                              completed_at = $6, due_date = $7, version = $8, updated_at = $9 \
                              WHERE id = $1 AND version = $10";
                Self::versioned_tx(&mut tx, &d.appeal, update).await?;
                Self::apply_changes_tx(&mut tx, &d.appeal.request.id, d.changes).await?;
                self.append_audit_tx(&mut tx, d.appeal.audit).await?;
                if let Some(reopen) = &d.reopen {
                    Self::versioned_tx(&mut tx, reopen, update).await?;
                    self.append_audit_tx(&mut tx, reopen.audit).await?;
                }
                tx.commit().await?;
                let _ = self.request_changed.send(d.appeal.request.id.clone());
                if let Some(reopen) = &d.reopen {
                    let _ = self.request_changed.send(reopen.request.id.clone());
                }
                Ok(())
            }

            async fn change_regime(
                &self,
                next: &$crate::store::Request,
                expected_version: i64,
                event: &$crate::store::Event,
                audit: &$crate::store::NewAudit,
            ) -> $crate::store::Result<()> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE requests SET regime = $2, due_date = $3, original_due_date = $4, version = $5, \
                     updated_at = $6 WHERE id = $1 AND version = $7",
                )
                .bind(&next.id)
                .bind(next.regime.to_string())
                .bind(next.due_date)
                .bind(next.original_due_date)
                .bind(next.version)
                .bind(next.updated_at)
                .bind(expected_version)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Err($crate::store::StoreError::Conflict);
                }
                Self::insert_event_tx(&mut tx, &next.id, event).await?;
                Self::drp_request_changed_tx(&mut tx, next).await?;
                self.append_audit_tx(&mut tx, audit).await?;
                tx.commit().await?;
                let _ = self.request_changed.send(next.id.clone());
                Ok(())
            }

            async fn permissions_of(&self, user_id: &str) -> $crate::store::Result<Vec<String>> {
                Ok(sqlx::query_scalar(
                    "SELECT permission FROM staff_permissions WHERE user_id = $1 ORDER BY permission",
                )
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn set_permission(
                &self,
                user_id: &str,
                permission: &str,
                granted: bool,
                audit: &$crate::store::NewAudit,
            ) -> $crate::store::Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = if granted {
                    sqlx::query(
                        "INSERT INTO staff_permissions (user_id, permission, granted_by, granted_at) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, permission) DO NOTHING",
                    )
                    .bind(user_id)
                    .bind(permission)
                    .bind(&audit.actor)
                    .bind(audit.at)
                    .execute(&mut *tx)
                    .await?
                } else {
                    sqlx::query("DELETE FROM staff_permissions WHERE user_id = $1 AND permission = $2")
                        .bind(user_id)
                        .bind(permission)
                        .execute(&mut *tx)
                        .await?
                };
                let changed = done.rows_affected() == 1;
                if changed {
                    self.append_audit_tx(&mut tx, audit).await?;
                }
                tx.commit().await?;
                Ok(changed)
            }
        }
    };
}
