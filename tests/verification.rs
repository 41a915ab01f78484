//! Identity proofing beyond the emailed link: with `[verification]`, a request of a
//! listed kind fans out only when a connector confirms the value the subject gave
//! (`account_field`) or staff record how they verified (`staff_review`); an address
//! found nowhere is flagged `no_match`. On SQLite and PostgreSQL.

mod common;
#[path = "security/support.rs"]
mod support;

use common::product::product;
use common::{Backend, Options, TestApp, json, problem, spawn_app_with};
use rightsdesk::config::VerificationMethod;
use rightsdesk::domain::request::Kind;
use rightsdesk::domain::staff::Role;
use serde_json::{Value, json};

backend_fn_tests!(
    account_field_gates_fan_out_on_the_connector_match,
    staff_review_waits_for_staff_to_record_the_check,
);

/// Submit through the API and use the emailed link; returns the reference and the
/// verification answer.
async fn submit_and_verify(app: &TestApp, body: Value) -> (String, Value) {
    let seen = support::outbox_tokens(app, "/verify/");
    let (s, v) = json(
        app.client
            .post(app.url("/api/v1/intake"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 202, "{v}");
    let reference = v["reference"].as_str().unwrap().to_string();
    let token = support::next_token(app, "/verify/", &seen).await;
    let (s, v) = app.verify_by_api(&token).await;
    assert_eq!(s, 200, "{v}");
    (reference, v)
}

async fn check(app: &TestApp, token: &str, reference: &str) -> Value {
    let (s, v) = json(
        app.get(token, &format!("/api/v1/requests/{reference}/identity"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v
}

async fn status(app: &TestApp, token: &str, reference: &str) -> String {
    let (_, v) = json(
        app.get(token, &format!("/api/v1/requests/{reference}"))
            .await,
    )
    .await;
    v["status"].as_str().unwrap().to_string()
}

async fn account_field_gates_fan_out_on_the_connector_match(backend: Backend) {
    let product_dir = tempfile::tempdir().unwrap();
    let (_pool, datamap) = product(product_dir.path()).await;
    let opts = Options {
        configure: Box::new(move |c| {
            c.datamap_dir = datamap;
            c.verification.extra_for = vec![Kind::Access];
            c.verification.method = VerificationMethod::AccountField;
            c.verification.verify_field = "shop.customers.phone".into();
            c.verification.field_label = "Phone number on your account".into();
        }),
        handlers: Vec::new(),
    };
    let Some(app) = spawn_app_with(backend, opts).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;

    // The form asks for the value; the API refuses an access request without it and
    // stores nothing.
    let form = app.client.get(app.url("/")).send().await.unwrap();
    assert!(
        form.text()
            .await
            .unwrap()
            .contains("Phone number on your account")
    );
    let r = app
        .client
        .post(app.url("/api/v1/intake"))
        .json(&json!({ "kind": "access", "email": "ada@example.com" }))
        .send()
        .await
        .unwrap();
    let p = problem(r, 422).await;
    assert!(p.to_string().contains("account_value"), "{p}");
    let (_, list) = json(app.get(&agent, "/api/v1/requests").await).await;
    assert_eq!(list["total"], 0);

    // The right value: the connector confirms it and the access request fans out.
    let (ada, _) = submit_and_verify(
        &app,
        json!({ "kind": "access", "email": "ada@example.com", "account_value": " +44 1 " }),
    )
    .await;
    let c = check(&app, &agent, &ada).await;
    assert_eq!(
        (c["method"].as_str(), c["state"].as_str()),
        (Some("account_field"), Some("confirmed")),
        "{c}"
    );
    assert_ne!(status(&app, &agent, &ada).await, "open");

    // A wrong value for a real customer: open, not started, and staff cannot start it
    // until they record a check. The subject's answer looks like any other.
    let (bob, answer) = submit_and_verify(
        &app,
        json!({ "kind": "access", "email": "bob@example.com", "account_value": "+44 1" }),
    )
    .await;
    assert_eq!(answer["reference"], bob.as_str());
    assert!(!answer.to_string().contains("match"), "{answer}");
    let c = check(&app, &agent, &bob).await;
    assert_eq!(c["state"], "failed", "{c}");
    assert_eq!(status(&app, &agent, &bob).await, "open");
    let r = app
        .post_empty(&agent, &format!("/api/v1/requests/{bob}/start"))
        .await;
    let p = problem(r, 409).await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("identity check needed")
    );

    // An address no connector knows: flagged no_match; staff answer with that reason.
    let (nobody, _) = submit_and_verify(
        &app,
        json!({ "kind": "access", "email": "nobody@example.com", "account_value": "123" }),
    )
    .await;
    let c = check(&app, &agent, &nobody).await;
    assert_eq!(c["state"], "no_match", "{c}");
    let (s, v) = json(
        app.post_json(
            &agent,
            &format!("/api/v1/requests/{nobody}/deny"),
            &json!({ "reason": "no_match" }),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "denied");

    // Kinds not listed need only the link.
    let (cy, _) = submit_and_verify(
        &app,
        json!({ "kind": "objection", "email": "cy@example.com" }),
    )
    .await;
    let c = check(&app, &agent, &cy).await;
    assert_eq!(
        (c["method"].as_str(), c["state"].as_str()),
        (Some("email_link"), Some("confirmed"))
    );
    app.stop().await;
}

async fn staff_review_waits_for_staff_to_record_the_check(backend: Backend) {
    let opts = Options {
        configure: Box::new(|c| {
            c.verification.extra_for = vec![Kind::Erasure, Kind::Access];
            c.verification.method = VerificationMethod::StaffReview;
        }),
        handlers: Vec::new(),
    };
    let Some(app) = spawn_app_with(backend, opts).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let auditor = app.token(Role::Auditor).await;
    let (reference, _) = submit_and_verify(
        &app,
        json!({ "kind": "access", "email": "eve@example.com" }),
    )
    .await;
    // Access would start at once; it waits in `open` with the check needed.
    assert_eq!(status(&app, &agent, &reference).await, "open");
    let c = check(&app, &auditor, &reference).await;
    assert_eq!(
        (c["method"].as_str(), c["state"].as_str()),
        (Some("staff_review"), Some("needed"))
    );
    let r = app
        .post_empty(&agent, &format!("/api/v1/requests/{reference}/start"))
        .await;
    problem(r, 409).await;
    // The portal shows it to staff, and an agent can record the check there.
    let staff = support::portal_login(&app, Role::Agent).await;
    let page = |path: String| {
        let (app, cookie) = (&app, staff.cookie.clone());
        async move {
            app.client
                .get(app.url(&path))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let detail = page(format!("/portal/requests/{reference}")).await;
    assert!(detail.contains("identity check needed"), "{detail}");
    let other = submit_and_verify(
        &app,
        json!({ "kind": "erasure", "email": "fay@example.com" }),
    )
    .await
    .0;
    let r = app
        .client
        .post(app.url(&format!("/portal/requests/{other}/identity")))
        .header("cookie", &staff.cookie)
        .header("origin", &app.base)
        .form(&[
            ("csrf", staff.csrf.as_str()),
            ("note", "Called back on the number on file"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let detail = page(format!("/portal/requests/{other}")).await;
    assert!(!detail.contains("identity check needed"), "{detail}");
    assert!(detail.contains("Called back on the number on file"));
    // An auditor cannot record the check; an empty note is refused.
    let r = app
        .post_json(
            &auditor,
            &format!("/api/v1/requests/{reference}/identity"),
            &json!({ "note": "video call" }),
        )
        .await;
    problem(r, 403).await;
    let r = app
        .post_json(
            &agent,
            &format!("/api/v1/requests/{reference}/identity"),
            &json!({ "note": "  " }),
        )
        .await;
    problem(r, 422).await;
    let (s, c) = json(
        app.post_json(
            &agent,
            &format!("/api/v1/requests/{reference}/identity"),
            &json!({ "note": "Video call, passport shown" }),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["state"], "confirmed");
    assert_eq!(c["note"], "Video call, passport shown");
    assert!(c["checked_by"].as_str().unwrap().starts_with("token:"));
    let (s, v) = json(
        app.post_empty(&agent, &format!("/api/v1/requests/{reference}/start"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (_, audit) = json(app.get(&auditor, "/api/v1/audit?per_page=100").await).await;
    assert!(audit.to_string().contains("identity.confirm"));
    app.stop().await;
}
