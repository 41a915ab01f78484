//! Outgoing webhooks: the endpoints an admin configured, one delivery per event and
//! endpoint (queued as a job in the same transaction as the change it reports, like the
//! DRP status callbacks), and every attempt's answer for the delivery log.

use chrono::{DateTime, Utc};

use super::*;

/// The job that delivers one webhook delivery (handler in `services::webhooks`).
pub const DELIVER_JOB: &str = "webhook.deliver";

/// How many times a delivery is attempted (5 s doubling: about ten minutes in all).
pub const DELIVERY_ATTEMPTS: i32 = 8;

/// An endpoint configured in the portal. `secret_ct` is the `whsec_…` secret, encrypted.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WebhookEndpoint {
    pub id: String,
    pub url: String,
    pub description: String,
    /// JSON array of the event types it subscribed to.
    pub events: String,
    pub secret_ct: String,
    pub enabled: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl WebhookEndpoint {
    pub fn event_types(&self) -> Vec<String> {
        serde_json::from_str(&self.events).unwrap_or_default()
    }

    pub fn wants(&self, event_type: &str) -> bool {
        self.event_types().iter().any(|e| e == event_type)
    }
}

/// One event for one endpoint. `status`: `pending`, `retrying`, `delivered`, `failed`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WebhookDelivery {
    pub id: String,
    pub endpoint_id: String,
    pub event_type: String,
    pub request_ref: Option<String>,
    pub payload: String,
    pub status: String,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One attempt and the endpoint's answer.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WebhookAttempt {
    pub delivery_id: String,
    pub at: DateTime<Utc>,
    pub http_status: Option<i32>,
    pub error: Option<String>,
    pub answer: Option<String>,
    pub duration_ms: i32,
}

/// An event to send to every enabled endpoint that subscribed to its type.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    pub event_type: String,
    pub request_ref: Option<String>,
    pub at: DateTime<Utc>,
    /// The payload's `data`: references and statuses, never personal data.
    pub data: serde_json::Value,
}

impl WebhookEvent {
    /// The body sent, in the Standard Webhooks shape `{type, timestamp, data}`.
    pub fn body(&self) -> String {
        serde_json::json!({
            "type": self.event_type,
            "timestamp": self.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "data": self.data,
        })
        .to_string()
    }

    /// The event of a request's change (its reference, kind, regime, statuses and dates).
    pub fn of_request(
        event_type: &str,
        req: &Request,
        previous: Option<Status>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            event_type: event_type.into(),
            request_ref: Some(req.reference.clone()),
            at,
            data: serde_json::json!({
                "reference": req.reference,
                "kind": req.kind.as_str(),
                "regime": req.regime.to_string(),
                "status": req.status.as_str(),
                "previous_status": previous.map(|s| s.as_str()),
                "due_date": req.due_date.map(|d| d.to_string()),
                "extended": req.extended,
            }),
        }
    }
}

/// A new delivery's id, the `webhook-id` header (the same on every retry).
pub fn delivery_id() -> String {
    format!("msg_{}", uuid::Uuid::now_v7().simple())
}

#[async_trait::async_trait]
pub trait WebhookStore: Send + Sync {
    async fn webhook_endpoints(&self) -> Result<Vec<WebhookEndpoint>>;
    async fn webhook_endpoint(&self, id: &str) -> Result<Option<WebhookEndpoint>>;
    async fn insert_webhook_endpoint(&self, e: &WebhookEndpoint, audit: &NewAudit) -> Result<()>;
    /// Switch an endpoint on or off; `false` when there is no such endpoint.
    async fn set_webhook_enabled(
        &self,
        id: &str,
        enabled: bool,
        now: DateTime<Utc>,
        audit: &NewAudit,
    ) -> Result<bool>;
    /// Remove an endpoint with its deliveries; `false` when there is no such endpoint.
    async fn delete_webhook_endpoint(&self, id: &str, audit: &NewAudit) -> Result<bool>;
    /// Queue `event` for every enabled endpoint subscribed to it (an event without a
    /// request change behind it, such as a new inbox item). Returns the deliveries made.
    async fn emit_webhook_event(&self, event: &WebhookEvent) -> Result<u64>;
    /// Queue `event` for one endpoint whatever it subscribed to (the test event).
    async fn queue_webhook_test(
        &self,
        endpoint_id: &str,
        event: &WebhookEvent,
        audit: &NewAudit,
    ) -> Result<String>;
    async fn webhook_delivery(&self, id: &str) -> Result<Option<WebhookDelivery>>;
    /// Record an attempt and the delivery's new status.
    async fn record_webhook_attempt(&self, attempt: &WebhookAttempt, status: &str) -> Result<()>;
    /// The newest deliveries of an endpoint.
    async fn webhook_deliveries(
        &self,
        endpoint_id: &str,
        limit: i64,
    ) -> Result<Vec<WebhookDelivery>>;
    /// The attempts of these deliveries, oldest first.
    async fn webhook_attempts(&self, delivery_ids: &[String]) -> Result<Vec<WebhookAttempt>>;
}

/// The queries of [`WebhookStore`], one text for both backends.
macro_rules! webhooks_queries {
    (
        store = $store:ident,
        db = $db:ty,
        migrator = $migrator:expr,
        begin_write = $begin:literal,
        audit_lock = $lock:literal,
        claim_sql = $claim:literal $(,)?
    ) => {
        impl $store {
            /// Queue `event` for the enabled endpoints subscribed to it (or for `only`),
            /// inside the caller's transaction: the event is sent if and only if the
            /// change it reports is committed.
            async fn webhook_event_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                event: &$crate::store::webhooks::WebhookEvent,
                only: Option<&str>,
            ) -> $crate::store::Result<Vec<String>> {
                let endpoints: Vec<(String, String)> = match only {
                    Some(id) => sqlx::query_as("SELECT id, events FROM webhook_endpoints WHERE id = $1")
                        .bind(id)
                        .fetch_all(&mut **tx)
                        .await?,
                    None => sqlx::query_as("SELECT id, events FROM webhook_endpoints WHERE enabled = $1")
                        .bind(true)
                        .fetch_all(&mut **tx)
                        .await?,
                };
                Self::webhook_deliveries_tx(tx, event, &endpoints, only.is_some()).await
            }

            /// Queue `event` for those of `endpoints` (`(id, events)`, read in this
            /// transaction) subscribed to it, or for all of them when `all`.
            async fn webhook_deliveries_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                event: &$crate::store::webhooks::WebhookEvent,
                endpoints: &[(String, String)],
                all: bool,
            ) -> $crate::store::Result<Vec<String>> {
                let mut made = Vec::new();
                for (endpoint_id, events) in endpoints {
                    let wanted: Vec<String> = serde_json::from_str(events).unwrap_or_default();
                    if !all && !wanted.iter().any(|e| *e == event.event_type) {
                        continue;
                    }
                    let id = $crate::store::webhooks::delivery_id();
                    sqlx::query(
                        "INSERT INTO webhook_deliveries (id, endpoint_id, event_type, request_ref, payload, status, \
                         attempts, last_status, last_error, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, 'pending', 0, NULL, NULL, $6, $6)",
                    )
                    .bind(&id)
                    .bind(&endpoint_id)
                    .bind(&event.event_type)
                    .bind(&event.request_ref)
                    .bind(event.body())
                    .bind(event.at)
                    .execute(&mut **tx)
                    .await?;
                    let job = $crate::store::NewJob {
                        kind: $crate::store::webhooks::DELIVER_JOB.into(),
                        payload: serde_json::json!({ "delivery": id }),
                        dedupe_key: Some(format!("{}:{}", $crate::store::webhooks::DELIVER_JOB, id)),
                        batch_key: None,
                        run_at: event.at,
                        max_attempts: $crate::store::webhooks::DELIVERY_ATTEMPTS,
                        created_at: event.at,
                    };
                    Self::enqueue_tx(tx, &job).await?;
                    made.push(id);
                }
                Ok(made)
            }

            /// The webhook events of a request event (see `domain::webhook`).
            async fn webhook_request_event_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                req: &$crate::store::Request,
                event: &$crate::store::Event,
            ) -> $crate::store::Result<()> {
                if $crate::domain::webhook::for_request_event(event.from_status, event.to_status).is_empty() {
                    return Ok(());
                }
                let endpoints: Vec<(String, String)> =
                    sqlx::query_as("SELECT id, events FROM webhook_endpoints WHERE enabled = $1")
                        .bind(true)
                        .fetch_all(&mut **tx)
                        .await?;
                Self::webhook_request_event_to_tx(tx, req, event, &endpoints).await
            }

            /// [`Self::webhook_request_event_tx`] with the enabled endpoints already read
            /// in this transaction (one read for every event type of the change).
            async fn webhook_request_event_to_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                req: &$crate::store::Request,
                event: &$crate::store::Event,
                endpoints: &[(String, String)],
            ) -> $crate::store::Result<()> {
                for t in $crate::domain::webhook::for_request_event(event.from_status, event.to_status) {
                    let e = $crate::store::webhooks::WebhookEvent::of_request(t, req, event.from_status, event.at);
                    Self::webhook_deliveries_tx(tx, &e, endpoints, false).await?;
                }
                Ok(())
            }

            /// The webhook event of a deadline notice, if it has one.
            async fn webhook_notice_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                request_id: &str,
                notice: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<()> {
                let Some(t) = $crate::domain::webhook::for_notice(notice) else {
                    return Ok(());
                };
                let sql = format!(
                    "SELECT {} FROM requests WHERE id = $1",
                    $crate::store::common::REQUEST_COLUMNS
                );
                let row: Option<$crate::store::RequestRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(request_id)
                    .fetch_optional(&mut **tx)
                    .await?;
                if let Some(row) = row {
                    let req = $crate::store::Request::try_from(row)?;
                    let e = $crate::store::webhooks::WebhookEvent::of_request(t, &req, None, at);
                    Self::webhook_event_tx(tx, &e, None).await?;
                }
                Ok(())
            }

            /// `task.failed` for a task that finished failed: the request's reference and
            /// the connector, never the error text (it may quote product data).
            async fn webhook_task_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                t: &$crate::store::Task,
            ) -> $crate::store::Result<()> {
                if t.status != "failed" {
                    return Ok(());
                }
                let row: Option<(String, String, String)> =
                    sqlx::query_as("SELECT reference, kind, status FROM requests WHERE id = $1")
                        .bind(&t.request_id)
                        .fetch_optional(&mut **tx)
                        .await?;
                let Some((reference, kind, status)) = row else {
                    return Ok(());
                };
                let e = $crate::store::webhooks::WebhookEvent {
                    event_type: "task.failed".into(),
                    request_ref: Some(reference.clone()),
                    at: t.updated_at,
                    data: serde_json::json!({
                        "reference": reference,
                        "kind": kind,
                        "status": status,
                        "task": { "id": t.id, "connector": t.connector, "operation": t.operation,
                                  "status": t.status, "attempts": t.attempts },
                    }),
                };
                Self::webhook_event_tx(tx, &e, None).await?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::WebhookStore for $store {
            async fn webhook_endpoints(&self) -> $crate::store::Result<Vec<$crate::store::WebhookEndpoint>> {
                Ok(sqlx::query_as(
                    "SELECT id, url, description, events, secret_ct, enabled, created_by, created_at, updated_at \
                     FROM webhook_endpoints ORDER BY created_at, id",
                )
                .fetch_all(&self.pool)
                .await?)
            }

            async fn webhook_endpoint(&self, id: &str) -> $crate::store::Result<Option<$crate::store::WebhookEndpoint>> {
                Ok(sqlx::query_as(
                    "SELECT id, url, description, events, secret_ct, enabled, created_by, created_at, updated_at \
                     FROM webhook_endpoints WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn insert_webhook_endpoint(
                &self,
                e: &$crate::store::WebhookEndpoint,
                audit: &$crate::store::NewAudit,
            ) -> $crate::store::Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO webhook_endpoints (id, url, description, events, secret_ct, enabled, created_by, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&e.id)
                .bind(&e.url)
                .bind(&e.description)
                .bind(&e.events)
                .bind(&e.secret_ct)
                .bind(e.enabled)
                .bind(&e.created_by)
                .bind(e.created_at)
                .bind(e.updated_at)
                .execute(&mut *tx)
                .await?;
                self.append_audit_tx(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn set_webhook_enabled(
                &self,
                id: &str,
                enabled: bool,
                now: chrono::DateTime<chrono::Utc>,
                audit: &$crate::store::NewAudit,
            ) -> $crate::store::Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("UPDATE webhook_endpoints SET enabled = $2, updated_at = $3 WHERE id = $1")
                    .bind(id)
                    .bind(enabled)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
                if done {
                    self.append_audit_tx(&mut tx, audit).await?;
                }
                tx.commit().await?;
                Ok(done)
            }

            async fn delete_webhook_endpoint(
                &self,
                id: &str,
                audit: &$crate::store::NewAudit,
            ) -> $crate::store::Result<bool> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "DELETE FROM webhook_attempts WHERE delivery_id IN \
                     (SELECT id FROM webhook_deliveries WHERE endpoint_id = $1)",
                )
                .bind(id)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM webhook_deliveries WHERE endpoint_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
                if done {
                    self.append_audit_tx(&mut tx, audit).await?;
                }
                tx.commit().await?;
                Ok(done)
            }

            async fn emit_webhook_event(
                &self,
                event: &$crate::store::webhooks::WebhookEvent,
            ) -> $crate::store::Result<u64> {
                let mut tx = self.begin_write().await?;
                let made = Self::webhook_event_tx(&mut tx, event, None).await?;
                tx.commit().await?;
                Ok(made.len() as u64)
            }

            async fn queue_webhook_test(
                &self,
                endpoint_id: &str,
                event: &$crate::store::webhooks::WebhookEvent,
                audit: &$crate::store::NewAudit,
            ) -> $crate::store::Result<String> {
                let mut tx = self.begin_write().await?;
                let made = Self::webhook_event_tx(&mut tx, event, Some(endpoint_id)).await?;
                let Some(id) = made.into_iter().next() else {
                    return Err($crate::store::StoreError::Corrupt("no such webhook endpoint".into()));
                };
                self.append_audit_tx(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn webhook_delivery(&self, id: &str) -> $crate::store::Result<Option<$crate::store::WebhookDelivery>> {
                Ok(sqlx::query_as(
                    "SELECT id, endpoint_id, event_type, request_ref, payload, status, attempts, last_status, last_error, \
                     created_at, updated_at FROM webhook_deliveries WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn record_webhook_attempt(
                &self,
                a: &$crate::store::WebhookAttempt,
                status: &str,
            ) -> $crate::store::Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO webhook_attempts (delivery_id, at, http_status, error, answer, duration_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&a.delivery_id)
                .bind(a.at)
                .bind(a.http_status)
                .bind(&a.error)
                .bind(&a.answer)
                .bind(a.duration_ms)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, last_status = $3, \
                     last_error = $4, updated_at = $5 WHERE id = $1",
                )
                .bind(&a.delivery_id)
                .bind(status)
                .bind(a.http_status)
                .bind(&a.error)
                .bind(a.at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn webhook_deliveries(
                &self,
                endpoint_id: &str,
                limit: i64,
            ) -> $crate::store::Result<Vec<$crate::store::WebhookDelivery>> {
                Ok(sqlx::query_as(
                    "SELECT id, endpoint_id, event_type, request_ref, payload, status, attempts, last_status, last_error, \
                     created_at, updated_at FROM webhook_deliveries WHERE endpoint_id = $1 \
                     ORDER BY created_at DESC, id DESC LIMIT $2",
                )
                .bind(endpoint_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn webhook_attempts(
                &self,
                delivery_ids: &[String],
            ) -> $crate::store::Result<Vec<$crate::store::WebhookAttempt>> {
                if delivery_ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "SELECT delivery_id, at, http_status, error, answer, duration_ms FROM webhook_attempts \
                     WHERE delivery_id IN (",
                );
                let mut sep = qb.separated(", ");
                for id in delivery_ids {
                    sep.push_bind(id.clone());
                }
                qb.push(") ORDER BY id");
                Ok(qb.build_query_as().fetch_all(&self.pool).await?)
            }
        }
    };
}
