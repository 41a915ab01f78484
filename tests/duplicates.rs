//! Duplicate requests (issue 20 item 4), through the HTTP API and real emails: two
//! access requests for one address — the first is processed, the second is linked to it
//! and its subject is told the first's reference; it is not started; merging closes it as
//! `duplicate`. Intake answers the same whether or not the address has a request open.
//! Staff-entered repeats are linked too, and can be unlinked.

mod common;

use std::time::Duration;

use common::product::{product, wait_for_status};
use common::smtp::{self, SmtpSink};
use common::{Backend, Options, TestApp, json, problem, spawn_app_with};
use rightsdesk::config::EmailTransport;
use rightsdesk::domain::staff::Role;
use rightsdesk::secret::Secret;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(15);

async fn app(backend: Backend) -> Option<(TestApp, SmtpSink, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let (_pool, datamap) = product(dir.path()).await;
    let sink = smtp::start().await;
    let addr = sink.addr;
    let opts = Options {
        configure: Box::new(move |c| {
            c.datamap_dir = datamap;
            c.email.transport = EmailTransport::Smtp;
            c.email.smtp_url = Secret::new(format!("smtp://{addr}"));
            c.email.privacy_team = "team@example.com".into();
            c.schedules.enabled = false;
            // Staff start requests here, so the first is still open when the second
            // arrives; access requests still complete by themselves.
            c.workflow.auto_start = Vec::new();
        }),
        handlers: Vec::new(),
    };
    let app = spawn_app_with(backend, opts).await?;
    Some((app, sink, dir))
}

/// Mails to `to` whose text contains `needle`, once at least `n` have arrived.
async fn mails_to(sink: &SmtpSink, to: &str, needle: &str, n: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let found: Vec<String> = sink
            .messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == to))
            .map(|m| smtp::decoded_text(&m.data))
            .filter(|t| t.contains(needle))
            .collect();
        if found.len() >= n {
            return found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "fewer than {n} mails to {to} containing {needle:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn token_in(text: &str, prefix: &str) -> String {
    let start = text.find(prefix).expect("link") + prefix.len();
    text[start..]
        .split(|c: char| c.is_whitespace() || c == '>' || c == '"')
        .next()
        .unwrap()
        .to_string()
}

/// Submit through the intake API; returns the answer's status and body.
async fn submit(app: &TestApp, email: &str) -> (u16, Value) {
    json(
        app.client
            .post(app.url("/api/v1/intake"))
            .json(&json!({"kind": "access", "email": email}))
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn verify(app: &TestApp, sink: &SmtpSink, email: &str, nth: usize) -> String {
    let mails = mails_to(sink, email, "/verify/", nth).await;
    let token = token_in(&mails[nth - 1], "/verify/");
    let (s, v) = app.verify_by_api(&token).await;
    assert_eq!(s, 200, "{v}");
    v["reference"].as_str().unwrap().to_string()
}

async fn view(app: &TestApp, token: &str, reference: &str) -> Value {
    let (s, v) = json(
        app.get(token, &format!("/api/v1/requests/{reference}"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v
}

async fn second_access_request_is_linked_told_and_merged(backend: Backend) {
    let Some((app, sink, _dir)) = app(backend).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;

    let (s1, answer1) = submit(&app, "ada@example.com").await;
    let first = verify(&app, &sink, "ada@example.com", 1).await;
    // The second submission is answered exactly like the first: nothing tells the
    // caller that the address has a request open.
    let (s2, answer2) = submit(&app, "Ada@Example.com").await;
    assert_eq!((s1, s2), (202, 202));
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&answer1), keys(&answer2));
    assert_eq!(answer1["status"], answer2["status"]);
    assert_ne!(answer2["reference"], first);
    let second = verify(&app, &sink, "ada@example.com", 2).await;
    assert_ne!(first, second);

    // The subject of the second is told the first's reference, by email.
    let told = mails_to(&sink, "ada@example.com", "nothing is done twice", 1).await;
    assert!(told[0].contains(&first), "{}", told[0]);
    assert!(told[0].contains(&second), "{}", told[0]);

    // Staff see the link on both.
    let v = view(&app, &agent, &second).await;
    assert_eq!(v["duplicate_of"], first, "{v}");
    assert_eq!(v["status"], "open");
    let v = view(&app, &agent, &first).await;
    assert_eq!(v["duplicates"], json!([second]), "{v}");
    assert_eq!(v["duplicate_of"], Value::Null);

    // The second is not processed: starting it is refused while linked.
    let p = problem(
        app.post_empty(&agent, &format!("/api/v1/requests/{second}/start"))
            .await,
        409,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains(&first), "{p}");

    // The first is processed once.
    let (s, v) = json(
        app.post_empty(&agent, &format!("/api/v1/requests/{first}/start"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let done = wait_for_status(&app, &agent, &first, "completed").await;
    assert_eq!(done["tasks"].as_array().unwrap().len(), 1, "{done}");
    assert_eq!(view(&app, &agent, &second).await["tasks"], json!([]));

    // Merge: the second closes as denied, reason duplicate; the subject is told.
    let (s, v) = json(
        app.post_empty(&agent, &format!("/api/v1/requests/{second}/merge"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "denied");
    assert_eq!(v["deny_reason"], "duplicate");
    assert_eq!(v["duplicate_of"], first);
    let refused = mails_to(&sink, "ada@example.com", "decided not to act", 1).await;
    assert!(refused[0].contains(&first), "{}", refused[0]);
    problem(
        app.post_empty(&agent, &format!("/api/v1/requests/{second}/merge"))
            .await,
        409,
    )
    .await;
    // Merging a request that is not linked is refused.
    problem(
        app.post_empty(&agent, &format!("/api/v1/requests/{first}/merge"))
            .await,
        409,
    )
    .await;
}

async fn staff_entered_repeat_is_linked_and_can_be_unlinked(backend: Backend) {
    let Some((app, _sink, _dir)) = app(backend).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let create = |email: &'static str, kind: &'static str| {
        let app = &app;
        let agent = agent.clone();
        async move {
            let (s, v) = json(
                app.post_json(
                    &agent,
                    "/api/v1/requests",
                    &json!({"kind": kind, "email": email, "verification_note": "by phone"}),
                )
                .await,
            )
            .await;
            assert_eq!(s, 201, "{v}");
            v
        }
    };
    let first = create("bob@example.com", "erasure").await;
    assert_eq!(first["duplicate_of"], Value::Null);
    let first = first["reference"].as_str().unwrap().to_string();
    // The same person (a case variant of the address), same kind: linked.
    let second = create("BOB@example.com", "erasure").await;
    assert_eq!(second["duplicate_of"], first, "{second}");
    let second = second["reference"].as_str().unwrap().to_string();
    // Another kind, or another person: not linked.
    assert_eq!(
        create("bob@example.com", "access").await["duplicate_of"],
        Value::Null
    );
    assert_eq!(
        create("cy@example.com", "erasure").await["duplicate_of"],
        Value::Null
    );

    // Unlinked, it is worked on its own.
    let (s, v) = json(
        app.post_empty(&agent, &format!("/api/v1/requests/{second}/unlink"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["duplicate_of"], Value::Null);
    assert!(v["events"].to_string().contains("no longer linked"), "{v}");
    assert_eq!(view(&app, &agent, &first).await["duplicates"], json!([]));
    let (s, v) = json(
        app.post_empty(&agent, &format!("/api/v1/requests/{second}/start"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    problem(
        app.post_empty(&agent, &format!("/api/v1/requests/{second}/unlink"))
            .await,
        409,
    )
    .await;
    // An auditor may not unlink or merge.
    let auditor = app.token(Role::Auditor).await;
    problem(
        app.post_empty(&auditor, &format!("/api/v1/requests/{second}/merge"))
            .await,
        403,
    )
    .await;
}

backend_fn_tests!(
    second_access_request_is_linked_told_and_merged,
    staff_entered_repeat_is_linked_and_can_be_unlinked,
);
