//! Portal pages for running the service: connectors (test a connection), API tokens and
//! user accounts (admin), and internal notes on a request (agent).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::auth::Signed;
use super::pages::{Fields, error_page, page_ctx, readable, render};
use crate::domain::staff::Role;
use crate::error::AppError;
use crate::http::{AppState, ClientAddr};
use crate::services::workflow::{self, Actor};
use crate::store::NewAudit;

fn actor(s: &Signed, client: &ClientAddr) -> Actor {
    Actor {
        name: s.0.actor_name(),
        client_addr: client.text(),
    }
}

async fn audit(
    state: &AppState,
    s: &Signed,
    client: &ClientAddr,
    action: &str,
    detail: serde_json::Value,
) -> Result<(), AppError> {
    state
        .store
        .append_audit(&NewAudit {
            at: state.clock.now(),
            actor: s.0.actor_name(),
            action: action.into(),
            request_ref: None,
            client_addr: client.text(),
            detail,
        })
        .await?;
    Ok(())
}

// --- connectors ---

/// How long the connectors page waits for one product database's index advice.
const ADVICE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The index advice of every SQL connector (as `rightsdesk check` gives it), read at
/// once, each with a time limit so a product database that does not answer cannot hold
/// the page.
async fn index_advice(state: &AppState) -> Vec<serde_json::Value> {
    let mut reads = tokio::task::JoinSet::new();
    for (i, d) in state.connectors.decls().iter().enumerate() {
        let Some(sql) = state.connectors.sql(d.name()) else {
            continue;
        };
        let name = d.name().to_string();
        reads.spawn(async move {
            let v = match tokio::time::timeout(ADVICE_TIMEOUT, sql.index_advisor()).await {
                Ok(Ok(advice)) => json!({ "name": name, "advice": advice }),
                Ok(Err(e)) => json!({ "name": name, "error": e.to_string() }),
                Err(_) => json!({ "name": name, "error": format!(
                    "no answer within {} s", ADVICE_TIMEOUT.as_secs()) }),
            };
            (i, v)
        });
    }
    let mut out = reads.join_all().await;
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, v)| v).collect()
}

async fn connectors_page(
    state: &AppState,
    s: &Signed,
    status: StatusCode,
    tested: Option<serde_json::Value>,
) -> Response {
    let advice = index_advice(state).await;
    let items: Vec<_> = state
        .connectors
        .decls()
        .iter()
        .map(|d| {
            json!({
                "name": d.name(), "kind": d.kind().as_str(), "file": d.file(),
                "tables": d.tables().len(), "retention": d.retention().len(),
            })
        })
        .collect();
    render(
        status,
        "portal/connectors.html",
        page_ctx(
            state,
            &s.0,
            json!({ "connectors": items, "tested": tested, "agent": s.0.user.role >= Role::Agent,
                    "advice": advice }),
        ),
    )
}

pub async fn connectors(State(state): State<AppState>, s: Signed) -> Response {
    connectors_page(&state, &s, StatusCode::OK, None).await
}

pub async fn test_connector(
    State(state): State<AppState>,
    s: Signed,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    if let Err(r) = s.form(&f, Role::Agent) {
        return r;
    }
    let Some(engine) = state.connectors.get(&name) else {
        return error_page(AppError::NotFound(format!("no connector named {name}")));
    };
    let result = engine.test().await;
    let tested = json!({
        "name": name,
        "ok": result.is_ok(),
        "error": result.err().map(|e| e.to_string()),
    });
    connectors_page(&state, &s, StatusCode::OK, Some(tested)).await
}

// --- API tokens (admin) ---

async fn tokens_page(
    state: &AppState,
    s: &Signed,
    status: StatusCode,
    created: Option<serde_json::Value>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let tokens: Vec<_> = state
        .store
        .list_tokens()
        .await?
        .into_iter()
        .map(|t| {
            json!({
                "id": t.id, "name": t.name, "role": t.role.as_str(),
                "created": t.created_at.format("%Y-%m-%d %H:%M").to_string(),
                "revoked": t.revoked_at.map(|r| r.format("%Y-%m-%d %H:%M").to_string()),
            })
        })
        .collect();
    Ok(render(
        status,
        "portal/tokens.html",
        page_ctx(
            state,
            &s.0,
            json!({ "tokens": tokens, "created": created, "error": error }),
        ),
    ))
}

pub async fn tokens(State(state): State<AppState>, s: Signed) -> Response {
    if let Err(r) = s.require(Role::Admin) {
        return r;
    }
    tokens_page(&state, &s, StatusCode::OK, None, None)
        .await
        .unwrap_or_else(error_page)
}

pub async fn create_token(
    State(state): State<AppState>,
    s: Signed,
    client: ClientAddr,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    if let Err(r) = s.form(&f, Role::Admin) {
        return r;
    }
    let result = async {
        let role = f
            .text("role")
            .unwrap_or_default()
            .parse::<Role>()
            .map_err(|e| AppError::field("role", e))?;
        crate::http::api::tokens::issue(
            &state,
            &f.text("name").unwrap_or_default(),
            role,
            &s.0.actor_name(),
            client.text(),
        )
        .await
    }
    .await;
    let page = match result {
        Ok(t) => {
            tokens_page(
                &state,
                &s,
                StatusCode::OK,
                Some(json!({ "name": t.name, "token": t.token })),
                None,
            )
            .await
        }
        Err(e @ AppError::Validation(_)) => {
            tokens_page(&state, &s, e.status(), None, Some(readable(&e))).await
        }
        Err(e) => Err(e),
    };
    page.unwrap_or_else(error_page)
}

pub async fn revoke_token(
    State(state): State<AppState>,
    s: Signed,
    client: ClientAddr,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    if let Err(r) = s.form(&f, Role::Admin) {
        return r;
    }
    match crate::http::api::tokens::withdraw(&state, &id, &s.0.actor_name(), client.text()).await {
        Ok(()) => Redirect::to("/portal/tokens").into_response(),
        Err(e) => error_page(e),
    }
}

// --- user accounts (admin) ---

/// `disable`, `enable` or `reset` (a new random password, shown once) a portal user.
pub async fn user_action(
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
    if id == s.0.user.id && action != "enable" {
        return super::pages::message(
            StatusCode::CONFLICT,
            "Not on your own account",
            "Ask another admin to disable or reset your account.",
        );
    }
    let result = async {
        let user = state
            .store
            .user_by_id(&id)
            .await?
            .ok_or_else(|| AppError::NotFound("no such user".into()))?;
        let now = state.clock.now();
        let shown = match action.as_str() {
            "disable" => {
                state.store.set_user_disabled(&id, Some(now)).await?;
                None
            }
            "enable" => {
                state.store.set_user_disabled(&id, None).await?;
                None
            }
            "reset" => {
                let password = super::auth::generate_password();
                let hash = super::auth::hash_password(&state, password.clone()).await?;
                state.store.set_user_password(&id, &hash).await?;
                Some(password)
            }
            // The appeals permission: an agent may then decide appeals (issue 21). The
            // store writes the audit entry with the change.
            "grant-appeals" | "revoke-appeals" => {
                let granted = action == "grant-appeals";
                state
                    .store
                    .set_permission(
                        &id,
                        crate::services::appeals::PERMISSION,
                        granted,
                        &crate::store::NewAudit {
                            at: now,
                            actor: s.0.actor_name(),
                            action: format!("user.{action}"),
                            request_ref: None,
                            client_addr: client.text(),
                            detail: json!({ "user_id": id, "role": user.role.as_str() }),
                        },
                    )
                    .await?;
                return Ok((user.email, None));
            }
            _ => return Err(AppError::NotFound(format!("no action `{action}`"))),
        };
        audit(
            &state,
            &s,
            &client,
            &format!("user.{action}"),
            json!({ "user_id": id, "role": user.role.as_str() }),
        )
        .await?;
        Ok((user.email, shown))
    }
    .await;
    match result {
        Ok((email, Some(password))) => super::admin::users_page(
            &state,
            &s,
            StatusCode::OK,
            Some(json!({ "email": email, "password": password, "reset": true })),
            None,
        )
        .await
        .unwrap_or_else(error_page),
        Ok((_, None)) => Redirect::to("/portal/users").into_response(),
        Err(e) => error_page(e),
    }
}

// --- internal notes (agent) ---

pub async fn add_note(
    State(state): State<AppState>,
    s: Signed,
    client: ClientAddr,
    Path(reference): Path<String>,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    if let Err(r) = s.form(&f, Role::Agent) {
        return r;
    }
    let Some(text) = f.text("note") else {
        return error_page(AppError::field("note", "write the note"));
    };
    match workflow::add_note(&state, &actor(&s, &client), &reference, &text).await {
        Ok(req) => {
            Redirect::to(&format!("/portal/requests/{}?done=note", req.reference)).into_response()
        }
        Err(e) => error_page(e),
    }
}
