//! Opt-outs of sale/sharing and of sensitive-data use (issue 21 items 4 and 5), through
//! the public form, the intake API and the company's site (`site` token), with real
//! emails and a real product database: a Global Privacy Control signal pre-selects the
//! opt-out; each opt-out is one request per identity, due in 15 business days under the
//! CCPA, sets the declared `[optout]` / `[limit_sensitive]` columns and puts the address
//! on the suppression list; taking it back from the status link reverses both.

mod common;

use common::product::{product, wait_for_status};
use common::smtp::SmtpSink;
use common::{Backend, TestApp, json, problem, spawn_app_with_sink};
use rightsdesk::domain::deadline::Regime;
use rightsdesk::domain::staff::Role;
use serde_json::{Value, json};
use sqlx::SqlitePool;

/// The declarations this test adds to the shop's data map.
const OPT_OUT_DECLS: &str = r#"
[optout]
table = "customers"
set = { sale_opt_out = true }

[limit_sensitive]
table = "customers"
set = { sensitive_use = "limited" }
unset = { sensitive_use = "allowed" }
"#;

struct World {
    app: TestApp,
    sink: SmtpSink,
    shop: SqlitePool,
    _dir: tempfile::TempDir,
}

async fn world(backend: Backend) -> Option<World> {
    let dir = tempfile::tempdir().unwrap();
    let (shop, datamap) = product(dir.path()).await;
    sqlx::raw_sql(
        "ALTER TABLE customers ADD COLUMN sale_opt_out BOOLEAN NOT NULL DEFAULT FALSE; \
         ALTER TABLE customers ADD COLUMN sensitive_use TEXT NOT NULL DEFAULT 'allowed';",
    )
    .execute(&shop)
    .await
    .unwrap();
    let file = datamap.join("shop.toml");
    let toml = std::fs::read_to_string(&file).unwrap() + OPT_OUT_DECLS;
    std::fs::write(&file, toml).unwrap();
    let (app, sink) = spawn_app_with_sink(backend, move |c| {
        c.datamap_dir = datamap;
        c.email.privacy_team = "team@example.com".into();
        c.schedules.enabled = false;
        c.deadlines.regime = Regime::Ccpa;
    })
    .await?;
    // Monday 7 December 2026: 15 business days on is Monday 28 December.
    app.clock.set(common::t("2026-12-07T10:00:00Z"));
    Some(World {
        app,
        sink,
        shop,
        _dir: dir,
    })
}

async fn check(app: &TestApp, token: &str, emails: &[&str]) -> Value {
    app.post_ok(
        token,
        "/api/v1/suppressions/check",
        &json!({ "emails": emails }),
    )
    .await
}

/// The product's row of `email`: (sale_opt_out, sensitive_use).
async fn product_row(shop: &SqlitePool, email: &str) -> (bool, String) {
    sqlx::query_as("SELECT sale_opt_out, sensitive_use FROM customers WHERE email = ?")
        .bind(email)
        .fetch_one(shop)
        .await
        .unwrap()
}

/// The references of `kind` requests (staff list).
async fn references(app: &TestApp, token: &str, kind: &str) -> Vec<String> {
    let (s, v) = json(
        app.get(token, &format!("/api/v1/requests?kind={kind}&per_page=100"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reference"].as_str().unwrap().to_string())
        .collect()
}

async fn form_post(app: &TestApp, gpc: bool, fields: &[(&str, &str)]) -> (u16, String) {
    let mut rq = app.client.post(app.url("/requests")).form(fields);
    if gpc {
        rq = rq.header("Sec-GPC", "1");
    }
    let r = rq.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn gpc_form_opt_out_is_one_request_due_in_15_business_days_then_opt_in(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let agent = app.token(Role::Agent).await;

    // A browser sending Global Privacy Control is told, and finds the opt-out chosen.
    let page = app
        .client
        .get(app.url("/"))
        .header("Sec-GPC", "1")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Global Privacy Control signal"), "{page}");
    assert!(
        page.contains("<option value=\"opt_out_sale\" selected>"),
        "{page}"
    );
    assert!(page.contains("name=\"gpc\" value=\"1\""), "{page}");
    let plain = app.page(app.url("/")).await;
    assert!(!plain.contains("Global Privacy Control signal"));
    assert!(!plain.contains("<option value=\"opt_out_sale\" selected>"));
    assert!(
        !plain.contains("value=\"opt_in\""),
        "opt-in is not a form choice"
    );

    // Submitted twice before confirming: one request, the link sent again.
    for _ in 0..2 {
        let (s, page) = form_post(
            app,
            true,
            &[
                ("kind", "opt_out_sale"),
                ("email", "ada@example.com"),
                ("gpc", "1"),
            ],
        )
        .await;
        assert_eq!(s, 202, "{page}");
    }
    // Two links were mailed; the second replaced the first. The outbox may deliver them
    // in either order, so try both: exactly one works, the other is gone.
    let mut answers = Vec::new();
    for nth in 0..2 {
        let verify = w.sink.nth_mail_to("ada@example.com", "/verify/", nth).await;
        let r = app
            .client
            .post(app.link(&verify, "/verify/"))
            .send()
            .await
            .unwrap();
        answers.push(r.status().as_u16());
    }
    answers.sort_unstable();
    assert_eq!(answers, [200, 410], "one live link, one replaced");
    let refs = references(app, &agent, "opt_out_sale").await;
    assert_eq!(refs.len(), 1, "{refs:?}");
    let reference = &refs[0];

    // It runs and completes by itself: the declared column is set, nothing else.
    let done = wait_for_status(app, &agent, reference, "completed").await;
    assert_eq!(done["due_date"], "2026-12-28", "{done}");
    assert_eq!(done["regime"], "ccpa", "{done}");
    let tasks = done["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1, "{done}");
    assert_eq!(tasks[0]["operation"], "opt_out", "{done}");
    assert_eq!(tasks[0]["status"], "succeeded", "{done}");
    assert_eq!(
        product_row(&w.shop, "ada@example.com").await,
        (true, "allowed".to_string())
    );
    assert_eq!(
        product_row(&w.shop, "bob@example.com").await,
        (false, "allowed".to_string())
    );
    // The GPC signal is on the request's audit trail (reference only).
    let audit = app.audit_of(reference).await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "optout.gpc"),
        "{audit}"
    );
    assert!(!audit.to_string().contains("ada@"), "{audit}");

    // On the suppression list with scope `sale` (a case variant too).
    let v = check(
        app,
        &agent,
        &["ada@example.com", "ADA@example.com", "bob@example.com"],
    )
    .await;
    let suppressed = v["suppressed"].as_array().unwrap();
    assert_eq!(suppressed.len(), 2, "{v}");
    assert_eq!(suppressed[0]["scopes"], json!(["sale"]), "{v}");

    // The subject takes it back from the status link of the completion email.
    let completed = w.sink.nth_mail_to("ada@example.com", "/status/", 1).await;
    let status_url = app.link(&completed, "/status/");
    let page = app.page(&status_url).await;
    assert!(page.contains("Take back my opt-out"), "{page}");
    let r = app
        .client
        .post(format!("{status_url}/opt-in"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Opt-out taken back"));
    let opt_ins = references(app, &agent, "opt_in").await;
    assert_eq!(opt_ins.len(), 1, "{opt_ins:?}");
    let done = wait_for_status(app, &agent, &opt_ins[0], "completed").await;
    assert_eq!(done["scope"], "sale", "{done}");
    assert_eq!(done["tasks"][0]["operation"], "opt_in", "{done}");
    assert_eq!(done["due_date"], "2026-12-28", "{done}");
    assert_eq!(
        product_row(&w.shop, "ada@example.com").await,
        (false, "allowed".to_string())
    );
    let v = check(app, &agent, &["ada@example.com"]).await;
    assert_eq!(v["suppressed"], json!([]), "{v}");
    let page = app.page(&status_url).await;
    assert!(!page.contains("Take back my opt-out"), "{page}");
    // Asking again changes nothing.
    let r = app
        .client
        .post(format!("{status_url}/opt-in"))
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("Nothing to take back"));
    assert_eq!(references(app, &agent, "opt_in").await.len(), 1);
    w.app.stop().await;
}

async fn site_signals_join_one_request_and_the_site_token_reads_nothing(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let agent = app.token(Role::Agent).await;
    let site = app.token(Role::Site).await;

    // What the site must send.
    for (body, field) in [
        (json!({"source": "gpc"}), "email"),
        (
            json!({"email": "bob@example.com", "source": "banner"}),
            "source",
        ),
        (
            json!({"identifiers": {"email": "not an address"}, "source": "gpc"}),
            "identifiers.email",
        ),
        (
            json!({"email": "bob@example.com", "source": "gpc", "kind": "erasure"}),
            "kind",
        ),
    ] {
        let v = problem(app.post_json(&site, "/api/v1/optouts", &body).await, 422).await;
        assert_eq!(v["errors"][0]["field"], field, "{v}");
    }

    // The first signal makes the request; the next ones join it, before and after it
    // completed.
    let (s, first) = json(
        app.post_json(
            &site,
            "/api/v1/optouts",
            &json!({"identifiers": {"email": "bob@example.com"}, "source": "gpc"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 202, "{first}");
    assert_eq!(first["joined"], false, "{first}");
    assert_eq!(first["kind"], "opt_out_sale", "{first}");
    let reference = first["reference"].as_str().unwrap().to_string();
    let (s, again) = json(
        app.post_json(
            &site,
            "/api/v1/optouts",
            &json!({"email": "  BOB@example.com", "source": "gpc"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 202, "{again}");
    assert_eq!(again["reference"], reference.as_str(), "{again}");
    assert_eq!(again["joined"], true, "{again}");
    let done = wait_for_status(app, &agent, &reference, "completed").await;
    assert_eq!(done["tasks"][0]["status"], "succeeded", "{done}");
    assert_eq!(done["due_date"], "2026-12-28", "{done}");
    assert_eq!(
        product_row(&w.shop, "bob@example.com").await,
        (true, "allowed".to_string())
    );
    let (_, later) = json(
        app.post_json(
            &site,
            "/api/v1/optouts",
            &json!({"email": "bob@example.com", "source": "site"}),
        )
        .await,
    )
    .await;
    assert_eq!(later["reference"], reference.as_str(), "{later}");
    assert_eq!(later["joined"], true, "{later}");
    assert_eq!(
        references(app, &agent, "opt_out_sale").await,
        vec![reference.clone()]
    );
    // The subject was told, with a status link.
    w.sink.nth_mail_to("bob@example.com", "/status/", 0).await;

    // The site may check the list before it sells or shares...
    let v = check(app, &site, &["bob@example.com", "cy@example.com"]).await;
    assert_eq!(v["suppressed"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["suppressed"][0]["scopes"], json!(["sale"]), "{v}");
    // ...and the intake API is public; but it reads nothing.
    for path in [
        "/api/v1/requests".to_string(),
        format!("/api/v1/requests/{reference}"),
        format!("/api/v1/requests/{reference}/preview"),
        "/api/v1/audit".to_string(),
        "/api/v1/connectors".to_string(),
        "/api/v1/suppressions/export".to_string(),
    ] {
        problem(app.get(&site, &path).await, 403).await;
    }
    problem(
        app.post_empty(&site, &format!("/api/v1/requests/{reference}/withdraw"))
            .await,
        403,
    )
    .await;
    // An auditor may not forward opt-outs; an agent may.
    let auditor = app.token(Role::Auditor).await;
    problem(
        app.post_json(
            &auditor,
            "/api/v1/optouts",
            &json!({"email": "cy@example.com", "source": "site"}),
        )
        .await,
        403,
    )
    .await;
    // A person cannot hold the site role.
    let err = rightsdesk::services::staff::create_user(&app.state, "web@example.com", Role::Site)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("role") || format!("{err:?}").contains("role"));
    w.app.stop().await;
}

async fn limit_sensitive_unsets_as_declared_and_opt_outs_are_refused_only_as_fraud(
    backend: Backend,
) {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let agent = app.token(Role::Agent).await;

    // limit_sensitive through the intake API: the declared `[limit_sensitive]` value.
    let r = app
        .client
        .post(app.url("/api/v1/intake"))
        .json(&json!({"kind": "limit_sensitive", "email": "cy@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let verify = w.sink.nth_mail_to("cy@example.com", "/verify/", 0).await;
    let r = app
        .client
        .post(app.link(&verify, "/verify/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let reference = references(app, &agent, "limit_sensitive").await.remove(0);
    let done = wait_for_status(app, &agent, &reference, "completed").await;
    assert_eq!(done["tasks"][0]["operation"], "limit_sensitive", "{done}");
    assert_eq!(
        product_row(&w.shop, "cy@example.com").await,
        (false, "limited".to_string())
    );
    let v = check(app, &agent, &["cy@example.com"]).await;
    assert_eq!(v["suppressed"][0]["scopes"], json!(["sensitive"]), "{v}");
    // The opt-in takes back this scope only: the `unset` value, not NULL.
    let completed = w.sink.nth_mail_to("cy@example.com", "/status/", 1).await;
    let status_url = app.link(&completed, "/status/");
    let r = app
        .client
        .post(format!("{status_url}/opt-in"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let opt_in = references(app, &agent, "opt_in").await.remove(0);
    let done = wait_for_status(app, &agent, &opt_in, "completed").await;
    assert_eq!(done["scope"], "sensitive", "{done}");
    assert_eq!(
        product_row(&w.shop, "cy@example.com").await,
        (false, "allowed".to_string())
    );
    assert_eq!(
        check(app, &agent, &["cy@example.com"]).await["suppressed"],
        json!([])
    );

    // Staff may not refuse an opt-out for want of verification, nor hold it; as believed
    // fraudulent only when they say why.
    let (s, v) = json(
        app.post_json(
            &agent,
            "/api/v1/requests",
            &json!({"kind": "opt_out_sale", "email": "dee@example.com",
                    "verification_note": "by phone"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["due_date"], "2026-12-28", "{v}");
    let staff_ref = v["reference"].as_str().unwrap().to_string();
    for (action, body) in [
        (
            "deny",
            json!({"reason": "insufficient_verification", "note": "no id"}),
        ),
        ("deny", json!({"reason": "excessive", "note": "again?"})),
        ("hold", json!({"reason": "awaiting_subject"})),
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
        assert!(v["detail"].as_str().unwrap().contains("opt-out"), "{v}");
    }
    // The opt-out period has no extension (CCPA regs § 7026(f)); the case page does not
    // offer one either.
    let v = problem(
        app.post_json(
            &agent,
            &format!("/api/v1/requests/{staff_ref}/extend"),
            &json!({"reason": "many systems to change"}),
        )
        .await,
        409,
    )
    .await;
    assert!(v["detail"].as_str().unwrap().contains("extension"), "{v}");
    let v = problem(
        app.post_json(
            &agent,
            &format!("/api/v1/requests/{staff_ref}/deny"),
            &json!({"reason": "manifestly_unfounded"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(v["errors"][0]["field"], "note", "{v}");
    let (s, v) = json(
        app.post_json(
            &agent,
            &format!("/api/v1/requests/{staff_ref}/deny"),
            &json!({"reason": "manifestly_unfounded",
                    "note": "Sent by a script that tried 4,000 addresses in a minute."}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "denied", "{v}");
    w.app.stop().await;
}

backend_fn_tests!(
    gpc_form_opt_out_is_one_request_due_in_15_business_days_then_opt_in,
    site_signals_join_one_request_and_the_site_token_reads_nothing,
    limit_sensitive_unsets_as_declared_and_opt_outs_are_refused_only_as_fraud,
);
