//! Objection scopes and the suppression list (issue 20 item 1), through the HTTP API and
//! real emails: a marketing objection cannot be refused or held; once the connectors
//! confirm it completes by itself and the address (and its case variant, not an accented
//! one) is suppressed; the subject withdraws it from the status link and the entry goes;
//! an erasure adds its subject too, and the entry outlives the request's personal data.

mod common;

use std::time::Duration;

use common::product::{product, wait_for_status};
use common::smtp::SmtpSink;
use common::{Backend, TestApp, json, problem, spawn_app_with_sink};
use hmac::{Hmac, KeyInit, Mac};
use rightsdesk::domain::staff::Role;
use serde_json::{Value, json};
use sha2::Sha256;

const WAIT: Duration = Duration::from_secs(15);

async fn app(backend: Backend) -> Option<(TestApp, SmtpSink, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let (_pool, datamap) = product(dir.path()).await;
    let (app, sink) = spawn_app_with_sink(backend, move |c| {
        c.datamap_dir = datamap;
        c.email.privacy_team = "team@example.com".into();
        c.schedules.enabled = false;
    })
    .await?;
    Some((app, sink, dir))
}

async fn check(app: &TestApp, token: &str, emails: &[&str]) -> Value {
    app.post_ok(
        token,
        "/api/v1/suppressions/check",
        &json!({ "emails": emails }),
    )
    .await
}

async fn intake(app: &TestApp, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/intake"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn marketing_objection_is_absolute_then_suppressed_then_withdrawn(backend: Backend) {
    let Some((app, sink, _dir)) = app(backend).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;

    // Scopes are checked on intake and on staff entry.
    for (body, field) in [
        (
            json!({"kind": "objection", "email": "x@example.com", "scope": "spam"}),
            "scope",
        ),
        (
            json!({"kind": "objection", "email": "x@example.com", "scope": "processing"}),
            "processing",
        ),
        (
            json!({"kind": "access", "email": "x@example.com", "scope": "marketing"}),
            "scope",
        ),
    ] {
        let v = problem(intake(&app, body).await, 422).await;
        assert_eq!(v["errors"][0]["field"], field, "{v}");
    }
    let v = problem(
        app.post_json(
            &agent,
            "/api/v1/requests",
            &json!({"kind": "objection", "email": "x@example.com", "scope": "marketing",
                    "processing": "newsletter", "verification_note": "phone"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(v["errors"][0]["field"], "processing", "{v}");

    // A staff-entered marketing objection: refusing or holding it answers 409.
    let (s, v) = json(
        app.post_json(
            &agent,
            "/api/v1/requests",
            &json!({"kind": "objection", "email": "cy@example.com", "scope": "marketing",
                    "verification_note": "by phone"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["scope"], "marketing");
    let staff_ref = v["reference"].as_str().unwrap().to_string();
    for (action, body) in [
        ("deny", json!({"reason": "excessive", "note": "no"})),
        ("hold", json!({"reason": "waiting"})),
    ] {
        let v = problem(
            app.post_json(
                &agent,
                &format!("/api/v1/requests/{staff_ref}/{action}"),
                &body,
            )
            .await,
            409,
        )
        .await;
        assert!(v["detail"].as_str().unwrap().contains("21(3)"), "{v}");
    }
    let (_, v) = json(
        app.get(&agent, &format!("/api/v1/requests/{staff_ref}"))
            .await,
    )
    .await;
    assert_eq!(v["status"], "open");
    // A profiling objection may be held (only marketing is absolute).
    let (s, v) = json(
        app.post_json(
            &agent,
            "/api/v1/requests",
            &json!({"kind": "objection", "email": "cy@example.com", "scope": "profiling",
                    "verification_note": "by phone"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let profiling_ref = v["reference"].as_str().unwrap();
    let (s, v) = json(
        app.post_json(
            &agent,
            &format!("/api/v1/requests/{profiling_ref}/hold"),
            &json!({"reason": "asking"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");

    // Nobody is suppressed yet.
    let v = check(&app, &agent, &["ada@example.com"]).await;
    assert_eq!(v["suppressed"], json!([]));

    // The subject objects to marketing through the intake API and confirms by email:
    // it starts and completes by itself once the connector confirms.
    let resp = intake(
        &app,
        json!({"kind": "objection", "email": "ada@example.com", "scope": "marketing"}),
    )
    .await;
    assert_eq!(resp.status(), 202);
    let verify = sink.mail_to("ada@example.com", "/verify/").await;
    let token = app
        .link(&verify, "/verify/")
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let (s, v) = app.verify_by_api(&token).await;
    assert_eq!(s, 200, "{v}");
    let reference = v["reference"].as_str().unwrap().to_string();
    let done = wait_for_status(&app, &agent, &reference, "completed").await;
    assert_eq!(done["tasks"][0]["status"], "succeeded", "{done}");
    let completed = sink.mail_to("ada@example.com", "completed").await;

    // The address and its case variant are suppressed; an accented variant, another
    // address and a non-address are not.
    let v = check(
        &app,
        &agent,
        &[
            "ada@example.com",
            "  ADA@Example.COM ",
            "ada@exámple.com",
            "bob@example.com",
            "not an address",
        ],
    )
    .await;
    let suppressed = v["suppressed"].as_array().unwrap();
    assert_eq!(suppressed.len(), 2, "{v}");
    assert_eq!(suppressed[0]["email"], "ada@example.com");
    assert_eq!(suppressed[0]["scopes"], json!(["marketing"]));
    assert_eq!(suppressed[1]["email"], "  ADA@Example.COM ");
    assert_eq!(v["invalid"], json!(["not an address"]));

    // Withdrawal from the status link lifts the entry, audited by reference.
    let status_url = app.link(&completed, "/status/");
    let page = app.client.get(&status_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Withdraw my objection"));
    let resp = app
        .client
        .post(format!("{status_url}/withdraw-objection"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("suppression list"));
    let v = check(&app, &agent, &["ada@example.com"]).await;
    assert_eq!(v["suppressed"], json!([]), "{v}");
    let page = app.client.get(&status_url).send().await.unwrap();
    let text = page.text().await.unwrap();
    assert!(!text.contains("Withdraw my objection"));
    assert!(text.contains("You withdrew your objection"));
    let v = app.audit_of(&reference).await;
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "suppression.lifted"),
        "{v}"
    );
    assert!(!v.to_string().contains("ada@"), "{v}");
}

async fn erasure_adds_and_the_entry_outlives_the_personal_data(backend: Backend) {
    let Some((app, _sink, _dir)) = app(backend).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let admin = app.token(Role::Admin).await;
    let reference =
        common::product::create_and_start(&app, &agent, "erasure", "Bob@Example.com").await;
    wait_for_status(&app, &agent, &reference, "review").await;
    let (s, v) = json(
        app.post_empty(&agent, &format!("/api/v1/requests/{reference}/complete"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let v = check(&app, &agent, &["bob@example.com"]).await;
    assert_eq!(v["suppressed"][0]["scopes"], json!(["erasure"]), "{v}");

    // Years later the request's identity is wiped; the entry stays.
    app.clock.set(common::t("2031-01-01T00:00:00Z"));
    let report = rightsdesk::services::retention::own::purge(&app.state, "test")
        .await
        .unwrap();
    assert!(report.requests_wiped >= 1, "{report:?}");
    let (_, v) = json(
        app.get(&agent, &format!("/api/v1/requests/{reference}"))
            .await,
    )
    .await;
    assert_eq!(v["subject"]["email"], Value::Null, "{v}");
    let v = check(&app, &agent, &["BOB@example.com"]).await;
    assert_eq!(v["suppressed"][0]["scopes"], json!(["erasure"]), "{v}");

    // The export carries keyed hashes, never the address; the product hashes its own
    // address with the key and finds it.
    let (s, k) = json(app.get(&admin, "/api/v1/suppressions/key").await).await;
    assert_eq!(s, 200, "{k}");
    let key = hex::decode(k["key"].as_str().unwrap()).unwrap();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(b"bob@example.com");
    let want = hex::encode(mac.finalize().into_bytes());
    let resp = app.get(&admin, "/api/v1/suppressions/export").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "application/x-ndjson"
    );
    let body = resp.text().await.unwrap();
    assert!(!body.contains("bob"), "{body}");
    let lines: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines[0]["recipe"].as_str().unwrap().contains("HMAC-SHA256"));
    assert_eq!(lines.len(), 2, "{body}");
    assert_eq!(lines[1]["hash"], want);
    assert_eq!(lines[1]["scope"], "erasure");
    // An agent may check but not export or read the key.
    problem(app.get(&agent, "/api/v1/suppressions/export").await, 403).await;
    problem(app.get(&agent, "/api/v1/suppressions/key").await, 403).await;
}

async fn check_limits(backend: Backend) {
    let Some((app, _sink, _dir)) = app(backend).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    // 10,000 addresses are one batch (past the usual 64 KiB body limit).
    let many: Vec<String> = (0..10_000)
        .map(|i| format!("someone.{i}@example.com"))
        .collect();
    let (s, v) = json(
        app.post_json(
            &agent,
            "/api/v1/suppressions/check",
            &json!({ "emails": many }),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["suppressed"], json!([]));
    // One more is refused by name.
    let too_many: Vec<String> = (0..10_001).map(|i| format!("s.{i}@example.com")).collect();
    let v = problem(
        app.post_json(
            &agent,
            "/api/v1/suppressions/check",
            &json!({ "emails": too_many }),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(v["errors"][0]["field"], "emails", "{v}");
    // A body past the check's own limit (3 MiB): 413 once the limit is read. On a raw
    // connection, so the answer is read while the rest of the body is still being sent.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = app.base.trim_start_matches("http://").to_string();
    let conn = tokio::net::TcpStream::connect(&host).await.unwrap();
    let (mut rd, mut wr) = conn.into_split();
    let len = 4 * 1024 * 1024;
    let head = format!(
        "POST /api/v1/suppressions/check HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {agent}\r\n\
         Content-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    );
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(head.as_bytes()).await;
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..(len / chunk.len()) {
            if wr.write_all(&chunk).await.is_err() {
                break;
            }
        }
    });
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(WAIT, rd.read_to_end(&mut answer)).await;
    writer.abort();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    // Not JSON / missing field: problem+json too.
    let v = problem(
        app.post_json(
            &agent,
            "/api/v1/suppressions/check",
            &json!({ "addresses": [] }),
        )
        .await,
        422,
    )
    .await;
    assert!(v["errors"].to_string().contains("addresses"), "{v}");
}

async fn public_form_carries_the_scope(backend: Backend) {
    let Some((app, sink, _dir)) = app(backend).await else {
        return;
    };
    let form = app.client.get(app.url("/")).send().await.unwrap();
    let html = form.text().await.unwrap();
    assert!(html.contains("name=\"scope\""), "{html}");
    assert!(html.contains("name=\"processing\""), "{html}");
    let post = |fields: Vec<(&'static str, &'static str)>| {
        let app = &app;
        async move {
            let r = app
                .client
                .post(app.url("/requests"))
                .form(&fields)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    // "Another use" without naming it: the form again, saying what is missing.
    let (s, page) = post(vec![
        ("kind", "objection"),
        ("email", "ada@example.com"),
        ("scope", "processing"),
        ("processing", ""),
    ])
    .await;
    assert_eq!(s, 422, "{page}");
    assert!(page.contains("Name the processing"), "{page}");
    let (s, page) = post(vec![
        ("kind", "objection"),
        ("email", "ada@example.com"),
        ("scope", "processing"),
        ("processing", "Lead scoring"),
    ])
    .await;
    assert_eq!(s, 202, "{page}");
    // Confirmed, the request carries the processing named.
    let verify = sink.mail_to("ada@example.com", "/verify/").await;
    let resp = app
        .client
        .post(app.link(&verify, "/verify/"))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success() || resp.status().is_redirection());
    let agent = app.token(Role::Agent).await;
    let (_, v) = json(app.get(&agent, "/api/v1/requests?kind=objection").await).await;
    let reference = v["items"][0]["reference"].as_str().unwrap().to_string();
    let (_, v) = json(
        app.get(&agent, &format!("/api/v1/requests/{reference}"))
            .await,
    )
    .await;
    assert_eq!(v["scope"], "processing:Lead scoring", "{v}");
    assert_eq!(v["status"], "open", "only marketing starts by itself: {v}");
}

backend_fn_tests!(
    public_form_carries_the_scope,
    marketing_objection_is_absolute_then_suppressed_then_withdrawn,
    erasure_adds_and_the_entry_outlives_the_personal_data,
    check_limits,
);
