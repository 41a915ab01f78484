//! The staff portal over HTTP, as a browser without JavaScript uses it: sign-in with
//! password and TOTP, sessions and CSRF, roles, and the request story, on SQLite and
//! PostgreSQL.

mod common;

use common::portal::{Browser, between, totp_code};

use chrono::TimeDelta;
use common::TestApp;
use rightsdesk::domain::staff::Role;
use serde_json::json;

backend_tests!(
    admin_story_totp_queue_start_extend_deny_sign_out,
    post_without_csrf_or_from_another_site_is_refused,
    session_id_changes_at_sign_in_and_after_totp,
    lockout_after_failed_sign_ins,
    wrong_or_reused_totp_code_is_refused,
    session_expires_when_idle,
    auditor_sees_no_actions_and_cannot_post_them,
    agent_cannot_open_users_page,
    staff_entered_request_form,
    audit_page_verifies_chain,
    totp_secret_moved_to_another_user_is_refused
);

fn initial_admin_password(app: &TestApp) -> String {
    let path = app.dir.path().join("data/initial-admin-password");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    std::fs::read_to_string(path).expect("initial admin password file")
}

async fn user(app: &TestApp, email: &str, role: Role) -> String {
    rightsdesk::http::portal::auth::create_user(&app.state, email, role)
        .await
        .expect("user")
        .1
}

/// A request entered through the API; returns its reference.
async fn request(app: &TestApp, email: &str) -> String {
    let token = app.token(Role::Agent).await;
    let (status, v) = common::json(
        app.post_json(
            &token,
            "/api/v1/requests",
            &json!({ "kind": "erasure", "email": email, "received_at": "2026-10-01T12:00:00Z",
                     "verification_note": "Called back on the number on file" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{v}");
    v["reference"].as_str().expect("reference").to_string()
}

/// An agent signed in (no TOTP needed for agents by default).
async fn agent<'a>(app: &'a TestApp, role: Role) -> Browser<'a> {
    let email = format!("{}@staff.example", role.as_str());
    let pw = user(app, &email, role).await;
    let mut b = Browser::new(app);
    let r = b.password(&email, &pw).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location.as_deref(), Some("/portal"));
    b
}

async fn admin_story_totp_queue_start_extend_deny_sign_out(app: TestApp) {
    let first = request(&app, "ada@example.com").await;
    let second = request(&app, "bob@example.com").await;
    let mut b = Browser::new(&app);

    // Not signed in: every page sends you to the sign-in form.
    let r = b.get("/portal/requests").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location.as_deref(), Some("/portal/login"));

    let pw = initial_admin_password(&app);
    let r = b.password("admin@example.com", &pw).await;
    assert_eq!(r.status, 303);
    // Admins set up TOTP before anything else.
    assert_eq!(r.location.as_deref(), Some("/portal/account/totp"));
    let r = b.get("/portal/requests").await;
    assert_eq!(r.location.as_deref(), Some("/portal/account/totp"));
    b.enrol().await;

    let dash = b.get("/portal").await;
    assert_eq!(dash.status, 200);
    assert!(dash.body.contains("open requests"));
    let csp = dash.headers["content-security-policy"].to_str().unwrap();
    assert!(!csp.contains("unsafe-inline") && csp.contains("img-src 'self' data:"));
    assert_eq!(dash.headers["cache-control"], "no-store");
    assert!(!dash.body.contains("<script"));

    // Find the first request by reference, and by the subject's email.
    let q = b.get(&format!("/portal/requests?q={first}")).await;
    assert_eq!(q.status, 200);
    assert!(q.body.contains(&first) && !q.body.contains(&second));
    let q = b
        .get("/portal/requests?q=bob%40example.com&status=open")
        .await;
    assert!(q.body.contains(&second) && !q.body.contains(&first));

    let detail = b.get(&format!("/portal/requests/{first}")).await;
    assert_eq!(detail.status, 200);
    assert!(detail.body.contains("ada@example.com"));
    let csrf = detail.csrf();

    let r = b
        .post(
            &format!("/portal/requests/{first}/start"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        r.location,
        Some(format!("/portal/requests/{first}?done=start"))
    );
    let page = b.get(r.location.as_deref().unwrap()).await;
    assert!(page.body.contains("Work on the request has started."));
    assert!(
        page.body.contains(">Review<"),
        "started request moves to review"
    );

    // Extending needs a reason; a missing one is shown, not a crash.
    let r = b
        .post(
            &format!("/portal/requests/{first}/extend"),
            &[("csrf", &csrf), ("reason", "")],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("reason"));
    let r = b
        .post(
            &format!("/portal/requests/{first}/extend"),
            &[
                ("csrf", &csrf),
                ("reason", "Data spread over several systems"),
                ("until", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = b.get(&format!("/portal/requests/{first}")).await;
    assert!(page.body.contains("Data spread over several systems"));
    assert!(page.body.contains("Extended"));
    // A second extension is refused readably.
    let r = b
        .post(
            &format!("/portal/requests/{first}/extend"),
            &[("csrf", &csrf), ("reason", "again")],
        )
        .await;
    assert_eq!(r.status, 409);

    let r = b
        .post(
            &format!("/portal/requests/{second}/deny"),
            &[
                ("csrf", &csrf),
                ("reason", "no_match"),
                ("note", "We hold no data about you."),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = b.get(&format!("/portal/requests/{second}")).await;
    assert!(page.body.contains(">Denied<"));
    assert!(!page.body.contains("id=\"action-deny\""));

    // The views and actions are in the audit log under the user.
    let (_, audit) = common::json(
        app.get(
            &app.token(Role::Auditor).await,
            &format!("/api/v1/audit?request={first}"),
        )
        .await,
    )
    .await;
    let actions: Vec<_> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "user:admin@example.com")
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert!(actions.contains(&"request.view".to_string()), "{actions:?}");
    assert!(
        actions.contains(&"request.extend".to_string()),
        "{actions:?}"
    );

    b.sign_out().await;
    let r = b.get("/portal").await;
    assert_eq!(r.location.as_deref(), Some("/portal/login"));
    app.stop().await;
}

async fn post_without_csrf_or_from_another_site_is_refused(app: TestApp) {
    let reference = request(&app, "ada@example.com").await;
    let mut b = agent(&app, Role::Agent).await;
    let csrf = b.get("/portal").await.csrf();
    let path = format!("/portal/requests/{reference}/start");
    assert_eq!(b.post(&path, &[]).await.status, 403);
    assert_eq!(b.post(&path, &[("csrf", "forged")]).await.status, 403);
    // The right token sent from another site is refused too.
    let resp = app
        .client
        .post(app.url(&path))
        .header("cookie", b.cookie_header())
        .header("origin", "https://evil.example")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let resp = app
        .client
        .post(app.url(&path))
        .header("cookie", b.cookie_header())
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    // The sign-in form itself needs its token.
    let resp = app
        .client
        .post(app.url("/portal/login"))
        .form(&[("email", "agent@staff.example"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    // Nothing happened to the request.
    let page = b.get(&format!("/portal/requests/{reference}")).await;
    assert!(page.body.contains(">Open<"));
    assert_eq!(b.post(&path, &[("csrf", &csrf)]).await.status, 303);
    app.stop().await;
}

async fn session_id_changes_at_sign_in_and_after_totp(app: TestApp) {
    let mut b = Browser::new(&app);
    // A session id planted before sign-in (fixation) is not the one after.
    b.cookies
        .insert("rd_session".into(), "planted-by-attacker".into());
    let pw = initial_admin_password(&app);
    let r = b.password("admin@example.com", &pw).await;
    assert_eq!(r.status, 303);
    let cookie = r.headers["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(cookie.contains("Path=/portal"));
    assert!(!cookie.contains("Secure"), "plain http public_url");
    let after_password = b.cookies["rd_session"].clone();
    assert_ne!(after_password, "planted-by-attacker");
    b.enrol().await;
    let after_totp = b.cookies["rd_session"].clone();
    assert_ne!(after_totp, after_password);
    // The old session no longer works.
    let mut old = Browser::new(&app);
    old.cookies.insert("rd_session".into(), after_password);
    assert_eq!(
        old.get("/portal").await.location.as_deref(),
        Some("/portal/login")
    );
    assert_eq!(b.get("/portal").await.status, 200);
    app.stop().await;
}

async fn lockout_after_failed_sign_ins(app: TestApp) {
    let pw = user(&app, "carol@staff.example", Role::Agent).await;
    let mut b = Browser::new(&app);
    let unknown = b.password("nobody@staff.example", "whatever").await;
    assert_eq!(unknown.status, 401);
    assert!(unknown.body.contains("Wrong email or password."));
    for _ in 0..5 {
        let r = b.password("carol@staff.example", "wrong password").await;
        assert_eq!(r.status, 401);
        assert!(r.body.contains("Wrong email or password."));
    }
    // Locked: even the right password is refused, with the same answer.
    let r = b.password("carol@staff.example", &pw).await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("Wrong email or password."));
    app.clock.advance(TimeDelta::minutes(16));
    let r = b.password("carol@staff.example", &pw).await;
    assert_eq!(r.status, 303);
    app.stop().await;
}

async fn wrong_or_reused_totp_code_is_refused(app: TestApp) {
    let pw = initial_admin_password(&app);
    let mut b = Browser::new(&app);
    b.password("admin@example.com", &pw).await;
    let (secret, _) = b.enrol().await;
    b.sign_out().await;

    let r = b.password("admin@example.com", &pw).await;
    assert_eq!(r.location.as_deref(), Some("/portal/login/totp"));
    // Half-signed-in sessions reach nothing else.
    assert_eq!(
        b.get("/portal/requests").await.location.as_deref(),
        Some("/portal/login/totp")
    );
    let form = b.get("/portal/login/totp").await;
    let csrf = form.csrf();
    let good = totp_code(&app, &secret);
    let wrong = if good == "000000" { "111111" } else { "000000" };
    let r = b
        .post("/portal/login/totp", &[("csrf", &csrf), ("code", wrong)])
        .await;
    assert_eq!(r.status, 401);
    // The code that confirmed enrolment was used in this 30-second step.
    let r = b
        .post("/portal/login/totp", &[("csrf", &csrf), ("code", &good)])
        .await;
    assert_eq!(r.status, 401);
    app.clock.advance(TimeDelta::seconds(30));
    let r = b
        .post(
            "/portal/login/totp",
            &[("csrf", &csrf), ("code", &totp_code(&app, &secret))],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location.as_deref(), Some("/portal"));
    assert_eq!(b.get("/portal").await.status, 200);
    app.stop().await;
}

async fn session_expires_when_idle(app: TestApp) {
    let mut b = agent(&app, Role::Agent).await;
    assert_eq!(b.get("/portal").await.status, 200);
    app.clock.advance(TimeDelta::minutes(20));
    assert_eq!(b.get("/portal").await.status, 200);
    app.clock.advance(TimeDelta::minutes(31));
    let r = b.get("/portal").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location.as_deref(), Some("/portal/login"));
    // Gone for good, even if time went back.
    app.clock.advance(TimeDelta::minutes(-31));
    assert_eq!(b.get("/portal").await.status, 303);
    app.stop().await;
}

async fn auditor_sees_no_actions_and_cannot_post_them(app: TestApp) {
    let reference = request(&app, "ada@example.com").await;
    let mut b = agent(&app, Role::Auditor).await;
    let page = b.get(&format!("/portal/requests/{reference}")).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("id=\"actions\""));
    assert!(!page.body.contains("/start\""));
    let r = b
        .post(
            &format!("/portal/requests/{reference}/start"),
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(b.get("/portal/requests/new").await.status, 403);
    app.stop().await;
}

async fn agent_cannot_open_users_page(app: TestApp) {
    let mut b = agent(&app, Role::Agent).await;
    assert_eq!(b.get("/portal/users").await.status, 403);
    let csrf = b.get("/portal").await.csrf();
    let r = b
        .post(
            "/portal/users",
            &[
                ("csrf", &csrf),
                ("email", "x@staff.example"),
                ("role", "admin"),
            ],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(
        !b.get("/portal")
            .await
            .body
            .contains("href=\"/portal/users\"")
    );
    app.stop().await;
}

async fn staff_entered_request_form(app: TestApp) {
    let mut b = agent(&app, Role::Agent).await;
    let form = b.get("/portal/requests/new").await;
    assert_eq!(form.status, 200);
    let csrf = form.csrf();
    // Same validation as the API: identity check note is required.
    let r = b
        .post(
            "/portal/requests/new",
            &[
                ("csrf", &csrf),
                ("kind", "access"),
                ("email", "ada@example.com"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("verification note"));
    assert!(
        r.body.contains("value=\"ada@example.com\""),
        "values are kept"
    );
    let r = b
        .post(
            "/portal/requests/new",
            &[
                ("csrf", &csrf),
                ("kind", "access"),
                ("email", "ada@example.com"),
                ("received_on", "2026-10-02"),
                ("verification_note", "Passport copy by post"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = b.get(r.location.as_deref().unwrap()).await;
    assert!(page.body.contains("The request was entered."));
    assert!(
        page.body.contains("2026-11-01"),
        "due a month after 2 October (policy 30 days)"
    );
    app.stop().await;
}

async fn audit_page_verifies_chain(app: TestApp) {
    request(&app, "ada@example.com").await;
    let mut b = agent(&app, Role::Auditor).await;
    let page = b.get("/portal/audit").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("request.create"));
    let r = b
        .post("/portal/audit/verify", &[("csrf", &page.csrf())])
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("The chain is intact"));
    let filtered = b
        .get("/portal/audit?actor=user%3Aauditor%40staff.example")
        .await;
    assert!(filtered.body.contains("portal.login") && !filtered.body.contains("request.create"));
    app.stop().await;
}

/// A TOTP secret is bound to its user: the admin's secret copied into another user's row
/// does not open there, so the enrolment page never shows it.
async fn totp_secret_moved_to_another_user_is_refused(app: TestApp) {
    let pw = initial_admin_password(&app);
    let mut admin = Browser::new(&app);
    admin.password("admin@example.com", &pw).await;
    let (admin_secret, _) = admin.enrol().await;

    let mut bob = agent(&app, Role::Agent).await;
    let page = bob.get("/portal/account/totp").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let bob_secret = between(&page.body, "<code id=\"totp-secret\">", "</code>").expect("secret");
    assert_ne!(bob_secret, admin_secret);
    let bob_user = app
        .state
        .store
        .user_by_email("agent@staff.example")
        .await
        .unwrap()
        .unwrap();
    assert!(
        bob_user
            .totp_secret_ct
            .as_deref()
            .unwrap()
            .starts_with("v2.")
    );

    // Someone with write access to the database copies the admin's secret into Bob's row.
    let sql = "UPDATE users SET totp_secret_ct = \
               (SELECT totp_secret_ct FROM users WHERE email = 'admin@example.com') \
               WHERE email = 'agent@staff.example'";
    let moved = match app.backend {
        common::Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            sqlx::query(sql)
                .execute(&pool)
                .await
                .unwrap()
                .rows_affected()
        }
        common::Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            sqlx::query(sql)
                .execute(&pool)
                .await
                .unwrap()
                .rows_affected()
        }
    };
    assert_eq!(moved, 1);
    let page = bob.get("/portal/account/totp").await;
    assert_eq!(page.status, 500, "{}", page.body);
    assert!(!page.body.contains(&admin_secret), "{}", page.body);
    // `keys reseal` names the row, never the value.
    let err = rightsdesk::services::keys_rotate::reseal(&app.state)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("users.totp_secret_ct") && err.contains(&bob_user.id),
        "{err}"
    );
    // The admin's own secret still works where it belongs.
    admin.sign_out().await;
    let r = admin.password("admin@example.com", &pw).await;
    assert_eq!(r.location.as_deref(), Some("/portal/login/totp"));
    app.clock.advance(TimeDelta::seconds(30));
    let form = admin.get("/portal/login/totp").await;
    let r = admin
        .post(
            "/portal/login/totp",
            &[
                ("csrf", &form.csrf()),
                ("code", &totp_code(&app, &admin_secret)),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    app.stop().await;
}

/// The initial admin, signed in with TOTP enrolled.
async fn admin(app: &TestApp) -> Browser<'_> {
    let mut b = Browser::new(app);
    let pw = initial_admin_password(app);
    b.password("admin@example.com", &pw).await;
    b.enrol().await;
    b
}

/// The app on SQLite with the shop product database declared in its data map.
async fn product_app() -> (TestApp, tempfile::TempDir, sqlx::SqlitePool) {
    let product_dir = tempfile::tempdir().unwrap();
    let (pool, datamap) = common::product::product(product_dir.path()).await;
    let opts = common::Options::datamap(datamap);
    let app = common::spawn_app_with(common::Backend::Sqlite, opts)
        .await
        .unwrap();
    (app, product_dir, pool)
}

/// Case work on connector results: the detail page shows each task's evidence and the
/// export manifest (never the data), sends a new download link, and the erasure dry run
/// lists what would change; an auditor sees none of the buttons and cannot post them.
#[tokio::test]
async fn tasks_export_manifest_new_link_and_dry_run() {
    let (app, _product_dir, _pool) = product_app().await;
    let token = app.token(Role::Agent).await;
    let access = common::product::create_and_start(&app, &token, "access", "ada@example.com").await;
    common::product::wait_for_status(&app, &token, &access, "completed").await;

    let mut b = agent(&app, Role::Agent).await;
    let page = b.get(&format!("/portal/requests/{access}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"tasks\""), "{}", page.body);
    assert!(page.body.contains("orders: 2 row(s)"), "{}", page.body);
    assert!(
        page.body.contains("orders.csv</td><td>2</td>"),
        "{}",
        page.body
    );
    assert!(page.body.contains(">live<"), "{}", page.body);
    // The manifest, not the data: no row value of the package is on the page.
    assert!(!page.body.contains("leave at reception"));
    let csrf = page.csrf();
    let sent = b
        .post(
            &format!("/portal/requests/{access}/export-link"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let after = b.get(sent.location.as_deref().unwrap()).await;
    assert!(
        after.body.contains("A new download link was emailed"),
        "{}",
        after.body
    );
    assert!(
        after.body.contains("export link"),
        "timeline entry: {}",
        after.body
    );
    // Retrying a task that did not fail is refused with a readable message.
    let task_id = between(&after.body, "name=\"task_id\" value=\"", "\"");
    assert!(task_id.is_none(), "no retry button for succeeded tasks");

    // Erasure dry run for another request: rows per table, nothing changed.
    let erasure = request(&app, "ada@example.com").await;
    let dry = b.get(&format!("/portal/requests/{erasure}/preview")).await;
    assert_eq!(dry.status, 200, "{}", dry.body);
    assert!(dry.body.contains("id=\"preview-shop\""), "{}", dry.body);
    assert!(dry.body.contains("<td>orders</td>"), "{}", dry.body);
    let audit = app.state.store.audit_after(0, 10_000).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "request.preview"
        && a.request_ref.as_deref() == Some(erasure.as_str())
        && a.actor == "user:agent@staff.example"));

    // An auditor sees the manifest but no buttons, and posting is refused.
    let mut auditor = agent(&app, Role::Auditor).await;
    let page = auditor.get(&format!("/portal/requests/{access}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("orders.csv</td><td>2</td>"));
    assert!(!page.body.contains("action-export-link"));
    let refused = auditor
        .post(
            &format!("/portal/requests/{access}/export-rebuild"),
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(refused.status, 403);
    app.stop().await;
}

/// Running the service from the portal: connectors answer a test, an admin creates and
/// revokes an API token and disables or resets a colleague, an agent writes an internal
/// note; agents cannot reach the admin forms.
#[tokio::test]
async fn connectors_tokens_users_and_notes() {
    let (app, _product_dir, _pool) = product_app().await;
    let reference = request(&app, "ada@example.com").await;

    // An agent: connectors page and its test, a note; no admin pages.
    let mut a = agent(&app, Role::Agent).await;
    let page = a.get("/portal/connectors").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("<td>shop</td><td>sqlite</td>"),
        "{}",
        page.body
    );
    // The same index advice as `rightsdesk check` (the shop fixture has no index).
    let advice = app
        .state
        .connectors
        .sql("shop")
        .expect("a SQL connector")
        .index_advisor()
        .await
        .expect("advice");
    assert!(!advice.is_empty());
    assert!(page.body.contains("id=\"index-advice\""), "{}", page.body);
    for i in &advice {
        let shown = i
            .statement
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#x27;")
            .replace('/', "&#x2f;");
        assert!(page.body.contains(&shown), "{shown} in {}", page.body);
    }
    let r = a
        .post("/portal/connectors/shop/test", &[("csrf", &page.csrf())])
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("shop answers."), "{}", r.body);
    assert_eq!(a.get("/portal/tokens").await.status, 403);
    let detail = a.get(&format!("/portal/requests/{reference}")).await;
    let r = a
        .post(
            &format!("/portal/requests/{reference}/note"),
            &[
                ("csrf", &detail.csrf()),
                ("note", "Called the subject; <b>bold</b> claim"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let after = a.get(r.location.as_deref().unwrap()).await;
    assert!(after.body.contains("The note was added"));
    assert!(
        after
            .body
            .contains("Called the subject; &lt;b&gt;bold&lt;&#x2f;b&gt; claim"),
        "{}",
        after.body
    );
    let r = a
        .post(
            &format!("/portal/requests/{reference}/note"),
            &[("note", "no csrf")],
        )
        .await;
    assert_eq!(r.status, 403);
    let colleague = a.get("/portal").await;
    let r = a
        .post(
            "/portal/tokens",
            &[
                ("csrf", &colleague.csrf()),
                ("name", "ci"),
                ("role", "admin"),
            ],
        )
        .await;
    assert_eq!(r.status, 403);

    // The admin (TOTP first).
    let mut b = admin(&app).await;
    let page = b.get("/portal/tokens").await;
    assert_eq!(page.status, 200);
    let r = b
        .post(
            "/portal/tokens",
            &[
                ("csrf", &page.csrf()),
                ("name", "crm sync"),
                ("role", "agent"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = between(&r.body, "<code id=\"new-token\">", "</code>").unwrap();
    let (s, _) = common::json(app.get(&token, "/api/v1/requests").await).await;
    assert_eq!(s, 200);
    let row = &r.body[r.body.find("<td>crm sync</td>").unwrap()..];
    let id = between(row, "action=\"/portal/tokens/", "/revoke\"").unwrap();
    let r = b
        .post(
            &format!("/portal/tokens/{id}/revoke"),
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(r.status, 303);
    let (s, _) = common::json(app.get(&token, "/api/v1/requests").await).await;
    assert_eq!(s, 401);

    // Disable the agent: their session ends and they cannot sign in; reset gives a new password.
    let users = b.get("/portal/users").await;
    let agent_id = app
        .state
        .store
        .user_by_email("agent@staff.example")
        .await
        .unwrap()
        .unwrap()
        .id;
    let r = b
        .post(
            &format!("/portal/users/{agent_id}/disable"),
            &[("csrf", &users.csrf())],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(a.get("/portal").await.status, 303, "session ended");
    let r = b
        .post(
            &format!("/portal/users/{agent_id}/enable"),
            &[("csrf", &users.csrf())],
        )
        .await;
    assert_eq!(r.status, 303);
    let r = b
        .post(
            &format!("/portal/users/{agent_id}/reset"),
            &[("csrf", &users.csrf())],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let new_pw = between(&r.body, "<code id=\"new-password\">", "</code>").unwrap();
    let mut again = Browser::new(&app);
    let r = again.password("agent@staff.example", &new_pw).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location.as_deref(), Some("/portal"));
    let audit = app.state.store.audit_after(0, 10_000).await.unwrap();
    for action in [
        "user.disable",
        "user.enable",
        "user.reset",
        "token.revoke",
        "request.note",
    ] {
        assert!(audit.iter().any(|e| e.action == action), "{action} audited");
    }
    app.stop().await;
}

/// Retention and legal holds in the portal: an admin sees the data map's policies, dry
/// runs one (nothing changes), places a hold and releases it; an agent sees the pages
/// without the buttons and cannot post them.
#[tokio::test]
async fn retention_policies_dry_run_and_legal_holds() {
    let (app, _product_dir, pool) = product_app().await;
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM newsletter")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let before = count().await;

    let mut b = admin(&app).await;
    let page = b.get("/portal/retention").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("<td>old-newsletter</td>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("24 months"), "{}", page.body);
    let r = b
        .post(
            "/portal/retention/shop:old-newsletter/dry-run",
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Dry run of old-newsletter"), "{}", r.body);
    assert!(r.body.contains("Nothing was changed"));
    assert!(
        r.body.contains("dry run</td>"),
        "the run is recorded: {}",
        r.body
    );
    assert_eq!(count().await, before, "a dry run changes nothing");
    let r = b
        .post(
            "/portal/retention/shop:nope/dry-run",
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(r.status, 404);

    let holds = b.get("/portal/holds").await;
    assert_eq!(holds.status, 200);
    let r = b
        .post(
            "/portal/holds",
            &[
                ("csrf", &holds.csrf()),
                ("email", "bob@example.com"),
                ("reason", "Litigation hold, case 2026-17"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let holds = b.get("/portal/holds").await;
    assert!(
        holds.body.contains("<td>bob@example.com</td>"),
        "{}",
        holds.body
    );
    assert!(holds.body.contains("in force"));
    let r = b
        .post(
            "/portal/holds",
            &[
                ("csrf", &holds.csrf()),
                ("email", "not an email"),
                ("reason", "x"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("email"), "{}", r.body);

    // An agent reads, but has no buttons and cannot post.
    let mut a = agent(&app, Role::Agent).await;
    let page = a.get("/portal/holds").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("bob@example.com") && !page.body.contains("add-hold"));
    let id = between(&holds.body, "action=\"/portal/holds/", "/release\"").unwrap();
    let r = a
        .post(
            &format!("/portal/holds/{id}/release"),
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(r.status, 403);
    let r = a
        .post(
            "/portal/retention/shop:old-newsletter/run",
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(r.status, 403);

    let r = b
        .post(
            &format!("/portal/holds/{id}/release"),
            &[("csrf", &holds.csrf())],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(b.get("/portal/holds").await.body.contains("released"));
    let audit = app.state.store.audit_after(0, 10_000).await.unwrap();
    for action in ["hold.create", "hold.release", "hold.view"] {
        assert!(audit.iter().any(|e| e.action == action), "{action} audited");
    }
    app.stop().await;
}

/// The queue filters by assignee (API and portal), and the dashboard shows this month's
/// on-time rate of answered requests.
#[tokio::test]
async fn queue_by_assignee_and_on_time_rate() {
    let app = common::spawn_app(common::Backend::Sqlite).await.unwrap();
    let token = app.token(Role::Agent).await;
    let first = request(&app, "ada@example.com").await;
    let second = request(&app, "bob@example.com").await;
    let (s, _) = common::json(
        app.post_json(
            &token,
            &format!("/api/v1/requests/{first}/assign"),
            &json!({"assignee": "Alice@Staff.example"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = common::json(
        app.get(&token, "/api/v1/requests?assignee=alice@staff.example")
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["reference"], first.as_str());

    let mut b = agent(&app, Role::Agent).await;
    let q = b
        .get("/portal/requests?assignee=alice%40staff.example")
        .await;
    assert!(
        q.body.contains(&first) && !q.body.contains(&second),
        "{}",
        q.body
    );
    let dash = b.get("/portal").await;
    assert!(
        dash.body.contains("answered on time this month (0 of 0)"),
        "{}",
        dash.body
    );

    // Answer the second one today (no connector: straight to review, then complete).
    for action in ["start", "complete"] {
        let (s, v) = common::json(
            app.post_empty(&token, &format!("/api/v1/requests/{second}/{action}"))
                .await,
        )
        .await;
        assert_eq!(s, 200, "{action}: {v}");
    }
    let dash = b.get("/portal").await;
    assert!(dash.body.contains("100%"), "{}", dash.body);
    assert!(dash.body.contains("answered on time this month (1 of 1)"));
    app.stop().await;
}

/// A rectification naming a field no connector declares stops in review; the case page
/// lists it, staff correct the field in the form and run the request again, and the
/// product row is corrected.
async fn corrections_are_edited_and_run_again(backend: common::Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (shop, datamap) = common::product::product(dir.path()).await;
    let opts = common::Options::datamap(datamap);
    let Some(app) = common::spawn_app_with(backend, opts).await else {
        return;
    };
    let token = app.token(Role::Agent).await;
    let (s, v) = common::json(
        app.post_json(
            &token,
            "/api/v1/requests",
            &json!({ "kind": "rectification", "email": "ada@example.com",
                     "verification_note": "checked in person",
                     "corrections": [{"field": "surname", "value": "King"}] }),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let reference = v["reference"].as_str().unwrap().to_string();
    let (s, v) = common::json(
        app.post_empty(&token, &format!("/api/v1/requests/{reference}/start"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "review");

    let mut b = agent(&app, Role::Agent).await;
    let page = b.get(&format!("/portal/requests/{reference}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"unmatched\""), "{}", page.body);
    assert!(page.body.contains("no declared field"), "{}", page.body);
    let csrf = page.csrf();
    let r = b
        .post(
            &format!("/portal/requests/{reference}/corrections"),
            &[
                ("csrf", &csrf),
                ("field_0", "name"),
                ("value_0", "Ada King"),
                ("field_1", ""),
                ("value_1", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = b.get(r.location.as_deref().unwrap()).await;
    assert!(page.body.contains("The corrections were saved."));
    assert!(!page.body.contains("id=\"unmatched\""), "{}", page.body);
    let r = b
        .post(
            &format!("/portal/requests/{reference}/rerun"),
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    common::product::wait_for_status(&app, &token, &reference, "review").await;
    let name: String = sqlx::query_scalar("SELECT name FROM customers WHERE id = 1")
        .fetch_one(&shop)
        .await
        .unwrap();
    assert_eq!(name, "Ada King");
    let page = b.get(&format!("/portal/requests/{reference}")).await;
    assert!(page.body.contains("succeeded"), "{}", page.body);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrections_are_edited_and_run_again_sqlite() {
    corrections_are_edited_and_run_again(common::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrections_are_edited_and_run_again_postgres() {
    if common::postgres_url().is_some() {
        corrections_are_edited_and_run_again(common::Backend::Postgres).await;
    }
}

/// Issue 20: the case page offers neither refusal nor hold for a marketing objection,
/// shows a duplicate's link without Start, and merges it into the first request.
async fn marketing_objection_and_duplicate_on_the_case_page(backend: common::Backend) {
    let Some(app) = common::spawn_app(backend).await else {
        return;
    };
    let token = app.token(Role::Agent).await;
    let create = |body: serde_json::Value| {
        let app = &app;
        let token = token.clone();
        async move {
            let (s, v) = common::json(app.post_json(&token, "/api/v1/requests", &body).await).await;
            assert_eq!(s, 201, "{v}");
            v["reference"].as_str().unwrap().to_string()
        }
    };
    let marketing = create(json!({ "kind": "objection", "email": "ada@example.com",
        "scope": "marketing", "verification_note": "by phone" }))
    .await;
    let profiling = create(json!({ "kind": "objection", "email": "bob@example.com",
        "scope": "profiling", "verification_note": "by phone" }))
    .await;
    let first = create(json!({ "kind": "access", "email": "cy@example.com",
        "verification_note": "by phone" }))
    .await;
    let second = create(json!({ "kind": "access", "email": "CY@example.com",
        "verification_note": "by phone" }))
    .await;

    let mut b = agent(&app, Role::Agent).await;
    let page = b.get(&format!("/portal/requests/{marketing}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"action-start\""), "{}", page.body);
    assert!(!page.body.contains("id=\"action-deny\""), "{}", page.body);
    assert!(!page.body.contains("id=\"action-hold\""), "{}", page.body);
    // Only marketing is absolute: a profiling objection can be refused or held.
    let page = b.get(&format!("/portal/requests/{profiling}")).await;
    assert!(page.body.contains("id=\"action-deny\""), "{}", page.body);
    assert!(page.body.contains("id=\"action-hold\""), "{}", page.body);
    // A forged post is refused too.
    let r = b
        .post(
            &format!("/portal/requests/{marketing}/deny"),
            &[("csrf", &page.csrf()), ("reason", "excessive")],
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);

    let page = b.get(&format!("/portal/requests/{first}")).await;
    assert!(page.body.contains("id=\"duplicates\""), "{}", page.body);
    assert!(page.body.contains(&second), "{}", page.body);
    let page = b.get(&format!("/portal/requests/{second}")).await;
    assert!(page.body.contains("id=\"duplicate-of\""), "{}", page.body);
    assert!(!page.body.contains("id=\"action-start\""), "{}", page.body);
    assert!(page.body.contains("id=\"action-unlink\""), "{}", page.body);
    let r = b
        .post(
            &format!("/portal/requests/{second}/merge"),
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = b.get(r.location.as_deref().unwrap()).await;
    assert!(page.body.contains("closed as a duplicate"), "{}", page.body);
    let (_, v) = common::json(app.get(&token, &format!("/api/v1/requests/{second}")).await).await;
    assert_eq!(v["status"], "denied");
    assert_eq!(v["deny_reason"], "duplicate");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marketing_objection_and_duplicate_on_the_case_page_sqlite() {
    marketing_objection_and_duplicate_on_the_case_page(common::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marketing_objection_and_duplicate_on_the_case_page_postgres() {
    if common::postgres_url().is_some() {
        marketing_objection_and_duplicate_on_the_case_page(common::Backend::Postgres).await;
    }
}

/// Issue 20 item 6: an erasure request received on `day` (its due date follows from the
/// regime), returned with its due date as the API reports it.
async fn request_received(app: &TestApp, token: &str, email: &str, day: &str) -> (String, String) {
    let (status, v) = common::json(
        app.post_json(
            token,
            "/api/v1/requests",
            &json!({ "kind": "erasure", "email": email, "received_at": format!("{day}T12:00:00Z"),
                     "verification_note": "Called back on the number on file" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{v}");
    (
        v["reference"].as_str().unwrap().to_string(),
        v["due_date"].as_str().unwrap().to_string(),
    )
}

/// The references listed in a queue page's table.
fn listed(body: &str) -> Vec<String> {
    body.split("<a class=\"ref\" href=\"/portal/requests/")
        .skip(1)
        .filter_map(|s| s.split('"').next().map(str::to_string))
        .collect()
}

/// The dashboard's "due within 7 days" tile lists exactly the open requests due in the
/// window; the default queue shows open requests only; every filter survives paging;
/// "Extend" is offered exactly where the API accepts it.
async fn due_soon_open_queue_paging_and_offered_actions(backend: common::Backend) {
    let Some(app) = common::spawn_app(backend).await else {
        return;
    };
    let token = app.token(Role::Agent).await;
    let today = app.state.clock.now().date_naive();
    let window_end = today + chrono::Days::new(7);
    let mut due_soon = Vec::new();
    let mut others = Vec::new();
    for (i, day) in [
        "2026-09-01",
        "2026-09-11",
        "2026-09-13",
        "2026-09-16",
        "2026-09-25",
    ]
    .iter()
    .enumerate()
    {
        let (r, due) = request_received(&app, &token, &format!("s{i}@example.com"), day).await;
        let due: chrono::NaiveDate = due.parse().unwrap();
        if due >= today && due <= window_end {
            due_soon.push(r);
        } else {
            others.push(r);
        }
    }
    assert!(
        due_soon.len() >= 2 && others.len() >= 2,
        "{due_soon:?} {others:?}"
    );
    // A request due in the window but answered already is not "due soon".
    let (closed, _) = request_received(&app, &token, "closed@example.com", "2026-09-13").await;
    for action in ["start", "complete"] {
        let (s, v) = common::json(
            app.post_empty(&token, &format!("/api/v1/requests/{closed}/{action}"))
                .await,
        )
        .await;
        assert_eq!(s, 200, "{action}: {v}");
    }

    let mut b = admin(&app).await;
    let dash = b.get("/portal").await;
    let tile = between(&dash.body, "id=\"due-soon-tile\"", "</a>").expect("due-soon tile");
    assert!(
        tile.contains(&format!(">{}</span> due within 7 days", due_soon.len())),
        "{tile}"
    );
    let href = between(&dash.body, "<a class=\"tile warn\" href=\"", "\"").unwrap();
    let page = b.get(&href).await;
    assert_eq!(page.status, 200);
    let mut shown = listed(&page.body);
    shown.sort();
    let mut expected = due_soon.clone();
    expected.sort();
    assert_eq!(
        shown, expected,
        "the tile lists exactly the requests due soon"
    );

    // The default queue: open requests only; "all statuses" brings the answered one back.
    let queue = b.get("/portal/requests").await;
    assert!(!listed(&queue.body).contains(&closed), "{}", queue.body);
    assert!(listed(&queue.body).contains(&others[0]));
    let all = b.get("/portal/requests?status=all").await;
    assert!(listed(&all.body).contains(&closed));

    // Paging: 27 requests assigned to Alice, due soon; one more, not hers.
    let mut hers = Vec::new();
    for i in 0..27 {
        let (r, _) =
            request_received(&app, &token, &format!("p{i}@example.com"), "2026-09-13").await;
        let (s, _) = common::json(
            app.post_json(
                &token,
                &format!("/api/v1/requests/{r}/assign"),
                &json!({"assignee": "alice@staff.example"}),
            )
            .await,
        )
        .await;
        assert_eq!(s, 200);
        hers.push(r);
    }
    let first = b
        .get("/portal/requests?status=open&kind=erasure&assignee=alice%40staff.example&due_within=7&q=DSR")
        .await;
    assert_eq!(first.status, 200);
    assert!(first.body.contains("Page 1 of 2"), "{}", first.body);
    let next = between(&first.body, "<span>Page 1 of 2</span>\n  <a href=\"", "\"")
        .expect("next link")
        .replace("&amp;", "&");
    for kept in [
        "status=open",
        "kind=erasure",
        "assignee=alice%40staff.example",
        "due_within=7",
        "q=DSR",
        "page=2",
    ] {
        assert!(next.contains(kept), "{kept} kept in {next}");
    }
    let second = b.get(&next).await;
    let mut paged = listed(&first.body);
    paged.extend(listed(&second.body));
    paged.sort();
    hers.sort();
    assert_eq!(paged, hers, "both pages together: exactly Alice's requests");
    let prev = between(
        &second.body,
        "<nav class=\"pager\" aria-label=\"Pages\">\n  <a href=\"",
        "\"",
    )
    .expect("previous link")
    .replace("&amp;", "&");
    assert!(
        prev.contains("assignee=alice%40staff.example") && prev.contains("due_within=7"),
        "{prev}"
    );

    // "Extend" is offered exactly where the API accepts it: an overdue request (notice
    // is due before the due date where the regime requires it), one already extended,
    // an answered one, a fresh one.
    let (fresh, _) = request_received(&app, &token, "fresh@example.com", "2026-10-05").await;
    let (twice, _) = request_received(&app, &token, "twice@example.com", "2026-10-05").await;
    let (s, v) = common::json(
        app.post_json(
            &token,
            &format!("/api/v1/requests/{twice}/extend"),
            &json!({"reason": "Several systems"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let mut refused = 0;
    for r in [&others[0], &twice, &closed, &fresh] {
        let page = b.get(&format!("/portal/requests/{r}")).await;
        let offered = page.body.contains("id=\"extend\"");
        let (s, v) = common::json(
            app.post_json(
                &token,
                &format!("/api/v1/requests/{r}/extend"),
                &json!({"reason": "Several systems"}),
            )
            .await,
        )
        .await;
        assert_eq!(offered, s == 200, "{r}: offered {offered}, API {s} {v}");
        if s != 200 {
            refused += 1;
        }
    }
    assert!(refused >= 2, "the test covers refusals");
    // A bad filter is a readable page, not a crash.
    let bad = b.get("/portal/requests?due_within=soon").await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(
        bad.body.contains("must be a whole number of days"),
        "{}",
        bad.body
    );
    app.stop().await;
}

#[tokio::test]
async fn due_soon_open_queue_paging_and_offered_actions_sqlite() {
    due_soon_open_queue_paging_and_offered_actions(common::Backend::Sqlite).await;
}

#[tokio::test]
async fn due_soon_open_queue_paging_and_offered_actions_postgres() {
    if common::postgres_url().is_some() {
        due_soon_open_queue_paging_and_offered_actions(common::Backend::Postgres).await;
    }
}

/// The text of the newest file-outbox email containing `marker`, waiting for the send job.
async fn outbox_text(app: &TestApp, marker: &str) -> String {
    let dir = app.dir.path().join("data/outbox");
    for _ in 0..150 {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let data = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let text = common::smtp::decoded_text(&data);
            if text.contains(marker) {
                found.push((entry.path(), text));
            }
        }
        found.sort();
        if let Some((_, text)) = found.pop() {
            return text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no email containing {marker:?} in {}", dir.display());
}

/// Issue 21 on the case page: an agent changes the regime with a reason; the refusal is
/// appealed by the subject; the agent who refused cannot decide the appeal even after an
/// admin gives them the appeals permission; an admin reverses it and the refusal reopens.
async fn regime_and_appeal_on_the_case_page(backend: common::Backend) {
    let Some(app) = common::spawn_app_with(
        backend,
        common::Options {
            configure: Box::new(|c| c.deadlines.policy_days = 0),
            handlers: Vec::new(),
        },
    )
    .await
    else {
        return;
    };
    let token = app.token(Role::Agent).await;
    let (s, v) = common::json(
        app.post_json(
            &token,
            "/api/v1/requests",
            &json!({ "kind": "access", "email": "va@example.com", "regime": "gdpr",
                     "verification_note": "by phone" }),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let reference = v["reference"].as_str().unwrap().to_string();
    assert_eq!(v["due_date"], "2026-11-10");

    let mut b = agent(&app, Role::Agent).await;
    let page = b.get(&format!("/portal/requests/{reference}")).await;
    assert!(page.body.contains("id=\"change-regime\""), "{}", page.body);
    let path = format!("/portal/requests/{reference}/regime");
    let r = b
        .post(
            &path,
            &[("csrf", &page.csrf()), ("regime", "vcdpa"), ("reason", "")],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("id=\"error\""), "{}", r.body);
    let r = b
        .post(
            &path,
            &[
                ("csrf", &page.csrf()),
                ("regime", "vcdpa"),
                ("reason", "Lives in Virginia"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = b.get(r.location.as_deref().unwrap()).await;
    assert!(page.body.contains("due date recomputed"), "{}", page.body);
    assert!(page.body.contains("2026-11-24"), "{}", page.body);

    // The agent refuses it; the subject appeals from the link in the refusal email.
    let r = b
        .post(
            &format!("/portal/requests/{reference}/deny"),
            &[("csrf", &page.csrf()), ("reason", "no_match")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let refusal = outbox_text(&app, "You may appeal this decision").await;
    let start = refusal.find("/status/").expect("status link");
    let status_path: String = refusal[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let resp = app
        .client
        .post(app.url(&format!("{status_path}/appeal")))
        .form(&[("reasons", "Please look again.")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.text().await.unwrap();
    let appeal = between(&body, "the reference ", ".").expect("appeal reference");

    // Without the appeals permission: no form, and a forged post is refused.
    let page = b.get(&format!("/portal/requests/{appeal}")).await;
    assert!(page.body.contains("id=\"appeal-of\""), "{}", page.body);
    assert!(page.body.contains(&reference), "{}", page.body);
    assert!(!page.body.contains("id=\"action-decide\""), "{}", page.body);
    assert!(!page.body.contains("id=\"action-start\""), "{}", page.body);
    let decide = format!("/portal/requests/{appeal}/decide");
    let reason = "The account exists under another address.";
    let r = b
        .post(
            &decide,
            &[
                ("csrf", &page.csrf()),
                ("outcome", "reversed"),
                ("reason", reason),
            ],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);

    // An admin gives the agent the permission: still not for their own refusal.
    let mut a = admin(&app).await;
    let users = a.get("/portal/users").await;
    let end = users.body.find("/grant-appeals\"").expect("grant form");
    let start = users.body[..end]
        .rfind("/portal/users/")
        .expect("grant form")
        + "/portal/users/".len();
    let grant = users.body[start..end].to_string();
    let r = a
        .post(
            &format!("/portal/users/{grant}/grant-appeals"),
            &[("csrf", &users.csrf())],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let users = a.get("/portal/users").await;
    assert!(
        users.body.contains("id=\"appeals-agent@staff.example\""),
        "{}",
        users.body
    );
    let page = b.get(&format!("/portal/requests/{appeal}")).await;
    assert!(page.body.contains("id=\"action-decide\""), "{}", page.body);
    let r = b
        .post(
            &decide,
            &[
                ("csrf", &page.csrf()),
                ("outcome", "reversed"),
                ("reason", reason),
            ],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);

    // The admin decides: reversed, the refusal reopens.
    let page = a.get(&format!("/portal/requests/{appeal}")).await;
    let r = a
        .post(
            &decide,
            &[
                ("csrf", &page.csrf()),
                ("outcome", "reversed"),
                ("reason", reason),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = a.get(r.location.as_deref().unwrap()).await;
    assert!(
        page.body.contains("The appeal was decided"),
        "{}",
        page.body
    );
    let (_, v) = common::json(
        app.get(&token, &format!("/api/v1/requests/{reference}"))
            .await,
    )
    .await;
    assert_eq!(v["status"], "open", "{v}");
    assert_eq!(v["appeals"][0]["outcome"], "reversed", "{v}");
    let decision = outbox_text(&app, "your appeal is successful").await;
    assert!(
        decision.contains("Office of the Attorney General of Virginia"),
        "{decision}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regime_and_appeal_on_the_case_page_sqlite() {
    regime_and_appeal_on_the_case_page(common::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regime_and_appeal_on_the_case_page_postgres() {
    if common::postgres_url().is_some() {
        regime_and_appeal_on_the_case_page(common::Backend::Postgres).await;
    }
}
