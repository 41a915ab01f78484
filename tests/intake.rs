//! Subject intake end to end: form and API, verification links through real SMTP, the
//! status page, replayed and expired links, resend caps, rate limits, malformed input,
//! encryption at rest and header safety. On SQLite and PostgreSQL.

mod common;

use std::time::Duration;

use chrono::TimeDelta;
use common::smtp::{self, SmtpSink};
use common::{Backend, Options, TestApp, json, problem, spawn_app_with, spawn_app_with_sink};
use rightsdesk::config::EmailTransport;
use rightsdesk::domain::staff::Role;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(15);

fn mail_to<'a>(mails: &'a [smtp::ReceivedMail], to: &str) -> Vec<&'a smtp::ReceivedMail> {
    mails
        .iter()
        .filter(|m| m.to.iter().any(|t| t == to))
        .collect()
}

async fn submit_api(app: &TestApp, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/intake"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn no_tune(_: &mut rightsdesk::config::Config) {}

async fn form_to_status_page_over_smtp(backend: Backend) {
    let Some((app, sink)) = spawn_app_with_sink(backend, |c| c.workflow.auto_start.clear()).await
    else {
        return;
    };
    // The form page itself: labelled fields, no scripts, our CSP.
    let form = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let csp = form.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    let html = form.text().await.unwrap();
    assert!(html.contains("<label for=\"email\">") && !html.contains("<script"));

    let resp = app
        .client
        .post(app.url("/requests"))
        .form(&[
            ("kind", "erasure"),
            ("email", "Ada.Lovelace@Example.com"),
            ("name", "Ada Lovelace"),
            ("details", "Customer since 2019"),
            ("corrections", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let page = resp.text().await.unwrap();
    let reference = page
        .split("class=\"ref\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();

    let mails = sink.wait_for(1, WAIT).await;
    assert_eq!(mails[0].to, ["ada.lovelace@example.com"]);
    let verify_url = app.link(&mails[0], "/verify/");

    // Mail scanners fetch links: GET shows a page and changes nothing, however often.
    for _ in 0..2 {
        let r = app.client.get(&verify_url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains(&reference));
    }
    assert_eq!(
        app.staff_view(&reference).await["status"],
        "awaiting_verification"
    );

    let r = app.client.post(&verify_url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v = app.staff_view(&reference).await;
    assert_eq!(v["status"], "open");
    assert_eq!(v["verified_at"], common::T0);
    assert_eq!(v["clock_started_on"], "2026-10-10");
    assert_eq!(
        v["due_date"], "2026-11-09",
        "30-day policy from the day of verification"
    );
    assert_eq!(v["subject"]["name"], "Ada Lovelace");

    let mails = sink.wait_for(3, WAIT).await;
    let ack = mail_to(&mails, "ada.lovelace@example.com");
    assert_eq!(ack.len(), 2, "verification and acknowledgement");
    let staff = mail_to(&mails, "privacy-team@example.com");
    assert_eq!(staff.len(), 1);
    let staff_text = smtp::decoded_text(&staff[0].data);
    assert!(staff_text.contains(&reference));
    let staff_all = format!(
        "{staff_text}{}{:?}",
        smtp::decoded_html(&staff[0].data),
        smtp::header(&staff[0].data, "subject")
    )
    .to_lowercase();
    assert!(
        !staff_all.contains("ada") && !staff_all.contains("lovelace"),
        "staff mail carries the reference, not the identity"
    );

    let status_url = app.link(ack[1], "/status/");
    let r = app.client.get(&status_url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    let status_page = r.text().await.unwrap();
    assert!(status_page.contains(&reference));
    assert!(status_page.contains("Received and confirmed"));
    assert!(status_page.contains("9 November 2026"));
    assert!(
        !status_page.to_lowercase().contains("lovelace@"),
        "never the email address"
    );
    app.stop().await;
}

async fn links_cannot_be_replayed_or_reused(backend: Backend) {
    let Some((app, sink)) = spawn_app_with_sink(backend, no_tune).await else {
        return;
    };
    let r = submit_api(&app, json!({"kind": "access", "email": "bob@example.com"})).await;
    let (s, first) = json(r).await;
    assert_eq!(s, 202);
    assert_eq!(first["status"], "awaiting_verification");
    let mails = sink.wait_for(1, WAIT).await;
    let url = app.link(&mails[0], "/verify/");
    let token = url.rsplit('/').next().unwrap().to_string();

    let (s, v) = app.verify_by_api(&token).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["reference"], first["reference"]);
    assert_eq!(v["due_date"], "2026-11-09");
    // Access starts at once (workflow.auto_start) and, with nothing to search, waits for review.
    assert_eq!(v["status"], "review");

    // Replay: API and page alike answer 410, with the same body as an unknown token.
    let used = problem(
        app.client
            .post(app.url("/api/v1/intake/verify"))
            .json(&json!({"token": token}))
            .send()
            .await
            .unwrap(),
        410,
    )
    .await;
    let unknown = problem(
        app.client
            .post(app.url("/api/v1/intake/verify"))
            .json(&json!({"token": "x".repeat(43)}))
            .send()
            .await
            .unwrap(),
        410,
    )
    .await;
    assert_eq!(used, unknown);
    let page = app.client.post(&url).send().await.unwrap();
    assert_eq!(page.status(), 410);
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), 410);

    // Another request's status link is no verification link.
    let mails = sink.wait_for(3, WAIT).await;
    let status_url = app.link(mail_to(&mails, "bob@example.com")[1], "/status/");
    let status_token = status_url.rsplit('/').next().unwrap();
    problem(
        app.client
            .post(app.url("/api/v1/intake/verify"))
            .json(&json!({"token": status_token}))
            .send()
            .await
            .unwrap(),
        410,
    )
    .await;

    // Expired: the link lives `verification_expires` (24 h).
    let r = submit_api(
        &app,
        json!({"kind": "erasure", "email": "carol@example.com"}),
    )
    .await;
    assert_eq!(r.status(), 202);
    let mails = sink.wait_for(4, WAIT).await;
    let carol = app.link(mail_to(&mails, "carol@example.com")[0], "/verify/");
    app.clock
        .advance(TimeDelta::hours(24) + TimeDelta::seconds(1));
    assert_eq!(app.client.post(&carol).send().await.unwrap().status(), 410);
    app.stop().await;
}

async fn resend_replaces_the_link_and_is_capped(backend: Backend) {
    let Some((app, sink)) =
        spawn_app_with_sink(backend, |c| c.intake.per_email_per_hour = 10).await
    else {
        return;
    };
    let mut references = Vec::new();
    for n in 1..=3 {
        let (s, v) = json(
            submit_api(
                &app,
                json!({"kind": "erasure", "email": "dave@example.com"}),
            )
            .await,
        )
        .await;
        assert_eq!(s, 202, "{v}");
        references.push(v["reference"].as_str().unwrap().to_string());
        sink.wait_for(n, WAIT).await;
    }
    // The waiting request's reference is never handed out again: each answer looks new.
    assert_ne!(references[1], references[0]);
    assert_ne!(references[2], references[1]);
    let mails = sink.messages();
    let links: Vec<String> = mails.iter().map(|m| app.link(m, "/verify/")).collect();
    // The fourth send within 24 hours sends nothing, and answers like a fresh request.
    let (s, v) = json(
        submit_api(
            &app,
            json!({"kind": "erasure", "email": "dave@example.com"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(v["status"], "awaiting_verification");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 3, "no fourth email");
    // Only the newest link works.
    assert_eq!(
        app.client.post(&links[0]).send().await.unwrap().status(),
        410
    );
    assert_eq!(
        app.client.post(&links[1]).send().await.unwrap().status(),
        410
    );
    assert_eq!(
        app.client.post(&links[2]).send().await.unwrap().status(),
        200
    );
    let token = app.token(Role::Auditor).await;
    let (_, list) = json(app.get(&token, "/api/v1/requests").await).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["reference"], references[0].as_str());
    app.stop().await;
}

async fn client_rate_limit_answers_429(backend: Backend) {
    let Some((app, _sink)) =
        spawn_app_with_sink(backend, |c| c.intake.per_client_per_hour = 2).await
    else {
        return;
    };
    for n in 0..2 {
        let r = submit_api(
            &app,
            json!({"kind": "access", "email": format!("p{n}@example.com")}),
        )
        .await;
        assert_eq!(r.status(), 202);
    }
    let r = submit_api(&app, json!({"kind": "access", "email": "p9@example.com"})).await;
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 3600);
    problem(r, 429).await;
    let page = app
        .client
        .post(app.url("/requests"))
        .form(&[("kind", "access"), ("email", "q@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 429);
    assert!(page.headers().contains_key("retry-after"));
    // An hour later the client may submit again.
    app.clock.advance(TimeDelta::minutes(61));
    assert_eq!(
        submit_api(&app, json!({"kind": "access", "email": "p9@example.com"}))
            .await
            .status(),
        202
    );
    app.stop().await;
}

async fn malformed_payloads_get_clear_answers(backend: Backend) {
    let Some((app, sink)) =
        spawn_app_with_sink(backend, |c| c.intake.per_client_per_hour = 1000).await
    else {
        return;
    };
    let long = "x".repeat(5001);
    let many: Vec<Value> = (0..51)
        .map(|i| json!({"field": format!("f{i}"), "value": "v"}))
        .collect();
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({}), 422, "kind"),
        (json!({"kind": "access"}), 422, "email"),
        (json!({"email": "a@example.com"}), 422, "kind"),
        (
            json!({"kind": "delete", "email": "a@example.com"}),
            422,
            "kind",
        ),
        (json!({"kind": 7, "email": "a@example.com"}), 422, "kind"),
        (json!({"kind": "access", "email": 42}), 422, "email"),
        (json!({"kind": "access", "email": "nope"}), 422, "email"),
        (json!({"kind": "access", "email": "a@"}), 422, "email"),
        (
            json!({"kind": "access", "email": "a@example.com\r\nBcc: x@example.net"}),
            422,
            "email",
        ),
        (
            json!({"kind": "access", "email": format!("{}@example.com", "a".repeat(250))}),
            422,
            "email",
        ),
        (
            json!({"kind": "access", "email": "a@example.com", "details": long}),
            422,
            "details",
        ),
        (
            json!({"kind": "access", "email": "a@example.com", "name": "n".repeat(201)}),
            422,
            "name",
        ),
        (
            json!({"kind": "access", "email": "a@example.com", "corrections": [{"field": "name", "value": "x"}]}),
            422,
            "corrections",
        ),
        (
            json!({"kind": "rectification", "email": "a@example.com", "corrections": many}),
            422,
            "corrections",
        ),
        (
            json!({"kind": "rectification", "email": "a@example.com", "corrections": [{"field": "", "value": "x"}]}),
            422,
            "corrections[0].field",
        ),
        (
            json!({"kind": "rectification", "email": "a@example.com", "corrections": [{"field": "f".repeat(101), "value": "x"}]}),
            422,
            "corrections[0].field",
        ),
        (
            json!({"kind": "rectification", "email": "a@example.com", "corrections": [{"field": "name", "value": "v".repeat(1001)}]}),
            422,
            "corrections[0].value",
        ),
        (
            json!({"kind": "rectification", "email": "a@example.com", "corrections": "name=x"}),
            422,
            "corrections",
        ),
        (
            json!({"kind": "rectification", "email": "a@example.com", "corrections": []}),
            422,
            "corrections",
        ),
        (
            json!({"kind": "access", "email": "a@example.com", "admin": true}),
            422,
            "admin",
        ),
        (
            json!({"kind": "access", "email": "a@example.com", "details": ["x"]}),
            422,
            "details",
        ),
        (json!([1, 2, 3]), 422, "body"),
        (json!("access"), 422, "body"),
    ];
    assert!(cases.len() >= 23);
    for (body, status, field) in &cases {
        let p = problem(submit_api(&app, body.clone()).await, *status).await;
        assert_eq!(p["errors"][0]["field"], *field, "body {body}: {p}");
    }
    let raw = |ct: &'static str, body: Vec<u8>| {
        app.client
            .post(app.url("/api/v1/intake"))
            .header("content-type", ct)
            .body(body)
            .send()
    };
    problem(
        raw("application/json", b"{\"kind\":".to_vec())
            .await
            .unwrap(),
        400,
    )
    .await;
    problem(
        raw("application/json", vec![0xff, 0xfe, 0x00])
            .await
            .unwrap(),
        400,
    )
    .await;
    problem(
        raw("text/plain", b"kind=access".to_vec()).await.unwrap(),
        415,
    )
    .await;
    let mut huge = b"{\"kind\":\"access\",\"email\":\"a@example.com\",\"details\":\"".to_vec();
    huge.extend(vec![b'x'; 70 * 1024]);
    huge.extend(b"\"}");
    // Answered before the body is read, and the connection dropped: its own connection.
    let oversized = reqwest::Client::new()
        .post(app.url("/api/v1/intake"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    problem(oversized, 413).await;

    // The form shows the same problems beside the fields and keeps what was typed.
    let r = app
        .client
        .post(app.url("/requests"))
        .form(&[
            ("kind", "access"),
            ("email", "not-an-email"),
            ("name", "Zoë <b>"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"email-error\""), "{html}");
    assert!(html.contains("value=\"not-an-email\""));
    assert!(html.contains("Zoë &lt;b&gt;"), "input kept and escaped");

    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(sink.messages().is_empty(), "nothing refused was sent");
    let token = app.token(Role::Auditor).await;
    let (_, list) = json(app.get(&token, "/api/v1/requests").await).await;
    assert_eq!(list["total"], 0, "nothing refused was stored");
    app.stop().await;
}

async fn identity_is_encrypted_at_rest_and_headers_are_safe(backend: Backend) {
    let Some((app, sink)) = spawn_app_with_sink(backend, no_tune).await else {
        return;
    };
    let r = submit_api(
        &app,
        json!({"kind": "rectification", "email": "Zelda.Quokka@Example.net", "name": "Zelda\r\nBcc: evil@example.net",
               "details": "Unmistakable-Detail-Text", "corrections": [{"field": "surname", "value": "Quokka-Smith"}]}),
    )
    .await;
    let (s, v) = json(r).await;
    assert_eq!(s, 202, "{v}");
    let mails = sink.wait_for(1, WAIT).await;
    assert_eq!(
        mails[0].to,
        ["zelda.quokka@example.net"],
        "a name cannot add recipients"
    );
    assert!(
        !smtp::header_names(&mails[0].data)
            .iter()
            .any(|h| h.eq_ignore_ascii_case("bcc"))
    );

    // Read everything the database holds, as someone with a copy of it would.
    let dump = match app.backend {
        Backend::Sqlite => {
            let db = app.database_url.trim_start_matches("sqlite://");
            let mut bytes = std::fs::read(db).unwrap();
            bytes.extend(std::fs::read(format!("{db}-wal")).unwrap_or_default());
            String::from_utf8_lossy(&bytes).to_lowercase()
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            let mut all = String::new();
            for table in [
                "requests",
                "request_events",
                "audit_log",
                "audit_pending",
                "outbox",
                "jobs",
                "request_tokens",
                "verification_sends",
                "rate_limits",
            ] {
                let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT CAST(t.* AS TEXT) FROM {table} t"
                )))
                .fetch_all(&pool)
                .await
                .unwrap();
                for (r,) in rows {
                    all.push_str(&r.to_lowercase());
                }
            }
            all
        }
    };
    for secret in [
        "zelda.quokka",
        "zelda",
        "unmistakable-detail-text",
        "quokka-smith",
    ] {
        assert!(!dump.contains(secret), "{secret} stored in plain text");
    }
    app.stop().await;
}

async fn file_outbox_is_the_embedded_default(backend: Backend) {
    let opts = Options::default();
    let Some(app) = spawn_app_with(backend, opts).await else {
        return;
    };
    assert_eq!(app.state.config.email.transport, EmailTransport::File);
    let r = submit_api(
        &app,
        json!({"kind": "objection", "email": "erin@example.com"}),
    )
    .await;
    assert_eq!(r.status(), 202);
    let outbox = app.state.config.data_dir.join("outbox");
    let mut files = Vec::new();
    for _ in 0..100 {
        // Messages are written under a temporary name and renamed into place.
        files = std::fs::read_dir(&outbox)
            .map(|d| {
                d.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        if !files.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(files.len(), 1);
    assert!(files[0].extension().unwrap() == "eml");
    let eml = std::fs::read_to_string(&files[0]).unwrap();
    let text = smtp::decoded_text(&eml);
    let start = text.find("/verify/").unwrap();
    let token: String = text[start + 8..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let (s, v) = app.verify_by_api(&token).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "open");
    app.stop().await;
}

async fn staff_actions_email_the_subject(backend: Backend) {
    let Some((app, sink)) = spawn_app_with_sink(backend, |c| {
        c.processing.supervisory_authority = "the Autoriteit Persoonsgegevens (Netherlands)".into()
    })
    .await
    else {
        return;
    };
    let r = submit_api(&app, json!({"kind": "erasure", "email": "fay@example.com"})).await;
    let (_, v) = json(r).await;
    let reference = v["reference"].as_str().unwrap().to_string();
    let mails = sink.wait_for(1, WAIT).await;
    assert_eq!(
        app.client
            .post(app.link(&mails[0], "/verify/"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    sink.wait_for(3, WAIT).await;
    let agent = app.token(Role::Agent).await;
    let path = |a: &str| format!("/api/v1/requests/{reference}/{a}");

    let (s, _) = json(
        app.post_json(
            &agent,
            &path("extend"),
            &json!({"reason": "Several product databases hold your data"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    let mails = sink.wait_for(4, WAIT).await;
    let text = smtp::decoded_text(&mails[3].data);
    assert_eq!(mails[3].to, ["fay@example.com"]);
    assert!(
        text.contains("Several product databases hold your data"),
        "{text}"
    );
    assert!(
        text.contains("9 January 2027"),
        "new due date stated: {text}"
    );
    let status_url = app.link(&mails[3], "/status/");
    let page = |url: String| {
        let client = app.client.clone();
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    assert!(
        page(status_url.clone()).await.contains("We will answer by"),
        "an open request states its due date"
    );

    let (s, _) = json(
        app.post_json(
            &agent,
            &path("hold"),
            &json!({"reason": "Waiting for your account number"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    let mails = sink.wait_for(5, WAIT).await;
    assert!(smtp::decoded_text(&mails[4].data).contains("Waiting for your account number"));

    let (s, _) = json(
        app.post_json(
            &agent,
            &path("deny"),
            &json!({"reason": "no_match", "note": "No account uses this address."}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    let mails = sink.wait_for(6, WAIT).await;
    let text = smtp::decoded_text(&mails[5].data);
    assert!(text.contains("we hold no personal data matching"), "{text}");
    assert!(text.contains("No account uses this address."), "{text}");
    assert!(
        text.contains("supervisory authority"),
        "right to complain: {text}"
    );
    assert!(
        text.contains("the Autoriteit Persoonsgegevens (Netherlands)"),
        "the configured authority is named: {text}"
    );
    assert!(
        !text.contains("where you live or work"),
        "not the generic authority: {text}"
    );
    assert!(text.contains("judicial remedy"), "{text}");
    let closed = page(status_url).await;
    assert!(closed.contains("Refused"), "{closed}");
    assert!(
        !closed.contains("We will answer by"),
        "a refused request is answered: {closed}"
    );

    let v = app.staff_view(&reference).await;
    let templates: Vec<&str> = v["emails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["template"].as_str().unwrap())
        .collect();
    assert_eq!(
        templates,
        [
            "verify",
            "received",
            "staff_new_request",
            "extended",
            "on_hold",
            "denied"
        ]
    );
    assert!(
        v["emails"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] == "sent")
    );
    assert!(
        !v["emails"].to_string().contains("fay@"),
        "no addresses in the email list"
    );
    app.stop().await;
}

async fn permanent_delivery_failure_is_visible_on_the_request(backend: Backend) {
    let Some((app, sink)) = spawn_app_with_sink(backend, no_tune).await else {
        return;
    };
    sink.reject_next(550);
    let (s, v) =
        json(submit_api(&app, json!({"kind": "access", "email": "gone@example.com"})).await).await;
    assert_eq!(s, 202);
    let reference = v["reference"].as_str().unwrap().to_string();
    let mut email = Value::Null;
    for _ in 0..100 {
        email = app.staff_view(&reference).await["emails"][0].clone();
        if email["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(email["status"], "failed", "{email}");
    assert!(
        email["last_error"].as_str().unwrap().contains("550"),
        "{email}"
    );
    assert!(
        !email["last_error"].as_str().unwrap().contains("gone@"),
        "the address is never in errors"
    );
    // The job is marked dead once the send has returned: wait for the worker.
    app.settle().await;
    let token = app.token(Role::Auditor).await;
    let (_, dead) = json(app.get(&token, "/api/v1/jobs?status=dead").await).await;
    assert_eq!(dead["total"], 1);
    app.stop().await;
}

async fn forwarded_for_is_believed_only_from_trusted_proxies(backend: Backend) {
    let Some((app, _sink)) =
        spawn_app_with_sink(backend, |c| c.intake.per_client_per_hour = 1).await
    else {
        return;
    };
    let send = |ip: &'static str, n: u32| {
        app.client
            .post(app.url("/api/v1/intake"))
            .header("x-forwarded-for", ip)
            .json(&json!({"kind": "access", "email": format!("h{n}@example.com")}))
            .send()
    };
    assert_eq!(send("203.0.113.1", 1).await.unwrap().status(), 202);
    // Not a trusted proxy: the header is ignored and both count against 127.0.0.1.
    assert_eq!(send("203.0.113.2", 2).await.unwrap().status(), 429);
    app.stop().await;

    let Some((app, _sink)) = spawn_app_with_sink(backend, |c| {
        c.intake.per_client_per_hour = 1;
        c.intake.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await
    else {
        return;
    };
    let send = |ip: &'static str, n: u32| {
        app.client
            .post(app.url("/api/v1/intake"))
            .header("x-forwarded-for", ip)
            .json(&json!({"kind": "access", "email": format!("i{n}@example.com")}))
            .send()
    };
    assert_eq!(send("203.0.113.1", 1).await.unwrap().status(), 202);
    assert_eq!(send("203.0.113.2", 2).await.unwrap().status(), 202);
    assert_eq!(send("203.0.113.2", 3).await.unwrap().status(), 429);
    app.stop().await;
}

backend_fn_tests!(
    form_to_status_page_over_smtp,
    links_cannot_be_replayed_or_reused,
    resend_replaces_the_link_and_is_capped,
    client_rate_limit_answers_429,
    malformed_payloads_get_clear_answers,
    identity_is_encrypted_at_rest_and_headers_are_safe,
    file_outbox_is_the_embedded_default,
    staff_actions_email_the_subject,
    permanent_delivery_failure_is_visible_on_the_request,
    forwarded_for_is_believed_only_from_trusted_proxies,
    residence_chooses_the_regime,
);

/// The token of the verification link mailed to `to` (waiting for that mail to arrive).
async fn token_for(app: &TestApp, sink: &SmtpSink, to: &str) -> String {
    let mut seen = sink.messages().len();
    loop {
        let mails = sink.messages();
        if let Some(m) = mail_to(&mails, to)
            .into_iter()
            .find(|m| smtp::decoded_text(&m.data).contains("/verify/"))
        {
            let url = app.link(m, "/verify/");
            return url.rsplit('/').next().unwrap().to_string();
        }
        seen += 1;
        sink.wait_for(seen, WAIT).await;
    }
}

async fn verify_token(app: &TestApp, token: &str) -> Value {
    let (s, v) = app.verify_by_api(token).await;
    assert_eq!(s, 200, "{v}");
    v
}

/// The subject's residence picks the regime: a Virginia resident's access request is due
/// in 45 days, a configured `[deadlines.jurisdictions]` entry wins, no residence means
/// `deadlines.regime`; a bad code is a problem on the API and a readable error on the form.
async fn residence_chooses_the_regime(backend: Backend) {
    let Some((app, sink)) = spawn_app_with_sink(backend, |c| {
        c.deadlines.policy_days = 0;
        c.deadlines
            .jurisdictions
            .insert("US-NY".into(), "days:20".parse().unwrap());
    })
    .await
    else {
        return;
    };
    // Received (and verified) 2026-10-10.
    let cases = [
        (
            "va@example.com",
            Some("us-va"),
            "vcdpa",
            Some("US-VA"),
            "2026-11-24",
        ),
        (
            "ny@example.com",
            Some("US-NY"),
            "days:20",
            Some("US-NY"),
            "2026-10-30",
        ),
        (
            "de@example.com",
            Some("DE"),
            "gdpr",
            Some("DE"),
            "2026-11-10",
        ),
        (
            "ia@example.com",
            Some("US-IA"),
            "icdpa",
            Some("US-IA"),
            "2027-01-08",
        ),
        ("none@example.com", None, "gdpr", None, "2026-11-10"),
    ];
    for (email, residence, regime, stored, due) in cases {
        let mut body = json!({"kind": "access", "email": email});
        if let Some(r) = residence {
            body["residence"] = r.into();
        }
        let (s, accepted) = json(submit_api(&app, body).await).await;
        assert_eq!(s, 202, "{accepted}");
        let token = token_for(&app, &sink, email).await;
        let v = verify_token(&app, &token).await;
        assert_eq!(v["due_date"], due, "{email}: {v}");
        let view = app
            .staff_view(accepted["reference"].as_str().unwrap())
            .await;
        assert_eq!(view["regime"], regime, "{view}");
        assert_eq!(view["residence"], json!(stored), "{view}");
        assert_eq!(view["due_date"], due);
    }

    // A code that is not ISO 3166: problem+json naming the field.
    let p = problem(
        submit_api(
            &app,
            json!({"kind": "access", "email": "x@example.com", "residence": "Virginia"}),
        )
        .await,
        422,
    )
    .await;
    assert!(p.to_string().contains("residence"), "{p}");

    // The form: a bad code is shown next to the field, a good one is taken.
    let form = |residence: &'static str, email: &'static str| {
        app.client.post(app.url("/requests")).form(&[
            ("kind", "access"),
            ("email", email),
            ("name", ""),
            ("details", ""),
            ("corrections", ""),
            ("residence", residence),
        ])
    };
    let resp = form("U-S-VA", "form@example.com").send().await.unwrap();
    assert_eq!(resp.status(), 422);
    let page = resp.text().await.unwrap();
    assert!(page.contains("id=\"residence-error\""), "{page}");
    assert!(page.contains("US-VA"), "{page}");
    let resp = form("BR", "form@example.com").send().await.unwrap();
    assert_eq!(resp.status(), 202);
    let page = resp.text().await.unwrap();
    let reference = page
        .split("class=\"ref\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    let view = app.staff_view(&reference).await;
    assert_eq!(view["regime"], "lgpd", "{view}");
    assert_eq!(view["residence"], "BR", "{view}");
}
