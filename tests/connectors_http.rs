//! The HTTP connector against an in-process product endpoint (axum on a random port)
//! that checks every request's `Rightsdesk-Signature` itself: an access answered at
//! once, an erasure answered `202` and finished by a signed callback (a bad signature,
//! a replayed link and an unknown link are refused), and targets that are refused
//! (a loopback address without `allow_private`, a redirect).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use common::product::create_and_start;
use common::{Backend, Options, TestApp, json, spawn_app_with};
use hmac::{Hmac, KeyInit, Mac};
use rightsdesk::clock::Clock;
use rightsdesk::domain::staff::Role;
use serde_json::{Value, json};
use sha2::Sha256;

const SECRET: &str = "product-endpoint-secret-0123456789";

/// How the endpoint answers the `erase` action.
#[derive(Clone, Copy)]
enum Mode {
    Immediate,
    Later,
    Redirect,
}

#[derive(Clone)]
struct Endpoint {
    mode: Mode,
    /// Bodies of correctly signed requests.
    received: Arc<Mutex<Vec<Value>>>,
    /// Requests whose signature did not verify.
    refused: Arc<Mutex<u32>>,
}

fn hmac_hex(secret: &str, message: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// The product's own check, written from the documented format, not from our code.
fn signature_ok(headers: &HeaderMap, body: &[u8]) -> bool {
    let Some(h) = headers
        .get("rightsdesk-signature")
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let (Some(t), Some(v1)) = (
        h.split(',').find_map(|p| p.strip_prefix("t=")),
        h.split(',').find_map(|p| p.strip_prefix("v1=")),
    ) else {
        return false;
    };
    let Ok(t_num) = t.parse::<i64>() else {
        return false;
    };
    let fresh = (chrono::Utc::now().timestamp() - t_num).abs() < 300;
    let mut message = format!("{t}.").into_bytes();
    message.extend_from_slice(body);
    fresh && hmac_hex(SECRET, &message) == v1
}

async fn product(State(e): State<Endpoint>, headers: HeaderMap, body: Bytes) -> Response {
    if !signature_ok(&headers, &body) {
        *e.refused.lock().unwrap() += 1;
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let v: Value = serde_json::from_slice(&body).unwrap();
    e.received.lock().unwrap().push(v.clone());
    match (v["action"].as_str().unwrap_or(""), e.mode) {
        ("test", _) => StatusCode::NO_CONTENT.into_response(),
        ("access", _) => axum::Json(json!({
            "tables": [
                { "table": "accounts", "rows": [{ "id": 7, "email": v["identity"]["email"], "plan": "pro" }] },
                { "table": "tickets", "rows": [] }
            ]
        }))
        .into_response(),
        ("erase", Mode::Immediate) => axum::Json(json!({
            "tables": [{ "table": "accounts", "rows_affected": 1, "rows_left": 0 }]
        }))
        .into_response(),
        ("erase", Mode::Later) => StatusCode::ACCEPTED.into_response(),
        // The product has nothing to do for an objection: the task is skipped, not done.
        ("object", Mode::Immediate) => {
            axum::Json(json!({ "skipped": "objections are handled in the marketing tool" }))
                .into_response()
        }
        // Opt-outs (both scopes) and opt-ins: the product flags its one account.
        ("opt_out" | "opt_in", Mode::Immediate) => {
            axum::Json(json!({ "rows_affected": 1 })).into_response()
        }
        (_, Mode::Redirect) => (
            StatusCode::TEMPORARY_REDIRECT,
            [("location", "http://127.0.0.1:9/elsewhere")],
        )
            .into_response(),
        _ => StatusCode::BAD_REQUEST.into_response(),
    }
}

async fn start_endpoint(mode: Mode) -> (String, Endpoint) {
    let e = Endpoint {
        mode,
        received: Arc::default(),
        refused: Arc::default(),
    };
    let app = Router::new()
        .route("/privacy", axum::routing::post(product))
        .with_state(e.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/privacy"), e)
}

async fn app_with_endpoint(url: &str, allow_private: bool) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let datamap = dir.keep().join("datamap");
    std::fs::create_dir_all(&datamap).unwrap();
    std::fs::write(
        datamap.join("product.toml"),
        format!(
            "name = \"product\"\nkind = \"http\"\nurl = \"{url}\"\nsecret = \"{SECRET}\"\n\
             timeout_secs = 5\nallow_private = {allow_private}\n"
        ),
    )
    .unwrap();
    let opts = Options::datamap(datamap);
    spawn_app_with(Backend::Sqlite, opts).await.expect("app")
}

/// Poll until the request's only task has one of `statuses`; returns the request.
async fn task_status(app: &TestApp, token: &str, reference: &str, statuses: &[&str]) -> Value {
    let mut last = Value::Null;
    for _ in 0..150 {
        let (_, v) = json(
            app.get(token, &format!("/api/v1/requests/{reference}"))
                .await,
        )
        .await;
        if statuses.iter().any(|s| v["tasks"][0]["status"] == *s) {
            return v;
        }
        last = v;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("task never reached {statuses:?}: {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_is_answered_at_once_with_a_signed_request() {
    let (url, endpoint) = start_endpoint(Mode::Immediate).await;
    let app = app_with_endpoint(&url, true).await;
    let agent = app.token(Role::Agent).await;
    let (s, v) = json(
        app.post_empty(&agent, "/api/v1/connectors/product/test")
            .await,
    )
    .await;
    assert_eq!((s, &v["ok"]), (200, &json!(true)), "{v}");

    let reference = create_and_start(&app, &agent, "access", "Ada@Example.com").await;
    let v = task_status(&app, &agent, &reference, &["succeeded", "failed"]).await;
    let task = &v["tasks"][0];
    assert_eq!(task["status"], "succeeded", "{v}");
    assert_eq!(task["evidence"]["rows"], 1);
    assert_eq!(
        *endpoint.refused.lock().unwrap(),
        0,
        "every request was signed"
    );
    let body = endpoint.received.lock().unwrap().last().cloned().unwrap();
    assert_eq!(body["action"], "access");
    assert_eq!(body["request"], reference.as_str());
    assert_eq!(body["identity"]["email"], "ada@example.com");
    assert!(
        body["callback_url"]
            .as_str()
            .unwrap()
            .contains("/api/v1/callbacks/"),
        "{body}"
    );
    let stored = app
        .state
        .store
        .task(task["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    let result = rightsdesk::services::task_results::load(&app.state, &stored)
        .await
        .unwrap();
    assert_eq!(result.tables[0].table, "accounts");
    assert_eq!(result.tables[0].rows[0]["plan"], "pro");
    app.stop().await;
}

fn signed(app: &TestApp, secret: &str, body: &[u8]) -> String {
    let t = app.clock.now().timestamp();
    let mut message = format!("{t}.").into_bytes();
    message.extend_from_slice(body);
    format!("t={t},v1={}", hmac_hex(secret, &message))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_accepted_later_finishes_with_a_signed_callback() {
    let (url, endpoint) = start_endpoint(Mode::Later).await;
    let app = app_with_endpoint(&url, true).await;
    let agent = app.token(Role::Agent).await;
    let reference = create_and_start(&app, &agent, "erasure", "ada@example.com").await;
    let v = task_status(&app, &agent, &reference, &["waiting"]).await;
    assert_eq!(
        v["status"], "in_progress",
        "the request waits for the callback"
    );
    let body = endpoint.received.lock().unwrap().last().cloned().unwrap();
    assert_eq!(body["action"], "erase");
    let callback = body["callback_url"].as_str().unwrap();
    let path = &callback[callback.find("/api/v1/callbacks/").unwrap()..];

    let result = serde_json::to_vec(&json!({
        "tables": [{ "table": "accounts", "rows_affected": 1, "rows_left": 0 }]
    }))
    .unwrap();
    let post = |signature: String, path: String| {
        let result = result.clone();
        let client = app.client.clone();
        let url = app.url(&path);
        async move {
            client
                .post(url)
                .header("content-type", "application/json")
                .header("Rightsdesk-Signature", signature)
                .body(result)
                .send()
                .await
                .unwrap()
        }
    };
    // Wrong secret, no signature, and a signature over another body are refused.
    let r = post(
        signed(&app, "not-the-secret-at-all", &result),
        path.to_string(),
    )
    .await;
    assert_eq!(r.status(), 401);
    let r = post(String::new(), path.to_string()).await;
    assert_eq!(r.status(), 401);
    let r = post(signed(&app, SECRET, b"{}"), path.to_string()).await;
    assert_eq!(r.status(), 401);
    let v = task_status(&app, &agent, &reference, &["waiting"]).await;
    assert_eq!(
        v["status"], "in_progress",
        "refused callbacks change nothing"
    );

    let r = post(
        signed(&app, SECRET, &result),
        "/api/v1/callbacks/unknown".into(),
    )
    .await;
    assert_eq!(r.status(), 410);
    let r = post(signed(&app, SECRET, &result), path.to_string()).await;
    assert_eq!(r.status(), 204);
    let r = post(signed(&app, SECRET, &result), path.to_string()).await;
    assert_eq!(r.status(), 410, "a link works once");

    let v = task_status(&app, &agent, &reference, &["succeeded", "failed"]).await;
    let task = &v["tasks"][0];
    assert_eq!(task["status"], "succeeded", "{v}");
    assert_eq!(task["evidence"]["tables"][0]["rows_left"], 0);
    assert_eq!(v["status"], "review", "every task is done");
    assert_eq!(*endpoint.refused.lock().unwrap(), 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_targets_and_redirects_are_refused() {
    // Loopback without allow_private: refused before anything is sent.
    let (url, endpoint) = start_endpoint(Mode::Immediate).await;
    let app = app_with_endpoint(&url, false).await;
    let agent = app.token(Role::Agent).await;
    let reference = create_and_start(&app, &agent, "erasure", "ada@example.com").await;
    let v = task_status(&app, &agent, &reference, &["failed", "succeeded"]).await;
    let task = &v["tasks"][0];
    assert_eq!(task["status"], "failed", "{v}");
    assert!(
        task["error"]
            .as_str()
            .unwrap()
            .contains("allow_private = true"),
        "{task}"
    );
    assert!(!task["error"].as_str().unwrap().contains("ada@"), "{task}");
    assert!(
        endpoint.received.lock().unwrap().is_empty(),
        "nothing was sent"
    );
    app.stop().await;

    // A redirect is not followed.
    let (url, endpoint) = start_endpoint(Mode::Redirect).await;
    let app = app_with_endpoint(&url, true).await;
    let agent = app.token(Role::Agent).await;
    let reference = create_and_start(&app, &agent, "erasure", "ada@example.com").await;
    let v = task_status(&app, &agent, &reference, &["failed", "succeeded"]).await;
    let task = &v["tasks"][0];
    assert_eq!(task["status"], "failed", "{v}");
    assert!(
        task["error"]
            .as_str()
            .unwrap()
            .contains("redirects are not followed"),
        "{task}"
    );
    assert_eq!(endpoint.received.lock().unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_with_nothing_to_do_skips_the_task_with_its_reason() {
    let (url, _endpoint) = start_endpoint(Mode::Immediate).await;
    let app = app_with_endpoint(&url, true).await;
    let agent = app.token(Role::Agent).await;
    let reference = create_and_start(&app, &agent, "objection", "ada@example.com").await;
    let v = task_status(
        &app,
        &agent,
        &reference,
        &["succeeded", "failed", "skipped"],
    )
    .await;
    let task = &v["tasks"][0];
    assert_eq!(task["status"], "skipped", "{v}");
    assert_eq!(
        task["reason"],
        "the endpoint has nothing to do: objections are handled in the marketing tool"
    );
    let v = common::product::wait_for_status(&app, &agent, &reference, "review").await;
    assert!(v["completed_at"].is_null(), "{v}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opt_outs_are_sent_as_opt_out_with_their_scope_and_complete() {
    let (url, endpoint) = start_endpoint(Mode::Immediate).await;
    let app = app_with_endpoint(&url, true).await;
    let agent = app.token(Role::Agent).await;
    for (kind, scope) in [("opt_out_sale", "sale"), ("limit_sensitive", "sensitive")] {
        let reference = create_and_start(&app, &agent, kind, "ada@example.com").await;
        let v = common::product::wait_for_status(&app, &agent, &reference, "completed").await;
        assert_eq!(v["tasks"][0]["status"], "succeeded", "{v}");
        let sent = endpoint.received.lock().unwrap().last().cloned().unwrap();
        assert_eq!(sent["action"], "opt_out", "{sent}");
        assert_eq!(sent["scope"], scope, "{sent}");
        assert_eq!(sent["identity"]["email"], "ada@example.com", "{sent}");
    }
    app.stop().await;
}
