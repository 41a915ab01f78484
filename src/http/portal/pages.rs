//! Rendering portal pages: the templates under `templates/portal/` (embedded, autoescaped),
//! form fields, and the error pages. Every page carries the site's security headers with
//! a CSP that also allows `data:` images (the TOTP QR code is drawn locally).

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;
use serde_json::json;

use super::auth::Session;
use crate::error::AppError;

const TEMPLATES: &[(&str, &str)] = &[
    (
        "portal/drp_agents.html",
        include_str!("../../../templates/portal/drp_agents.html"),
    ),
    (
        "portal/base.html",
        include_str!("../../../templates/portal/base.html"),
    ),
    (
        "portal/login.html",
        include_str!("../../../templates/portal/login.html"),
    ),
    (
        "portal/totp.html",
        include_str!("../../../templates/portal/totp.html"),
    ),
    (
        "portal/enrol.html",
        include_str!("../../../templates/portal/enrol.html"),
    ),
    (
        "portal/recovery.html",
        include_str!("../../../templates/portal/recovery.html"),
    ),
    (
        "portal/message.html",
        include_str!("../../../templates/portal/message.html"),
    ),
    (
        "portal/dashboard.html",
        include_str!("../../../templates/portal/dashboard.html"),
    ),
    (
        "portal/queue.html",
        include_str!("../../../templates/portal/queue.html"),
    ),
    (
        "portal/detail.html",
        include_str!("../../../templates/portal/detail.html"),
    ),
    (
        "portal/new.html",
        include_str!("../../../templates/portal/new.html"),
    ),
    (
        "portal/audit.html",
        include_str!("../../../templates/portal/audit.html"),
    ),
    (
        "portal/users.html",
        include_str!("../../../templates/portal/users.html"),
    ),
    (
        "portal/preview.html",
        include_str!("../../../templates/portal/preview.html"),
    ),
    (
        "portal/connectors.html",
        include_str!("../../../templates/portal/connectors.html"),
    ),
    (
        "portal/tokens.html",
        include_str!("../../../templates/portal/tokens.html"),
    ),
    (
        "portal/retention.html",
        include_str!("../../../templates/portal/retention.html"),
    ),
    (
        "portal/holds.html",
        include_str!("../../../templates/portal/holds.html"),
    ),
    (
        "portal/inbox.html",
        include_str!("../../../templates/portal/inbox.html"),
    ),
    (
        "portal/inbox_item.html",
        include_str!("../../../templates/portal/inbox_item.html"),
    ),
    (
        "portal/bulk.html",
        include_str!("../../../templates/portal/bulk.html"),
    ),
    (
        "portal/webhooks.html",
        include_str!("../../../templates/portal/webhooks.html"),
    ),
    (
        "portal/webhook.html",
        include_str!("../../../templates/portal/webhook.html"),
    ),
];

pub const STYLESHEET: &str = include_str!("../../../static/portal.css");

/// The portal's CSP: like the public pages', plus `data:` images for the QR code.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, src) in TEMPLATES {
            if let Err(e) = env.add_template(name, src) {
                tracing::error!(template = name, error = %e, "portal template does not parse");
            }
        }
        env
    })
}

/// The security headers of `pages::secure`, with the portal's CSP.
pub fn secure(resp: Response) -> Response {
    let mut resp = crate::http::pages::secure(resp);
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    resp
}

pub fn render(status: StatusCode, name: &str, ctx: serde_json::Value) -> Response {
    let rendered = env()
        .get_template(name)
        .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(ctx))));
    let resp = match rendered {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "portal page did not render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html(
                    "<!doctype html><title>Error</title><p>Something went wrong on our side.</p>"
                        .to_string(),
                ),
            )
                .into_response()
        }
    };
    secure(resp)
}

pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    render(
        status,
        "portal/message.html",
        json!({ "title": title, "message": text }),
    )
}

pub fn forbidden(text: &str) -> Response {
    message(StatusCode::FORBIDDEN, "Not allowed", text)
}

/// A 403 page that keeps the signed-in user's menu (and sign-out button).
pub fn forbidden_for(s: &Session, text: &str) -> Response {
    render(
        StatusCode::FORBIDDEN,
        "portal/message.html",
        json!({ "title": "Not allowed", "message": text, "user": user_ctx(s), "csrf": s.csrf() }),
    )
}

/// An error as a readable page; 5xx details stay in the log.
pub fn error_page(e: AppError) -> Response {
    let status = e.status();
    if status.is_server_error() {
        tracing::error!(error = %e, "portal page failed");
        return message(
            status,
            "Something went wrong",
            "The page could not be shown. Please try again in a moment.",
        );
    }
    message(status, "That did not work", &readable(&e))
}

/// One sentence for an error, with field problems spelled out.
pub fn readable(e: &AppError) -> String {
    match e {
        AppError::Validation(fields) => fields
            .iter()
            .map(|f| format!("{}: {}", f.field.replace('_', " "), f.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// The signed-in user as templates see it.
pub fn user_ctx(s: &Session) -> serde_json::Value {
    json!({
        "email": s.user.email,
        "role": s.user.role.as_str(),
        "is_admin": s.user.role >= crate::domain::staff::Role::Admin,
        "is_agent": s.user.role >= crate::domain::staff::Role::Agent,
        "totp": s.user.totp_enabled,
    })
}

/// Context every signed-in page gets, merged with the page's own.
pub fn page_ctx(
    state: &crate::http::AppState,
    s: &Session,
    mut ctx: serde_json::Value,
) -> serde_json::Value {
    if let Some(m) = ctx.as_object_mut() {
        m.insert(
            "organisation".into(),
            state.config.organisation.clone().into(),
        );
        m.insert("csrf".into(), s.csrf().into());
        m.insert("user".into(), user_ctx(s));
    }
    ctx
}

/// The fields of a URL-encoded form (the last value of a repeated name wins).
#[derive(Debug, Default)]
pub struct Fields(HashMap<String, String>);

impl Fields {
    pub fn parse(body: &[u8]) -> Self {
        Fields(form_urlencoded::parse(body).into_owned().collect())
    }
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
    /// The trimmed value, `None` when empty.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }
}

pub async fn stylesheet() -> Response {
    crate::http::pages::css(STYLESHEET)
}
