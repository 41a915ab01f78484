//! HTTP surface: the JSON API under `/api/v1`, the portal, the public pages, task links,
//! health and metrics, and the shared layers. Handlers are thin: they authenticate,
//! parse and call `services`.
//!
//! Layer rule (tests/architecture.rs): only `http` itself and the composition root
//! (`app/mod.rs`) use `crate::http`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderName, Request};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub mod api;
pub mod auth;
pub mod drp;
pub mod extract;
pub mod health;
pub mod metrics;
pub mod pages;
pub mod portal;
pub mod public;
pub mod server;
pub mod tasks;

pub use crate::app::context::AppState;

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
        .merge(crate::http::drp::router(&state))
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

/// The router of the metrics listener (`metrics_listen`): `/metrics` only, apart from the
/// public listener so it is reachable only where the operator binds it.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(metrics::metrics))
        .fallback(api::not_found)
        .with_state(state)
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
}

pub use crate::domain::client::ClientAddr;

/// One `X-Forwarded-For` entry: an address, maybe with a port (`1.2.3.4:5`, `[::1]:5`).
fn forwarded_entry(entry: &str) -> Option<IpAddr> {
    let e = entry.trim();
    if let Ok(ip) = e.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = e.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    e.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|r| r.parse().ok())
}

/// The client behind `peer`: walk the forwarded chain from the right while the hop is a
/// trusted proxy. An entry that is not an address stops the walk at the last proxy seen.
pub fn client_behind(
    peer: IpAddr,
    forwarded: &[&str],
    trusted: &[crate::config::IpRange],
) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|r| r.contains(ip));
    let mut current = peer;
    if !is_trusted(current) {
        return current;
    }
    for entry in forwarded
        .iter()
        .flat_map(|h| h.split(','))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        let Some(ip) = forwarded_entry(entry) else {
            return current;
        };
        current = ip;
        if !is_trusted(ip) {
            return ip;
        }
    }
    current
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
        else {
            return Ok(ClientAddr(None));
        };
        let trusted: Vec<crate::config::IpRange> = state
            .config
            .intake
            .trusted_proxies
            .iter()
            .filter_map(|t| crate::config::IpRange::parse(t))
            .collect();
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        Ok(ClientAddr(Some(client_behind(peer, &forwarded, &trusted))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IpRange;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn forwarded_for_is_walked_from_the_right() {
        let trusted: Vec<IpRange> = ["10.0.0.0/8", "fd00::/8"]
            .iter()
            .filter_map(|t| IpRange::parse(t))
            .collect();
        let proxy = ip("10.0.0.1");
        // The client wrote its own entry; the proxy appended the address it saw.
        assert_eq!(
            client_behind(proxy, &["1.1.1.1, 203.0.113.9"], &trusted),
            ip("203.0.113.9")
        );
        // Two proxies, one header each.
        assert_eq!(
            client_behind(proxy, &["6.6.6.6, 203.0.113.9", "10.1.2.3"], &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_behind(proxy, &["[2001:db8::1]:443"], &trusted),
            ip("2001:db8::1")
        );
        // Garbage stops the walk at the last proxy.
        assert_eq!(
            client_behind(proxy, &["junk, 10.0.0.7"], &trusted),
            ip("10.0.0.7")
        );
        // Only proxies: the furthest one.
        assert_eq!(
            client_behind(proxy, &["10.0.0.9"], &trusted),
            ip("10.0.0.9")
        );
        // An untrusted peer's header is ignored.
        assert_eq!(
            client_behind(ip("198.51.100.2"), &["10.0.0.9"], &trusted),
            ip("198.51.100.2")
        );
    }

    #[test]
    fn ipv6_clients_are_limited_per_64() {
        assert_eq!(
            ClientAddr(Some(ip("2001:db8:1:2:aaaa::1"))).limit_key(),
            ClientAddr(Some(ip("2001:db8:1:2:bbbb::9"))).limit_key()
        );
        assert_eq!(
            ClientAddr(Some(ip("2001:db8:1:2::1")))
                .limit_key()
                .as_deref(),
            Some("2001:db8:1:2::/64")
        );
        assert_eq!(
            ClientAddr(Some(ip("::ffff:192.0.2.1")))
                .limit_key()
                .as_deref(),
            Some("192.0.2.1")
        );
    }
}
