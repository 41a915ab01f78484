//! Outgoing webhooks (Standard Webhooks): admins add endpoints with the events they want;
//! the store queues one delivery per event and endpoint in the same transaction as the
//! change it reports (`store::webhooks`), and the `webhook.deliver` job posts it, signed
//! with `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256
//! of "id.timestamp.body">`. A non-2xx answer or a network error is retried by the job
//! queue with backoff; every attempt's answer is kept for the delivery log. Targets are
//! checked like the DRP callbacks (private addresses refused unless allowed).

use std::time::Instant;

use async_trait::async_trait;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use serde_json::json;
use sha2::Sha256;

use crate::app::context::AppState;
use crate::crypto::Field;
use crate::domain::webhook::{EVENT_TYPES, TEST_EVENT, is_event_type};
use crate::error::{AppError, FieldError};
use crate::jobs::{JobError, JobHandler};
use crate::services::drp::callback::{Refused, callback_target};
use crate::services::workflow::Actor;
use crate::store::{Job, NewAudit, WebhookEndpoint, WebhookEvent};

/// How many deliveries the log shows per endpoint.
pub const LOG_LENGTH: i64 = 50;

/// How much of an endpoint's answer is kept for the log.
const ANSWER_KEPT: usize = 300;

fn secret_field(id: &str) -> Field<'_> {
    Field::new("webhook_endpoints", "secret_ct", id)
}

/// A new signing secret: `whsec_` and 32 random bytes in base64.
pub fn generate_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// The `webhook-signature` value for a message: `v1,<base64 HMAC-SHA256>` of
/// `id.timestamp.body` under the secret's bytes (the base64 after `whsec_`).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    Some(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    ))
}

fn audit(
    actor: &Actor,
    action: &str,
    at: chrono::DateTime<chrono::Utc>,
    detail: serde_json::Value,
) -> NewAudit {
    NewAudit {
        at,
        actor: actor.name.clone(),
        action: action.into(),
        request_ref: None,
        client_addr: actor.client_addr.clone(),
        detail,
    }
}

/// Check an endpoint URL as entered: `https://` (or `http://` when allowed), a host, no
/// credentials. Where it resolves is checked at each delivery.
fn check_url(state: &AppState, url: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    let url = url.trim();
    let parsed = match reqwest::Url::parse(url) {
        Ok(u) => u,
        Err(_) => {
            errors.push(FieldError::new(
                "url",
                "must be a full URL like https://hooks.example.com/dsr",
            ));
            return None;
        }
    };
    let scheme_ok = parsed.scheme() == "https"
        || (parsed.scheme() == "http" && state.config.webhooks.allow_http);
    if !scheme_ok {
        errors.push(FieldError::new(
            "url",
            if parsed.scheme() == "http" {
                "must use https:// (plain http is allowed only with [webhooks] allow_http)"
            } else {
                "must be an https:// URL"
            },
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        errors.push(FieldError::new("url", "must name a host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        errors.push(FieldError::new(
            "url",
            "must not carry a user name or password",
        ));
    }
    if url.len() > 2000 {
        errors.push(FieldError::new("url", "must be at most 2000 characters"));
    }
    Some(url.to_string())
}

/// Add an endpoint. Returns it with its secret, which is shown once.
pub async fn create_endpoint(
    state: &AppState,
    actor: &Actor,
    url: &str,
    description: &str,
    events: &[String],
) -> Result<(WebhookEndpoint, String), AppError> {
    let mut errors = Vec::new();
    let url = check_url(state, url, &mut errors);
    let description = crate::domain::identity::clean_line(description);
    if description.chars().count() > 200 {
        errors.push(FieldError::new(
            "description",
            "must be at most 200 characters",
        ));
    }
    if events.is_empty() {
        errors.push(FieldError::new("events", "choose at least one event"));
    }
    for e in events {
        if !is_event_type(e) {
            errors.push(FieldError::new(
                "events",
                format!(
                    "unknown event `{e}`; expected one of {}",
                    EVENT_TYPES.join(", ")
                ),
            ));
        }
    }
    let (Some(url), true) = (url, errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let now = state.clock.now();
    let id = uuid::Uuid::now_v7().to_string();
    let secret = generate_secret();
    let mut events: Vec<String> = events.to_vec();
    events.sort_by_key(|e| EVENT_TYPES.iter().position(|t| t == e));
    events.dedup();
    let endpoint = WebhookEndpoint {
        secret_ct: state.keys.seal_at(secret_field(&id), &secret),
        id,
        url,
        description,
        events: serde_json::to_string(&events).unwrap_or_else(|_| "[]".into()),
        enabled: true,
        created_by: actor.name.clone(),
        created_at: now,
        updated_at: now,
    };
    state
        .store
        .insert_webhook_endpoint(
            &endpoint,
            &audit(
                actor,
                "webhook.create",
                now,
                json!({ "endpoint": endpoint.id, "url": endpoint.url, "events": events }),
            ),
        )
        .await?;
    tracing::info!(endpoint = %endpoint.id, "webhook endpoint added");
    Ok((endpoint, secret))
}

async fn endpoint(state: &AppState, id: &str) -> Result<WebhookEndpoint, AppError> {
    state
        .store
        .webhook_endpoint(id)
        .await?
        .ok_or_else(|| AppError::NotFound("no such webhook endpoint".into()))
}

/// Switch an endpoint on or off.
pub async fn set_enabled(
    state: &AppState,
    actor: &Actor,
    id: &str,
    enabled: bool,
) -> Result<(), AppError> {
    let now = state.clock.now();
    let action = if enabled {
        "webhook.enable"
    } else {
        "webhook.disable"
    };
    if !state
        .store
        .set_webhook_enabled(
            id,
            enabled,
            now,
            &audit(actor, action, now, json!({ "endpoint": id })),
        )
        .await?
    {
        return Err(AppError::NotFound("no such webhook endpoint".into()));
    }
    Ok(())
}

/// Remove an endpoint and its delivery log.
pub async fn delete(state: &AppState, actor: &Actor, id: &str) -> Result<(), AppError> {
    let now = state.clock.now();
    if !state
        .store
        .delete_webhook_endpoint(
            id,
            &audit(actor, "webhook.delete", now, json!({ "endpoint": id })),
        )
        .await?
    {
        return Err(AppError::NotFound("no such webhook endpoint".into()));
    }
    Ok(())
}

/// Queue a `webhook.test` event to one endpoint ("send test event"). Returns its id.
pub async fn send_test(state: &AppState, actor: &Actor, id: &str) -> Result<String, AppError> {
    let e = endpoint(state, id).await?;
    let now = state.clock.now();
    let event = WebhookEvent {
        event_type: TEST_EVENT.into(),
        request_ref: None,
        at: now,
        data: json!({ "endpoint": e.id, "message": "A test event sent from the Rightsdesk portal." }),
    };
    let delivery = state
        .store
        .queue_webhook_test(
            &e.id,
            &event,
            &audit(actor, "webhook.test", now, json!({ "endpoint": e.id })),
        )
        .await?;
    state.queue.wake();
    Ok(delivery)
}

/// Send an event that no request change carries (a new inbox item, say) to the endpoints
/// subscribed to it. `data` holds references and statuses only.
pub async fn emit(
    state: &AppState,
    event_type: &str,
    request_ref: Option<&str>,
    data: serde_json::Value,
) -> Result<u64, AppError> {
    if !is_event_type(event_type) {
        return Err(AppError::Internal(format!(
            "unknown webhook event {event_type}"
        )));
    }
    let made = state
        .store
        .emit_webhook_event(&WebhookEvent {
            event_type: event_type.into(),
            request_ref: request_ref.map(str::to_string),
            at: state.clock.now(),
            data,
        })
        .await?;
    if made > 0 {
        state.queue.wake();
    }
    Ok(made)
}

/// An endpoint as the portal lists it (no secret).
#[derive(Debug, Serialize)]
pub struct EndpointView {
    pub id: String,
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    pub enabled: bool,
    pub created_by: String,
    pub created_at: String,
}

fn view(e: &WebhookEndpoint) -> EndpointView {
    EndpointView {
        id: e.id.clone(),
        url: e.url.clone(),
        description: e.description.clone(),
        events: e.event_types(),
        enabled: e.enabled,
        created_by: e.created_by.clone(),
        created_at: e
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

pub async fn endpoints(state: &AppState) -> Result<Vec<EndpointView>, AppError> {
    Ok(state
        .store
        .webhook_endpoints()
        .await?
        .iter()
        .map(view)
        .collect())
}

/// One delivery in the log, with every attempt's answer.
#[derive(Debug, Serialize)]
pub struct DeliveryView {
    pub id: String,
    pub event_type: String,
    pub request_ref: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub created_at: String,
    pub payload: String,
    pub answers: Vec<AnswerView>,
}

#[derive(Debug, Serialize)]
pub struct AnswerView {
    pub at: String,
    pub http_status: Option<i32>,
    pub error: Option<String>,
    pub answer: Option<String>,
    pub duration_ms: i32,
}

/// An endpoint and its newest deliveries.
pub async fn log(
    state: &AppState,
    id: &str,
) -> Result<(EndpointView, Vec<DeliveryView>), AppError> {
    let e = endpoint(state, id).await?;
    let deliveries = state.store.webhook_deliveries(&e.id, LOG_LENGTH).await?;
    let ids: Vec<String> = deliveries.iter().map(|d| d.id.clone()).collect();
    let attempts = state.store.webhook_attempts(&ids).await?;
    let time =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let views = deliveries
        .into_iter()
        .map(|d| DeliveryView {
            answers: attempts
                .iter()
                .filter(|a| a.delivery_id == d.id)
                .map(|a| AnswerView {
                    at: time(a.at),
                    http_status: a.http_status,
                    error: a.error.clone(),
                    answer: a.answer.clone(),
                    duration_ms: a.duration_ms,
                })
                .collect(),
            id: d.id,
            event_type: d.event_type,
            request_ref: d.request_ref,
            status: d.status,
            attempts: d.attempts,
            created_at: time(d.created_at),
            payload: d.payload,
        })
        .collect();
    Ok((view(&e), views))
}

/// The `webhook.deliver` job: post one delivery, record the answer, retry on failure.
pub struct Deliver;

#[async_trait]
impl JobHandler for Deliver {
    async fn run(&self, job: &Job, state: &AppState) -> Result<(), JobError> {
        let id = job.payload.0["delivery"]
            .as_str()
            .ok_or_else(|| JobError::permanent("payload without delivery"))?;
        let retry = |e: crate::store::StoreError| JobError::retry(e.to_string());
        let Some(delivery) = state.store.webhook_delivery(id).await.map_err(retry)? else {
            return Ok(());
        };
        if delivery.status == "delivered" {
            return Ok(());
        }
        let Some(endpoint) = state
            .store
            .webhook_endpoint(&delivery.endpoint_id)
            .await
            .map_err(retry)?
        else {
            return Ok(());
        };
        let last = job.attempts >= job.max_attempts;
        let started = Instant::now();
        let now = state.clock.now();
        let record = |http_status: Option<i32>,
                      error: Option<String>,
                      answer: Option<String>,
                      status: &str| {
            let attempt = crate::store::WebhookAttempt {
                delivery_id: delivery.id.clone(),
                at: now,
                http_status,
                error,
                answer,
                duration_ms: i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX),
            };
            let status = status.to_string();
            async move { state.store.record_webhook_attempt(&attempt, &status).await }
        };
        let failed_status = if last { "failed" } else { "retrying" };
        if !endpoint.enabled && delivery.event_type != TEST_EVENT {
            record(
                None,
                Some("the endpoint is disabled".into()),
                None,
                "failed",
            )
            .await
            .map_err(retry)?;
            return Ok(());
        }
        let target = callback_target(&endpoint.url, state.config.webhooks.allow_private).await;
        let (host, addrs) = match target {
            Ok(t) => t,
            Err(Refused::Now(why)) => {
                tracing::warn!(endpoint = %endpoint.id, delivery = %delivery.id, why, "webhook refused");
                record(None, Some(format!("refused: {why}")), None, "failed")
                    .await
                    .map_err(retry)?;
                return Err(JobError::permanent(format!("webhook refused: {why}")));
            }
            Err(Refused::Later(why)) => {
                record(None, Some(why.clone()), None, failed_status)
                    .await
                    .map_err(retry)?;
                return Err(JobError::retry(why));
            }
        };
        let secret = state
            .keys
            .open_at(secret_field(&endpoint.id), &endpoint.secret_ct)
            .map_err(|_| JobError::permanent("the endpoint's secret does not open"))?;
        let timestamp = now.timestamp();
        let signature = sign(&secret, &delivery.id, timestamp, &delivery.payload)
            .ok_or_else(|| JobError::permanent("the endpoint's secret is not valid base64"))?;
        // No proxy and no second lookup: the request goes to the addresses checked above.
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(state.config.webhooks.timeout.0)
            .resolve_to_addrs(&host, &addrs)
            .build()
            .map_err(|e| JobError::retry(format!("http client: {e}")))?;
        let answer = client
            .post(&endpoint.url)
            .header("content-type", "application/json")
            .header("user-agent", "Rightsdesk-Webhooks")
            .header("webhook-id", &delivery.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(delivery.payload.clone())
            .send()
            .await;
        match answer {
            Ok(resp) => {
                let code = resp.status();
                let body = resp.text().await.unwrap_or_default();
                let kept: String = body.chars().take(ANSWER_KEPT).collect();
                let ok = code.is_success();
                record(
                    Some(i32::from(code.as_u16())),
                    (!ok).then(|| format!("answered {code}")),
                    (!kept.is_empty()).then_some(kept),
                    if ok { "delivered" } else { failed_status },
                )
                .await
                .map_err(retry)?;
                if ok {
                    tracing::info!(endpoint = %endpoint.id, delivery = %delivery.id, event = %delivery.event_type, "webhook delivered");
                    Ok(())
                } else {
                    tracing::warn!(endpoint = %endpoint.id, delivery = %delivery.id, status = code.as_u16(), "webhook answered with an error; will retry");
                    Err(JobError::retry(format!("webhook endpoint answered {code}")))
                }
            }
            Err(e) => {
                let why = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "could not connect"
                } else {
                    "request failed"
                };
                record(None, Some(why.into()), None, failed_status)
                    .await
                    .map_err(retry)?;
                tracing::warn!(endpoint = %endpoint.id, delivery = %delivery.id, why, "webhook not delivered; will retry");
                Err(JobError::retry(format!("webhook endpoint: {why}")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn signature_matches_the_specification_example() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, id, 1614265330, body).as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn secrets_are_whsec_base64_of_32_bytes() {
        let s = generate_secret();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(s.strip_prefix("whsec_").expect("prefix"))
            .expect("base64");
        assert_eq!(raw.len(), 32);
    }
}
