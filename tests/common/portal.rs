//! A browser without JavaScript for portal tests: cookies kept by hand (reqwest has no
//! cookie feature here), the CSRF field read from the page, staff signed in.

use std::collections::HashMap;

use rightsdesk::clock::Clock;
use rightsdesk::domain::staff::Role;

use super::TestApp;

/// A browser without JavaScript, its cookies kept by hand.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub cookies: HashMap<String, String>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    /// `Retry-After` in seconds, when the answer carries one.
    pub retry_after: Option<u64>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

/// Undo the page's HTML escaping (the secret's base64 may hold `/`).
pub fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

pub fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let i = text.find(start)? + start.len();
    let j = text[i..].find(end)? + i;
    Some(text[i..j].to_string())
}

impl Page {
    pub fn csrf(&self) -> String {
        between(&self.body, "name=\"csrf\" value=\"", "\"").expect("csrf field")
    }
}

/// The code an authenticator app shows now (the app's clock, not the machine's).
pub fn totp_code(app: &TestApp, secret: &str) -> String {
    totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret).expect("base32"))
        .build()
        .expect("totp")
        .generate(app.clock.now().timestamp() as u64)
        .to_string()
}

impl<'a> Browser<'a> {
    /// A browser with no cookies yet.
    pub fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            cookies: HashMap::new(),
        }
    }

    /// A staff member of `role` (not admin: no TOTP by default), created and signed in.
    pub async fn staff(app: &'a TestApp, email: &str, role: Role) -> Self {
        let (_, pw) = rightsdesk::http::portal::auth::create_user(&app.state, email, role)
            .await
            .expect("user");
        let mut b = Browser::new(app);
        let r = b.password(email, &pw).await;
        assert_eq!(r.location.as_deref(), Some("/portal"), "{}", r.body);
        b
    }

    /// Sign in with email and password; the answer to the POST.
    pub async fn password(&mut self, email: &str, password: &str) -> Page {
        let form = self.get("/portal/login").await;
        assert_eq!(form.status, 200);
        let csrf = form.csrf();
        self.post(
            "/portal/login",
            &[("csrf", &csrf), ("email", email), ("password", password)],
        )
        .await
    }

    /// The second sign-in step with `code`; the answer to the POST.
    pub async fn code(&mut self, code: &str) -> Page {
        let form = self.get("/portal/login/totp").await;
        assert_eq!(form.status, 200, "{}", form.body);
        self.post(
            "/portal/login/totp",
            &[("csrf", &form.csrf()), ("code", code)],
        )
        .await
    }

    /// Enrol TOTP (the QR code is drawn by the page itself); returns the secret and the
    /// ten recovery codes shown once.
    pub async fn enrol(&mut self) -> (String, Vec<String>) {
        let page = self.get("/portal/account/totp").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains("src=\"data:image"),
            "QR code drawn locally"
        );
        let secret = between(&page.body, "<code id=\"totp-secret\">", "</code>").expect("secret");
        let code = totp_code(self.app, &secret);
        let done = self
            .post(
                "/portal/account/totp",
                &[("csrf", &page.csrf()), ("code", &code)],
            )
            .await;
        assert_eq!(done.status, 200, "{}", done.body);
        let codes: Vec<String> = done
            .body
            .split("<li><code>")
            .skip(1)
            .filter_map(|s| s.split("</code>").next())
            .map(str::to_string)
            .collect();
        assert_eq!(codes.len(), 10, "{}", done.body);
        (secret, codes)
    }

    /// Sign out from the portal's own form.
    pub async fn sign_out(&mut self) {
        let page = self.get("/portal").await;
        let out = self.post("/portal/logout", &[("csrf", &page.csrf())]).await;
        assert_eq!(out.status, 303);
        assert!(!self.cookies.contains_key("rd_session"));
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn finish(&mut self, resp: reqwest::Response) -> Page {
        for v in resp.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let (name, value) = v.split(';').next().unwrap().split_once('=').unwrap();
            if value.is_empty() || v.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.into(), value.into());
            }
        }
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let headers = resp.headers().clone();
        Page {
            status,
            location,
            retry_after,
            headers,
            body: resp.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let r = self
            .app
            .client
            .get(self.app.url(path))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.finish(r).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let r = self
            .app
            .client
            .post(self.app.url(path))
            .header("cookie", self.cookie_header())
            .header("origin", &self.app.base)
            .form(form)
            .send()
            .await
            .unwrap();
        self.finish(r).await
    }

    /// The initial admin, signed in with password and a freshly enrolled TOTP.
    pub async fn admin(app: &'a TestApp) -> Self {
        let mut b = Browser::new(app);
        let pw = std::fs::read_to_string(app.dir.path().join("data/initial-admin-password"))
            .expect("initial admin password");
        let form = b.get("/portal/login").await;
        let r = b
            .post(
                "/portal/login",
                &[
                    ("csrf", &form.csrf()),
                    ("email", "admin@example.com"),
                    ("password", pw.trim()),
                ],
            )
            .await;
        assert_eq!(r.location.as_deref(), Some("/portal/account/totp"));
        let page = b.get("/portal/account/totp").await;
        let secret = between(&page.body, "<code id=\"totp-secret\">", "</code>").expect("secret");
        let code = totp_code(app, &secret);
        let done = b
            .post(
                "/portal/account/totp",
                &[("csrf", &page.csrf()), ("code", &code)],
            )
            .await;
        assert_eq!(done.status, 200, "{}", done.body);
        b
    }
}
