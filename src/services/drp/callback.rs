//! Status callbacks (spec 2.03): a job queued in the same transaction as every change of
//! a request filed by an agent (see the store's `drp_request_changed_tx`). It posts the
//! current status object unless the agent acknowledged that same object already; a
//! non-2xx answer or a network error is retried by the job queue with backoff. Each
//! delivery is audited under the request's reference (never the subject's identity).

use async_trait::async_trait;
use serde_json::json;

use crate::app::context::AppState;
use crate::jobs::{JobError, JobHandler};
use crate::services::drp::service;
use crate::store::{Job, NewAudit};

pub struct StatusCallback;

#[async_trait]
impl JobHandler for StatusCallback {
    async fn run(&self, job: &Job, state: &AppState) -> Result<(), JobError> {
        let id = job.payload.0["drp_request"]
            .as_str()
            .ok_or_else(|| JobError::permanent("payload without drp_request"))?;
        let retry = |e: crate::store::StoreError| JobError::retry(e.to_string());
        let Some(drp) = state.store.drp_request(id).await.map_err(retry)? else {
            return Ok(());
        };
        let Some(url) = drp.status_callback.clone() else {
            return Ok(());
        };
        let Some(req) = state
            .store
            .request_by_reference(&drp.request_ref)
            .await
            .map_err(retry)?
        else {
            return Ok(());
        };
        let status = service::status_object(state, &drp, &req);
        let digest = service::digest(&status);
        if drp.callback_digest.as_deref() == Some(digest.as_str()) {
            return Ok(());
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(service::callback_timeout())
            .build()
            .map_err(|e| JobError::retry(format!("http client: {e}")))?;
        let answer = client.post(&url).json(&status).send().await;
        let (ok, code, error) = match &answer {
            Ok(r) => (
                r.status().is_success(),
                Some(r.status().as_u16()),
                None::<String>,
            ),
            Err(e) => (
                false,
                None,
                Some(if e.is_timeout() {
                    "timed out".to_string()
                } else if e.is_connect() {
                    "could not connect".to_string()
                } else {
                    "request failed".to_string()
                }),
            ),
        };
        let now = state.clock.now();
        let _ = state
            .store
            .append_audit(&NewAudit {
                at: now,
                actor: "system".into(),
                action: if ok {
                    "drp.callback.sent".into()
                } else {
                    "drp.callback.failed".into()
                },
                request_ref: Some(drp.request_ref.clone()),
                client_addr: None,
                detail: json!({
                    "agent": drp.agent_id,
                    "drp_request": drp.id,
                    "status": status["status"],
                    "reason": status.get("reason"),
                    "http_status": code,
                    "error": error,
                    "attempt": job.attempts,
                }),
            })
            .await;
        if ok {
            state
                .store
                .drp_callback_done(&drp.id, &digest, now)
                .await
                .map_err(retry)?;
            tracing::info!(reference = %drp.request_ref, agent = %drp.agent_id, "DRP status callback delivered");
            Ok(())
        } else {
            Err(JobError::retry(format!(
                "status callback to agent {} answered {}",
                drp.agent_id,
                code.map(|c| c.to_string())
                    .or(error)
                    .unwrap_or_else(|| "nothing".into())
            )))
        }
    }
}
