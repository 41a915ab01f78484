//! Data Rights Protocol conformance, acting as an agent with its own generated Ed25519
//! keys and a directory file: pairing, every supported request type, status through every
//! state, callbacks on a real local listener (with a retried failure), revoke; and a
//! negative table where each case gets the spec's answer and stores nothing.
//! On SQLite and PostgreSQL.

mod common;
#[path = "security/support.rs"]
mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::http::StatusCode;
use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use common::smtp::{self, SmtpSink};
use common::{Backend, Options, TestApp, json, spawn_app_with};
use ed25519_dalek::SigningKey;
use rightsdesk::clock::Clock;
use rightsdesk::config::EmailTransport;
use rightsdesk::domain::staff::Role;
use rightsdesk::secret::Secret;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);
const BUSINESS: &str = "RIGHTSDESK_TEST_CB";

/// A fresh Ed25519 key (randomness from two v4 UUIDs).
fn new_key() -> SigningKey {
    let mut seed = [0u8; 32];
    seed[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    seed[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    SigningKey::from_bytes(&seed)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// libsodium combined mode: signature || message, base64.
fn signed(key: &SigningKey, message: &[u8]) -> String {
    rightsdesk::services::drp::verify::sign(key, message)
}

struct Agent {
    id: String,
    key: SigningKey,
    token: String,
}

/// The agents directory file (agents.json) listing `agents`.
fn directory(dir: &std::path::Path, agents: &[(&str, &SigningKey)]) -> PathBuf {
    let list: Vec<Value> = agents
        .iter()
        .map(|(id, k)| {
            json!({
                "id": id,
                "name": format!("{id} app"),
                "verify_key": b64(&k.verifying_key().to_bytes()),
                "web_url": "https://agent.example.org",
                "technical_contact": "tech@agent.example.org",
                "business_contact": "biz@agent.example.org",
                "identity_assurance_url": "https://agent.example.org/assurance"
            })
        })
        .collect();
    let path = dir.join("agents.json");
    std::fs::write(&path, serde_json::to_string_pretty(&list).unwrap()).unwrap();
    path
}

/// A local status-callback endpoint: records every body, answers 500 while `fail` > 0.
struct Listener {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<Value>>>,
    failed: Arc<AtomicUsize>,
    fail: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn listener() -> Listener {
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let failed = Arc::new(AtomicUsize::new(0));
    let fail = Arc::new(AtomicUsize::new(0));
    let (g, f, n) = (got.clone(), failed.clone(), fail.clone());
    let router = axum::Router::new().route(
        "/drp/status",
        axum::routing::post(move |Json(v): Json<Value>| {
            let (g, f, n) = (g.clone(), f.clone(), n.clone());
            async move {
                if n.load(Ordering::SeqCst) > 0 {
                    n.fetch_sub(1, Ordering::SeqCst);
                    f.fetch_add(1, Ordering::SeqCst);
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                g.lock().unwrap().push(v);
                StatusCode::OK
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(l, router).await;
    });
    Listener {
        addr,
        got,
        failed,
        fail,
        task,
    }
}

impl Listener {
    fn url(&self) -> String {
        format!("http://{}/drp/status", self.addr)
    }

    /// The first callback for `request_id` that `pred` accepts (waits for it).
    async fn wait_for(&self, request_id: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let end = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(v) = self
                .got
                .lock()
                .unwrap()
                .iter()
                .find(|v| v["request_id"] == request_id && pred(v))
            {
                return v.clone();
            }
            assert!(
                tokio::time::Instant::now() < end,
                "no such callback for {request_id}; got {:?}",
                self.got.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

struct World {
    app: TestApp,
    sink: SmtpSink,
    cb: Listener,
    _dir: tempfile::TempDir,
    a: Agent,
    b: Agent,
    /// In the directory, never paired.
    c: Agent,
}

async fn world(backend: Backend, trust: bool) -> Option<World> {
    world_with(backend, trust, None).await
}

/// A world whose connectors come from the data map directory `datamap`, if given.
async fn world_with(backend: Backend, trust: bool, datamap: Option<PathBuf>) -> Option<World> {
    let dir = tempfile::tempdir().unwrap();
    let (ka, kb, kc) = (new_key(), new_key(), new_key());
    let path = directory(
        dir.path(),
        &[("AGENT_A", &ka), ("AGENT_B", &kb), ("AGENT_C", &kc)],
    );
    let sink = smtp::start().await;
    let addr = sink.addr;
    let opts = Options {
        configure: Box::new(move |c| {
            c.email.transport = EmailTransport::Smtp;
            c.email.smtp_url = Secret::new(format!("smtp://{addr}"));
            c.workflow.auto_start.clear();
            c.drp.enabled = true;
            c.drp.business_id = BUSINESS.into();
            c.drp.directory = Some(path);
            c.drp.callback_allow_http = true;
            c.drp.callback_allow_private = true;
            c.drp.trust_agent_verification = trust;
            if let Some(d) = datamap {
                c.datamap_dir = d;
            }
        }),
        handlers: Vec::new(),
    };
    let app = spawn_app_with(backend, opts).await?;
    let mut w = World {
        app,
        sink,
        cb: listener().await,
        _dir: dir,
        a: Agent {
            id: "AGENT_A".into(),
            key: ka,
            token: String::new(),
        },
        b: Agent {
            id: "AGENT_B".into(),
            key: kb,
            token: String::new(),
        },
        c: Agent {
            id: "AGENT_C".into(),
            key: kc,
            token: "never-paired".into(),
        },
    };
    w.a.token = pair(&w.app, &w.a).await;
    w.b.token = pair(&w.app, &w.b).await;
    Some(w)
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn envelope(app: &TestApp, agent: &str) -> Value {
    let now = app.clock.now();
    json!({
        "agent-id": agent,
        "business-id": BUSINESS,
        "issued-at": iso(now),
        "expires-at": iso(now + TimeDelta::minutes(5)),
        "drp.version": "1.0",
    })
}

async fn pair(app: &TestApp, agent: &Agent) -> String {
    let body = signed(&agent.key, envelope(app, &agent.id).to_string().as_bytes());
    let r = post_signed(app, &format!("/drp/v1/agent/{}", agent.id), None, body).await;
    let (s, v) = json(r).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["agent-id"], agent.id.as_str());
    v["token"].as_str().unwrap().to_string()
}

async fn post_signed(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    body: String,
) -> reqwest::Response {
    let mut rq = app
        .client
        .post(app.url(path))
        .header("content-type", "text/plain")
        .body(body);
    if let Some(t) = token {
        rq = rq.bearer_auth(t);
    }
    rq.send().await.unwrap()
}

fn exercise_message(w: &World, agent: &Agent, exercise: &str, email: &str) -> Value {
    let mut m = envelope(&w.app, &agent.id);
    m["exercise"] = exercise.into();
    m["regime"] = "ccpa".into();
    m["relationships"] = json!(["customer"]);
    m["status_callback"] = w.cb.url().into();
    m["agent-request-id"] = format!("ar-{exercise}").into();
    m["name"] = "Ada Lovelace".into();
    m["email"] = email.into();
    m["email_verified"] = true.into();
    m["phone_number"] = "+15555550100".into();
    m["power_of_attorney"] = "https://agent.example.org/poa/123".into();
    m
}

async fn file(w: &World, agent: &Agent, m: &Value) -> (u16, Value) {
    let body = signed(&agent.key, m.to_string().as_bytes());
    json(
        post_signed(
            &w.app,
            "/drp/v1/data-rights-request",
            Some(&agent.token),
            body,
        )
        .await,
    )
    .await
}

async fn status(w: &World, agent: &Agent, id: &str) -> (u16, Value) {
    json(
        w.app
            .client
            .get(w.app.url(&format!("/drp/v1/data-rights-request/{id}")))
            .bearer_auth(&agent.token)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn revoke(w: &World, agent: &Agent, id: &str, m: &Value) -> (u16, Value) {
    let body = signed(&agent.key, m.to_string().as_bytes());
    json(
        w.app
            .client
            .delete(w.app.url(&format!("/drp/v1/data-rights-request/{id}")))
            .bearer_auth(&agent.token)
            .header("content-type", "text/plain")
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The verification link mailed to `to`, posted (the subject confirms).
async fn subject_confirms(w: &World, to: &str) {
    let end = tokio::time::Instant::now() + WAIT;
    let url = loop {
        let mails = w.sink.messages();
        if let Some(m) = mails.iter().find(|m| {
            m.to.iter().any(|t| t == to) && smtp::decoded_text(&m.data).contains("/verify/")
        }) {
            let text = smtp::decoded_text(&m.data);
            let start = text.find("/verify/").unwrap();
            let rest = &text[start..];
            let stop = rest
                .find(|c: char| c.is_whitespace() || c == '>' || c == '"')
                .unwrap_or(rest.len());
            break w.app.url(&rest[..stop]);
        }
        assert!(
            tokio::time::Instant::now() < end,
            "no verification mail to {to}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let r = w.app.client.post(url).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

/// The Rightsdesk request behind a DRP request (staff API).
async fn staff_view(w: &World, drp_id: &str) -> Value {
    let drp = w
        .app
        .state
        .store
        .drp_request(drp_id)
        .await
        .unwrap()
        .expect("stored");
    let token = w.app.token(Role::Auditor).await;
    let (s, v) = json(
        w.app
            .get(&token, &format!("/api/v1/requests/{}", drp.request_ref))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v
}

async fn staff_act(w: &World, reference: &str, action: &str, body: Value) -> Value {
    let token = w.app.token(Role::Agent).await;
    let (s, v) = json(
        w.app
            .post_json(
                &token,
                &format!("/api/v1/requests/{reference}/{action}"),
                &body,
            )
            .await,
    )
    .await;
    assert_eq!(s, 200, "{action}: {v}");
    v
}

async fn agent_conformance(backend: Backend) {
    let Some(w) = world(backend, false).await else {
        return;
    };
    // Pairing stored only the token's hash.
    let stored = w
        .app
        .state
        .store
        .drp_agent("AGENT_A")
        .await
        .unwrap()
        .unwrap();
    let hash = stored.token_hash.clone().unwrap();
    assert_ne!(hash, w.a.token);
    assert_eq!(hash, rightsdesk::crypto::token_hash(&w.a.token));
    // Agent information: `{}` for its own id, 403 for another's.
    let (s, v) = json(w.app.get(&w.a.token, "/drp/v1/agent/AGENT_A").await).await;
    assert_eq!((s, v.clone()), (200, json!({})), "{v}");
    let (s, v) = json(w.app.get(&w.a.token, "/drp/v1/agent/AGENT_B").await).await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["code"], "403");

    // The OpenAPI document describes the DRP routes while they are served.
    let (_, doc) = json(
        w.app
            .client
            .get(w.app.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    for (m, p) in [
        ("post", "/drp/v1/agent/{agent_id}"),
        ("get", "/drp/v1/agent/{agent_id}"),
        ("post", "/drp/v1/data-rights-request"),
        ("get", "/drp/v1/data-rights-request/{request_id}"),
        ("delete", "/drp/v1/data-rights-request/{request_id}"),
    ] {
        assert!(
            doc["paths"][p][m].is_object(),
            "{m} {p} not in the OpenAPI document"
        );
    }

    // Every supported request type.
    let mut ids = std::collections::BTreeMap::new();
    for (exercise, email) in [
        ("access", "ada.access@example.com"),
        ("access:specific", "ada.specific@example.com"),
        ("access:categories", "ada.categories@example.com"),
        ("deletion", "ada.deletion@example.com"),
    ] {
        let (s, v) = file(&w, &w.a, &exercise_message(&w, &w.a, exercise, email)).await;
        assert_eq!(s, 200, "{exercise}: {v}");
        assert_eq!(v["status"], "in_progress", "{v}");
        assert_eq!(v["reason"], "need_user_verification", "{v}");
        assert_eq!(v["agent_request_id"], format!("ar-{exercise}"));
        assert!(v["received_at"].as_str().unwrap().ends_with('Z'));
        assert!(v["expected_by"].is_string(), "{v}");
        assert!(v["expires_at"].is_string(), "{v}");
        let url = v["user_verification_url"].as_str().unwrap();
        assert!(url.ends_with(&format!(
            "/drp/verify/{}",
            v["request_id"].as_str().unwrap()
        )));
        ids.insert(exercise, v["request_id"].as_str().unwrap().to_string());
    }
    // The kinds they became; CCPA unless named otherwise; claims encrypted at rest.
    let view = staff_view(&w, &ids["deletion"]).await;
    assert_eq!(view["kind"], "erasure");
    assert_eq!(view["regime"], "ccpa");
    for e in ["access", "access:specific", "access:categories"] {
        assert_eq!(staff_view(&w, &ids[e]).await["kind"], "access");
    }
    let drp = w
        .app
        .state
        .store
        .drp_request(&ids["deletion"])
        .await
        .unwrap()
        .unwrap();
    let claims_ct = drp.claims_ct.clone().expect("claims kept");
    assert!(!claims_ct.contains("ada.deletion") && !claims_ct.contains("Lovelace"));
    let claims = w
        .app
        .state
        .keys
        .open_at(
            rightsdesk::crypto::Field::new("drp_requests", "claims_ct", &drp.id),
            &claims_ct,
        )
        .unwrap();
    assert!(claims.contains("power_of_attorney"));
    // The verification page the agent sends the subject to explains the emailed link.
    let page = w
        .app
        .client
        .get(w.app.url(&format!("/drp/verify/{}", ids["deletion"])))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("emailed you a link"));

    // The subject confirms: in_progress without a reason, due date as expected_by; callback.
    subject_confirms(&w, "ada.deletion@example.com").await;
    let id = &ids["deletion"];
    let (s, v) = status(&w, &w.a, id).await;
    assert_eq!(s, 200);
    assert_eq!(v["status"], "in_progress");
    assert!(v.get("reason").is_none(), "{v}");
    let view = staff_view(&w, id).await;
    let due = view["due_date"].as_str().unwrap().to_string();
    assert_eq!(v["expected_by"], format!("{due}T23:59:59Z"));
    w.cb.wait_for(id, |c| {
        c["status"] == "in_progress" && c.get("reason").is_none()
    })
    .await;

    // Extended: expected_by moves, processing_details says why; the first callback
    // attempt fails and the job retries it.
    w.cb.fail.store(1, Ordering::SeqCst);
    let reference = view["reference"].as_str().unwrap().to_string();
    let ext = staff_act(
        &w,
        &reference,
        "extend",
        json!({"reason": "many systems to search"}),
    )
    .await;
    let new_due = ext["due_date"].as_str().unwrap().to_string();
    assert_ne!(new_due, due);
    let (_, v) = status(&w, &w.a, id).await;
    assert_eq!(v["expected_by"], format!("{new_due}T23:59:59Z"));
    assert!(
        v["processing_details"]
            .as_str()
            .unwrap()
            .contains("many systems")
    );
    let end = tokio::time::Instant::now() + WAIT;
    while w.cb.failed.load(Ordering::SeqCst) == 0 {
        assert!(
            tokio::time::Instant::now() < end,
            "the callback was never attempted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The worker records the failure (and its retry time, from the clock) after the
    // answer arrives: only then may the clock move past the backoff.
    w.app.settle().await;
    w.app.clock.advance(TimeDelta::hours(1)); // past the job's backoff
    w.cb.wait_for(id, |c| c["expected_by"] == format!("{new_due}T23:59:59Z"))
        .await;
    // Deliveries are audited by reference.
    let auditor = w.app.token(Role::Auditor).await;
    let (_, audit) = json(
        w.app
            .get(
                &auditor,
                &format!("/api/v1/audit?request={reference}&per_page=100"),
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
    assert!(actions.contains(&"drp.callback.failed"), "{actions:?}");
    assert!(actions.contains(&"drp.callback.sent"), "{actions:?}");
    assert!(actions.contains(&"drp.request"), "{actions:?}");

    // Worked and completed: fulfilled.
    staff_act(&w, &reference, "start", json!({})).await;
    let done = staff_act(&w, &reference, "complete", json!({})).await;
    assert_eq!(done["status"], "completed", "{done}");
    let (_, v) = status(&w, &w.a, id).await;
    assert_eq!(v["status"], "fulfilled", "{v}");
    w.cb.wait_for(id, |c| c["status"] == "fulfilled").await;
    // A fulfilled request cannot be revoked.
    let (s, v) = revoke(&w, &w.a, id, &json!({"reason": "changed my mind"})).await;
    assert_eq!((s, v["code"].clone()), (409, json!("409")), "{v}");

    // Refused for no match: denied / no_match.
    subject_confirms(&w, "ada.specific@example.com").await;
    let specific = &ids["access:specific"];
    let r = staff_view(&w, specific).await["reference"]
        .as_str()
        .unwrap()
        .to_string();
    staff_act(
        &w,
        &r,
        "deny",
        json!({"reason": "no_match", "note": "no account with this address"}),
    )
    .await;
    let (_, v) = status(&w, &w.a, specific).await;
    assert_eq!(
        (v["status"].clone(), v["reason"].clone()),
        (json!("denied"), json!("no_match"))
    );
    w.cb.wait_for(specific, |c| c["reason"] == "no_match").await;

    // Revoked by the agent (signed, with a reason): revoked, told to the callback too.
    let cats = &ids["access:categories"];
    let mut m = envelope(&w.app, &w.a.id);
    m["reason"] = "I do not want this any more".into();
    let (s, v) = revoke(&w, &w.a, cats, &m).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "revoked");
    let (_, v) = status(&w, &w.a, cats).await;
    assert_eq!(v["status"], "revoked");
    w.cb.wait_for(cats, |c| c["status"] == "revoked").await;
    assert_eq!(staff_view(&w, cats).await["status"], "withdrawn");
    // Revoking twice answers the same state.
    let (s, v) = revoke(&w, &w.a, cats, &json!({"reason": "again"})).await;
    assert_eq!((s, v["status"].clone()), (200, json!("revoked")));

    // Never confirmed: the request expires, the agent sees denied / insuf_verification.
    w.app.settle().await;
    w.app.clock.advance(TimeDelta::days(15));
    rightsdesk::services::deadlines::sweep(&w.app.state)
        .await
        .unwrap();
    let access = &ids["access"];
    let (_, v) = status(&w, &w.a, access).await;
    assert_eq!(
        (v["status"].clone(), v["reason"].clone()),
        (json!("denied"), json!("insuf_verification")),
        "{v}"
    );
    w.cb.wait_for(access, |c| c["reason"] == "insuf_verification")
        .await;

    // The portal marks DRP requests with their agent (queue and case page), lists the
    // agents with their counts, and an admin suspends one there.
    let login = support::portal_login(&w.app, Role::Admin).await;
    let page = |path: String| {
        let (app, cookie) = (&w.app, login.cookie.clone());
        async move {
            let r = app
                .client
                .get(app.url(&path))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{path}");
            r.text().await.unwrap()
        }
    };
    let queue = page("/portal/requests?status=all".into()).await;
    assert_eq!(queue.matches("DRP agent AGENT_A").count(), 4, "{queue}");
    let case = page(format!("/portal/requests/{reference}")).await;
    assert!(
        case.contains("Filed by DRP agent")
            && case.contains("(AGENT_A)")
            && case.contains("<code>deletion</code>"),
        "{case}"
    );
    let list = page("/portal/drp/agents".into()).await;
    let row = list.split("id=\"agent-AGENT_A\"").nth(1).unwrap();
    assert!(row.contains("<td class=\"requests\">4</td>"), "{row}");
    let r = w
        .app
        .client
        .post(w.app.url("/portal/drp/agents/AGENT_B/suspend"))
        .header("cookie", &login.cookie)
        .header("origin", &w.app.base)
        .form(&[("csrf", login.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (s, _) = json(w.app.get(&w.b.token, "/drp/v1/agent/AGENT_B").await).await;
    assert_eq!(s, 403);
    assert!(
        page("/portal/drp/agents".into())
            .await
            .contains("suspended")
    );

    // Staff see the agents with their request counts and can suspend one.
    let staff = w.app.token(Role::Agent).await;
    let (s, agents) = json(w.app.get(&staff, "/api/v1/drp/agents").await).await;
    assert_eq!(s, 200, "{agents}");
    let a = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "AGENT_A")
        .unwrap();
    assert_eq!(a["requests"], 4);
    assert_eq!(a["open_requests"], 0);
    assert_eq!(a["paired"], true);
    let (s, _) = json(
        w.app
            .post_empty(&staff, "/api/v1/drp/agents/AGENT_A/suspend")
            .await,
    )
    .await;
    assert_eq!(s, 403, "only an admin suspends");
    let admin = w.app.token(Role::Admin).await;
    let r = w
        .app
        .post_empty(&admin, "/api/v1/drp/agents/AGENT_A/suspend")
        .await;
    assert_eq!(r.status(), 204);
    let (s, v) = status(&w, &w.a, access).await;
    assert_eq!((s, v["code"].clone()), (403, json!("403")), "{v}");
    let r = w
        .app
        .post_empty(&admin, "/api/v1/drp/agents/AGENT_A/reinstate")
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(status(&w, &w.a, access).await.0, 200);
    w.app.stop().await;
}

/// With `trust_agent_verification`, an `email_verified` claim starts the clock at once.
async fn trusted_agent_verification(backend: Backend) {
    let Some(w) = world(backend, true).await else {
        return;
    };
    let (s, v) = file(
        &w,
        &w.a,
        &exercise_message(&w, &w.a, "deletion", "bo@example.com"),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "in_progress");
    assert!(
        v.get("reason").is_none() && v.get("user_verification_url").is_none(),
        "{v}"
    );
    let trusted_id = v["request_id"].as_str().unwrap().to_string();
    let view = staff_view(&w, &trusted_id).await;
    assert_eq!(view["status"], "open");
    assert!(
        view["verification_note"]
            .as_str()
            .is_some_and(|n| n.contains("AGENT_A")),
        "{view}"
    );
    // Not verified by the agent: our own link after all.
    let mut m = exercise_message(&w, &w.a, "access", "cy@example.com");
    m["email_verified"] = false.into();
    let (_, v) = file(&w, &w.a, &m).await;
    assert_eq!(v["reason"], "need_user_verification");
    // The agent's identity claims go when the closed request's personal data is wiped.
    let reference = view["reference"].as_str().unwrap().to_string();
    staff_act(&w, &reference, "withdraw", json!({})).await;
    let (_, v) = status(&w, &w.a, &trusted_id).await;
    assert_eq!(v["status"], "revoked");
    let now = w.app.clock.now();
    let wiped = w
        .app
        .state
        .store
        .wipe_closed_requests(now + TimeDelta::seconds(1), now, 100)
        .await
        .unwrap();
    assert_eq!(wiped, 1);
    let drp = w
        .app
        .state
        .store
        .drp_request(&trusted_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(drp.claims_ct, None);
    w.app.stop().await;
}

/// `access:categories` answers with the categories found per table, and no record: the
/// package the subject downloads names `contact.email` for the customers table and counts
/// its rows, but holds neither Ada's name nor her phone number nor any data/ file.
async fn access_categories_package(backend: Backend) {
    let product_dir = tempfile::tempdir().unwrap();
    let (_pool, datamap) = common::product::product(product_dir.path()).await;
    let Some(w) = world_with(backend, true, Some(datamap)).await else {
        return;
    };
    let (s, v) = file(
        &w,
        &w.a,
        &exercise_message(&w, &w.a, "access:categories", "ada@example.com"),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let id = v["request_id"].as_str().unwrap().to_string();
    let reference = staff_view(&w, &id).await["reference"]
        .as_str()
        .unwrap()
        .to_string();
    staff_act(&w, &reference, "start", json!({})).await;
    let token = w.app.token(Role::Agent).await;
    common::product::wait_for_status(&w.app, &token, &reference, "completed").await;

    // The package link goes to the subject.
    let end = tokio::time::Instant::now() + WAIT;
    let link = loop {
        let found = w.sink.messages().iter().find_map(|m| {
            let text = smtp::decoded_text(&m.data);
            let at = text.find("/download/")?;
            assert!(m.to.iter().any(|t| t == "ada@example.com"), "{:?}", m.to);
            let token: String = text[at + "/download/".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            Some(format!("/download/{token}"))
        });
        if let Some(l) = found {
            break l;
        }
        assert!(tokio::time::Instant::now() < end, "no package email");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let r = w.app.client.get(w.app.url(&link)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut files = std::collections::BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut f, &mut text).unwrap();
        files.insert(f.name().unwrap().to_string(), text);
    }
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "README.txt",
            "about-your-data.json",
            "categories.json",
            "manifest.json",
            "request.json"
        ],
        "no records, no data/ folder"
    );
    let all: String = files.values().cloned().collect();
    for personal in ["Ada Lovelace", "+44 1", "argon2id"] {
        assert!(!all.contains(personal), "{personal} in the package");
    }
    let cats: Value = serde_json::from_str(&files["categories.json"]).unwrap();
    let customers = cats["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "customers")
        .expect("customers listed");
    assert_eq!(customers["connector"], "shop");
    assert_eq!(customers["records"], 1);
    assert_eq!(
        customers["categories"],
        json!(["contact.email", "contact.phone", "name"])
    );
    // A column with no declared category is named, never its value; the credential the
    // data map excludes from exports is not even named.
    let other = customers["other_fields"].as_array().unwrap();
    assert!(other.contains(&json!("id")), "{customers}");
    assert!(!other.contains(&json!("password_hash")), "{customers}");
    for c in ["contact.address", "contact.email", "name"] {
        assert!(
            cats["categories"].as_array().unwrap().contains(&json!(c)),
            "{cats}"
        );
    }
    assert!(files["README.txt"].contains("does not\ncontain the records"));
    w.app.stop().await;
}

/// Rows that any accepted call would add to.
async fn counts(app: &TestApp) -> Vec<i64> {
    const SQL: &str = "SELECT (SELECT COUNT(*) FROM requests), (SELECT COUNT(*) FROM drp_requests), \
        (SELECT COUNT(*) FROM drp_seen_messages), (SELECT COUNT(*) FROM outbox), \
        (SELECT COUNT(*) FROM audit_log) + (SELECT COUNT(*) FROM audit_pending), (SELECT COUNT(*) FROM jobs), \
        (SELECT COUNT(*) FROM request_events)";
    let row: (i64, i64, i64, i64, i64, i64, i64) = match app.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            let r = sqlx::query_as(SQL).fetch_one(&pool).await.unwrap();
            pool.close().await;
            r
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            let r = sqlx::query_as(SQL).fetch_one(&pool).await.unwrap();
            pool.close().await;
            r
        }
    };
    vec![row.0, row.1, row.2, row.3, row.4, row.5, row.6]
}

/// What a negative case sends.
enum Call {
    /// `POST /data-rights-request` with this token and body.
    Exercise(Option<String>, String),
    Pair(String, String),
    Status(String, String),
    Revoke(String, String, String),
    AgentInfo(String, String),
}

async fn negative_table(backend: Backend) {
    let Some(w) = world(backend, false).await else {
        return;
    };
    // One request of agent B to aim at.
    let (s, v) = file(
        &w,
        &w.b,
        &exercise_message(&w, &w.b, "access", "b.subject@example.com"),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let b_request = v["request_id"].as_str().unwrap().to_string();
    // A message agent A sent once, to replay.
    let replayed = signed(
        &w.a.key,
        exercise_message(&w, &w.a, "deletion", "replay@example.com")
            .to_string()
            .as_bytes(),
    );
    let r = post_signed(
        &w.app,
        "/drp/v1/data-rights-request",
        Some(&w.a.token),
        replayed.clone(),
    )
    .await;
    assert_eq!(r.status(), 200);
    // (A second later than the pairing in `world`: the same message would be a replay.)
    w.app.clock.advance(TimeDelta::seconds(1));
    let pair_replayed = signed(&w.a.key, envelope(&w.app, "AGENT_A").to_string().as_bytes());
    let r = post_signed(&w.app, "/drp/v1/agent/AGENT_A", None, pair_replayed.clone()).await;
    assert_eq!(r.status(), 200);
    let a_token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();

    let now = w.app.clock.now();
    let good = || exercise_message(&w, &w.a, "deletion", "neg@example.com");
    let with = |k: &str, v: Value| {
        let mut m = good();
        m[k] = v;
        m
    };
    let without = |k: &str| {
        let mut m = good();
        m.as_object_mut().unwrap().remove(k);
        m
    };
    let sign_a = |m: &Value| signed(&w.a.key, m.to_string().as_bytes());
    let tok = Some(a_token.clone());
    let mut flipped = base64::engine::general_purpose::STANDARD
        .decode(sign_a(&good()))
        .unwrap();
    flipped[5] ^= 0x40;
    let short = b64(&[1u8; 40]);

    let cases: Vec<(&str, Call, u16, Option<bool>)> = vec![
        (
            "bad base64",
            Call::Exercise(tok.clone(), "%%% not base64 %%%".into()),
            400,
            Some(false),
        ),
        (
            "shorter than a signature",
            Call::Exercise(tok.clone(), short),
            403,
            Some(false),
        ),
        (
            "bad signature",
            Call::Exercise(tok.clone(), b64(&flipped)),
            403,
            Some(false),
        ),
        (
            "signed with another agent's key",
            Call::Exercise(tok.clone(), signed(&w.b.key, good().to_string().as_bytes())),
            403,
            Some(false),
        ),
        (
            "wrong business-id",
            Call::Exercise(
                tok.clone(),
                sign_a(&with("business-id", "ANOTHER_CB".into())),
            ),
            403,
            Some(false),
        ),
        (
            "agent-id of another agent",
            Call::Exercise(tok.clone(), sign_a(&with("agent-id", "AGENT_B".into()))),
            403,
            Some(false),
        ),
        (
            "expired",
            Call::Exercise(
                tok.clone(),
                sign_a(&{
                    let mut m = good();
                    m["issued-at"] = iso(now - TimeDelta::minutes(8)).into();
                    m["expires-at"] = iso(now - TimeDelta::minutes(1)).into();
                    m
                }),
            ),
            403,
            Some(true),
        ),
        (
            "issued in the future",
            Call::Exercise(
                tok.clone(),
                sign_a(&{
                    let mut m = good();
                    m["issued-at"] = iso(now + TimeDelta::minutes(5)).into();
                    m["expires-at"] = iso(now + TimeDelta::minutes(9)).into();
                    m
                }),
            ),
            403,
            Some(false),
        ),
        (
            "validity window over 10 minutes",
            Call::Exercise(
                tok.clone(),
                sign_a(&with("expires-at", iso(now + TimeDelta::hours(2)).into())),
            ),
            403,
            Some(false),
        ),
        (
            "issued-at missing",
            Call::Exercise(tok.clone(), sign_a(&without("issued-at"))),
            400,
            Some(false),
        ),
        (
            "expires-at not a time",
            Call::Exercise(tok.clone(), sign_a(&with("expires-at", "tomorrow".into()))),
            400,
            Some(false),
        ),
        (
            "malformed JSON inside a good signature",
            Call::Exercise(
                tok.clone(),
                signed(&w.a.key, b"{\"agent-id\": \"AGENT_A\", "),
            ),
            400,
            Some(false),
        ),
        (
            "a JSON list inside a good signature",
            Call::Exercise(tok.clone(), signed(&w.a.key, b"[1, 2]")),
            400,
            Some(false),
        ),
        (
            "replayed",
            Call::Exercise(tok.clone(), replayed),
            409,
            Some(false),
        ),
        (
            "no bearer token",
            Call::Exercise(None, sign_a(&good())),
            401,
            Some(false),
        ),
        (
            "unknown bearer token",
            Call::Exercise(Some("not-a-token".into()), sign_a(&good())),
            401,
            Some(false),
        ),
        (
            "unpaired agent",
            Call::Exercise(
                Some(w.c.token.clone()),
                signed(&w.c.key, good().to_string().as_bytes()),
            ),
            401,
            Some(false),
        ),
        (
            "sale:opt_out_everything (unsupported right)",
            Call::Exercise(
                tok.clone(),
                sign_a(&with("exercise", "sale:opt_out_everything".into())),
            ),
            400,
            Some(false),
        ),
        (
            "unknown right",
            Call::Exercise(
                tok.clone(),
                sign_a(&with("exercise", "rectification".into())),
            ),
            400,
            Some(false),
        ),
        (
            "no email claim",
            Call::Exercise(tok.clone(), sign_a(&without("email"))),
            400,
            Some(false),
        ),
        (
            "email claim not an address",
            Call::Exercise(tok.clone(), sign_a(&with("email", "not an address".into()))),
            400,
            Some(false),
        ),
        (
            "status_callback not https",
            Call::Exercise(
                tok.clone(),
                sign_a(&with("status_callback", "ftp://agent.example.org/x".into())),
            ),
            400,
            Some(false),
        ),
        (
            "regime not handled",
            Call::Exercise(tok.clone(), sign_a(&with("regime", "martian".into()))),
            400,
            Some(false),
        ),
        (
            "pairing: agent not in the directory",
            Call::Pair(
                "AGENT_Z".into(),
                signed(
                    &new_key(),
                    envelope(&w.app, "AGENT_Z").to_string().as_bytes(),
                ),
            ),
            403,
            None,
        ),
        (
            "pairing: path and agent-id differ",
            Call::Pair(
                "AGENT_C".into(),
                signed(&w.c.key, envelope(&w.app, "AGENT_B").to_string().as_bytes()),
            ),
            403,
            None,
        ),
        (
            "pairing: another agent's key",
            Call::Pair(
                "AGENT_C".into(),
                signed(&w.a.key, envelope(&w.app, "AGENT_C").to_string().as_bytes()),
            ),
            403,
            None,
        ),
        (
            "pairing: replayed",
            Call::Pair("AGENT_A".into(), pair_replayed),
            403,
            None,
        ),
        (
            "status of another agent's request",
            Call::Status(a_token.clone(), b_request.clone()),
            403,
            Some(false),
        ),
        (
            "status of an unknown request",
            Call::Status(a_token.clone(), uuid::Uuid::new_v4().to_string()),
            404,
            Some(false),
        ),
        (
            "revoke another agent's request",
            Call::Revoke(
                a_token.clone(),
                b_request.clone(),
                sign_a(&json!({"reason": "x"})),
            ),
            403,
            Some(false),
        ),
        (
            "revoke with a bad signature",
            Call::Revoke(
                w.b.token.clone(),
                b_request.clone(),
                signed(&w.a.key, b"{\"reason\":\"x\"}"),
            ),
            403,
            Some(false),
        ),
        (
            "agent information with another agent's token",
            Call::AgentInfo(a_token.clone(), "AGENT_B".into()),
            403,
            Some(false),
        ),
    ];
    assert!(cases.len() >= 20);
    // The two requests' emails and callbacks go out first: only the refused calls may
    // change nothing.
    w.app.settle().await;
    let before = counts(&w.app).await;
    let tokens_before = w.app.state.store.drp_agents().await.unwrap();
    for (name, call, want, fatal) in cases {
        let rq = match &call {
            Call::Exercise(t, body) => {
                let mut rq = w
                    .app
                    .client
                    .post(w.app.url("/drp/v1/data-rights-request"))
                    .header("content-type", "text/plain")
                    .body(body.clone());
                if let Some(t) = t {
                    rq = rq.bearer_auth(t);
                }
                rq
            }
            Call::Pair(id, body) => w
                .app
                .client
                .post(w.app.url(&format!("/drp/v1/agent/{id}")))
                .header("content-type", "text/plain")
                .body(body.clone()),
            Call::Status(t, id) => w
                .app
                .client
                .get(w.app.url(&format!("/drp/v1/data-rights-request/{id}")))
                .bearer_auth(t),
            Call::Revoke(t, id, body) => w
                .app
                .client
                .delete(w.app.url(&format!("/drp/v1/data-rights-request/{id}")))
                .bearer_auth(t)
                .body(body.clone()),
            Call::AgentInfo(t, id) => w
                .app
                .client
                .get(w.app.url(&format!("/drp/v1/agent/{id}")))
                .bearer_auth(t),
        };
        let r = rq.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert_eq!(status, want, "{name}: {text}");
        match fatal {
            // The spec's error object.
            Some(f) => {
                let v: Value =
                    serde_json::from_str(&text).unwrap_or_else(|_| panic!("{name}: {text}"));
                assert_eq!(v["code"], want.to_string(), "{name}: {v}");
                assert!(
                    v["message"].as_str().is_some_and(|m| !m.is_empty()),
                    "{name}: {v}"
                );
                assert_eq!(v["fatal"], f, "{name}: {v}");
                if name.starts_with("sale:") || name == "unknown right" {
                    assert_eq!(v["message"], "Unsupported rights actions submitted.");
                }
            }
            // Pairing failures: 403 with no body (spec 2.05.1).
            None => assert!(text.is_empty(), "{name}: {text}"),
        }
        assert_eq!(counts(&w.app).await, before, "{name} stored something");
    }
    // No pairing changed, and B's request is untouched.
    assert_eq!(w.app.state.store.drp_agents().await.unwrap(), tokens_before);
    assert_eq!(
        status(&w, &w.b, &b_request).await.1["reason"],
        "need_user_verification"
    );
    // A directory without a listed agent stops it from signing.
    let dir = tempfile::tempdir().unwrap();
    let path = directory(dir.path(), &[("AGENT_B", &w.b.key)]);
    let (_, load) = rightsdesk::services::drp::service::load_directory(
        w.app.state.store.as_ref(),
        &path,
        w.app.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!((load.updated, load.dropped), (1, 2));
    let a = Agent {
        id: w.a.id.clone(),
        key: w.a.key.clone(),
        token: a_token.clone(),
    };
    let (s, v) = file(
        &w,
        &a,
        &exercise_message(&w, &a, "access", "late@example.com"),
    )
    .await;
    assert_eq!((s, v["code"].clone()), (403, json!("403")), "{v}");
    w.app.stop().await;
}

/// `sale:opt_out` files an `opt_out_sale` request, honoured without our verification
/// link (an opt-out needs none) and carried out at once: the product's declared
/// `[optout]` column is set and the address is on the list for `sale`. `sale:opt_in`
/// files an `opt_in`, verified by our link as usual, which takes both back.
async fn sale_opt_out_and_opt_in(backend: Backend) {
    let product_dir = tempfile::tempdir().unwrap();
    let (shop, datamap) = common::product::product(product_dir.path()).await;
    sqlx::raw_sql("ALTER TABLE customers ADD COLUMN sale_opt_out BOOLEAN NOT NULL DEFAULT FALSE")
        .execute(&shop)
        .await
        .unwrap();
    let map_file = datamap.join("shop.toml");
    let toml = std::fs::read_to_string(&map_file).unwrap()
        + "\n[optout]\ntable = \"customers\"\nset = { sale_opt_out = true }\n";
    std::fs::write(&map_file, toml).unwrap();
    let Some(w) = world_with(backend, false, Some(datamap)).await else {
        return;
    };
    let opted_out = || async {
        sqlx::query_scalar::<_, bool>(
            "SELECT sale_opt_out FROM customers WHERE email = 'bob@example.com'",
        )
        .fetch_one(&shop)
        .await
        .unwrap()
    };
    let agent_token = w.app.token(Role::Agent).await;
    let suppressed = |v: Value| v["suppressed"].as_array().unwrap().len();
    let check = || async {
        json(
            w.app
                .post_json(
                    &agent_token,
                    "/api/v1/suppressions/check",
                    &json!({ "emails": ["bob@example.com"] }),
                )
                .await,
        )
        .await
        .1
    };

    // Not verified by the agent, and no verification asked of the subject.
    let mut m = exercise_message(&w, &w.a, "sale:opt_out", "bob@example.com");
    m["email_verified"] = false.into();
    let (s, v) = file(&w, &w.a, &m).await;
    assert_eq!(s, 200, "{v}");
    assert!(v.get("user_verification_url").is_none(), "{v}");
    let id = v["request_id"].as_str().unwrap().to_string();
    let view = staff_view(&w, &id).await;
    assert_eq!(view["kind"], "opt_out_sale", "{view}");
    let reference = view["reference"].as_str().unwrap().to_string();
    let done =
        common::product::wait_for_status(&w.app, &agent_token, &reference, "completed").await;
    assert_eq!(done["tasks"][0]["operation"], "opt_out", "{done}");
    assert_eq!(done["tasks"][0]["status"], "succeeded", "{done}");
    let (_, v) = status(&w, &w.a, &id).await;
    assert_eq!(v["status"], "fulfilled", "{v}");
    assert!(opted_out().await);
    assert_eq!(suppressed(check().await), 1);

    // The opt-in is verified through our link, then reverses the opt-out.
    let (s, v) = file(
        &w,
        &w.a,
        &exercise_message(&w, &w.a, "sale:opt_in", "bob@example.com"),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["reason"], "need_user_verification", "{v}");
    let id = v["request_id"].as_str().unwrap().to_string();
    subject_confirms(&w, "bob@example.com").await;
    let view = staff_view(&w, &id).await;
    assert_eq!(view["kind"], "opt_in", "{view}");
    assert_eq!(view["scope"], "sale", "{view}");
    let reference = view["reference"].as_str().unwrap().to_string();
    common::product::wait_for_status(&w.app, &agent_token, &reference, "completed").await;
    let (_, v) = status(&w, &w.a, &id).await;
    assert_eq!(v["status"], "fulfilled", "{v}");
    assert!(!opted_out().await);
    assert_eq!(suppressed(check().await), 0);
    w.app.stop().await;
}

backend_fn_tests!(
    agent_conformance,
    trusted_agent_verification,
    access_categories_package,
    negative_table,
    sale_opt_out_and_opt_in,
);
