//! The staff portal under `/portal`: server-rendered pages for the privacy team (sign-in
//! with TOTP, request queue and detail with workflow actions, audit log, users). No
//! JavaScript; every form carries a CSRF token; roles are checked on the server.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};

use super::AppState;

pub mod admin;
pub mod auth;
pub mod bulk;
pub mod charts;
pub mod drp;
pub mod inbox;
pub mod manage;

pub mod pages;
pub mod reports;
pub mod requests;
pub mod retention;
pub mod webhooks;

pub fn router(state: AppState) -> Router<AppState> {
    let portal = Router::new()
        .route("/portal", get(requests::dashboard))
        .route("/portal/login", get(auth::login_form).post(auth::login))
        .route(
            "/portal/login/totp",
            get(auth::totp_form).post(auth::totp_submit),
        )
        .route("/portal/logout", post(auth::logout))
        .route(
            "/portal/account/totp",
            get(auth::enrol_form).post(auth::enrol_submit),
        )
        .route("/portal/requests", get(requests::queue))
        .route("/portal/requests/bulk", post(bulk::apply))
        .route("/portal/reports/sla", get(reports::sla))
        .route("/portal/reports/register", get(reports::register))
        .route(
            "/portal/webhooks",
            get(webhooks::page).post(webhooks::create),
        )
        .route("/portal/webhooks/{id}", get(webhooks::endpoint))
        .route("/portal/webhooks/{id}/{action}", post(webhooks::action))
        .route(
            "/portal/requests/new",
            get(requests::new_form).post(requests::create),
        )
        .route("/portal/requests/{reference}", get(requests::detail))
        .route(
            "/portal/requests/{reference}/preview",
            get(requests::preview),
        )
        .route(
            "/portal/requests/{reference}/{action}",
            post(requests::action),
        )
        .route("/portal/requests/{reference}/note", post(manage::add_note))
        .route(
            "/portal/requests/{reference}/files/{file_id}",
            get(requests::file),
        )
        .route("/portal/connectors", get(manage::connectors))
        .route(
            "/portal/connectors/{name}/test",
            post(manage::test_connector),
        )
        .route(
            "/portal/tokens",
            get(manage::tokens).post(manage::create_token),
        )
        .route("/portal/tokens/{id}/revoke", post(manage::revoke_token))
        .route("/portal/users/{id}/{action}", post(manage::user_action))
        .route("/portal/drp/agents", get(crate::http::portal::drp::agents))
        .route(
            "/portal/drp/agents/{id}/{action}",
            post(crate::http::portal::drp::agent_action),
        )
        .route("/portal/retention", get(retention::page))
        .route("/portal/retention/{name}/{mode}", post(retention::run))
        .route(
            "/portal/holds",
            get(retention::holds).post(retention::add_hold),
        )
        .route("/portal/holds/{id}/release", post(retention::release_hold))
        .route("/portal/inbox", get(inbox::queue))
        .route("/portal/inbox/{id}", get(inbox::item))
        .route("/portal/inbox/{id}/{action}", post(inbox::decide))
        .route(
            "/portal/inbox/{id}/attachments/{attachment}",
            get(inbox::attachment),
        )
        .route("/portal/audit", get(admin::audit))
        .route("/portal/audit/verify", post(admin::verify))
        .route("/portal/users", get(admin::users).post(admin::add_user))
        .layer(axum::middleware::from_fn_with_state(state, guard));
    portal.route("/static/portal.css", get(pages::stylesheet))
}

/// Refuse cross-site form posts before any handler runs (SameSite=Strict already keeps
/// the cookie off them; this is the second lock), and mark every answer uncacheable.
async fn guard(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD && cross_site(&state, &req) {
        return pages::forbidden("This form was sent from another site, so it was refused.");
    }
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(pages::CSP),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
    }
    resp
}

fn cross_site(state: &AppState, req: &Request) -> bool {
    let headers = req.headers();
    // Browsers that send Fetch Metadata say where the form came from; trust that alone,
    // because with `Referrer-Policy: no-referrer` their `Origin` on a form post is "null".
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !(site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none"));
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        // Browsers send Origin on every POST; clients without it are not browsers and
        // still need the session cookie and the CSRF token.
        return false;
    };
    if origin == "null" {
        return true;
    }
    let public = state.config.public_url.trim_end_matches('/');
    if origin.eq_ignore_ascii_case(public) {
        return false;
    }
    // Same host as the request was sent to (the service reached by another name).
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(origin);
    !host.is_some_and(|h| h.eq_ignore_ascii_case(origin_host))
}
