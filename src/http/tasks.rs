//! Pages for whoever does a manual connector's task: the completion link shows what it
//! confirms and changes nothing (mail scanners fetch links); its button POSTs, which
//! uses the link up and finishes the task — done, or skipped when the person says (with
//! a reason) that their system holds nothing the task could change.

use std::sync::OnceLock;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use minijinja::Environment;
use serde_json::json;

use super::AppState;
use crate::connectors::http::Outcome;
use crate::connectors::manual::action_label;
use crate::store::TaskToken;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    (
        "task_confirm.html",
        include_str!("../../templates/task_confirm.html"),
    ),
    (
        "task_done.html",
        include_str!("../../templates/task_done.html"),
    ),
    (
        "task_gone.html",
        include_str!("../../templates/task_gone.html"),
    ),
];

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // The shared base page calls `t(..)`; the manual-task pages are English.
        crate::i18n::register(&mut env);
        for (name, src) in TEMPLATES {
            if let Err(e) = env.add_template(name, src) {
                tracing::error!(template = name, error = %e, "built-in page template does not parse");
            }
        }
        env
    })
}

fn page(status: StatusCode, name: &str, ctx: serde_json::Value) -> Response {
    let rendered = env().get_template(name).and_then(|t| {
        t.render(minijinja::context! {
            i18n => crate::i18n::Localiser::english().value(),
            lang => "en",
            ..minijinja::value::Serde(ctx)
        })
    });
    let resp = match rendered {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "page did not render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!doctype html><title>Error</title><p>Something went wrong on our side. Please try again later.</p>".to_string()),
            )
                .into_response()
        }
    };
    super::pages::secure(resp)
}

pub fn router() -> Router<AppState> {
    Router::new().route("/tasks/{token}", get(confirm_page).post(complete))
}

fn gone(state: &AppState) -> Response {
    page(
        StatusCode::GONE,
        "task_gone.html",
        json!({ "organisation": state.config.organisation }),
    )
}

fn failed(state: &AppState, e: crate::error::AppError) -> Response {
    tracing::error!(error = %e, "manual task page failed");
    let _ = state;
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Html("<!doctype html><title>Error</title><p>Something went wrong on our side. Please try again later.</p>".to_string()),
    )
        .into_response()
}

/// The usable manual link behind `token`, if any.
async fn usable(
    state: &AppState,
    token: &str,
) -> Result<Option<TaskToken>, crate::error::AppError> {
    if token.len() > 100 {
        return Ok(None);
    }
    let now = state.clock.now();
    Ok(state
        .store
        .task_token(&crate::crypto::token_hash(token))
        .await?
        .filter(|l| l.purpose == "manual" && l.used_at.is_none() && l.expires_at > now))
}

async fn confirm_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    confirm_view(&state, &token, StatusCode::OK, None).await
}

/// The confirmation page, with `error` when the form was sent incomplete.
async fn confirm_view(
    state: &AppState,
    token: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let link = match usable(state, token).await {
        Ok(Some(l)) => l,
        Ok(None) => return gone(state),
        Err(e) => return failed(state, e),
    };
    let task = match state.store.task(&link.task_id).await {
        Ok(Some(t)) if matches!(t.status.as_str(), "waiting" | "running") => t,
        Ok(_) => return gone(state),
        Err(e) => return failed(state, e.into()),
    };
    page(
        status,
        "task_confirm.html",
        json!({
            "organisation": state.config.organisation,
            "token": token,
            "reference": link.request_ref,
            "connector": task.connector,
            "action": action_label(&task.operation),
            "error": error,
        }),
    )
}

async fn complete(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let link = match usable(&state, &token).await {
        Ok(Some(l)) => l,
        Ok(None) => return gone(&state),
        Err(e) => return failed(&state, e),
    };
    let mut outcome_field = None;
    let mut reason = None;
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "outcome" => outcome_field = Some(v.into_owned()),
            "reason" => reason = Some(crate::domain::identity::clean_line(&v)),
            _ => {}
        }
    }
    let skipped = match (outcome_field.as_deref(), reason) {
        (Some("skipped"), Some(r)) if !r.is_empty() && r.chars().count() <= 300 => Some(r),
        (Some("skipped"), _) => {
            return confirm_view(
                &state,
                &token,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("Say in 1 to 300 characters why there is nothing to do."),
            )
            .await;
        }
        _ => None,
    };
    let outcome = Outcome {
        evidence: json!({ "confirmed": "completion link", "at": state.clock.now() }),
        access: None,
        incomplete: None,
        skipped: skipped
            .as_ref()
            .map(|r| format!("the person responsible says there is nothing to do: {r}")),
    };
    match crate::services::fanout::finish_by_link(&state, &link, outcome).await {
        Ok(true) => page(
            StatusCode::OK,
            "task_done.html",
            json!({
                "organisation": state.config.organisation,
                "reference": link.request_ref,
                "skipped": skipped.is_some(),
            }),
        ),
        Ok(false) => gone(&state),
        Err(e) => failed(&state, e),
    }
}
