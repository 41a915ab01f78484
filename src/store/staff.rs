//! Staff users and their server-side portal sessions, as stored.

use chrono::{DateTime, Utc};

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
