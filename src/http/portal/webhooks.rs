//! Portal pages for outgoing webhooks (admin): endpoints with the events they receive,
//! the signing secret shown once when an endpoint is added, the delivery log with the
//! endpoint's last answers, and "send test event". Delivery is `services::webhooks`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::auth::Signed;
use super::pages::{Fields, error_page, page_ctx, readable, render};
use crate::domain::staff::Role;
use crate::domain::webhook::EVENT_TYPES;
use crate::error::AppError;
use crate::http::{AppState, ClientAddr};
use crate::services::webhooks;
use crate::services::workflow::Actor;

fn actor(s: &Signed, client: &ClientAddr) -> Actor {
    Actor {
        name: s.0.actor_name(),
        client_addr: client.text(),
    }
}

async fn list_page(
    state: &AppState,
    s: &Signed,
    status: StatusCode,
    extra: serde_json::Value,
) -> Result<Response, AppError> {
    let endpoints = webhooks::endpoints(state).await?;
    let mut ctx = json!({
        "endpoints": endpoints,
        "event_types": EVENT_TYPES,
        "allow_http": state.config.webhooks.allow_http,
        "values": {},
    });
    if let (Some(m), Some(e)) = (ctx.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    Ok(render(
        status,
        "portal/webhooks.html",
        page_ctx(state, &s.0, ctx),
    ))
}

pub async fn page(State(state): State<AppState>, s: Signed) -> Response {
    if let Err(r) = s.require(Role::Admin) {
        return r;
    }
    list_page(&state, &s, StatusCode::OK, json!({}))
        .await
        .unwrap_or_else(error_page)
}

pub async fn create(
    State(state): State<AppState>,
    s: Signed,
    client: ClientAddr,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    if let Err(r) = s.form(&f, Role::Admin) {
        return r;
    }
    let events: Vec<String> = form_urlencoded::parse(&body)
        .filter(|(k, _)| k == "events")
        .map(|(_, v)| v.into_owned())
        .collect();
    let url = f.text("url").unwrap_or_default();
    let description = f.text("description").unwrap_or_default();
    let result =
        webhooks::create_endpoint(&state, &actor(&s, &client), &url, &description, &events).await;
    let page =
        match result {
            Ok((endpoint, secret)) => list_page(
                &state,
                &s,
                StatusCode::CREATED,
                json!({ "created": { "id": endpoint.id, "url": endpoint.url, "secret": secret } }),
            )
            .await,
            Err(e @ AppError::Validation(_)) => {
                list_page(
                    &state,
                    &s,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({ "error": readable(&e),
                        "values": { "url": url, "description": description, "events": events } }),
                )
                .await
            }
            Err(e) => Err(e),
        };
    page.unwrap_or_else(error_page)
}

fn done_message(done: &str) -> Option<&'static str> {
    Some(match done {
        "test" => "A test event was queued; its delivery appears below.",
        "enable" => "The endpoint receives events again.",
        "disable" => "The endpoint receives no more events until it is enabled.",
        _ => return None,
    })
}

pub async fn endpoint(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(r) = s.require(Role::Admin) {
        return r;
    }
    let f = Fields::parse(raw.unwrap_or_default().as_bytes());
    let flash = f.get("done").and_then(done_message);
    match webhooks::log(&state, &id).await {
        Ok((endpoint, deliveries)) => render(
            StatusCode::OK,
            "portal/webhook.html",
            page_ctx(
                &state,
                &s.0,
                json!({ "e": endpoint, "deliveries": deliveries, "flash": flash }),
            ),
        ),
        Err(e) => error_page(e),
    }
}

pub async fn action(
    State(state): State<AppState>,
    s: Signed,
    client: ClientAddr,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    if let Err(r) = s.form(&f, Role::Admin) {
        return r;
    }
    let who = actor(&s, &client);
    let result = match action.as_str() {
        "test" => webhooks::send_test(&state, &who, &id).await.map(|_| ()),
        "enable" => webhooks::set_enabled(&state, &who, &id, true).await,
        "disable" => webhooks::set_enabled(&state, &who, &id, false).await,
        "delete" => match webhooks::delete(&state, &who, &id).await {
            Ok(()) => return Redirect::to("/portal/webhooks").into_response(),
            Err(e) => Err(e),
        },
        _ => Err(AppError::NotFound(format!("no action `{action}`"))),
    };
    match result {
        Ok(()) => Redirect::to(&format!("/portal/webhooks/{id}?done={action}")).into_response(),
        Err(e) => error_page(e),
    }
}
