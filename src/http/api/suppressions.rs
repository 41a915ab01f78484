//! The suppression list for the product: check a batch of addresses, export the keyed
//! hashes, and (admin) the key that makes them.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::AppError;
use crate::http::auth::{AdminStaff, SiteOrAgent};
use crate::http::extract::ApiJson;
use crate::http::{AppState, ClientAddr};
use crate::services::suppression::{self, CheckResult};
use crate::services::workflow::Actor;
use crate::store::NewAudit;

/// Largest body of a check: 10,000 addresses of up to 254 characters, quoted.
pub const CHECK_BODY_LIMIT: usize = 3 * 1024 * 1024;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckBody {
    /// Up to 10,000 addresses, in any case: a case variant of a suppressed address is
    /// suppressed, an accented or look-alike variant is another address.
    pub emails: Vec<String>,
}

fn actor(staff: &crate::http::auth::Staff, client: &ClientAddr) -> Actor {
    Actor {
        name: staff.actor(),
        client_addr: client.text(),
    }
}

/// Which of these addresses are on the suppression list (completed objections, opt-outs
/// and erasures), and for which scopes. Only suppressed addresses are listed. Agents,
/// admins and `site` tokens (the company's site checks before it sells or shares);
/// audited with counts only.
#[utoipa::path(post, path = "/suppressions/check", tag = "suppressions", request_body = CheckBody,
    security(("bearer" = [])),
    responses((status = 200, body = CheckResult), (status = 403, body = crate::error::Problem),
        (status = 413, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn check(
    State(state): State<AppState>,
    SiteOrAgent(staff): SiteOrAgent,
    client: ClientAddr,
    ApiJson(body): ApiJson<CheckBody>,
) -> Result<Json<CheckResult>, AppError> {
    Ok(Json(
        suppression::check(&state, &actor(&staff, &client), body.emails).await?,
    ))
}

/// One line of an export.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportEntry {
    /// Lowercase hex HMAC-SHA256 of the canonical address under the list key.
    pub hash: String,
    /// `marketing`, `profiling`, `processing` or `erasure`.
    pub scope: String,
    pub processing: Option<String>,
    pub added_at: chrono::DateTime<chrono::Utc>,
}

/// The whole suppression list as keyed hashes, never addresses: NDJSON, the first line
/// `{"recipe": …}` says how the hashes are made, then one entry per line. Read page by
/// page, so memory stays bounded however long the list. Admin only; audited.
#[utoipa::path(get, path = "/suppressions/export", tag = "suppressions",
    security(("bearer" = [])),
    responses((status = 200, description = "NDJSON: a recipe line, then one ExportEntry per line",
        content_type = "application/x-ndjson"), (status = 403, body = crate::error::Problem)))]
pub async fn export(
    State(state): State<AppState>,
    AdminStaff(staff): AdminStaff,
    client: ClientAddr,
) -> Result<Response, AppError> {
    state
        .store
        .append_audit(&NewAudit {
            at: state.clock.now(),
            actor: staff.actor(),
            action: "suppression.export".into(),
            request_ref: None,
            client_addr: client.text(),
            detail: serde_json::json!({}),
        })
        .await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let head = serde_json::json!({ "recipe": suppression::RECIPE, "algorithm": "HMAC-SHA256" });
    tokio::spawn(async move {
        let mut line = head.to_string();
        line.push('\n');
        if tx.send(Ok(Bytes::from(line))).await.is_err() {
            return;
        }
        let mut after = 0;
        loop {
            let page = match suppression::export_page(&state, after).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "suppression export stopped");
                    let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
                    return;
                }
            };
            let Some(last) = page.last() else { return };
            after = last.id;
            let mut chunk = String::new();
            for s in page {
                let entry = ExportEntry {
                    hash: s.address_hash,
                    scope: s.scope,
                    processing: s.processing,
                    added_at: s.added_at,
                };
                chunk.push_str(&serde_json::to_string(&entry).unwrap_or_default());
                chunk.push('\n');
            }
            if tx.send(Ok(Bytes::from(chunk))).await.is_err() {
                return;
            }
        }
    });
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListKey {
    pub algorithm: String,
    /// 32 bytes, hex.
    pub key: String,
    pub recipe: String,
}

/// The key of the list's hashes, for the product to hash its own addresses the same
/// way (see `recipe`). It opens nothing else: the deployment key stays secret. Admin
/// only; audited.
#[utoipa::path(get, path = "/suppressions/key", tag = "suppressions",
    security(("bearer" = [])),
    responses((status = 200, body = ListKey), (status = 403, body = crate::error::Problem)))]
pub async fn key(
    State(state): State<AppState>,
    AdminStaff(staff): AdminStaff,
    client: ClientAddr,
) -> Result<Json<ListKey>, AppError> {
    let key = suppression::key_hex(&state).await?;
    state
        .store
        .append_audit(&NewAudit {
            at: state.clock.now(),
            actor: staff.actor(),
            action: "suppression.key_read".into(),
            request_ref: None,
            client_addr: client.text(),
            detail: serde_json::json!({}),
        })
        .await?;
    Ok(Json(ListKey {
        algorithm: "HMAC-SHA256".into(),
        key,
        recipe: suppression::RECIPE.into(),
    }))
}
