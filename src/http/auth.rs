//! Staff identity for the API: bearer tokens (stored as SHA-256) and the role guards.

use crate::crypto::token_hash;
pub use crate::domain::staff::Role;
use crate::error::AppError;
use crate::http::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// A caller authenticated by a bearer token.
#[derive(Debug, Clone)]
pub struct Staff {
    pub token_id: String,
    pub name: String,
    pub role: Role,
}

impl Staff {
    /// How the caller appears in events and the audit log.
    pub fn actor(&self) -> String {
        format!("token:{}", self.name)
    }

    pub fn require(&self, role: Role) -> Result<(), AppError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "this needs the {} role; the token has {}",
                role.as_str(),
                self.role.as_str()
            )))
        }
    }
}

/// A staff token: every role but `site`, which is refused with 403 here, so that no
/// staff route (and every read is one) serves the company's site.
impl FromRequestParts<AppState> for Staff {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = SiteOrStaff::from_request_parts(parts, state).await?.0;
        if caller.role == Role::Site {
            return Err(AppError::Forbidden(
                "a site token may only submit intake and opt-outs and check the suppression list"
                    .into(),
            ));
        }
        Ok(caller)
    }
}

/// Any valid token, the `site` role included (the base of [`Staff`] and [`SiteOrAgent`]).
#[derive(Debug, Clone)]
pub struct SiteOrStaff(pub Staff);

/// The few routes the company's site may call (`POST /api/v1/optouts`,
/// `POST /api/v1/suppressions/check`): a `site` token, or an agent or admin. Refused
/// with 403 before the body is read.
#[derive(Debug, Clone)]
pub struct SiteOrAgent(pub Staff);

impl FromRequestParts<AppState> for SiteOrAgent {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = SiteOrStaff::from_request_parts(parts, state).await?.0;
        if caller.role != Role::Site {
            caller.require(Role::Agent)?;
        }
        Ok(Self(caller))
    }
}

impl FromRequestParts<AppState> for SiteOrStaff {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(AppError::Unauthorized(
                "an `Authorization: Bearer <token>` header is required",
            ))?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 200)
            .ok_or(AppError::Unauthorized(
                "the Authorization header must be `Bearer <token>`",
            ))?;
        // Lookup is by SHA-256 of the token, so timing reveals nothing about stored tokens.
        let found = state.store.token_by_hash(&token_hash(token)).await?;
        match found {
            Some(t) if t.revoked_at.is_none() => Ok(SiteOrStaff(Staff {
                token_id: t.id,
                name: t.name,
                role: t.role,
            })),
            _ => Err(AppError::Unauthorized("the token is unknown or revoked")),
        }
    }
}

/// A caller whose token has at least the role of `$role`, checked before anything else
/// of the request is read: a weaker token gets 403 whatever its body, never a
/// validation answer that would teach it the rules.
macro_rules! role_extractor {
    ($name:ident, $role:expr, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone)]
        pub struct $name(pub Staff);

        impl FromRequestParts<AppState> for $name {
            type Rejection = AppError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, Self::Rejection> {
                let staff = Staff::from_request_parts(parts, state).await?;
                staff.require($role)?;
                Ok(Self(staff))
            }
        }
    };
}

role_extractor!(
    AgentStaff,
    Role::Agent,
    "A caller with the agent role or higher (refused with 403 before the body is read)."
);
role_extractor!(
    AdminStaff,
    Role::Admin,
    "A caller with the admin role (refused with 403 before the body is read)."
);
