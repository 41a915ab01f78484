//! Staff accounts and API tokens: passwords (argon2id in bounded hashing turns), new
//! users, the first admin, and tokens stored only as hashes. Used by the portal, the API
//! and the CLI alike.

use std::sync::OnceLock;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::context::AppState;
use crate::crypto::new_token;
use crate::domain::staff::Role;
use crate::error::AppError;
use crate::store::{ApiToken, NewAudit, StoreError, User};

/// argon2id with the OWASP parameters (m = 19456 KiB, t = 2, p = 1): the crate defaults.
pub(crate) fn hasher() -> Argon2<'static> {
    Argon2::default()
}

/// The answer when no hashing turn came free in time.
pub(crate) fn busy(state: &AppState) -> AppError {
    AppError::TooManyRequests {
        retry_after_secs: state.config.portal.hashing_wait.0.as_secs().max(1),
    }
}

/// Hash off the async runtime, in a hashing turn: one hash takes tens of milliseconds of
/// CPU and 19 MiB.
pub async fn hash_password(state: &AppState, password: String) -> Result<String, AppError> {
    state
        .hashing
        .run(move || {
            hasher()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| AppError::Internal(format!("password hashing: {e}")))
        })
        .await
        .map_err(|_| busy(state))?
}

/// A hash of nothing anyone knows, verified against when the email is unknown so that
/// both answers take about as long.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hasher()
            .hash_password(new_token().as_bytes())
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// `Err` (429) when no hashing turn came free in time.
pub async fn verify_password(
    state: &AppState,
    password: String,
    hash: Option<String>,
) -> Result<bool, AppError> {
    state
        .hashing
        .run(move || {
            let known = hash.is_some();
            let hash = hash.unwrap_or_else(|| dummy_hash().to_string());
            let ok = hasher()
                .verify_password(password.as_bytes(), hash.as_str())
                .is_ok();
            ok && known
        })
        .await
        .map_err(|_| busy(state))
}

/// A random password to hand out once (20 URL-safe characters, 120 bits).
pub fn generate_password() -> String {
    let bytes: [u8; 15] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Create a portal user with a fresh random password; returns the password (shown once).
pub async fn create_user(
    state: &AppState,
    email: &str,
    role: Role,
) -> Result<(User, String), AppError> {
    if !role.is_for_people() {
        return Err(AppError::field(
            "role",
            "the site role is for API tokens only (the company's site), not for people",
        ));
    }
    let email = crate::domain::identity::SubjectEmail::parse(email)
        .map_err(|e| AppError::field("email", e.to_string()))?;
    let password = generate_password();
    let user = User {
        id: uuid::Uuid::now_v7().to_string(),
        email: email.expose().to_string(),
        role,
        password_hash: hash_password(state, password.clone()).await?,
        totp_secret_ct: None,
        totp_enabled: false,
        totp_last_step: None,
        recovery_codes: None,
        failed_logins: 0,
        locked_until: None,
        created_at: state.clock.now(),
        disabled_at: None,
        totp_failures: 0,
        totp_locked_until: None,
    };
    match state.store.insert_user(&user).await {
        Ok(()) => {}
        Err(StoreError::Duplicate) => {
            return Err(AppError::field("email", "a user with this email exists"));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(user_id = %user.id, role = role.as_str(), "portal user created");
    Ok((user, password))
}

/// On a database without users, create the admin named by `portal.initial_admin_email`
/// and write the password alone to `data_dir/initial-admin-password` (mode 0600).
pub async fn ensure_initial_admin(state: &AppState) -> Result<(), String> {
    if state.store.count_users().await.map_err(|e| e.to_string())? > 0 {
        return Ok(());
    }
    let email = state.config.portal.initial_admin_email.clone();
    let (user, password) = match create_user(state, &email, Role::Admin).await {
        Ok(x) => x,
        // Another replica got there first.
        Err(AppError::Validation(_)) => return Ok(()),
        Err(e) => return Err(e.to_string()),
    };
    let dir = &state.config.data_dir;
    let path = dir.join("initial-admin-password");
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        })
        .and_then(|()| crate::crypto::write_private(&path, password.as_bytes()));
    if let Err(e) = written {
        return Err(format!("cannot write {}: {e}", path.display()));
    }
    tracing::info!(user_id = %user.id, file = %path.display(),
        "created the initial portal admin; the password is in the file");
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// Shown once; only its hash is stored.
    pub token: String,
}

/// Create a token and store only its hash (shared by the API and the CLI).
pub async fn issue(
    state: &AppState,
    name: &str,
    role: Role,
    actor: &str,
    client: Option<String>,
) -> Result<CreatedToken, AppError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::field(
            "name",
            "must be 1 to 100 printable characters",
        ));
    }
    let token = format!("rd_{}", crate::crypto::new_token());
    let now = state.clock.now();
    let record = ApiToken {
        id: uuid::Uuid::now_v7().to_string(),
        name: name.to_string(),
        role,
        token_hash: crate::crypto::token_hash(&token),
        created_at: now,
        revoked_at: None,
    };
    state.store.insert_token(&record).await?;
    state
        .store
        .append_audit(&NewAudit {
            at: now,
            actor: actor.to_string(),
            action: "token.create".into(),
            request_ref: None,
            client_addr: client,
            detail: serde_json::json!({ "token_id": record.id, "name": record.name, "role": role }),
        })
        .await?;
    Ok(CreatedToken {
        id: record.id,
        name: record.name,
        role,
        token,
    })
}
