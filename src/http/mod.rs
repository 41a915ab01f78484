//! HTTP surface: the JSON API under `/api/v1`, health endpoints, and shared layers.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderName, Request};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::crypto::Keys;
use crate::jobs::Queue;
use crate::store::SharedStore;

pub mod api;
pub mod extract;
pub mod health;
pub mod metrics;
pub mod pages;
pub mod portal;
pub mod public;
pub mod tasks;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: SharedStore,
    pub keys: Arc<Keys>,
    pub clock: SharedClock,
    pub queue: Queue,
    pub mailer: Arc<crate::email::Mailer>,
    pub connectors: Arc<crate::fanout::Connectors>,
}

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The whole application router with its layers.
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let (api, _) = api::router().split_for_parts();
    Router::new()
        .merge(api)
        .merge(health::router())
        .merge(public::router())
        .merge(tasks::router())
        .merge(portal::router(state.clone()))
        .route("/metrics", axum::routing::get(metrics::metrics))
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            pages::headers,
        ))
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                // The path may hold a token (verify, status, download links): log the route only.
                tracing::info_span!("http", method = %req.method(), request_id = %id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(SetSensitiveRequestHeadersLayer::new([
            axum::http::header::AUTHORIZATION,
            axum::http::header::COOKIE,
        ]))
}

/// The caller's address: the peer, or the first `X-Forwarded-For` hop when the peer is a
/// trusted proxy.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    pub fn text(&self) -> Option<String> {
        self.0.map(|a| a.to_string())
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let trusted = peer.is_some_and(|p| {
            state
                .config
                .intake
                .trusted_proxies
                .iter()
                .filter_map(|t| crate::config::IpRange::parse(t))
                .any(|r| r.contains(p))
        });
        if trusted
            && let Some(fwd) = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse::<IpAddr>().ok())
        {
            return Ok(ClientAddr(Some(fwd)));
        }
        Ok(ClientAddr(peer))
    }
}
