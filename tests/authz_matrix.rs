//! The authorization matrix: every route the service serves (the API routes from the
//! OpenAPI document, every other route read from the router's source) against every kind
//! of caller, with the status each must get. A route without a line in `RULES` fails the
//! test: whoever adds a route decides who may call it. Every HTML answer is also checked
//! for the page security headers.

mod common;
#[path = "security/support.rs"]
mod support;

use std::collections::BTreeSet;
use std::path::Path;

use chrono::TimeDelta;
use common::{Backend, Options, TestApp, spawn_app_with};
use rightsdesk::domain::staff::Role;
use serde_json::Value;
use support::{PortalLogin, portal_login, staff_request, verified_subject};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// Anyone: never 401 or 403.
    Public,
    /// Served only on the separate metrics listener: the public listener has no such
    /// route (404 for everyone).
    MetricsListener,
    /// The JSON API with a bearer token of at least this role: 401 without a valid token,
    /// 403 with a weaker role (a `site` token is weaker than every staff role).
    Api(Role),
    /// A JSON API route the company's site may call with a `site` token, and staff with
    /// at least this role: 401 without a valid token, 403 for a weaker staff role.
    SiteApi(Role),
    /// A portal page or form for a fully signed-in user with at least this role: without
    /// a session, back to the sign-in page; a weaker role gets a 403 page; a form post
    /// without the session's CSRF token gets a 403 page.
    Portal(Role),
    /// Portal pages of the sign-in itself (TOTP, enrolment, sign-out): any live session,
    /// whatever its stage; no session goes to the sign-in page; posts need the CSRF token.
    Session,
    /// The sign-in form: anyone may load it; a post without the form's own token is
    /// refused with 403.
    SignIn,
    /// A subject link: the token in the path is the only credential. It opens the page
    /// only for a token issued for that purpose (`purpose`); anything else is a 404/410
    /// page that shows nothing of any request.
    Link(&'static str),
    /// A connector's callback: only a live single-use link with the connector's
    /// signature is accepted; everyone else gets 401 or 410 problem+json.
    Callback,
    /// A Data Rights Protocol route (docs/drp.md): only a paired agent's bearer token and
    /// a body signed with its directory key count; everyone else gets 401 or 403 with
    /// the spec's JSON error object, or the empty 403 of a refused pairing.
    DrpAgent,
}

use Rule::*;

/// One line per route: method, path as the router declares it, rule.
const RULES: &[(&str, &str, Rule)] = &[
    // public site and operations
    ("GET", "/", Public),
    ("POST", "/requests", Public),
    ("GET", "/static/site.css", Public),
    ("GET", "/static/portal.css", Public),
    ("GET", "/healthz", Public),
    ("GET", "/readyz", Public),
    ("GET", "/metrics", MetricsListener),
    // subject links
    ("GET", "/verify/{token}", Link("verify")),
    ("POST", "/verify/{token}", Link("verify")),
    ("GET", "/status/{token}", Link("status")),
    ("POST", "/status/{token}/link", Link("status")),
    ("POST", "/status/{token}/withdraw-objection", Link("status")),
    ("POST", "/status/{token}/opt-in", Link("status")),
    ("POST", "/status/{token}/appeal", Link("status")),
    ("POST", "/status/{token}/reply", Link("status")),
    ("GET", "/agent/{token}", Link("agent")),
    ("GET", "/download/{token}", Link("download")),
    ("GET", "/tasks/{token}", Link("task")),
    ("POST", "/tasks/{token}", Link("task")),
    ("POST", "/api/v1/callbacks/{task_token}", Callback),
    // JSON API
    ("POST", "/api/v1/intake", Public),
    ("POST", "/api/v1/intake/verify", Public),
    // Opt-outs forwarded by the company's site (a `site` token) or entered by staff.
    ("POST", "/api/v1/optouts", SiteApi(Role::Agent)),
    ("GET", "/api/v1/openapi.json", Public),
    ("GET", "/api/v1/requests", Api(Role::Auditor)),
    ("POST", "/api/v1/requests", Api(Role::Agent)),
    ("GET", "/api/v1/requests/{id}", Api(Role::Auditor)),
    ("GET", "/api/v1/requests/{id}/status", Api(Role::Auditor)),
    ("POST", "/api/v1/requests/{id}/start", Api(Role::Agent)),
    ("POST", "/api/v1/requests/{id}/deny", Api(Role::Agent)),
    ("POST", "/api/v1/requests/{id}/extend", Api(Role::Agent)),
    ("POST", "/api/v1/requests/{id}/hold", Api(Role::Agent)),
    ("POST", "/api/v1/requests/{id}/resume", Api(Role::Agent)),
    ("POST", "/api/v1/requests/{id}/complete", Api(Role::Agent)),
    ("POST", "/api/v1/requests/{id}/withdraw", Api(Role::Agent)),
    ("POST", "/api/v1/requests/{id}/assign", Api(Role::Agent)),
    ("POST", "/api/v1/requests/{id}/lift", Api(Role::Agent)),
    ("POST", "/api/v1/requests/{id}/rerun", Api(Role::Agent)),
    ("PUT", "/api/v1/requests/{id}/corrections", Api(Role::Agent)),
    ("POST", "/api/v1/requests/{id}/notes", Api(Role::Agent)),
    ("POST", "/api/v1/requests/{id}/unlink", Api(Role::Agent)),
    ("POST", "/api/v1/requests/{id}/merge", Api(Role::Agent)),
    ("POST", "/api/v1/requests/{id}/regime", Api(Role::Agent)),
    // Agent tokens pass the role check; deciding then needs an admin token (403 for an
    // agent, whatever the appeal).
    ("POST", "/api/v1/requests/{id}/decide", Api(Role::Agent)),
    ("POST", "/api/v1/requests/{id}/ask", Api(Role::Agent)),
    ("POST", "/api/v1/requests/{id}/messages", Api(Role::Agent)),
    (
        "GET",
        "/api/v1/requests/{id}/conversation",
        Api(Role::Auditor),
    ),
    (
        "GET",
        "/api/v1/requests/{id}/files/{file_id}",
        Api(Role::Auditor),
    ),
    (
        "POST",
        "/api/v1/requests/{id}/agent/consent",
        Api(Role::Agent),
    ),
    (
        "POST",
        "/api/v1/requests/{id}/agent/accept",
        Api(Role::Agent),
    ),
    ("GET", "/api/v1/requests/{id}/identity", Api(Role::Auditor)),
    ("POST", "/api/v1/requests/{id}/identity", Api(Role::Agent)),
    ("GET", "/api/v1/requests/{id}/preview", Api(Role::Auditor)),
    (
        "POST",
        "/api/v1/requests/{id}/tasks/{task_id}/retry",
        Api(Role::Agent),
    ),
    ("GET", "/api/v1/connectors", Api(Role::Auditor)),
    ("POST", "/api/v1/connectors/{name}/test", Api(Role::Agent)),
    ("GET", "/api/v1/reports/sla", Api(Role::Auditor)),
    ("GET", "/api/v1/audit", Api(Role::Auditor)),
    ("GET", "/api/v1/audit/verify", Api(Role::Auditor)),
    ("GET", "/api/v1/tokens", Api(Role::Admin)),
    ("POST", "/api/v1/tokens", Api(Role::Admin)),
    ("DELETE", "/api/v1/tokens/{token_id}", Api(Role::Admin)),
    ("GET", "/api/v1/jobs", Api(Role::Auditor)),
    ("POST", "/api/v1/jobs/{job_id}/retry", Api(Role::Agent)),
    ("GET", "/api/v1/requests/{id}/export", Api(Role::Auditor)),
    ("POST", "/api/v1/requests/{id}/export", Api(Role::Agent)),
    (
        "POST",
        "/api/v1/requests/{id}/export/link",
        Api(Role::Agent),
    ),
    ("GET", "/api/v1/retention", Api(Role::Auditor)),
    ("GET", "/api/v1/retention/runs", Api(Role::Auditor)),
    ("POST", "/api/v1/retention/{name}/run", Api(Role::Admin)),
    ("GET", "/api/v1/holds", Api(Role::Agent)),
    ("POST", "/api/v1/holds", Api(Role::Admin)),
    ("DELETE", "/api/v1/holds/{hold_id}", Api(Role::Admin)),
    // Data Rights Protocol: staff view of agents, and the agents' own routes
    ("GET", "/api/v1/drp/agents", Api(Role::Agent)),
    (
        "POST",
        "/api/v1/drp/agents/{agent_id}/suspend",
        Api(Role::Admin),
    ),
    (
        "POST",
        "/api/v1/drp/agents/{agent_id}/reinstate",
        Api(Role::Admin),
    ),
    ("POST", "/drp/v1/agent/{agent_id}", DrpAgent),
    ("GET", "/drp/v1/agent/{agent_id}", DrpAgent),
    ("POST", "/drp/v1/data-rights-request", DrpAgent),
    ("GET", "/drp/v1/data-rights-request/{request_id}", DrpAgent),
    (
        "DELETE",
        "/drp/v1/data-rights-request/{request_id}",
        DrpAgent,
    ),
    // The suppression list: agents and the company's site check addresses (a lookup of
    // people, not an audit read, so not auditors); the whole list and its key are an
    // admin's.
    ("POST", "/api/v1/suppressions/check", SiteApi(Role::Agent)),
    ("GET", "/api/v1/suppressions/export", Api(Role::Admin)),
    ("GET", "/api/v1/suppressions/key", Api(Role::Admin)),
    // staff portal
    ("GET", "/portal/login", SignIn),
    ("POST", "/portal/login", SignIn),
    ("GET", "/portal/login/totp", Session),
    ("POST", "/portal/login/totp", Session),
    ("GET", "/portal/account/totp", Session),
    ("POST", "/portal/account/totp", Session),
    ("POST", "/portal/logout", Session),
    ("GET", "/portal", Portal(Role::Auditor)),
    ("GET", "/portal/requests", Portal(Role::Auditor)),
    ("GET", "/portal/drp/agents", Portal(Role::Auditor)),
    (
        "POST",
        "/portal/drp/agents/{id}/{action}",
        Portal(Role::Admin),
    ),
    ("GET", "/portal/requests/new", Portal(Role::Agent)),
    ("POST", "/portal/requests/new", Portal(Role::Agent)),
    ("GET", "/portal/requests/{reference}", Portal(Role::Auditor)),
    (
        "GET",
        "/portal/requests/{reference}/files/{file_id}",
        Portal(Role::Auditor),
    ),
    (
        "POST",
        "/portal/requests/{reference}/{action}",
        Portal(Role::Agent),
    ),
    ("GET", "/portal/audit", Portal(Role::Auditor)),
    ("POST", "/portal/audit/verify", Portal(Role::Auditor)),
    (
        "GET",
        "/portal/requests/{reference}/preview",
        Portal(Role::Auditor),
    ),
    (
        "POST",
        "/portal/requests/{reference}/note",
        Portal(Role::Agent),
    ),
    ("GET", "/portal/connectors", Portal(Role::Auditor)),
    (
        "POST",
        "/portal/connectors/{name}/test",
        Portal(Role::Agent),
    ),
    ("GET", "/portal/tokens", Portal(Role::Admin)),
    ("POST", "/portal/tokens", Portal(Role::Admin)),
    ("POST", "/portal/tokens/{id}/revoke", Portal(Role::Admin)),
    ("POST", "/portal/users/{id}/{action}", Portal(Role::Admin)),
    ("GET", "/portal/retention", Portal(Role::Auditor)),
    (
        "POST",
        "/portal/retention/{name}/{mode}",
        Portal(Role::Admin),
    ),
    // Any signed-in role sees the holds page, while the API's list needs an agent.
    // The privacy inbox: messages are personal data, like legal holds.
    ("GET", "/portal/inbox", Portal(Role::Agent)),
    ("GET", "/portal/inbox/{id}", Portal(Role::Agent)),
    ("POST", "/portal/inbox/{id}/{action}", Portal(Role::Agent)),
    (
        "GET",
        "/portal/inbox/{id}/attachments/{attachment}",
        Portal(Role::Agent),
    ),
    ("GET", "/portal/holds", Portal(Role::Agent)),
    ("POST", "/portal/holds", Portal(Role::Admin)),
    ("POST", "/portal/holds/{id}/release", Portal(Role::Admin)),
    ("GET", "/portal/users", Portal(Role::Admin)),
    ("POST", "/portal/users", Portal(Role::Admin)),
    // Bulk work from the queue acts like the per-request forms; reports carry no
    // personal data; webhooks are configuration.
    ("POST", "/portal/requests/bulk", Portal(Role::Agent)),
    ("GET", "/portal/reports/sla", Portal(Role::Auditor)),
    ("GET", "/portal/reports/register", Portal(Role::Auditor)),
    ("GET", "/portal/webhooks", Portal(Role::Admin)),
    ("POST", "/portal/webhooks", Portal(Role::Admin)),
    ("GET", "/portal/webhooks/{id}", Portal(Role::Admin)),
    (
        "POST",
        "/portal/webhooks/{id}/{action}",
        Portal(Role::Admin),
    ),
];

// ---- the routes the service serves ---------------------------------------------------

/// `(METHOD, path)` of every `.route(..)` in the source under `src/` (the public site,
/// portal, health, metrics and anything added later). Routes registered in a module
/// under `src/http/api/` are nested under `/api/v1`.
fn source_routes() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let mut files = Vec::new();
    collect_rs(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        &mut files,
    );
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read source");
        let in_api = file.to_string_lossy().contains("/src/http/api/");
        for (i, _) in text.match_indices(".route(") {
            let rest = &text[i + ".route(".len()..];
            let call = &rest[..closing_paren(rest)];
            let Some(path) = call
                .trim_start()
                .strip_prefix('"')
                .and_then(|p| p.split('"').next())
            else {
                continue;
            };
            let path = if in_api && !path.starts_with("/api") {
                format!("/api/v1{path}")
            } else {
                path.to_string()
            };
            let after_path = &call[call
                .find(&format!("\"{}\"", path.trim_start_matches("/api/v1")))
                .map_or(0, |j| j + 2)..];
            for method in ["get", "post", "put", "patch", "delete"] {
                let needle = format!("{method}(");
                let found = after_path.match_indices(&needle).any(|(j, _)| {
                    j == 0
                        || !after_path[..j]
                            .chars()
                            .next_back()
                            .is_some_and(|c| c.is_alphanumeric() || c == '_')
                });
                if found {
                    out.insert((method.to_uppercase(), path.clone()));
                }
            }
        }
    }
    out
}

fn collect_rs(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src").flatten() {
        let p = entry.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "bin") {
                collect_rs(&p, out);
            }
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Index of the `)` closing a call whose `(` was just before `s`.
fn closing_paren(s: &str) -> usize {
    let mut depth = 1;
    let mut in_str = false;
    let mut prev = ' ';
    for (i, c) in s.char_indices() {
        match c {
            '"' if prev != '\\' => in_str = !in_str,
            '(' if !in_str => depth += 1,
            ')' if !in_str => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
        prev = c;
    }
    s.len()
}

/// `(METHOD, path)` of every operation in the served OpenAPI document.
async fn openapi_routes(app: &TestApp) -> BTreeSet<(String, String)> {
    let doc: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

// ---- callers -------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    /// A made-up bearer token and session cookie.
    BadToken,
    /// A revoked API token and a portal session that has expired.
    Expired,
    /// The holder of another request's status link, using it everywhere.
    OtherSubject,
    /// The company's site: a `site` API token, no portal session (the role is for
    /// tokens only).
    Site,
    Auditor,
    Agent,
    Admin,
}

impl Caller {
    /// The role of a staff member (portal session and API token).
    fn role(self) -> Option<Role> {
        match self {
            Caller::Auditor => Some(Role::Auditor),
            Caller::Agent => Some(Role::Agent),
            Caller::Admin => Some(Role::Admin),
            _ => None,
        }
    }

    /// The role of the caller's API token (`site` included).
    fn token_role(self) -> Option<Role> {
        match self {
            Caller::Site => Some(Role::Site),
            other => other.role(),
        }
    }
}

/// What a caller sends.
#[derive(Debug, Clone, Default)]
struct Credentials {
    bearer: Option<String>,
    cookie: Option<String>,
    csrf: Option<String>,
    /// The token it puts in a subject link's path.
    link: String,
    /// What that token was issued for, if anything.
    link_purpose: Option<&'static str>,
}

struct World {
    /// The request every `{id}`/`{reference}` names (entered by staff).
    target: String,
    callers: Vec<(Caller, Credentials)>,
}

async fn world(app: &TestApp) -> World {
    let target = staff_request(app, "target@example.com").await;
    let (_other_ref, other_status) = verified_subject(app, "other@example.com").await;
    // An expired session: signed in, then idle past the limit. Revoked API token.
    let stale = portal_login(app, Role::Agent).await;
    let revoked = app.token(Role::Admin).await;
    let admin_api = app.token(Role::Admin).await;
    let id = app
        .state
        .store
        .token_by_hash(&rightsdesk::crypto::token_hash(&revoked))
        .await
        .expect("lookup")
        .expect("issued token")
        .id;
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/tokens/{id}")))
        .bearer_auth(&admin_api)
        .send()
        .await
        .expect("revoke");
    assert!(r.status().is_success(), "revoke: {}", r.status());
    app.clock.advance(TimeDelta::minutes(31));
    let mut callers = vec![
        (
            Caller::Anonymous,
            Credentials {
                link: rightsdesk::crypto::new_token(),
                ..Default::default()
            },
        ),
        (
            Caller::BadToken,
            Credentials {
                bearer: Some(rightsdesk::crypto::new_token()),
                cookie: Some(format!("rd_session={}", rightsdesk::crypto::new_token())),
                csrf: Some(rightsdesk::crypto::new_token()),
                link: rightsdesk::crypto::new_token(),
                link_purpose: None,
            },
        ),
        (
            Caller::Expired,
            Credentials {
                bearer: Some(revoked.clone()),
                cookie: Some(stale.cookie.clone()),
                csrf: Some(stale.csrf.clone()),
                link: rightsdesk::crypto::new_token(),
                link_purpose: None,
            },
        ),
        (
            Caller::OtherSubject,
            Credentials {
                bearer: Some(other_status.clone()),
                cookie: Some(format!("rd_session={other_status}")),
                csrf: None,
                link: other_status.clone(),
                link_purpose: Some("status"),
            },
        ),
    ];
    callers.push((
        Caller::Site,
        Credentials {
            bearer: Some(app.token(Role::Site).await),
            link: rightsdesk::crypto::new_token(),
            ..Default::default()
        },
    ));
    for caller in [Caller::Auditor, Caller::Agent, Caller::Admin] {
        let role = caller.role().expect("staff");
        let login: PortalLogin = portal_login(app, role).await;
        callers.push((
            caller,
            Credentials {
                bearer: Some(app.token(role).await),
                cookie: Some(login.cookie),
                csrf: Some(login.csrf),
                link: rightsdesk::crypto::new_token(),
                link_purpose: None,
            },
        ));
    }
    // The revoked token really is refused before the matrix relies on it.
    let r = app.get(&revoked, "/api/v1/requests").await;
    assert_eq!(r.status(), 401, "the revoked token still works");
    World { target, callers }
}

// ---- one call, and what it must answer -----------------------------------------------

struct Answer {
    status: u16,
    location: Option<String>,
    content_type: String,
    headers: reqwest::header::HeaderMap,
    body: String,
}

async fn call(
    app: &TestApp,
    world: &World,
    method: &str,
    path: &str,
    creds: &Credentials,
    with_csrf: bool,
) -> Answer {
    let url = path
        .replace("{id}", &world.target)
        .replace("{reference}", &world.target)
        .replace("{action}", "start")
        .replace("{token}", &creds.link);
    let url = fill_unknown(&url);
    let mut req = app.client.request(
        reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
        app.url(&url),
    );
    if let Some(b) = &creds.bearer {
        req = req.bearer_auth(b);
    }
    if let Some(c) = &creds.cookie {
        req = req.header("cookie", c);
    }
    if method == "POST" || method == "PUT" || method == "PATCH" {
        if path.starts_with("/api/") {
            req = req.json(&serde_json::json!({}));
        } else {
            req = req.header("origin", &app.base);
            let csrf = creds.csrf.clone().filter(|_| with_csrf);
            let form: Vec<(&str, String)> = csrf.into_iter().map(|c| ("csrf", c)).collect();
            req = req.form(&form);
        }
    }
    let resp = req.send().await.expect("request");
    Answer {
        status: resp.status().as_u16(),
        location: resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        content_type: resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string(),
        headers: resp.headers().clone(),
        body: resp.text().await.unwrap_or_default(),
    }
}

/// A call whose body (and query) no handler accepts: broken JSON for the API, a form
/// with undecodable and unknown fields (but the session's CSRF token) for the portal.
async fn call_malformed(
    app: &TestApp,
    world: &World,
    method: &str,
    path: &str,
    creds: &Credentials,
) -> Answer {
    let url = fill_unknown(
        &path
            .replace("{id}", &world.target)
            .replace("{reference}", &world.target)
            .replace("{action}", "start")
            .replace("{token}", &creds.link),
    );
    let url = format!("{url}?dry_run=perhaps&limit=-1&status=%ZZ");
    let mut req = app.client.request(
        reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
        app.url(&url),
    );
    if let Some(b) = &creds.bearer {
        req = req.bearer_auth(b);
    }
    if let Some(c) = &creds.cookie {
        req = req.header("cookie", c);
    }
    req = if path.starts_with("/api/") {
        req.header("content-type", "application/json")
            .body("{\"kind\": 42, \"email\": [\"unterminated")
    } else {
        let csrf = creds.csrf.clone().unwrap_or_default();
        req.header("origin", &app.base)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "csrf={csrf}&%ZZ=%&kind=&email=not-an-address&days=-9"
            ))
    };
    let resp = req.send().await.expect("request");
    Answer {
        status: resp.status().as_u16(),
        location: resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        content_type: resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string(),
        headers: resp.headers().clone(),
        body: resp.text().await.unwrap_or_default(),
    }
}

/// Any other `{param}` becomes `x`.
fn fill_unknown(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        match rest[i..].find('}') {
            Some(j) => {
                out.push('x');
                rest = &rest[i + j + 1..];
            }
            None => {
                rest = &rest[i..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

fn to_sign_in(a: &Answer) -> bool {
    a.status == 303 && a.location.as_deref() == Some("/portal/login")
}

fn problem(a: &Answer, status: u16) -> bool {
    a.status == status && a.content_type == "application/problem+json"
}

fn html(a: &Answer) -> bool {
    a.content_type.starts_with("text/html")
}

/// `Err(why)` when the answer breaks the rule.
fn judge(
    rule: Rule,
    method: &str,
    caller: Caller,
    creds: &Credentials,
    target: &str,
    a: &Answer,
) -> Result<(), String> {
    if a.status >= 500 {
        return Err(format!("server error {}", a.status));
    }
    if rule == MetricsListener {
        return if a.status == 404 {
            Ok(())
        } else {
            Err(format!("served on the public listener ({})", a.status))
        };
    }
    if a.status == 405 || (a.status == 404 && a.body.contains("nothing at")) {
        return Err(format!("the route is not served ({})", a.status));
    }
    let ok = match rule {
        Public => a.status != 401 && a.status != 403,
        Api(need) => match caller.token_role() {
            None => problem(a, 401),
            // The role is checked before the body or query is read.
            Some(r) if r < need => problem(a, 403),
            Some(_) => a.status != 401 && a.status != 403,
        },
        SiteApi(need) => match caller.token_role() {
            None => problem(a, 401),
            Some(Role::Site) => a.status != 401 && a.status != 403,
            Some(r) if r < need => problem(a, 403),
            Some(_) => a.status != 401 && a.status != 403,
        },
        Portal(need) => match caller.role() {
            None => to_sign_in(a),
            Some(r) if r < need => a.status == 403 && html(a),
            Some(_) => !to_sign_in(a) && a.status != 403,
        },
        Session => match caller.role() {
            None => to_sign_in(a),
            Some(_) => !to_sign_in(a) && a.status != 401 && a.status != 403,
        },
        SignIn => {
            if method == "GET" {
                // Someone already signed in is sent on to the portal.
                a.status == 200
                    || (caller.role().is_some() && a.location.as_deref() == Some("/portal"))
            } else {
                a.status == 403
            }
        }
        MetricsListener => false,
        Callback => problem(a, 401) || problem(a, 410),
        DrpAgent => {
            (a.status == 401 || a.status == 403)
                && (a.content_type == "application/json" || (a.status == 403 && a.body.is_empty()))
        }
        Link(purpose) => {
            let own = creds.link_purpose == Some(purpose);
            let shows_target = a.body.contains(target);
            if own {
                a.status == 200 && !shows_target
            } else {
                (a.status == 404 || a.status == 410) && html(a) && !shows_target
            }
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "got {} {} (location {:?})",
            a.status, a.content_type, a.location
        ))
    }
}

/// The page headers every HTML answer carries; portal and link answers are never cached.
fn page_headers(path: &str, a: &Answer) -> Result<(), String> {
    let h = |n: &str| {
        a.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let sensitive = path.starts_with("/portal")
        || path.starts_with("/verify/")
        || path.starts_with("/status/")
        || path.starts_with("/download/");
    if sensitive && h("cache-control") != "no-store" {
        return Err(format!("Cache-Control is {:?}", h("cache-control")));
    }
    if h("x-content-type-options") != "nosniff" {
        return Err("no X-Content-Type-Options: nosniff".into());
    }
    if !html(a) {
        return Ok(());
    }
    let csp = h("content-security-policy");
    if !csp.contains("frame-ancestors 'none'")
        || csp.contains("unsafe-inline")
        || csp.contains("script-src")
        || !csp.contains("default-src 'none'")
    {
        return Err(format!("CSP {csp:?}"));
    }
    if h("referrer-policy") != "no-referrer" {
        return Err("no Referrer-Policy: no-referrer".into());
    }
    if h("cache-control") != "no-store" {
        return Err("an HTML page may be cached".into());
    }
    if a.body.contains("<script") || a.body.contains(" onclick=") || a.body.contains(" onload=") {
        return Err("inline script in the page".into());
    }
    Ok(())
}

fn options() -> Options {
    Options {
        configure: Box::new(|c| {
            c.intake.per_client_per_hour = 100_000;
            c.intake.per_email_per_hour = 100_000;
        }),
        handlers: Vec::new(),
    }
}

// ---- the tests ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_has_a_rule_and_every_caller_gets_it() {
    // The DRP routes are served (with an empty agents directory).
    let drp_dir = tempfile::tempdir().expect("tempdir");
    let agents = drp_dir.path().join("agents.json");
    std::fs::write(&agents, "[]").expect("agents directory");
    let mut opts = options();
    let base = opts.configure;
    opts.configure = Box::new(move |c| {
        base(c);
        c.drp.enabled = true;
        c.drp.business_id = "MATRIX_CB".into();
        c.drp.directory = Some(agents);
    });
    let app = spawn_app_with(Backend::Sqlite, opts).await.expect("app");
    let mut served = source_routes();
    served.extend(openapi_routes(&app).await);
    let ruled: BTreeSet<(String, String)> = RULES
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    let undecided: Vec<_> = served.difference(&ruled).collect();
    assert!(
        undecided.is_empty(),
        "routes without a rule in tests/authz_matrix.rs RULES; decide their rule: {undecided:?}"
    );
    let stale: Vec<_> = ruled.difference(&served).collect();
    assert!(
        stale.is_empty(),
        "rules for routes the service does not serve: {stale:?}"
    );

    let world = world(&app).await;
    let mut failures = Vec::new();
    let mut checked = 0;
    // Sign-out ends the caller's session, so it goes last.
    let mut order: Vec<_> = RULES.iter().collect();
    order.sort_by_key(|(_, p, _)| *p == "/portal/logout");
    for (method, path, rule) in order {
        // A signed-in admin posting a portal form without its CSRF token is refused
        // (first: the post with the token may end the session).
        if *method == "POST" && path.starts_with("/portal") {
            let (_, admin) = world
                .callers
                .iter()
                .find(|(c, _)| *c == Caller::Admin)
                .expect("admin");
            let a = call(&app, &world, method, path, admin, false).await;
            checked += 1;
            if a.status != 403 {
                failures.push(format!(
                    "{method} {path} as Admin without CSRF: got {}",
                    a.status
                ));
            }
        }
        for (caller, creds) in &world.callers {
            // A weaker role sending a malformed body (and query) to a write route is
            // refused for its role, so it learns nothing of the validation rules.
            let weaker = match (rule, caller.role(), caller.token_role()) {
                (Api(need), _, Some(r)) => r < *need,
                (SiteApi(need), Some(r), _) => r < *need,
                (Portal(need), Some(r), _) => r < *need,
                _ => false,
            };
            if weaker && *method != "GET" {
                let a = call_malformed(&app, &world, method, path, creds).await;
                checked += 1;
                let refused = if path.starts_with("/api/") {
                    problem(&a, 403)
                } else {
                    a.status == 403 && html(&a)
                };
                if !refused {
                    failures.push(format!(
                        "{method} {path} as {caller:?} with a malformed body: got {} {}",
                        a.status, a.content_type
                    ));
                }
            }
            let a = call(&app, &world, method, path, creds, true).await;
            checked += 1;
            if let Err(why) = judge(*rule, method, *caller, creds, &world.target, &a)
                .and_then(|()| page_headers(path, &a))
            {
                failures.push(format!("{method} {path} as {caller:?}: {why}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} calls broke their rule:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Nothing the refused callers sent changed the target request: it is still open
    // or was started by staff only (the audit log names staff actors only).
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_only_when_the_public_address_is_https() {
    let https = spawn_app_with(
        Backend::Sqlite,
        Options {
            configure: Box::new(|c| c.public_url = "https://privacy.example.com".into()),
            handlers: Vec::new(),
        },
    )
    .await
    .expect("app");
    for path in ["/", "/portal/login", "/api/v1/openapi.json", "/verify/nope"] {
        let r = https.client.get(https.url(path)).send().await.expect("get");
        let hsts = r
            .headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(hsts.starts_with("max-age="), "{path}: HSTS {hsts:?}");
    }
    https.stop().await;
    let http = spawn_app_with(Backend::Sqlite, Options::default())
        .await
        .expect("app");
    let r = http.client.get(http.url("/")).send().await.expect("get");
    assert!(r.headers().get("strict-transport-security").is_none());
    http.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_pages_are_never_cached_and_leak_no_referrer() {
    let app = spawn_app_with(Backend::Sqlite, options())
        .await
        .expect("app");
    let (reference, status) = verified_subject(&app, "cache@example.com").await;
    for path in [
        format!("/status/{status}"),
        format!("/verify/{}", rightsdesk::crypto::new_token()),
        format!("/download/{}", rightsdesk::crypto::new_token()),
    ] {
        let r = app.client.get(app.url(&path)).send().await.expect("get");
        let code = r.status().as_u16();
        let h = r.headers().clone();
        let body = r.text().await.expect("body");
        assert_eq!(h["cache-control"], "no-store", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'"),
            "{path}"
        );
        if path.starts_with("/status/") {
            assert_eq!(code, 200);
            assert!(body.contains(&reference));
        }
    }
    app.stop().await;
}

#[test]
fn token_comparison_is_constant_time_and_exact() {
    use rightsdesk::crypto::constant_time_eq;
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"abcd"));
    assert!(!constant_time_eq(b"", b"a"));
    assert!(rightsdesk::http::portal::auth::same("x1", "x1"));
    assert!(!rightsdesk::http::portal::auth::same("x1", "x2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_does_not_reveal_whether_an_address_is_known() {
    let app = spawn_app_with(Backend::Sqlite, options())
        .await
        .expect("app");
    // A customer with a request on file, and an address nobody has used.
    support::staff_request(&app, "known@example.com").await;
    let mut answers = Vec::new();
    for email in ["known@example.com", "stranger@example.com"] {
        let r = app
            .client
            .post(app.url("/api/v1/intake"))
            .json(&serde_json::json!({ "kind": "access", "email": email }))
            .send()
            .await
            .expect("intake");
        let status = r.status().as_u16();
        let v: Value = r.json().await.expect("json");
        let mut keys: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        keys.sort();
        answers.push((status, keys, v["status"].clone()));
        let form = app
            .client
            .post(app.url("/requests"))
            .form(&[("kind", "erasure"), ("email", email)])
            .send()
            .await
            .expect("form");
        let status = form.status().as_u16();
        let body = form.text().await.expect("page");
        // The page differs only in the reference it shows.
        let shape: String = body
            .split_whitespace()
            .filter(|w| !w.contains("DSR-"))
            .collect::<Vec<_>>()
            .join(" ");
        answers.push((status, vec![shape], Value::Null));
    }
    assert_eq!(answers[0], answers[2], "API answers differ");
    assert_eq!(answers[1], answers[3], "form pages differ");
    assert_eq!(answers[0].0, 202);
    app.stop().await;
}
