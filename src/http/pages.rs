//! Server-rendered HTML: templates embedded in the binary (minijinja, autoescaped), the
//! stylesheet, and the security headers every page carries.

use std::sync::OnceLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("form.html", include_str!("../../templates/form.html")),
    (
        "submitted.html",
        include_str!("../../templates/submitted.html"),
    ),
    (
        "verify_confirm.html",
        include_str!("../../templates/verify_confirm.html"),
    ),
    (
        "verified.html",
        include_str!("../../templates/verified.html"),
    ),
    ("gone.html", include_str!("../../templates/gone.html")),
    ("message.html", include_str!("../../templates/message.html")),
    ("status.html", include_str!("../../templates/status.html")),
];

pub const STYLESHEET: &str = include_str!("../../static/site.css");

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // `.html` templates autoescape by default in minijinja.
        for (name, src) in TEMPLATES {
            if let Err(e) = env.add_template(name, src) {
                tracing::error!(template = name, error = %e, "built-in page template does not parse");
            }
        }
        env
    })
}

/// Content-Security-Policy of every page: no scripts at all, styles from us only.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Add the headers every HTML page carries. Pages hold tokens in their URLs, so nothing
/// is cached and no referrer leaves.
pub fn secure(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Render a page with `status`.
pub fn page(status: StatusCode, name: &str, ctx: serde_json::Value) -> Response {
    let rendered = env()
        .get_template(name)
        .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(ctx))));
    let resp = match rendered {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "page did not render");
            (StatusCode::INTERNAL_SERVER_ERROR, Html("<!doctype html><title>Error</title><p>Something went wrong on our side. Please try again later.</p>".to_string())).into_response()
        }
    };
    secure(resp)
}

/// Serve a stylesheet embedded in the binary (the public site's or the portal's).
pub fn css(body: &'static str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

pub async fn stylesheet() -> Response {
    css(STYLESHEET)
}
