//! Server-rendered HTML: templates embedded in the binary (minijinja, autoescaped), the
//! stylesheet, and the security headers every page carries.

use std::sync::OnceLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;

use crate::i18n::Localiser;

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
    (
        "agent_status.html",
        include_str!("../../templates/agent_status.html"),
    ),
];

pub const STYLESHEET: &str = include_str!("../../static/site.css");

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        crate::i18n::register(&mut env);
        // Links stay readable: `& < > " '` are escaped, `/` is not.
        env.set_formatter(crate::email::format_value);
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

/// Long enough that browsers keep to https between visits; sent only when the service's
/// public address is https (an http deployment would lock itself out).
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

/// The last word on headers, for every answer of the service: any HTML page that a
/// handler built without [`secure`] gets the page headers, the token pages
/// (`/verify/..`, `/status/..`, `/download/..` and any other path holding a token) are
/// never cached, and https deployments send HSTS.
pub async fn headers(
    axum::extract::State(state): axum::extract::State<crate::http::AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let token_page = is_token_path(req.uri().path());
    let accepted = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::domain::language::Language::negotiate)
        .unwrap_or_default();
    let api = req.uri().path().starts_with("/api/");
    let mut resp = next.run(req).await;
    if plain_rejection(&resp) {
        // axum's own refusals (body over the limit, unreadable body) are plain text; the
        // client gets the same kind of answer as from our handlers.
        let status = resp.status();
        resp = if api {
            match status {
                StatusCode::PAYLOAD_TOO_LARGE => crate::error::AppError::PayloadTooLarge,
                _ => {
                    crate::error::AppError::BadRequest("the request could not be read".to_string())
                }
            }
            .into_response()
        } else {
            let loc = Localiser::new(state.i18n.clone(), accepted);
            let text = loc.text(if status == StatusCode::PAYLOAD_TOO_LARGE {
                "message-too-long"
            } else {
                "message-unreadable"
            });
            page_in(
                &loc,
                None,
                status,
                "message.html",
                serde_json::json!({ "organisation": state.config.organisation, "title": loc.text("message-not-accepted"), "message": text, "back": true }),
            )
        };
    }
    let html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html && !resp.headers().contains_key(header::CONTENT_SECURITY_POLICY) {
        resp = secure(resp);
    }
    let h = resp.headers_mut();
    if html || token_page {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if state.config.public_url.starts_with("https://") {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    resp
}

fn plain_rejection(resp: &Response) -> bool {
    resp.status().is_client_error()
        && resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/plain"))
}

/// Paths whose segments carry a secret: subject links and the portal.
fn is_token_path(path: &str) -> bool {
    const PREFIXES: &[&str] = &["/verify/", "/status/", "/download/", "/tasks/", "/portal"];
    PREFIXES.iter().any(|p| path.starts_with(p))
}

/// Render a page with `status`, in English and without a language switcher (the staff's
/// task pages, and answers given before a language is known).
pub fn page(status: StatusCode, name: &str, ctx: serde_json::Value) -> Response {
    page_in(&Localiser::english(), None, status, name, ctx)
}

/// The names of the page templates built into the binary.
pub fn template_names() -> impl Iterator<Item = &'static str> {
    TEMPLATES.iter().map(|(n, _)| *n)
}

/// Render page `name` in the language of `loc` to HTML; `switch_to` is the path the
/// language switcher's links lead to (`None`: no switcher).
pub fn render(
    loc: &Localiser,
    switch_to: Option<&str>,
    name: &str,
    ctx: serde_json::Value,
) -> Result<String, minijinja::Error> {
    let links = switch_to.map(|path| {
        crate::domain::language::Language::ALL
            .iter()
            .map(|l| {
                serde_json::json!({
                    "tag": l.tag(),
                    "name": l.native_name(),
                    "href": format!("{path}?lang={}", l.tag()),
                    "current": *l == loc.lang,
                })
            })
            .collect::<Vec<_>>()
    });
    let ctx = minijinja::context! {
        i18n => loc.value(),
        lang => loc.lang.tag(),
        lang_links => minijinja::value::Serde(links),
        ..minijinja::value::Serde(ctx)
    };
    env().get_template(name).and_then(|t| t.render(ctx))
}

/// Render a page with `status` in the language of `loc`, with a language switcher whose
/// links lead to `switch_to`.
pub fn page_in(
    loc: &Localiser,
    switch_to: Option<&str>,
    status: StatusCode,
    name: &str,
    ctx: serde_json::Value,
) -> Response {
    let rendered = render(loc, switch_to, name, ctx);
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
