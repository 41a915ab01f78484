//! Outgoing webhooks on a local listener: an admin adds the endpoint in the portal, the
//! request's events arrive signed (checked here with an HMAC computed from the Standard
//! Webhooks specification, not with the service's code), a failing endpoint is retried
//! and the delivery log shows both answers, no payload carries the subject's email, and
//! private addresses are refused unless the configuration allows them. SQLite and
//! PostgreSQL.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use chrono::TimeDelta;
use common::portal::{Browser, between, unescape};
use common::{Backend, Options, TestApp, spawn_app_with};
use hmac::{Hmac, KeyInit, Mac};
use rightsdesk::clock::Clock;
use rightsdesk::domain::staff::Role;
use serde_json::{Value, json};
use sha2::Sha256;

backend_fn_tests!(
    events_arrive_signed_retried_and_logged_without_personal_data,
    private_endpoints_are_refused_unless_allowed,
    a_failed_task_is_reported_without_its_error,
    an_automatic_completion_is_told_step_by_step
);

const WAIT: Duration = Duration::from_secs(30);
const EMAIL: &str = "ada.hooks@example.com";

/// What the endpoint received: headers, the raw body, and the app clock's time then.
type Received = Arc<Mutex<Vec<(HeaderMap, String, i64)>>>;

struct Hook {
    addr: std::net::SocketAddr,
    got: Received,
    /// Answer 500 to this many more deliveries.
    fail: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Hook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn hook(clock: rightsdesk::clock::ManualClock) -> Hook {
    let got: Received = Arc::default();
    let fail = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let (g, n, f) = (got.clone(), fail.clone(), failed.clone());
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let (g, n, f) = (g.clone(), n.clone(), f.clone());
            let at = clock.now().timestamp();
            async move {
                if n.load(Ordering::SeqCst) > 0 {
                    n.fetch_sub(1, Ordering::SeqCst);
                    f.fetch_add(1, Ordering::SeqCst);
                    return (StatusCode::INTERNAL_SERVER_ERROR, "not now");
                }
                g.lock().unwrap().push((headers, body, at));
                (StatusCode::OK, "thanks")
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(l, router).await;
    });
    Hook {
        addr,
        got,
        fail,
        failed,
        task,
    }
}

impl Hook {
    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// The bodies received so far, parsed.
    fn events(&self) -> Vec<Value> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b, _)| serde_json::from_str(b).expect("JSON body"))
            .collect()
    }

    /// `(previous_status, status)` of every `request.status_changed` received so far.
    fn status_changes(&self) -> Vec<(String, String)> {
        self.events()
            .iter()
            .filter(|e| e["type"] == "request.status_changed")
            .map(|e| {
                (
                    e["data"]["previous_status"].as_str().unwrap().to_string(),
                    e["data"]["status"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// Wait until `pred` holds for the events received.
    async fn wait_until(&self, what: &str, pred: impl Fn(&[Value]) -> bool) {
        let end = tokio::time::Instant::now() + WAIT;
        loop {
            if pred(&self.events()) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < end,
                "{what}: received {:?}",
                self.events()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The Standard Webhooks check, written from the specification: the signed content is
/// `id.timestamp.body`, the key the base64 after `whsec_`, the header a space-separated
/// list of `v1,<base64 HMAC-SHA256>`; the timestamp must be close to now.
fn verify(secret: &str, headers: &HeaderMap, body: &str, now: i64) -> Result<(), String> {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or(format!("no {n} header"))
    };
    let id = h("webhook-id")?;
    let ts = h("webhook-timestamp")?;
    let sigs = h("webhook-signature")?;
    let t: i64 = ts.parse().map_err(|_| "timestamp is not a number")?;
    if (now - t).abs() > 300 {
        return Err(format!("timestamp {t} is not close to {now}"));
    }
    let key = base64::engine::general_purpose::STANDARD
        .decode(
            secret
                .strip_prefix("whsec_")
                .ok_or("secret without whsec_")?,
        )
        .map_err(|e| e.to_string())?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.{body}").as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    if sigs
        .split(' ')
        .any(|s| s.strip_prefix("v1,") == Some(expected.as_str()))
    {
        Ok(())
    } else {
        Err(format!("no matching signature in {sigs}"))
    }
}

async fn app(backend: Backend, allow_private: bool) -> Option<TestApp> {
    let opts = Options {
        configure: Box::new(move |c| {
            c.workflow.auto_start.clear();
            c.webhooks.allow_http = true;
            c.webhooks.allow_private = allow_private;
        }),
        handlers: Vec::new(),
    };
    spawn_app_with(backend, opts).await
}

/// The `/verify/<token>` token in the verification email written to the file outbox.
async fn verification_token(app: &TestApp) -> String {
    let dir = app.state.config.data_dir.join("outbox");
    let end = tokio::time::Instant::now() + WAIT;
    loop {
        let found = std::fs::read_dir(&dir).ok().and_then(|entries| {
            entries.flatten().find_map(|f| {
                let text = common::smtp::decoded_text(&std::fs::read_to_string(f.path()).ok()?);
                let i = text.find("/verify/")? + "/verify/".len();
                Some(
                    text[i..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                        .collect::<String>(),
                )
            })
        });
        if let Some(t) = found {
            return t;
        }
        assert!(tokio::time::Instant::now() < end, "no verification email");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn staff_act(
    app: &TestApp,
    token: &str,
    reference: &str,
    action: &str,
    body: Value,
) -> Value {
    let (s, v) = common::json(
        app.post_json(
            token,
            &format!("/api/v1/requests/{reference}/{action}"),
            &body,
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{action}: {v}");
    v
}

/// Move the test clock to 09:00 UTC of `d`.
fn to_day(app: &TestApp, d: chrono::NaiveDate) {
    let target = d.and_hms_opt(9, 0, 0).unwrap().and_utc();
    app.clock.advance(target - app.clock.now());
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn events_arrive_signed_retried_and_logged_without_personal_data(backend: Backend) {
    let Some(app) = app(backend, true).await else {
        return;
    };
    let hook = hook(app.clock.clone()).await;
    let mut admin = Browser::admin(&app).await;

    // A URL that is not http(s) is refused readably.
    let page = admin.get("/portal/webhooks").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.csrf();
    let r = admin
        .post(
            "/portal/webhooks",
            &[
                ("csrf", &csrf),
                ("url", "ftp://example.com/x"),
                ("events", "request.created"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("https://"), "{}", r.body);

    // The admin adds the endpoint with every request event; the secret is shown once.
    let url = hook.url();
    let mut form: Vec<(&str, &str)> = vec![("csrf", &csrf), ("url", &url), ("description", "ops")];
    for e in rightsdesk::domain::webhook::EVENT_TYPES {
        form.push(("events", e));
    }
    let created = admin.post("/portal/webhooks", &form).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let secret = unescape(
        &between(&created.body, "<code id=\"webhook-secret\">", "</code>").expect("secret"),
    );
    assert!(secret.starts_with("whsec_"));
    let endpoint = between(&created.body, "href=\"/portal/webhooks/", "\"").expect("endpoint link");
    let listed = admin.get("/portal/webhooks").await;
    // (Templates escape the slashes of the URL.)
    assert!(listed.body.contains(&hook.addr.to_string()));
    assert!(
        !listed.body.contains(&secret),
        "the secret is shown only once"
    );

    // The first delivery fails; the job queue tries it again.
    hook.fail.store(1, Ordering::SeqCst);

    // The subject asks and confirms; staff start and complete.
    let (s, v) = common::json(
        app.client
            .post(app.url("/api/v1/intake"))
            .json(&json!({ "kind": "erasure", "email": EMAIL }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 202, "{v}");
    let reference = v["reference"].as_str().unwrap().to_string();
    let end = tokio::time::Instant::now() + WAIT;
    while hook.failed.load(Ordering::SeqCst) == 0 {
        assert!(
            tokio::time::Instant::now() < end,
            "the first delivery was never tried"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token = verification_token(&app).await;
    let (s, v) = app.verify_by_api(&token).await;
    assert_eq!(s, 200, "{v}");
    let agent = app.token(Role::Agent).await;
    staff_act(&app, &agent, &reference, "start", json!({})).await;
    let done = staff_act(&app, &agent, &reference, "complete", json!({})).await;
    assert_eq!(done["status"], "completed");
    hook.wait_until("verified and completed", |e| {
        let t = types(e);
        t.contains(&"request.verified".into()) && t.contains(&"request.completed".into())
    })
    .await;

    // Past the backoff, the failed delivery is sent again.
    app.settle().await;
    app.clock.advance(TimeDelta::minutes(10));
    app.state.queue.wake();
    hook.wait_until("created, after a retry", |e| {
        types(e).contains(&"request.created".into())
    })
    .await;

    let received = hook.got.lock().unwrap().clone();
    for (headers, body, at) in &received {
        verify(&secret, headers, body, *at).unwrap_or_else(|e| panic!("{e}: {body}"));
        assert!(
            !body.to_lowercase().contains("ada.hooks") && !body.contains("example.com"),
            "no personal data in {body}"
        );
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["data"]["reference"], reference.as_str());
        assert!(v["timestamp"].as_str().is_some());
    }
    let events = hook.events();
    let changed = hook.status_changes();
    assert!(
        changed.contains(&("awaiting_verification".into(), "open".into())),
        "{changed:?}"
    );
    assert!(
        changed.contains(&("review".into(), "completed".into())),
        "{changed:?}"
    );
    let completed = events
        .iter()
        .find(|e| e["type"] == "request.completed")
        .unwrap();
    assert_eq!(completed["data"]["kind"], "erasure");
    assert_eq!(completed["data"]["status"], "completed");

    // The delivery log shows the failed attempt and the one that was accepted.
    let log = admin.get(&format!("/portal/webhooks/{endpoint}")).await;
    assert_eq!(log.status, 200, "{}", log.body);
    assert!(log.body.contains("HTTP 500"), "{}", log.body);
    assert!(log.body.contains("HTTP 200"));
    assert!(
        log.body.contains("not now"),
        "the endpoint's answer is kept"
    );
    assert!(log.body.contains(&reference));
    assert!(!log.body.contains("ada.hooks"));

    // "Send test event".
    let r = admin
        .post(
            &format!("/portal/webhooks/{endpoint}/test"),
            &[("csrf", &log.csrf())],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    hook.wait_until("the test event", |e| {
        types(e).contains(&"webhook.test".into())
    })
    .await;
    let (headers, body, at) = hook
        .got
        .lock()
        .unwrap()
        .iter()
        .find(|(_, b, _)| b.contains("webhook.test"))
        .cloned()
        .unwrap();
    verify(&secret, &headers, &body, at).unwrap();

    // Deadline notices: due soon, then overdue (the sweep the scheduler runs).
    let (s, v) = common::json(
        app.post_json(
            &agent,
            "/api/v1/requests",
            &json!({ "kind": "access", "email": "bob.hooks@example.com",
                     "received_at": "2026-10-01T12:00:00Z",
                     "verification_note": "Called back on the number on file" }),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let second = v["reference"].as_str().unwrap().to_string();
    let due =
        chrono::NaiveDate::parse_from_str(v["due_date"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    app.settle().await;
    to_day(&app, due - chrono::Days::new(2));
    rightsdesk::services::deadlines::sweep(&app.state)
        .await
        .unwrap();
    app.settle().await;
    to_day(&app, due + chrono::Days::new(1));
    rightsdesk::services::deadlines::sweep(&app.state)
        .await
        .unwrap();
    app.state.queue.wake();
    hook.wait_until("due soon and overdue", |e| {
        let of_second: Vec<String> = e
            .iter()
            .filter(|v| v["data"]["reference"] == second.as_str())
            .map(|v| v["type"].as_str().unwrap_or_default().to_string())
            .collect();
        of_second.contains(&"request.created".into())
            && of_second.contains(&"request.due_soon".into())
            && of_second.contains(&"request.overdue".into())
    })
    .await;
    let received = hook.got.lock().unwrap().clone();
    for (headers, body, at) in &received {
        verify(&secret, headers, body, *at).unwrap_or_else(|e| panic!("{e}: {body}"));
        assert!(!body.contains("bob.hooks"), "no personal data in {body}");
    }

    // Every staff change of the endpoint is audited.
    let (_, audit) = common::json(
        app.get(
            &app.token(Role::Auditor).await,
            "/api/v1/audit?per_page=100",
        )
        .await,
    )
    .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"webhook.create"), "{actions:?}");
    assert!(actions.contains(&"webhook.test"), "{actions:?}");
    let _stopped = app.stop().await;
}

async fn private_endpoints_are_refused_unless_allowed(backend: Backend) {
    let Some(app) = app(backend, false).await else {
        return;
    };
    let hook = hook(app.clock.clone()).await;
    let actor = rightsdesk::services::workflow::Actor {
        name: "user:admin@example.com".into(),
        client_addr: None,
    };
    let (endpoint, _) = rightsdesk::services::webhooks::create_endpoint(
        &app.state,
        &actor,
        &hook.url(),
        "",
        &["request.created".to_string()],
    )
    .await
    .unwrap();
    let delivery = rightsdesk::services::webhooks::send_test(&app.state, &actor, &endpoint.id)
        .await
        .unwrap();
    let end = tokio::time::Instant::now() + WAIT;
    let d = loop {
        let d = app
            .state
            .store
            .webhook_delivery(&delivery)
            .await
            .unwrap()
            .unwrap();
        if d.status == "failed" {
            break d;
        }
        assert!(tokio::time::Instant::now() < end, "still {}", d.status);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        d.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("private"),
        "{d:?}"
    );
    assert!(hook.got.lock().unwrap().is_empty(), "nothing was sent");
    assert_eq!(hook.failed.load(Ordering::SeqCst), 0);
    let _stopped = app.stop().await;
}

/// An app whose connectors are the data map in `datamap`, whose webhooks may go to
/// plain HTTP on loopback.
async fn app_with_datamap(backend: Backend, datamap: std::path::PathBuf) -> Option<TestApp> {
    let opts = Options {
        configure: Box::new(move |c| {
            c.datamap_dir = datamap;
            c.webhooks.allow_http = true;
            c.webhooks.allow_private = true;
        }),
        handlers: Vec::new(),
    };
    spawn_app_with(backend, opts).await
}

/// A listener with an endpoint for `events`, added by an admin; and its secret.
async fn hooked(app: &TestApp, name: &str, events: &[&str]) -> (Hook, String) {
    let hook = hook(app.clock.clone()).await;
    let actor = rightsdesk::services::workflow::Actor {
        name: "user:admin@example.com".into(),
        client_addr: None,
    };
    let events: Vec<String> = events.iter().map(|e| e.to_string()).collect();
    let (_, secret) = rightsdesk::services::webhooks::create_endpoint(
        &app.state,
        &actor,
        &hook.url(),
        name,
        &events,
    )
    .await
    .unwrap();
    (hook, secret)
}

async fn a_failed_task_is_reported_without_its_error(backend: Backend) {
    // A product endpoint on loopback without `allow_private`: its task fails at once.
    let dir = tempfile::tempdir().unwrap();
    let datamap = dir.path().join("datamap");
    std::fs::create_dir_all(&datamap).unwrap();
    std::fs::write(
        datamap.join("product.toml"),
        "name = \"product\"\nkind = \"http\"\nurl = \"http://127.0.0.1:9/privacy\"\n\
         secret = \"a-secret-of-the-product-endpoint\"\ntimeout_secs = 5\n",
    )
    .unwrap();
    let Some(app) = app_with_datamap(backend, datamap).await else {
        return;
    };
    let (hook, secret) = hooked(&app, "failures", &["task.failed"]).await;
    let agent = app.token(Role::Agent).await;
    let (s, v) = common::json(
        app.post_json(
            &agent,
            "/api/v1/requests",
            &json!({ "kind": "erasure", "email": "cy.hooks@example.com",
                     "received_at": "2026-10-01T12:00:00Z",
                     "verification_note": "Called back on the number on file" }),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let reference = v["reference"].as_str().unwrap().to_string();
    staff_act(&app, &agent, &reference, "start", json!({})).await;
    hook.wait_until("task.failed", |e| !e.is_empty()).await;
    let (headers, body, at) = hook.got.lock().unwrap()[0].clone();
    verify(&secret, &headers, &body, at).unwrap();
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["type"], "task.failed",
        "only what the endpoint subscribed to"
    );
    assert_eq!(v["data"]["reference"], reference.as_str());
    assert_eq!(v["data"]["task"]["connector"], "product");
    assert_eq!(v["data"]["task"]["status"], "failed");
    assert!(
        !body.contains("cy.hooks") && !body.contains("allow_private"),
        "{body}"
    );
    let _stopped = app.stop().await;
}

/// An access request that completes by itself: the tasks' end (`review`) and the
/// completion are stored together, and still told as two steps, each with the status it
/// moved to, on the timeline and to the webhooks.
async fn an_automatic_completion_is_told_step_by_step(backend: Backend) {
    let product_dir = tempfile::tempdir().unwrap();
    let (_pool, datamap) = common::product::product(product_dir.path()).await;
    let Some(app) = app_with_datamap(backend, datamap).await else {
        return;
    };
    assert!(
        app.state
            .config
            .workflow
            .auto_complete
            .contains(&rightsdesk::domain::request::Kind::Access),
        "access completes by itself by default"
    );
    let (hook, _) = hooked(
        &app,
        "every change",
        &["request.status_changed", "request.completed"],
    )
    .await;
    let agent = app.token(Role::Agent).await;
    let (s, v) = common::json(
        app.post_json(
            &agent,
            "/api/v1/requests",
            &json!({ "kind": "access", "email": "bob@example.com",
                     "verification_note": "Called back on the number on file",
                     "start": true }),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let reference = v["reference"].as_str().unwrap().to_string();
    let done = common::product::wait_for_status(&app, &agent, &reference, "completed").await;
    let steps: Vec<(String, String, String)> = done["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_string(),
                e["from_status"].as_str().unwrap_or_default().to_string(),
                e["to_status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let step = |a: &str, f: &str, t: &str| (a.to_string(), f.to_string(), t.to_string());
    assert_eq!(
        steps,
        vec![
            step("create", "", "open"),
            step("start", "open", "in_progress"),
            step("tasks_done", "in_progress", "review"),
            step("complete", "review", "completed"),
        ],
        "{done}"
    );
    assert!(
        done["events"][2]["note"]
            .as_str()
            .is_some_and(|n| n.starts_with("every connector task has finished")),
        "{done}"
    );
    // Each event is its own delivery, in no particular order.
    hook.wait_until("three changes and the completion", |e| {
        let t = types(e);
        t.contains(&"request.completed".into())
            && t.iter().filter(|t| *t == "request.status_changed").count() >= 3
    })
    .await;
    let changed = hook.status_changes();
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    for want in [
        pair("open", "in_progress"),
        pair("in_progress", "review"),
        pair("review", "completed"),
    ] {
        assert!(changed.contains(&want), "{want:?} in {changed:?}");
    }
    assert_eq!(changed.len(), 3, "{changed:?}");
    // The package was built once: one export for the request.
    let exports = app
        .state
        .store
        .exports_for_request(&app.request_id(&reference).await)
        .await
        .unwrap();
    assert_eq!(exports.len(), 1);
    let _stopped = app.stop().await;
}
