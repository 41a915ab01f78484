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
        let (host, addrs) = match callback_target(&url, state.config.drp.callback_allow_private)
            .await
        {
            Ok(t) => t,
            Err(Refused::Now(why)) => {
                tracing::warn!(reference = %drp.request_ref, agent = %drp.agent_id, why, "DRP status callback refused");
                return Err(JobError::permanent(format!(
                    "status callback of agent {} refused: {why}",
                    drp.agent_id
                )));
            }
            Err(Refused::Later(why)) => return Err(JobError::retry(why)),
        };
        // No proxy and no second lookup: the request goes to the addresses checked above.
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(service::callback_timeout())
            .resolve_to_addrs(&host, &addrs)
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

/// Why a callback URL is not called: for good (`Now`) or until its name resolves (`Later`).
#[derive(Debug, PartialEq)]
pub enum Refused {
    Now(&'static str),
    Later(String),
}

/// The host and the addresses a callback URL resolves to, refused when any of them is
/// private, loopback or link-local (unless `allow_private`): an agent must not make the
/// service call into the company's own network. Outgoing webhooks use the same check.
pub async fn callback_target(
    url: &str,
    allow_private: bool,
) -> Result<(String, Vec<std::net::SocketAddr>), Refused> {
    let url = reqwest::Url::parse(url).map_err(|_| Refused::Now("not a valid URL"))?;
    let host = url
        .host_str()
        .ok_or(Refused::Now("the URL has no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = url
        .port_or_known_default()
        .ok_or(Refused::Now("the URL has no port"))?;
    let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|_| Refused::Later("the callback host does not resolve".into()))?
        .collect();
    if addrs.is_empty() {
        return Err(Refused::Later("the callback host does not resolve".into()));
    }
    if !allow_private
        && addrs
            .iter()
            .any(|a| !crate::connectors::http::is_public(a.ip()))
    {
        return Err(Refused::Now(
            "the URL resolves to a private, loopback or link-local address",
        ));
    }
    Ok((host, addrs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn callbacks_into_private_networks_are_refused() {
        for url in [
            "https://127.0.0.1/cb",
            "https://10.1.2.3:8443/cb",
            "https://192.168.0.10/cb",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/cb",
            "https://[fd00::1]/cb",
            "https://localhost/cb",
        ] {
            assert_eq!(
                callback_target(url, false).await,
                Err(Refused::Now(
                    "the URL resolves to a private, loopback or link-local address"
                )),
                "{url}"
            );
        }
        let (host, addrs) = callback_target("http://127.0.0.1:9/cb", true)
            .await
            .expect("allowed when the operator says so");
        assert_eq!(host, "127.0.0.1");
        assert_eq!(addrs, vec!["127.0.0.1:9".parse().unwrap()]);
        let (_, addrs) = callback_target("https://93.184.216.34/cb", false)
            .await
            .expect("a public address");
        assert_eq!(addrs, vec!["93.184.216.34:443".parse().unwrap()]);
        assert_eq!(
            callback_target("not a url", false).await,
            Err(Refused::Now("not a valid URL"))
        );
    }
}
