//! Appeals of refusals and staff changes of a request's regime (issue 21), through the
//! API, the subject's status page and real SMTP: a Virginia resident's refusal is appealed
//! from the status page and decided by another staff member; a GDPR refusal offers no
//! appeal but names the supervisory authority; a reversed appeal reopens the refusal;
//! staff move a request to another regime with a reason. On SQLite and PostgreSQL.

mod common;

use common::smtp::SmtpSink;
use common::{Backend, TestApp, json, problem, spawn_app_with_sink};
use rightsdesk::domain::staff::Role;
use serde_json::{Value, json};

async fn app_with_sink(
    backend: Backend,
    tune: fn(&mut rightsdesk::config::Config),
) -> Option<(TestApp, SmtpSink)> {
    spawn_app_with_sink(backend, move |c| {
        c.workflow.auto_start.clear();
        c.deadlines.policy_days = 0;
        c.deadlines
            .jurisdictions
            .insert("US-VA".into(), "vcdpa".parse().expect("regime"));
        c.processing.supervisory_authority =
            "Autoriteit Persoonsgegevens (autoriteitpersoonsgegevens.nl)".into();
        tune(c);
    })
    .await
}

fn no_tune(_: &mut rightsdesk::config::Config) {}

/// A subject's access request through the intake API, verified from the emailed link.
/// Returns the reference and the verify answer.
async fn verified_request(
    app: &TestApp,
    sink: &SmtpSink,
    email: &str,
    residence: &str,
) -> (String, Value) {
    let (s, accepted) = json(
        app.client
            .post(app.url("/api/v1/intake"))
            .json(&json!({"kind": "access", "email": email, "residence": residence}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 202, "{accepted}");
    let text = sink.newest_text_to(email, "/verify/").await;
    let token = app
        .link_in(&text, "/verify/")
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let (s, v) = app.verify_by_api(&token).await;
    assert_eq!(s, 200, "{v}");
    (accepted["reference"].as_str().unwrap().to_string(), v)
}

async fn deny(app: &TestApp, token: &str, reference: &str) -> Value {
    let (s, v) = json(
        app.post_json(
            token,
            &format!("/api/v1/requests/{reference}/deny"),
            &json!({"reason": "no_match", "note": "We found no account for this address."}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "denied");
    v
}

/// The subject appeals from the status page linked in the refusal email; returns the
/// appeal's reference.
/// Post the appeal form of `status_url` with `reasons`; the answer page's text (always a
/// readable 200 page).
async fn post_appeal(app: &TestApp, status_url: &str, reasons: &str) -> String {
    let token = status_url.rsplit('/').next().unwrap();
    let resp = app
        .client
        .post(app.url(&format!("/status/{token}/appeal")))
        .form(&[("reasons", reasons)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

async fn appeal_from_status_page(app: &TestApp, status_url: &str) -> String {
    let page = app.page(status_url).await;
    assert!(page.contains("Appeal this decision"), "{page}");
    let token = status_url.rsplit('/').next().unwrap();
    assert!(
        page.contains(&format!("action=\"/status/{token}/appeal\"")),
        "{page}"
    );
    assert!(!page.contains("<script"), "{page}");
    let page = post_appeal(
        app,
        status_url,
        "I have had an account since 2019; please search again.",
    )
    .await;
    assert!(page.contains("Appeal received"), "{page}");
    page.split("the reference ")
        .nth(1)
        .unwrap_or_else(|| panic!("no reference in {page}"))
        .split('.')
        .next()
        .unwrap()
        .to_string()
}

async fn decide(app: &TestApp, token: &str, appeal: &str, body: Value) -> reqwest::Response {
    app.post_json(token, &format!("/api/v1/requests/{appeal}/decide"), &body)
        .await
}

async fn audit_actions(app: &TestApp, reference: &str) -> Vec<String> {
    app.audit_of(reference).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

/// A Virginia resident's access request is due in 45 days; refused, the email says how to
/// appeal; appealed from the status page, the appeal is due in 60 days; the person who
/// refused (and an agent without the permission) cannot decide it, another admin upholds
/// it and the decision email names the Attorney General of Virginia.
async fn virginia_refusal_is_appealed_and_decided_by_someone_else(backend: Backend) {
    let Some((app, sink)) = app_with_sink(backend, no_tune).await else {
        return;
    };
    let email = "virginia@example.com";
    // Received and verified 2026-10-10.
    let (original, verified) = verified_request(&app, &sink, email, "US-VA").await;
    assert_eq!(verified["due_date"], "2026-11-24", "{verified}");
    let view = app.staff_view(&original).await;
    assert_eq!(view["regime"], "vcdpa");

    let denier = app.token(Role::Admin).await;
    let other_admin = app.token(Role::Admin).await;
    let agent = app.token(Role::Agent).await;
    deny(&app, &denier, &original).await;

    // The refusal tells how to appeal, until when and how long the answer may take.
    let refusal = sink
        .newest_text_to(email, "We have decided not to act")
        .await;
    assert!(
        refusal.contains("You may appeal this decision until 9 December 2026"),
        "{refusal}"
    );
    assert!(refusal.contains("60 days"), "{refusal}");
    assert!(
        refusal.contains("Office of the Attorney General of Virginia"),
        "{refusal}"
    );
    let status_url = app.link_in(&refusal, "/status/");

    let appeal = appeal_from_status_page(&app, &status_url).await;
    assert_ne!(appeal, original);
    let received = sink.newest_text_to(email, &appeal).await;
    let staff = sink
        .newest_text_to("privacy-team@example.com", &appeal)
        .await;
    assert!(staff.contains("appeal"), "{staff}");
    assert!(!staff.contains(email), "{staff}");
    assert!(received.contains("appeal"), "{received}");
    assert!(received.contains("9 December 2026"), "{received}");

    // The appeal is a request of its own, linked both ways, due 60 days after receipt.
    let a = app.staff_view(&appeal).await;
    assert_eq!(a["kind"], "appeal", "{a}");
    assert_eq!(a["status"], "open");
    assert_eq!(a["regime"], "vcdpa");
    assert_eq!(a["due_date"], "2026-12-09");
    assert_eq!(a["appeal"]["original"], original.as_str(), "{a}");
    assert!(
        a["appeal"]["refused_by"]
            .as_str()
            .is_some_and(|by| by.starts_with("token:admin-")),
        "{a}"
    );
    assert_eq!(
        a["details"],
        "I have had an account since 2019; please search again."
    );
    let o = app.staff_view(&original).await;
    assert_eq!(o["appeals"][0]["reference"], appeal.as_str(), "{o}");
    assert_eq!(o["status"], "denied");

    // One appeal per refusal: the form is gone and a second post is refused.
    let page = app.page(&status_url).await;
    assert!(!page.contains("id=\"appeal\""), "{page}");
    assert!(page.contains("You appealed our decision"), "{page}");
    let text = post_appeal(&app, &status_url, "again").await;
    assert!(text.contains("cannot be appealed"), "{text}");

    // Started or refused like an ordinary request: no.
    problem(
        app.post_empty(&other_admin, &format!("/api/v1/requests/{appeal}/start"))
            .await,
        409,
    )
    .await;
    // Who may decide: not an agent token, not the person who refused.
    let upheld = json!({"outcome": "upheld", "reason": "The address matches no account; the account you mean was closed in 2021."});
    problem(decide(&app, &agent, &appeal, upheld.clone()).await, 403).await;
    let p = problem(decide(&app, &denier, &appeal, upheld.clone()).await, 403).await;
    assert!(p["detail"].as_str().unwrap().contains("refusal"), "{p}");
    // Reasons are required.
    let p = problem(
        decide(&app, &other_admin, &appeal, json!({"outcome": "upheld"})).await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "reason", "{p}");
    // Deciding something that is not an appeal: 409.
    problem(
        decide(&app, &other_admin, &original, upheld.clone()).await,
        409,
    )
    .await;

    let (s, decided) = json(decide(&app, &other_admin, &appeal, upheld.clone()).await).await;
    assert_eq!(s, 200, "{decided}");
    assert_eq!(decided["status"], "completed");
    assert_eq!(decided["appeal"]["outcome"], "upheld");
    assert!(
        decided["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "decide")
    );
    problem(decide(&app, &other_admin, &appeal, upheld).await, 409).await;
    assert_eq!(app.staff_view(&original).await["status"], "denied");

    let decision = sink
        .newest_text_to(email, "Our decision: the refusal stands")
        .await;
    assert!(
        decision.contains("Office of the Attorney General of Virginia"),
        "{decision}"
    );
    assert!(decision.contains("oag.state.va.us"), "{decision}");
    assert!(decision.contains("closed in 2021"), "{decision}");
    assert!(decision.contains(&original), "{decision}");

    let actions = audit_actions(&app, &appeal).await;
    assert!(actions.contains(&"appeal.file".to_string()), "{actions:?}");
    assert!(
        actions.contains(&"appeal.decide".to_string()),
        "{actions:?}"
    );

    // The decision's reasons are about the subject's case: they go with the personal data
    // when `closed_request_pii` wipes the appeal; the outcome stays.
    app.clock.advance(chrono::TimeDelta::days(800));
    let report = rightsdesk::services::retention::own::purge(&app.state, "test")
        .await
        .unwrap();
    assert!(report.requests_wiped >= 2, "{report:?}");
    let a = app.staff_view(&appeal).await;
    assert_eq!(a["appeal"]["outcome"], "upheld", "{a}");
    assert!(!a.to_string().contains("closed in 2021"), "{a}");
    app.stop().await;
}

/// A reversed appeal reopens the refused request: open again, on its timeline and in the
/// audit log, and the subject is told.
async fn reversed_appeal_reopens_the_refusal(backend: Backend) {
    let Some((app, sink)) = app_with_sink(backend, no_tune).await else {
        return;
    };
    let email = "reversed@example.com";
    let (original, _) = verified_request(&app, &sink, email, "US-VA").await;
    let denier = app.token(Role::Admin).await;
    let decider = app.token(Role::Admin).await;
    deny(&app, &denier, &original).await;
    let refusal = sink
        .newest_text_to(email, "We have decided not to act")
        .await;
    let appeal = appeal_from_status_page(&app, &app.link_in(&refusal, "/status/")).await;

    let (s, decided) = json(
        decide(
            &app,
            &decider,
            &appeal,
            json!({"outcome": "reversed", "reason": "We found your account under a second address."}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{decided}");
    assert_eq!(decided["appeal"]["outcome"], "reversed");

    let o = app.staff_view(&original).await;
    assert_eq!(o["status"], "open", "{o}");
    assert_eq!(o["deny_reason"], Value::Null);
    // Due by the later of its own due date and the appeal's.
    assert_eq!(o["due_date"], "2026-12-09");
    let reopen = o["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "reopen")
        .unwrap_or_else(|| panic!("no reopen event: {o}"));
    assert_eq!(reopen["from_status"], "denied");
    assert_eq!(reopen["to_status"], "open");
    assert!(reopen["note"].as_str().unwrap().contains(&appeal));
    assert!(
        audit_actions(&app, &original)
            .await
            .contains(&"request.reopen".to_string())
    );

    let decision = sink
        .newest_text_to(email, "your appeal is successful")
        .await;
    assert!(decision.contains("reopened your request"), "{decision}");
    assert!(decision.contains("9 December 2026"), "{decision}");
    assert!(decision.contains("second address"), "{decision}");
    // Its link leads to the reopened request.
    let page = app.page(app.link_in(&decision, "/status/")).await;
    assert!(page.contains(&original), "{page}");
    assert!(page.contains("Your appeal was successful"), "{page}");

    // The reopened request is worked like any other.
    let (s, started) = json(
        app.post_empty(&decider, &format!("/api/v1/requests/{original}/start"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{started}");
    app.stop().await;
}

/// Under the GDPR a refusal offers no appeal; the email names the configured supervisory
/// authority and the right to a judicial remedy.
async fn gdpr_refusal_names_the_authority_and_offers_no_appeal(backend: Backend) {
    let Some((app, sink)) = app_with_sink(backend, no_tune).await else {
        return;
    };
    let email = "berlin@example.com";
    let (original, verified) = verified_request(&app, &sink, email, "DE").await;
    assert_eq!(verified["due_date"], "2026-11-10", "{verified}");
    let admin = app.token(Role::Admin).await;
    deny(&app, &admin, &original).await;
    let refusal = sink
        .newest_text_to(email, "We have decided not to act")
        .await;
    assert!(
        refusal.contains("Autoriteit Persoonsgegevens (autoriteitpersoonsgegevens.nl)"),
        "{refusal}"
    );
    assert!(refusal.contains("judicial remedy"), "{refusal}");
    assert!(!refusal.to_lowercase().contains("appeal"), "{refusal}");

    let status_url = app.link_in(&refusal, "/status/");
    let page = app.page(&status_url).await;
    assert!(!page.contains("Appeal this decision"), "{page}");
    let text = post_appeal(&app, &status_url, "please").await;
    assert!(text.contains("cannot be appealed"), "{text}");
    assert!(
        app.staff_view(&original).await["appeals"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Nobody files an appeal through intake either.
    let p = problem(
        app.client
            .post(app.url("/api/v1/intake"))
            .json(&json!({"kind": "appeal", "email": email}))
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    assert!(p.to_string().contains("status page"), "{p}");
    app.stop().await;
}

/// The appeal form closes `appeal_window_days` after the refusal.
async fn the_appeal_window_closes(backend: Backend) {
    // Status links of closed requests live 5 days, the appeal window 10: the link of a
    // refusal lives until the window has closed.
    let Some((app, sink)) = app_with_sink(backend, |c| {
        c.deadlines.appeal_window_days = 10;
        c.retention_own.status_link_days = 5;
    })
    .await
    else {
        return;
    };
    let email = "late@example.com";
    let (original, _) = verified_request(&app, &sink, email, "US-VA").await;
    let admin = app.token(Role::Admin).await;
    deny(&app, &admin, &original).await;
    let refusal = sink
        .newest_text_to(email, "We have decided not to act")
        .await;
    assert!(refusal.contains("until 20 October 2026"), "{refusal}");
    let status_url = app.link_in(&refusal, "/status/");
    app.clock.advance(chrono::TimeDelta::days(10));
    let page = app.page(&status_url).await;
    assert!(page.contains("Appeal this decision"), "{page}");
    app.clock.advance(chrono::TimeDelta::days(1));
    let page = app.page(&status_url).await;
    assert!(!page.contains("Appeal this decision"), "{page}");
    let text = post_appeal(&app, &status_url, "late").await;
    assert!(text.contains("cannot be appealed"), "{text}");
    app.stop().await;
}

/// Staff put a request under another regime: a reason is required, the due date is
/// recomputed from the same clock start (an extension keeps its length up to the new
/// regime's maximum), and the change is on the timeline and in the audit log.
async fn staff_change_the_regime_with_a_reason(backend: Backend) {
    let Some((app, _sink)) = app_with_sink(backend, no_tune).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let auditor = app.token(Role::Auditor).await;
    let create = |email: &str| {
        json!({
            "kind": "access", "email": email, "regime": "gdpr",
            "received_at": "2026-10-05T10:00:00Z",
            "verified_at": "2026-10-07T10:00:00Z",
            "verification_note": "Known customer, called from the number on file",
        })
    };
    let (s, v) = json(
        app.post_json(&agent, "/api/v1/requests", &create("moved@example.com"))
            .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let reference = v["reference"].as_str().unwrap().to_string();
    assert_eq!(v["clock_started_on"], "2026-10-07");
    assert_eq!(v["due_date"], "2026-11-07");
    let path = format!("/api/v1/requests/{reference}/regime");

    // No reason, an empty one, an unknown regime, the same regime: 422. An auditor: 403.
    let p = problem(
        app.post_json(&agent, &path, &json!({"regime": "vcdpa"}))
            .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "reason", "{p}");
    let p = problem(
        app.post_json(&agent, &path, &json!({"regime": "vcdpa", "reason": "  "}))
            .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "reason", "{p}");
    problem(
        app.post_json(&agent, &path, &json!({"regime": "virginia", "reason": "x"}))
            .await,
        422,
    )
    .await;
    let p = problem(
        app.post_json(&agent, &path, &json!({"regime": "gdpr", "reason": "x"}))
            .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "regime", "{p}");
    problem(
        app.post_json(&auditor, &path, &json!({"regime": "vcdpa", "reason": "x"}))
            .await,
        403,
    )
    .await;
    assert_eq!(app.staff_view(&reference).await["due_date"], "2026-11-07");

    // Virginia: 45 days from the same clock start day (not moved to receipt).
    let (s, v) = json(
        app.post_json(
            &agent,
            &path,
            &json!({"regime": "vcdpa", "reason": "The subject lives in Virginia (ticket 4411)."}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["regime"], "vcdpa");
    assert_eq!(v["clock_started_on"], "2026-10-07");
    assert_eq!(v["due_date"], "2026-11-21");
    let event = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "regime")
        .unwrap_or_else(|| panic!("no regime event: {v}"));
    let note = event["note"].as_str().unwrap();
    assert!(note.contains("gdpr -> vcdpa"), "{note}");
    assert!(note.contains("2026-11-07 -> 2026-11-21"), "{note}");
    assert!(note.contains("ticket 4411"), "{note}");
    assert!(
        audit_actions(&app, &reference)
            .await
            .contains(&"request.regime".to_string())
    );

    // An extended request keeps its extension's length, capped by the new regime.
    let (s, v) = json(
        app.post_json(&agent, "/api/v1/requests", &create("extended@example.com"))
            .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let extended = v["reference"].as_str().unwrap().to_string();
    let (s, v) = json(
        app.post_json(
            &agent,
            &format!("/api/v1/requests/{extended}/extend"),
            &json!({"reason": "Records are spread over several products."}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["due_date"], "2027-01-07");
    let (s, v) = json(
        app.post_json(
            &agent,
            &format!("/api/v1/requests/{extended}/regime"),
            &json!({"regime": "ccpa", "reason": "California resident."}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    // CCPA: 45 days from 2026-10-07 = 2026-11-21; the 61-day extension is capped at 45.
    assert_eq!(v["original_due_date"], "2026-11-21", "{v}");
    assert_eq!(v["due_date"], "2027-01-05", "{v}");
    assert_eq!(v["extended"], true);

    // A closed request keeps its regime.
    let (s, _) = json(
        app.post_json(
            &agent,
            &format!("/api/v1/requests/{reference}/withdraw"),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    problem(
        app.post_json(&agent, &path, &json!({"regime": "gdpr", "reason": "back"}))
            .await,
        409,
    )
    .await;
    app.stop().await;
}

backend_fn_tests!(
    virginia_refusal_is_appealed_and_decided_by_someone_else,
    reversed_appeal_reopens_the_refusal,
    gdpr_refusal_names_the_authority_and_offers_no_appeal,
    the_appeal_window_closes,
    staff_change_the_regime_with_a_reason,
);
