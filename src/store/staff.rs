//! Staff: portal users, their sessions and second factor, and API tokens.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;
use crate::domain::staff::Role;

/// A person who signs in to the portal.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct User {
    pub id: String,
    pub email: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
    /// The TOTP secret (base32), encrypted with the deployment key; set at enrolment
    /// before it is confirmed (`totp_enabled` stays false until then).
    pub totp_secret_ct: Option<String>,
    pub totp_enabled: bool,
    /// The last 30-second step whose code was accepted: a code works once.
    pub totp_last_step: Option<i64>,
    /// JSON array of unused recovery codes as `a1:<first 4 characters>:<argon2id PHC>`
    /// (entries from before argon2: bare SHA-256 hex).
    pub recovery_codes: Option<String>,
    pub failed_logins: i32,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Wrong second-factor codes (TOTP or recovery) since the last correct one; a correct
    /// password does not reset it.
    pub totp_failures: i32,
    /// The second step is refused until then.
    pub totp_locked_until: Option<DateTime<Utc>>,
}

/// A signed-in browser. The cookie holds a random value; only its SHA-256 is stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PortalSession {
    pub id_hash: String,
    pub user_id: String,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// The absolute end of the session.
    pub expires_at: DateTime<Utc>,
    /// The second factor was given in this session.
    pub totp_passed: bool,
}

#[async_trait]
pub trait StaffStore: Send + Sync {
    async fn insert_token(&self, token: &ApiToken) -> Result<()>;
    async fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>>;
    async fn list_tokens(&self) -> Result<Vec<ApiToken>>;
    async fn revoke_token(&self, id: &str, at: DateTime<Utc>) -> Result<bool>;

    /// `Duplicate` when the email is taken.
    async fn insert_user(&self, user: &crate::store::User) -> Result<()>;
    async fn user_by_email(&self, email: &str) -> Result<Option<crate::store::User>>;
    async fn user_by_id(&self, id: &str) -> Result<Option<crate::store::User>>;
    async fn list_users(&self) -> Result<Vec<crate::store::User>>;
    async fn count_users(&self) -> Result<i64>;
    /// Count a failed sign-in; at `max` failures the account is locked until `lock_until`
    /// (and the count starts again). Returns true when this failure locked it.
    async fn user_login_failed(
        &self,
        id: &str,
        max: i32,
        lock_until: DateTime<Utc>,
    ) -> Result<bool>;
    async fn user_login_succeeded(&self, id: &str) -> Result<()>;
    /// Count a wrong second-factor code (apart from password failures). At `max` the
    /// second step is locked until `lock_until`, every session of the user ends and
    /// `on_lock` (the emails) is written, all in one transaction. Returns true when this
    /// failure locked it.
    async fn user_second_factor_failed(
        &self,
        id: &str,
        max: i32,
        lock_until: DateTime<Utc>,
        on_lock: &Changes,
    ) -> Result<bool>;
    /// A correct second-factor code: the count starts again.
    async fn user_second_factor_succeeded(&self, id: &str) -> Result<()>;
    /// Store a TOTP secret that is not confirmed yet.
    async fn set_pending_totp(&self, id: &str, secret_ct: &str) -> Result<()>;
    /// Confirm enrolment: TOTP on, with hashed recovery codes (JSON) and the used step.
    async fn enable_totp(&self, id: &str, recovery_codes: &str, step: i64) -> Result<()>;
    /// Accept `step` once: false when it (or a later step) was already used.
    async fn use_totp_step(&self, id: &str, step: i64) -> Result<bool>;
    /// Replace the recovery codes if they are still `expected` (each code works once).
    async fn swap_recovery_codes(&self, id: &str, expected: &str, next: &str) -> Result<bool>;
    async fn insert_portal_session(&self, s: &crate::store::PortalSession) -> Result<()>;
    async fn portal_session(&self, id_hash: &str) -> Result<Option<crate::store::PortalSession>>;
    async fn touch_portal_session(&self, id_hash: &str, at: DateTime<Utc>) -> Result<()>;
    async fn delete_portal_session(&self, id_hash: &str) -> Result<()>;
    /// Disable (`Some`) or enable (`None`) a portal user; disabling ends their sessions.
    async fn set_user_disabled(&self, id: &str, at: Option<DateTime<Utc>>) -> Result<bool>;
    /// Replace a portal user's password hash, clear their lockout and end their sessions.
    async fn set_user_password(&self, id: &str, password_hash: &str) -> Result<bool>;
    /// Delete expired portal sessions and rate-limit windows.
    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64>;
}

/// The queries of [`StaffStore`], one text for both backends.
macro_rules! staff_queries {
    (
        store = $store:ident,
        db = $db:ty,
        migrator = $migrator:expr,
        begin_write = $begin:literal,
        audit_lock = $lock:literal,
        claim_sql = $claim:literal $(,)?
    ) => {
        #[async_trait::async_trait]
        impl $crate::store::StaffStore for $store {

            async fn insert_token(&self, t: &$crate::store::ApiToken) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO api_tokens (id, name, role, token_hash, created_at, revoked_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&t.id)
                .bind(&t.name)
                .bind(t.role.as_str())
                .bind(&t.token_hash)
                .bind(t.created_at)
                .bind(t.revoked_at)
                .execute(&self.pool)
                .await
                .map_err(unique_violation)?;
                Ok(())
            }

            async fn token_by_hash(&self, hash: &str) -> $crate::store::Result<Option<$crate::store::ApiToken>> {
                Ok(sqlx::query_as(
                    "SELECT id, name, role, token_hash, created_at, revoked_at FROM api_tokens WHERE token_hash = $1",
                )
                .bind(hash)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn list_tokens(&self) -> $crate::store::Result<Vec<$crate::store::ApiToken>> {
                Ok(sqlx::query_as(
                    "SELECT id, name, role, token_hash, created_at, revoked_at FROM api_tokens ORDER BY created_at, id",
                )
                .fetch_all(&self.pool)
                .await?)
            }

            async fn revoke_token(&self, id: &str, at: chrono::DateTime<chrono::Utc>) -> $crate::store::Result<bool> {
                let r = sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                    .bind(id)
                    .bind(at)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn insert_user(&self, u: &$crate::store::User) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO users (id, email, role, password_hash, totp_secret_ct, totp_enabled, totp_last_step, \
                     recovery_codes, failed_logins, locked_until, created_at, disabled_at, totp_failures, totp_locked_until) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                )
                .bind(&u.id)
                .bind(&u.email)
                .bind(u.role.as_str())
                .bind(&u.password_hash)
                .bind(&u.totp_secret_ct)
                .bind(u.totp_enabled)
                .bind(u.totp_last_step)
                .bind(&u.recovery_codes)
                .bind(u.failed_logins)
                .bind(u.locked_until)
                .bind(u.created_at)
                .bind(u.disabled_at)
                .bind(u.totp_failures)
                .bind(u.totp_locked_until)
                .execute(&self.pool)
                .await
                .map_err(unique_violation)?;
                Ok(())
            }

            async fn user_by_email(&self, email: &str) -> $crate::store::Result<Option<$crate::store::User>> {
                Ok(sqlx::query_as(
                    "SELECT id, email, role, password_hash, totp_secret_ct, totp_enabled, totp_last_step, recovery_codes, failed_logins, locked_until, created_at, disabled_at, totp_failures, totp_locked_until \
                     FROM users WHERE email = $1",
                )
                .bind(email)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn user_by_id(&self, id: &str) -> $crate::store::Result<Option<$crate::store::User>> {
                Ok(sqlx::query_as(
                    "SELECT id, email, role, password_hash, totp_secret_ct, totp_enabled, totp_last_step, recovery_codes, failed_logins, locked_until, created_at, disabled_at, totp_failures, totp_locked_until \
                     FROM users WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn list_users(&self) -> $crate::store::Result<Vec<$crate::store::User>> {
                Ok(sqlx::query_as(
                    "SELECT id, email, role, password_hash, totp_secret_ct, totp_enabled, totp_last_step, recovery_codes, failed_logins, locked_until, created_at, disabled_at, totp_failures, totp_locked_until \
                     FROM users ORDER BY email",
                )
                .fetch_all(&self.pool)
                .await?)
            }

            async fn count_users(&self) -> $crate::store::Result<i64> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?)
            }

            async fn user_login_failed(
                &self,
                id: &str,
                max: i32,
                lock_until: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<bool> {
                // One statement, so concurrent failures cannot both read the old count.
                let locked: Option<bool> = sqlx::query_scalar(
                    "UPDATE users SET \
                       locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END, \
                       failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END \
                     WHERE id = $1 RETURNING (failed_logins = 0)",
                )
                .bind(id)
                .bind(max)
                .bind(lock_until)
                .fetch_optional(&self.pool)
                .await?;
                Ok(locked.unwrap_or(false))
            }

            async fn user_login_succeeded(&self, id: &str) -> $crate::store::Result<()> {
                sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn user_second_factor_failed(
                &self,
                id: &str,
                max: i32,
                lock_until: chrono::DateTime<chrono::Utc>,
                on_lock: &$crate::store::Changes,
            ) -> $crate::store::Result<bool> {
                let mut tx = self.begin_write().await?;
                // One statement, so concurrent wrong codes cannot both read the old count.
                let locked: Option<bool> = sqlx::query_scalar(
                    "UPDATE users SET \
                       totp_locked_until = CASE WHEN totp_failures + 1 >= $2 THEN $3 ELSE totp_locked_until END, \
                       totp_failures = CASE WHEN totp_failures + 1 >= $2 THEN 0 ELSE totp_failures + 1 END \
                     WHERE id = $1 RETURNING (totp_failures = 0)",
                )
                .bind(id)
                .bind(max)
                .bind(lock_until)
                .fetch_optional(&mut *tx)
                .await?;
                let locked = locked.unwrap_or(false);
                if locked {
                    sqlx::query("DELETE FROM portal_sessions WHERE user_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    Self::apply_changes_tx(&mut tx, "", on_lock).await?;
                }
                tx.commit().await?;
                Ok(locked)
            }

            async fn user_second_factor_succeeded(&self, id: &str) -> $crate::store::Result<()> {
                sqlx::query("UPDATE users SET totp_failures = 0, totp_locked_until = NULL WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn set_pending_totp(&self, id: &str, secret_ct: &str) -> $crate::store::Result<()> {
                sqlx::query("UPDATE users SET totp_secret_ct = $2 WHERE id = $1 AND totp_enabled = FALSE")
                    .bind(id)
                    .bind(secret_ct)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn enable_totp(&self, id: &str, recovery_codes: &str, step: i64) -> $crate::store::Result<()> {
                sqlx::query(
                    "UPDATE users SET totp_enabled = TRUE, recovery_codes = $2, totp_last_step = $3 WHERE id = $1",
                )
                .bind(id)
                .bind(recovery_codes)
                .bind(step)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn use_totp_step(&self, id: &str, step: i64) -> $crate::store::Result<bool> {
                let r = sqlx::query(
                    "UPDATE users SET totp_last_step = $2 WHERE id = $1 \
                     AND (totp_last_step IS NULL OR totp_last_step < $2)",
                )
                .bind(id)
                .bind(step)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn swap_recovery_codes(&self, id: &str, expected: &str, next: &str) -> $crate::store::Result<bool> {
                let r = sqlx::query("UPDATE users SET recovery_codes = $3 WHERE id = $1 AND recovery_codes = $2")
                    .bind(id)
                    .bind(expected)
                    .bind(next)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn insert_portal_session(&self, s: &$crate::store::PortalSession) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO portal_sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, totp_passed) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&s.id_hash)
                .bind(&s.user_id)
                .bind(&s.csrf_token)
                .bind(s.created_at)
                .bind(s.last_seen_at)
                .bind(s.expires_at)
                .bind(s.totp_passed)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn portal_session(&self, id_hash: &str) -> $crate::store::Result<Option<$crate::store::PortalSession>> {
                Ok(sqlx::query_as(
                    "SELECT id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, totp_passed \
                     FROM portal_sessions WHERE id_hash = $1",
                )
                .bind(id_hash)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn touch_portal_session(&self, id_hash: &str, at: chrono::DateTime<chrono::Utc>) -> $crate::store::Result<()> {
                sqlx::query("UPDATE portal_sessions SET last_seen_at = $2 WHERE id_hash = $1")
                    .bind(id_hash)
                    .bind(at)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn delete_portal_session(&self, id_hash: &str) -> $crate::store::Result<()> {
                sqlx::query("DELETE FROM portal_sessions WHERE id_hash = $1")
                    .bind(id_hash)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn set_user_disabled(&self, id: &str, at: Option<chrono::DateTime<chrono::Utc>>) -> $crate::store::Result<bool> {
                let mut tx = self.begin_write().await?;
                let r = sqlx::query("UPDATE users SET disabled_at = $2 WHERE id = $1")
                    .bind(id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                if at.is_some() {
                    sqlx::query("DELETE FROM portal_sessions WHERE user_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(r.rows_affected() == 1)
            }

            async fn set_user_password(&self, id: &str, password_hash: &str) -> $crate::store::Result<bool> {
                let mut tx = self.begin_write().await?;
                let r = sqlx::query(
                    "UPDATE users SET password_hash = $2, failed_logins = 0, locked_until = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(password_hash)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM portal_sessions WHERE user_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(r.rows_affected() == 1)
            }

            async fn delete_expired_sessions(&self, now: chrono::DateTime<chrono::Utc>) -> $crate::store::Result<u64> {
                let a = sqlx::query("DELETE FROM portal_sessions WHERE expires_at < $1")
                    .bind(now)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                let b = sqlx::query("DELETE FROM rate_limits WHERE expires_at < $1")
                    .bind(now)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                Ok(a + b)
            }
        }
    };
}
