//! The staff portal over HTTP, as a browser without JavaScript uses it: sign-in with
//! password and TOTP, sessions and CSRF, roles, and the request story, on SQLite and
//! PostgreSQL.

mod common;

use std::collections::HashMap;

use chrono::TimeDelta;
use common::TestApp;
use reqwest::StatusCode;
use rightsdesk::auth::Role;
use rightsdesk::clock::Clock;
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
    audit_page_verifies_chain
);

/// A browser: a cookie jar kept by hand (reqwest has no cookie feature here).
struct Browser<'a> {
    app: &'a TestApp,
    cookies: HashMap<String, String>,
}

struct Page {
    status: StatusCode,
    location: Option<String>,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Page {
    fn csrf(&self) -> String {
        between(&self.body, "name=\"csrf\" value=\"", "\"").expect("page has a csrf field")
    }
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let i = text.find(start)? + start.len();
    let j = text[i..].find(end)? + i;
    Some(text[i..j].to_string())
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn finish(&mut self, resp: reqwest::Response) -> Page {
        for v in resp.headers().get_all("set-cookie") {
            let v = v.to_str().expect("ascii cookie");
            let first = v.split(';').next().unwrap_or("");
            let (name, value) = first.split_once('=').expect("name=value");
            if value.is_empty() || v.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        let status = resp.status();
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let headers = resp.headers().clone();
        let body = resp.text().await.expect("body");
        Page {
            status,
            location,
            headers,
            body,
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let resp = self
            .app
            .client
            .get(self.app.url(path))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .expect("request");
        self.finish(resp).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let resp = self
            .app
            .client
            .post(self.app.url(path))
            .header("cookie", self.cookie_header())
            .header("origin", &self.app.base)
            .form(form)
            .send()
            .await
            .expect("request");
        self.finish(resp).await
    }

    /// Sign in with email and password; returns the answer to the POST.
    async fn password(&mut self, email: &str, password: &str) -> Page {
        let form = self.get("/portal/login").await;
        assert_eq!(form.status, 200);
        let csrf = form.csrf();
        self.post(
            "/portal/login",
            &[("csrf", &csrf), ("email", email), ("password", password)],
        )
        .await
    }

    /// Enrol TOTP on the enrolment page; returns the secret.
    async fn enrol(&mut self) -> String {
        let page = self.get("/portal/account/totp").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains("src=\"data:image"),
            "QR code drawn locally"
        );
        let secret = between(&page.body, "<code id=\"totp-secret\">", "</code>").expect("secret");
        let code = code(self.app, &secret);
        let done = self
            .post(
                "/portal/account/totp",
                &[("csrf", &page.csrf()), ("code", &code)],
            )
            .await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert_eq!(done.body.matches("<li><code>").count(), 10);
        secret
    }

    async fn sign_out(&mut self) {
        let page = self.get("/portal").await;
        let out = self.post("/portal/logout", &[("csrf", &page.csrf())]).await;
        assert_eq!(out.status, 303);
        assert!(!self.cookies.contains_key("rd_session"));
    }
}

/// The code an authenticator app shows now (the app's clock, not the machine's).
fn code(app: &TestApp, secret: &str) -> String {
    let t = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret).expect("base32"))
        .build()
        .expect("totp");
    t.generate(app.clock.now().timestamp() as u64).to_string()
}

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
    let secret = b.enrol().await;
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
    let good = code(&app, &secret);
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
            &[("csrf", &csrf), ("code", &code(&app, &secret))],
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
