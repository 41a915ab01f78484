//! Helpers shared by the security tests: staff signed in to the portal (with TOTP where
//! the role needs it), subject links read from the file outbox, row counts.
#![allow(dead_code)]

use std::time::Duration;

use rightsdesk::clock::Clock;
use rightsdesk::domain::staff::Role;
use serde_json::json;

use crate::common::{TestApp, json, smtp};

/// Someone signed in to the portal: the session cookie and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct PortalLogin {
    pub cookie: String,
    pub csrf: String,
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let i = text.find(start)? + start.len();
    let j = text[i..].find(end)? + i;
    Some(text[i..j].to_string())
}

/// The `rd_session=...` of a response's `Set-Cookie`, if it sets one.
fn session_cookie(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter(|kv| kv.starts_with("rd_session=") && kv.len() > "rd_session=".len())
        .map(str::to_string)
        .next_back()
}

async fn get(app: &TestApp, path: &str, cookie: &str) -> (u16, String) {
    let resp = app
        .client
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .expect("request");
    let s = resp.status().as_u16();
    (s, resp.text().await.unwrap_or_default())
}

/// Create a portal user with `role` and sign in (password, and TOTP enrolment for
/// roles that need it). The email is unique per call.
pub async fn portal_login(app: &TestApp, role: Role) -> PortalLogin {
    let email = format!(
        "{}-{}@staff.example",
        role.as_str(),
        uuid::Uuid::new_v4().simple()
    );
    let (_, password) = rightsdesk::http::portal::auth::create_user(&app.state, &email, role)
        .await
        .expect("user");
    // The sign-in form sets its own cookie and CSRF value.
    let form = app
        .client
        .get(app.url("/portal/login"))
        .send()
        .await
        .expect("login form");
    let login_cookie = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|kv| kv.starts_with("rd_login="))
        .expect("login cookie")
        .to_string();
    let body = form.text().await.expect("body");
    let csrf = between(&body, "name=\"csrf\" value=\"", "\"").expect("csrf");
    let resp = app
        .client
        .post(app.url("/portal/login"))
        .header("cookie", &login_cookie)
        .header("origin", &app.base)
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", email.as_str()),
            ("password", password.as_str()),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), 303, "sign-in of a new {role:?}");
    let next = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut cookie = session_cookie(&resp).expect("session cookie");
    if next == "/portal/account/totp" {
        let (s, page) = get(app, "/portal/account/totp", &cookie).await;
        assert_eq!(s, 200);
        let secret = between(&page, "<code id=\"totp-secret\">", "</code>").expect("secret");
        let csrf = between(&page, "name=\"csrf\" value=\"", "\"").expect("csrf");
        let code = totp_rs::Builder::new()
            .with_secret(totp_rs::Secret::try_from_base32(&secret).expect("base32"))
            .build()
            .expect("totp")
            .generate(app.clock.now().timestamp() as u64)
            .to_string();
        let resp = app
            .client
            .post(app.url("/portal/account/totp"))
            .header("cookie", &cookie)
            .header("origin", &app.base)
            .form(&[("csrf", csrf.as_str()), ("code", code.as_str())])
            .send()
            .await
            .expect("enrol");
        assert_eq!(resp.status(), 200, "TOTP enrolment");
        if let Some(c) = session_cookie(&resp) {
            cookie = c;
        }
    }
    let (s, page) = get(app, "/portal", &cookie).await;
    assert_eq!(s, 200, "signed-in dashboard");
    let csrf = between(&page, "name=\"csrf\" value=\"", "\"").expect("csrf on the dashboard");
    PortalLogin { cookie, csrf }
}

/// Every link to `prefix` (`/verify/`, `/status/`) in the messages of the file outbox,
/// as the bare token, oldest message first.
pub fn outbox_tokens(app: &TestApp, prefix: &str) -> Vec<String> {
    let dir = app.state.config.data_dir.join("outbox");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    let mut out = Vec::new();
    for f in files {
        let Ok(eml) = std::fs::read_to_string(&f) else {
            continue;
        };
        let text = smtp::decoded_text(&eml);
        for (i, _) in text.match_indices(prefix) {
            let token: String = text[i + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            if !token.is_empty() && !out.contains(&token) {
                out.push(token);
            }
        }
    }
    out
}

/// Wait until the outbox holds a link to `prefix` not in `seen`; returns it.
pub async fn next_token(app: &TestApp, prefix: &str, seen: &[String]) -> String {
    for _ in 0..200 {
        if let Some(t) = outbox_tokens(app, prefix)
            .into_iter()
            .find(|t| !seen.contains(t))
        {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no new {prefix} link arrived in the outbox");
}

/// A subject's request through the public API, verified by its emailed link. Returns the
/// reference and the status link's token.
pub async fn verified_subject(app: &TestApp, email: &str) -> (String, String) {
    let seen = outbox_tokens(app, "/verify/");
    let (s, v) = json(
        app.client
            .post(app.url("/api/v1/intake"))
            .json(&json!({ "kind": "access", "email": email }))
            .send()
            .await
            .expect("intake"),
    )
    .await;
    assert_eq!(s, 202, "{v}");
    let verify = next_token(app, "/verify/", &seen).await;
    let seen_status = outbox_tokens(app, "/status/");
    let (s, v) = json(
        app.client
            .post(app.url("/api/v1/intake/verify"))
            .json(&json!({ "token": verify }))
            .send()
            .await
            .expect("verify"),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let reference = v["reference"].as_str().expect("reference").to_string();
    let status = next_token(app, "/status/", &seen_status).await;
    (reference, status)
}

/// A request entered by staff through the API; returns its reference.
pub async fn staff_request(app: &TestApp, email: &str) -> String {
    let token = app.token(Role::Agent).await;
    let (status, v) = json(
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
