//! Who is signed in to the portal: argon2id passwords, TOTP second factor with recovery
//! codes, server-side sessions in an HttpOnly cookie, CSRF tokens, lockout, and the
//! sign-in, two-factor, enrolment and sign-out pages.

use argon2::{PasswordHasher, PasswordVerifier};
use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde_json::json;
use subtle::ConstantTimeEq;

use super::pages::{Fields, forbidden, render};
use crate::crypto::{Field, new_token, token_hash};
use crate::domain::staff::Role;
use crate::error::AppError;
use crate::http::{AppState, ClientAddr};
use crate::services::staff::{busy, hasher, verify_password};
pub use crate::services::staff::{
    create_user, ensure_initial_admin, generate_password, hash_password,
};
use crate::store::NewAudit;
use crate::store::{PortalSession, User};

pub const SESSION_COOKIE: &str = "rd_session";
/// Signed double-submit cookie that protects the sign-in form before any session exists.
pub const LOGIN_COOKIE: &str = "rd_login";
const WRONG_LOGIN: &str = "Wrong email or password.";

// ---- cookies ----

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty() && v.len() <= 100)
}

fn set_cookie(state: &AppState, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let secure = if state.config.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let age = max_age
        .map(|a| format!("; Max-Age={a}"))
        .unwrap_or_default();
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/portal; HttpOnly; SameSite=Strict{secure}{age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("rd_invalid=1"))
}

fn with_cookie(mut resp: Response, v: HeaderValue) -> Response {
    resp.headers_mut().append(header::SET_COOKIE, v);
    resp
}

/// Constant-time comparison of two tokens.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The CSRF value of the sign-in form: an HMAC of the random value in `rd_login`.
fn login_csrf(state: &AppState, cookie_value: &str) -> String {
    hex::encode(
        state
            .keys
            .sign(format!("portal-login:{cookie_value}").as_bytes()),
    )
}

// ---- sessions ----

/// Where a session stands on the way to full access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Password given; the user has TOTP and must enter a code.
    NeedsTotp,
    /// Password given; TOTP is required but not set up yet.
    NeedsEnrolment,
    Full,
}

pub fn totp_required(state: &AppState, user: &User) -> bool {
    user.role == Role::Admin || state.config.portal.require_totp_for_all
}

/// A session found from the cookie, not expired, with its user.
#[derive(Debug, Clone)]
pub struct Session {
    pub session: PortalSession,
    pub user: User,
    pub stage: Stage,
}

impl Session {
    pub fn csrf(&self) -> &str {
        &self.session.csrf_token
    }

    /// How the user appears in events and the audit log.
    pub fn actor_name(&self) -> String {
        format!("user:{}", self.user.email)
    }

    /// The form's `csrf` field must be this session's token.
    // The error is the page to answer with, built once per refused request.
    #[allow(clippy::result_large_err)]
    pub fn check_csrf(&self, fields: &Fields) -> Result<(), Response> {
        match fields.get("csrf") {
            Some(t) if same(t, self.csrf()) => Ok(()),
            _ => Err(forbidden(
                "This form has expired or did not come from this site. Go back, reload the page and try again.",
            )),
        }
    }
}

fn stage(state: &AppState, s: &PortalSession, user: &User) -> Stage {
    if !user.totp_enabled && totp_required(state, user) {
        Stage::NeedsEnrolment
    } else if user.totp_enabled && !s.totp_passed {
        Stage::NeedsTotp
    } else {
        Stage::Full
    }
}

fn to_login() -> Response {
    Redirect::to("/portal/login").into_response()
}

/// The session of this request, or `None` (no cookie, unknown, expired, user disabled).
pub async fn current(state: &AppState, headers: &HeaderMap) -> Result<Option<Session>, AppError> {
    let Some(value) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let id_hash = token_hash(value);
    let Some(s) = state.store.portal_session(&id_hash).await? else {
        return Ok(None);
    };
    let now = state.clock.now();
    let idle = state.config.portal.session_idle.chrono();
    if now >= s.expires_at || now - s.last_seen_at >= idle {
        state.store.delete_portal_session(&id_hash).await?;
        return Ok(None);
    }
    let Some(user) = state.store.user_by_id(&s.user_id).await? else {
        return Ok(None);
    };
    if user.disabled_at.is_some() {
        state.store.delete_portal_session(&id_hash).await?;
        return Ok(None);
    }
    state.store.touch_portal_session(&id_hash, now).await?;
    let stage = stage(state, &s, &user);
    Ok(Some(Session {
        session: s,
        user,
        stage,
    }))
}

/// A fully signed-in user (password and, where needed, TOTP). Pages take this.
pub struct Signed(pub Session);

impl Signed {
    /// A form post: its CSRF token first, then the role.
    #[allow(clippy::result_large_err)]
    pub fn form(&self, fields: &Fields, role: Role) -> Result<(), Response> {
        self.0.check_csrf(fields)?;
        self.require(role)
    }

    // The error is the page to answer with, built once per refused request.
    #[allow(clippy::result_large_err)]
    pub fn require(&self, role: Role) -> Result<(), Response> {
        if self.0.user.role >= role {
            Ok(())
        } else {
            Err(super::pages::forbidden_for(
                &self.0,
                &format!(
                    "This page needs the {} role; you are signed in as {}.",
                    role.as_str(),
                    self.0.user.role.as_str()
                ),
            ))
        }
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match current(state, &parts.headers).await {
            Ok(Some(s)) => match s.stage {
                Stage::Full => Ok(Signed(s)),
                Stage::NeedsTotp => Err(Redirect::to("/portal/login/totp").into_response()),
                Stage::NeedsEnrolment => Err(Redirect::to("/portal/account/totp").into_response()),
            },
            Ok(None) => Err(to_login()),
            Err(e) => Err(super::pages::error_page(e)),
        }
    }
}

/// Any live session, whatever its stage (two-factor and enrolment pages).
pub struct AnySession(pub Session);

impl FromRequestParts<AppState> for AnySession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match current(state, &parts.headers).await {
            Ok(Some(s)) => Ok(AnySession(s)),
            Ok(None) => Err(to_login()),
            Err(e) => Err(super::pages::error_page(e)),
        }
    }
}

/// Start a fresh session (a new id every time: sign-in and second factor rotate it) and
/// end `old`. Returns the cookie to set.
async fn start_session(
    state: &AppState,
    user: &User,
    totp_passed: bool,
    old: Option<&str>,
) -> Result<HeaderValue, AppError> {
    if let Some(old) = old {
        state.store.delete_portal_session(old).await?;
    }
    let now = state.clock.now();
    let value = new_token();
    state
        .store
        .insert_portal_session(&PortalSession {
            id_hash: token_hash(&value),
            user_id: user.id.clone(),
            csrf_token: new_token(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + state.config.portal.session_absolute.chrono(),
            totp_passed,
        })
        .await?;
    Ok(set_cookie(state, SESSION_COOKIE, &value, None))
}

async fn audit(
    state: &AppState,
    actor: String,
    action: &str,
    client: &ClientAddr,
    detail: serde_json::Value,
) -> Result<(), AppError> {
    state
        .store
        .append_audit(&NewAudit {
            at: state.clock.now(),
            actor,
            action: action.into(),
            request_ref: None,
            client_addr: client.text(),
            detail,
        })
        .await?;
    Ok(())
}

// ---- sign-in ----

fn login_page(state: &AppState, status: StatusCode, error: Option<&str>, email: &str) -> Response {
    let value = new_token();
    let resp = render(
        status,
        "portal/login.html",
        json!({
            "organisation": state.config.organisation,
            "csrf": login_csrf(state, &value),
            "error": error,
            "email": email,
        }),
    );
    // The cookie lives as long as a sign-in form may stay open.
    with_cookie(resp, set_cookie(state, LOGIN_COOKIE, &value, Some(3600)))
}

pub async fn login_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Ok(Some(s)) = current(&state, &headers).await
        && s.stage == Stage::Full
    {
        return Redirect::to("/portal").into_response();
    }
    login_page(&state, StatusCode::OK, None, "")
}

pub async fn login(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = Fields::parse(&body);
    let csrf_ok = match (cookie(&headers, LOGIN_COOKIE), fields.get("csrf")) {
        (Some(c), Some(f)) => same(&login_csrf(&state, c), f),
        _ => false,
    };
    if !csrf_ok {
        return forbidden(
            "The sign-in form has expired or did not come from this site. Reload the page and try again.",
        );
    }
    let email = fields.get("email").unwrap_or("").trim().to_lowercase();
    let password = fields.get("password").unwrap_or("").to_string();
    let account = format!("email:{}", state.keys.blind_index(&email));
    let result = match limit_attempt(&state, &client, &account).await {
        Ok(()) => try_login(&state, &client, &headers, &email, password).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(resp) => resp,
        Err(AppError::TooManyRequests { retry_after_secs }) => {
            let minutes = retry_after_secs.div_ceil(60);
            let page = login_page(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                Some(&format!(
                    "Too many sign-in attempts. Try again in {minutes} minute{}.",
                    if minutes == 1 { "" } else { "s" }
                )),
                &email,
            );
            with_retry_after(page, retry_after_secs)
        }
        Err(e) => super::pages::error_page(e),
    }
}

fn with_retry_after(mut resp: Response, secs: u64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// Count one sign-in attempt (password or second-factor code) against the client
/// address and the account; 429 past either hourly limit. Checked before any hashing, so
/// a flood is refused cheaply.
async fn limit_attempt(
    state: &AppState,
    client: &ClientAddr,
    account: &str,
) -> Result<(), AppError> {
    let now = state.clock.now();
    let window = now + chrono::TimeDelta::hours(1);
    let portal = &state.config.portal;
    let mut buckets = vec![(
        format!("signin:account:{account}"),
        portal.sign_in_per_account_per_hour,
    )];
    if let Some(key) = client.limit_key() {
        buckets.push((
            format!("signin:ip:{key}"),
            portal.sign_in_per_client_per_hour,
        ));
    }
    for (bucket, max) in buckets {
        let (hits, ends) = state.store.hit_rate_limit(&bucket, window, now).await?;
        if hits > i64::from(max) {
            tracing::warn!(
                bucket = bucket.split(':').nth(1).unwrap_or(""),
                "portal sign-in rate limit reached"
            );
            return Err(AppError::TooManyRequests {
                retry_after_secs: u64::try_from((ends - now).num_seconds().max(1)).unwrap_or(1),
            });
        }
    }
    Ok(())
}

async fn try_login(
    state: &AppState,
    client: &ClientAddr,
    headers: &HeaderMap,
    email: &str,
    password: String,
) -> Result<Response, AppError> {
    let now = state.clock.now();
    let user = if email.is_empty() || email.len() > 254 {
        None
    } else {
        state.store.user_by_email(email).await?
    };
    let usable = user
        .as_ref()
        .filter(|u| u.disabled_at.is_none())
        .map(|u| u.password_hash.clone());
    // Always one argon2 verification, so unknown and known emails take as long.
    let password_ok = verify_password(state, password, usable).await?;
    let Some(user) = user else {
        audit(
            state,
            "anonymous".into(),
            "portal.login_failed",
            client,
            json!({}),
        )
        .await?;
        return Ok(login_page(
            state,
            StatusCode::UNAUTHORIZED,
            Some(WRONG_LOGIN),
            email,
        ));
    };
    let locked = user.locked_until.is_some_and(|t| t > now);
    if locked || !password_ok || user.disabled_at.is_some() {
        if !locked && user.disabled_at.is_none() {
            let lock_until = now + state.config.portal.lockout.chrono();
            let max = i32::try_from(state.config.portal.max_failed_logins.max(1)).unwrap_or(5);
            if state
                .store
                .user_login_failed(&user.id, max, lock_until)
                .await?
            {
                tracing::warn!(user_id = %user.id, "portal account locked after failed sign-ins");
            }
        }
        audit(
            state,
            format!("user:{}", user.email),
            "portal.login_failed",
            client,
            json!({ "locked": locked }),
        )
        .await?;
        // The same answer whatever went wrong: it reveals neither accounts nor locks.
        return Ok(login_page(
            state,
            StatusCode::UNAUTHORIZED,
            Some(WRONG_LOGIN),
            email,
        ));
    }
    state.store.user_login_succeeded(&user.id).await?;
    let old = cookie(headers, SESSION_COOKIE).map(token_hash);
    let set = start_session(state, &user, false, old.as_deref()).await?;
    audit(
        state,
        format!("user:{}", user.email),
        "portal.login",
        client,
        json!({ "password": true }),
    )
    .await?;
    tracing::info!(user_id = %user.id, "portal sign-in (password)");
    let next = if user.totp_enabled {
        "/portal/login/totp"
    } else if totp_required(state, &user) {
        "/portal/account/totp"
    } else {
        "/portal"
    };
    let resp = with_cookie(Redirect::to(next).into_response(), set);
    // The pre-session cookie has done its job.
    Ok(with_cookie(
        resp,
        set_cookie(state, LOGIN_COOKIE, "", Some(0)),
    ))
}

pub async fn logout(
    State(state): State<AppState>,
    client: ClientAddr,
    AnySession(s): AnySession,
    body: Bytes,
) -> Response {
    if let Err(r) = s.check_csrf(&Fields::parse(&body)) {
        return r;
    }
    if let Err(e) = state.store.delete_portal_session(&s.session.id_hash).await {
        return super::pages::error_page(e.into());
    }
    let _ = audit(&state, s.actor_name(), "portal.logout", &client, json!({})).await;
    tracing::info!(user_id = %s.user.id, "portal sign-out");
    with_cookie(
        Redirect::to("/portal/login?signed_out=1").into_response(),
        set_cookie(&state, SESSION_COOKIE, "", Some(0)),
    )
}

// ---- TOTP ----

fn totp(secret_b32: &str, account: &str) -> Result<totp_rs::Totp, AppError> {
    let secret = totp_rs::Secret::try_from_base32(secret_b32)
        .map_err(|e| AppError::Internal(format!("stored TOTP secret: {e}")))?;
    // An account name with ':' is refused by the otpauth format; fall back to none.
    let account = if account.contains(':') { "" } else { account };
    totp_rs::Builder::new()
        .with_secret(secret)
        .with_account_name(account)
        .with_issuer(Some("Rightsdesk"))
        .build()
        .map_err(|e| AppError::Internal(format!("TOTP: {e}")))
}

fn unix(t: DateTime<Utc>) -> u64 {
    u64::try_from(t.timestamp()).unwrap_or(0)
}

fn secret_of(state: &AppState, user: &User) -> Result<Option<String>, AppError> {
    user.totp_secret_ct
        .as_deref()
        .map(|c| state.keys.open_at(Field::totp_secret(&user.id), c))
        .transpose()
        .map_err(|e| AppError::Internal(format!("user {}: {e}", user.id)))
}

/// Check a six-digit code against the user's secret; each 30-second step works once.
async fn check_code(
    state: &AppState,
    user: &User,
    secret: &str,
    code: &str,
) -> Result<Option<i64>, AppError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Ok(None);
    }
    let Some(step) = totp(secret, &user.email)?.check(&code, unix(state.clock.now())) else {
        return Ok(None);
    };
    Ok(i64::try_from(step).ok())
}

fn normal_recovery(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Characters at the start of a recovery code that are stored in clear to pick the one
/// stored hash to check (one argon2 verification per attempt, not ten).
const RECOVERY_ID_LEN: usize = 4;

/// Recovery codes as stored: `a1:<id>:<argon2id PHC>` each, hashed in one hashing turn.
/// argon2 (salted, slow) rather than a keyed hash, so codes survive `keys rotate`; the
/// 16 characters after the id (79 bits) are what an offline guesser faces.
async fn recovery_hashes(state: &AppState, codes: &[String]) -> Result<Vec<String>, AppError> {
    let normal: Vec<String> = codes.iter().map(|c| normal_recovery(c)).collect();
    state
        .hashing
        .run(move || {
            normal
                .iter()
                .map(|n| {
                    hasher()
                        .hash_password(n.as_bytes())
                        .map(|h| format!("a1:{}:{h}", &n[..RECOVERY_ID_LEN.min(n.len())]))
                        .map_err(|e| AppError::Internal(format!("recovery code hashing: {e}")))
                })
                .collect()
        })
        .await
        .map_err(|_| busy(state))?
}

/// The stored entry this code matches, if any. Entries without a prefix were written
/// before argon2 (unsalted SHA-256 of a ~50-bit code): they keep working until used, as
/// staff cannot get new codes without enrolling again.
async fn matching_recovery(
    state: &AppState,
    stored: &[String],
    code: &str,
) -> Result<Option<String>, AppError> {
    let normal = normal_recovery(code);
    let legacy = crate::crypto::sha256_hex(normal.as_bytes());
    if let Some(e) = stored
        .iter()
        .find(|e| !e.starts_with("a1:") && same(e, &legacy))
    {
        return Ok(Some(e.clone()));
    }
    let id = &normal[..RECOVERY_ID_LEN.min(normal.len())];
    let candidates: Vec<String> = stored
        .iter()
        .filter(|e| {
            e.strip_prefix("a1:")
                .and_then(|r| r.split_once(':'))
                .is_some_and(|(i, _)| i == id)
        })
        .cloned()
        .collect();
    if candidates.is_empty() {
        return Ok(None);
    }
    state
        .hashing
        .run(move || {
            candidates.into_iter().find(|e| {
                let phc = e.splitn(3, ':').nth(2).unwrap_or("");
                hasher().verify_password(normal.as_bytes(), phc).is_ok()
            })
        })
        .await
        .map_err(|_| busy(state))
}

/// Use one recovery code (single use: the list is swapped only if nobody else changed it).
async fn use_recovery(state: &AppState, user: &User, code: &str) -> Result<bool, AppError> {
    let Some(stored) = user.recovery_codes.as_deref() else {
        return Ok(false);
    };
    let hashes: Vec<String> = serde_json::from_str(stored).unwrap_or_default();
    let Some(h) = matching_recovery(state, &hashes, code).await? else {
        return Ok(false);
    };
    let rest: Vec<&String> = hashes.iter().filter(|x| !same(x, &h)).collect();
    let next = serde_json::to_string(&rest).unwrap_or_else(|_| "[]".into());
    Ok(state
        .store
        .swap_recovery_codes(&user.id, stored, &next)
        .await?)
}

fn totp_page(state: &AppState, s: &Session, status: StatusCode, error: Option<&str>) -> Response {
    render(
        status,
        "portal/totp.html",
        json!({ "organisation": state.config.organisation, "csrf": s.csrf(), "error": error }),
    )
}

pub async fn totp_form(State(state): State<AppState>, AnySession(s): AnySession) -> Response {
    match s.stage {
        Stage::NeedsTotp => totp_page(&state, &s, StatusCode::OK, None),
        Stage::NeedsEnrolment => Redirect::to("/portal/account/totp").into_response(),
        Stage::Full => Redirect::to("/portal").into_response(),
    }
}

pub async fn totp_submit(
    State(state): State<AppState>,
    client: ClientAddr,
    AnySession(s): AnySession,
    body: Bytes,
) -> Response {
    let fields = Fields::parse(&body);
    if let Err(r) = s.check_csrf(&fields) {
        return r;
    }
    if s.stage != Stage::NeedsTotp {
        return Redirect::to("/portal").into_response();
    }
    let code = fields.get("code").unwrap_or("").trim().to_string();
    let result: Result<Response, AppError> = async {
        let now = state.clock.now();
        if let Some(until) = s.user.totp_locked_until.filter(|t| *t > now) {
            // Refused while locked, whatever the code; this half-signed-in session ends.
            state.store.delete_portal_session(&s.session.id_hash).await?;
            audit(&state, s.actor_name(), "portal.totp_failed", &client, json!({ "locked": true })).await?;
            return Ok(second_factor_locked(&state, until, now));
        }
        limit_attempt(&state, &client, &format!("user:{}", s.user.id)).await?;
        let secret = secret_of(&state, &s.user)?.unwrap_or_default();
        let ok = match check_code(&state, &s.user, &secret, &code).await? {
            Some(step) => state.store.use_totp_step(&s.user.id, step).await?,
            None => code.len() > 6 && use_recovery(&state, &s.user, &code).await?,
        };
        if !ok {
            // Counted apart from passwords: signing in again with the password does not
            // wipe the count.
            let until = now + state.config.portal.lockout.chrono();
            let max = i32::try_from(state.config.portal.max_failed_codes.max(1)).unwrap_or(5);
            let lockout = format!("LOCK-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]).to_uppercase();
            let on_lock = lockout_emails(&state, &s.user, &lockout, until);
            if state
                .store
                .user_second_factor_failed(&s.user.id, max, until, &on_lock)
                .await?
            {
                state.queue.wake();
                audit(&state, s.actor_name(), "portal.totp_locked", &client,
                    json!({ "lockout": lockout, "until": until.to_rfc3339() })).await?;
                tracing::warn!(user_id = %s.user.id, lockout = %lockout,
                    "portal two-factor locked after wrong codes; every session ended");
                return Ok(with_cookie(
                    second_factor_locked(&state, until, now),
                    set_cookie(&state, SESSION_COOKIE, "", Some(0)),
                ));
            }
            audit(&state, s.actor_name(), "portal.totp_failed", &client, json!({})).await?;
            return Ok(totp_page(
                &state,
                &s,
                StatusCode::UNAUTHORIZED,
                Some("That code is not right, or it was already used. Wait for the next code and try again."),
            ));
        }
        state.store.user_second_factor_succeeded(&s.user.id).await?;
        state.store.user_login_succeeded(&s.user.id).await?;
        let set = start_session(&state, &s.user, true, Some(&s.session.id_hash)).await?;
        audit(&state, s.actor_name(), "portal.login", &client, json!({ "totp": true })).await?;
        tracing::info!(user_id = %s.user.id, "portal sign-in (second factor)");
        Ok(with_cookie(Redirect::to("/portal").into_response(), set))
    }
    .await;
    match result {
        Ok(r) => r,
        Err(AppError::TooManyRequests { retry_after_secs }) => with_retry_after(
            totp_page(
                &state,
                &s,
                StatusCode::TOO_MANY_REQUESTS,
                Some("Too many sign-in attempts. Wait a while and try again."),
            ),
            retry_after_secs,
        ),
        Err(e) => super::pages::error_page(e),
    }
}

/// The answer while the second step is locked: the sign-in form, 429 until it opens.
fn second_factor_locked(state: &AppState, until: DateTime<Utc>, now: DateTime<Utc>) -> Response {
    let page = login_page(
        state,
        StatusCode::TOO_MANY_REQUESTS,
        Some(&format!(
            "Two-factor sign-in for this account is locked after too many wrong codes, until {} UTC. The account's owner and the privacy team have been emailed.",
            until.format("%Y-%m-%d %H:%M")
        )),
        "",
    );
    with_retry_after(
        page,
        u64::try_from((until - now).num_seconds().max(1)).unwrap_or(1),
    )
}

/// The emails a second-factor lockout sends: to the user and to the privacy team.
fn lockout_emails(
    state: &AppState,
    user: &User,
    lockout: &str,
    until: DateTime<Utc>,
) -> crate::store::Changes {
    let mut changes = crate::store::Changes::default();
    let context = json!({
        "reference": lockout,
        "account": user.email,
        "locked_until": format!("{} UTC", until.format("%Y-%m-%d %H:%M")),
        "portal_url": crate::services::notify::link(state, "/portal/login"),
    });
    for to in [
        user.email.as_str(),
        state.config.email.privacy_team.as_str(),
    ] {
        crate::services::notify::queue(
            state,
            &mut changes,
            None,
            "account_locked",
            to,
            context.clone(),
        );
    }
    changes
}

// ---- enrolment ----

fn qr_data_url(t: &totp_rs::Totp) -> Option<String> {
    t.to_qr_png()
        .ok()
        .map(|png| format!("data:image/png;base64,{}", STANDARD.encode(png)))
}

pub async fn enrol_form(State(state): State<AppState>, AnySession(s): AnySession) -> Response {
    if s.stage == Stage::NeedsTotp {
        return Redirect::to("/portal/login/totp").into_response();
    }
    enrol_page(&state, &s, StatusCode::OK, None).await
}

async fn enrol_page(
    state: &AppState,
    s: &Session,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let result: Result<Response, AppError> = async {
        if s.user.totp_enabled {
            return Ok(render(
                status,
                "portal/enrol.html",
                json!({ "organisation": state.config.organisation, "csrf": s.csrf(), "enabled": true,
                        "user": super::pages::user_ctx(s) }),
            ));
        }
        // Keep the secret from an earlier visit, so a reload does not invalidate a
        // phone that already scanned it.
        let secret = match secret_of(state, &s.user)? {
            Some(x) => x,
            None => {
                let x = totp_rs::Secret::generate().to_base32();
                let ct = state.keys.seal_at(Field::totp_secret(&s.user.id), &x);
                state.store.set_pending_totp(&s.user.id, &ct).await?;
                x
            }
        };
        let t = totp(&secret, &s.user.email)?;
        Ok(render(
            status,
            "portal/enrol.html",
            json!({
                "organisation": state.config.organisation,
                "csrf": s.csrf(),
                "enabled": false,
                "required": s.stage == Stage::NeedsEnrolment,
                "qr": qr_data_url(&t),
                "secret": secret,
                "error": error,
                "user": if s.stage == Stage::Full { Some(super::pages::user_ctx(s)) } else { None },
            }),
        ))
    }
    .await;
    result.unwrap_or_else(super::pages::error_page)
}

pub async fn enrol_submit(
    State(state): State<AppState>,
    client: ClientAddr,
    AnySession(s): AnySession,
    body: Bytes,
) -> Response {
    let fields = Fields::parse(&body);
    if let Err(r) = s.check_csrf(&fields) {
        return r;
    }
    if s.stage == Stage::NeedsTotp || s.user.totp_enabled {
        return Redirect::to("/portal").into_response();
    }
    let code = fields.get("code").unwrap_or("").to_string();
    let result: Result<Response, AppError> = async {
        let Some(secret) = secret_of(&state, &s.user)? else {
            return Ok(Redirect::to("/portal/account/totp").into_response());
        };
        let Some(step) = check_code(&state, &s.user, &secret, &code).await? else {
            return Ok(enrol_page(
                &state,
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("That code is not right. Check the time on your phone and try the next code."),
            )
            .await);
        };
        let codes: Vec<String> = (0..10).map(|_| recovery_code()).collect();
        let hashes = recovery_hashes(&state, &codes).await?;
        let hashes = serde_json::to_string(&hashes).unwrap_or_else(|_| "[]".into());
        state.store.enable_totp(&s.user.id, &hashes, step).await?;
        let set = start_session(&state, &s.user, true, Some(&s.session.id_hash)).await?;
        audit(
            &state,
            s.actor_name(),
            "portal.totp_enabled",
            &client,
            json!({}),
        )
        .await?;
        tracing::info!(user_id = %s.user.id, "portal two-factor enabled");
        let resp = render(
            StatusCode::OK,
            "portal/recovery.html",
            json!({ "organisation": state.config.organisation, "codes": codes }),
        );
        Ok(with_cookie(resp, set))
    }
    .await;
    result.unwrap_or_else(super::pages::error_page)
}

/// Characters of a recovery code: lowercase letters and digits without look-alikes.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
/// Characters per recovery code: 20 of 31 is 99 bits.
const RECOVERY_LEN: usize = 20;

/// `xxxxx-xxxxx-xxxxx-xxxxx` (99 bits), drawn without modulo bias.
fn recovery_code() -> String {
    let n = RECOVERY_ALPHABET.len();
    // The largest multiple of the alphabet below 256: bytes above it are drawn again.
    let limit = 256 - 256 % n;
    let mut chars = Vec::with_capacity(RECOVERY_LEN);
    while chars.len() < RECOVERY_LEN {
        let bytes: [u8; 32] = rand::random();
        chars.extend(
            bytes
                .iter()
                .map(|b| usize::from(*b))
                .filter(|b| *b < limit)
                .map(|b| char::from(RECOVERY_ALPHABET[b % n]))
                .take(RECOVERY_LEN - chars.len()),
        );
    }
    chars
        .chunks(5)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_carry_at_least_80_bits() {
        let code = recovery_code();
        assert_eq!(code.len(), RECOVERY_LEN + 3, "{code}");
        let bits = RECOVERY_LEN as f64 * (RECOVERY_ALPHABET.len() as f64).log2();
        assert!(bits >= 80.0, "{bits}");
        assert!(
            normal_recovery(&code)
                .bytes()
                .all(|b| RECOVERY_ALPHABET.contains(&b))
        );
        assert_ne!(recovery_code(), code);
    }
}
