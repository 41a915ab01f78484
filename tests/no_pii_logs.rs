//! No personal data in logs (issue #12 item 5): the real `rightsdesk` binary runs with
//! logs at TRACE in JSON while a subject with a distinctive email, name and free text goes
//! through the whole story: intake form, verification link, fan-out against a product
//! database, export download, an erasure, the subject's status page and the staff portal.
//! None of the three strings may appear in the process output (logs and any panic), in
//! `/metrics`, or in the staff notification emails; the request reference must appear in
//! the logs, and every line of an HTTP request carries its request id.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::smtp::{self, SmtpSink};
use serde_json::Value;

const EMAIL: &str = "Quirinus.Zanzibar-4711@Example.org";
const NAME: &str = "Quirinus Zanzibar-Wolkenfänger";
const FREE_TEXT: &str = "Flamingo orchid treaty 9931 please forget me";
const TEAM: &str = "privacy-team@example.com";
const WAIT: Duration = Duration::from_secs(30);

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rightsdesk")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Run a CLI command of the binary with the test's config; returns stdout, appends stderr
/// to the log file.
fn cli(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(bin())
        .arg("--config")
        .arg(dir.join("rightsdesk.toml"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run rightsdesk");
    let mut log = std::fs::read(dir.join("cli.log")).unwrap_or_default();
    log.extend_from_slice(&out.stderr);
    std::fs::write(dir.join("cli.log"), log).expect("write cli log");
    assert!(out.status.success(), "rightsdesk {args:?} failed");
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

struct Server {
    child: Child,
    base: String,
    client: reqwest::Client,
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
    async fn get(&self, token: &str, path: &str) -> Value {
        let r = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 200, "{path}");
        r.json().await.expect("json")
    }
    async fn wait_for_status(&self, token: &str, reference: &str, want: &str) {
        let mut last = Value::Null;
        for _ in 0..300 {
            let v = self
                .get(token, &format!("/api/v1/requests/{reference}"))
                .await;
            if v["status"] == want {
                return;
            }
            last = v;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "request {reference} never reached {want}: {}",
            last["status"]
        );
    }
}

/// The first link to `prefix` in a mail's text part, made absolute on the server.
fn link(server: &Server, mail: &smtp::ReceivedMail, prefix: &str) -> String {
    let text = smtp::decoded_text(&mail.data);
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in a mail"));
    let rest = &text[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '>' || c == '"')
        .unwrap_or(rest.len());
    server.url(&rest[..end])
}

fn to_subject(mails: &[smtp::ReceivedMail]) -> Vec<&smtp::ReceivedMail> {
    let lower = EMAIL.to_lowercase();
    mails.iter().filter(|m| m.to.contains(&lower)).collect()
}

/// Wait for a new mail to the subject whose text holds `needle`.
async fn subject_mail(sink: &SmtpSink, needle: &str) -> smtp::ReceivedMail {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(m) = to_subject(&sink.messages())
            .into_iter()
            .find(|m| smtp::decoded_text(&m.data).contains(needle))
        {
            return m.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no mail to the subject containing {needle}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Submit the public form; returns the reference shown on the answer page.
async fn submit(server: &Server, kind: &str) -> String {
    let resp = server
        .client
        .post(server.url("/requests"))
        .form(&[
            ("kind", kind),
            ("email", EMAIL),
            ("name", NAME),
            ("details", FREE_TEXT),
            ("corrections", ""),
        ])
        .send()
        .await
        .expect("submit");
    assert_eq!(resp.status(), 202);
    let page = resp.text().await.expect("page");
    page.split("class=\"ref\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("reference on the page")
        .to_string()
}

/// Follow the verification mail for `reference` and confirm it.
async fn verify(server: &Server, sink: &SmtpSink, reference: &str) {
    let mail = subject_mail(sink, reference).await;
    let url = link(server, &mail, "/verify/");
    let page = server.client.get(&url).send().await.expect("verify page");
    assert_eq!(page.status(), 200);
    let r = server.client.post(&url).send().await.expect("verify");
    assert_eq!(r.status(), 200);
}

/// The value of a `name="csrf"` field on a portal page.
fn csrf(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a csrf field")
        .to_string()
}

/// A staff portal session: sign in as an agent and open the queue and one request.
async fn portal_views(server: &Server, email: &str, password: &str, reference: &str) {
    let mut cookies: BTreeMap<String, String> = BTreeMap::new();
    let header = |c: &BTreeMap<String, String>| {
        c.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let keep = |c: &mut BTreeMap<String, String>, r: &reqwest::Response| {
        for v in r.headers().get_all("set-cookie") {
            let v = v.to_str().expect("ascii cookie");
            if let Some((k, val)) = v.split(';').next().and_then(|f| f.split_once('=')) {
                c.insert(k.to_string(), val.to_string());
            }
        }
    };
    let r = server
        .client
        .get(server.url("/portal/login"))
        .send()
        .await
        .expect("login form");
    keep(&mut cookies, &r);
    let token = csrf(&r.text().await.expect("login page"));
    let r = server
        .client
        .post(server.url("/portal/login"))
        .header("cookie", header(&cookies))
        .header("origin", &server.base)
        .form(&[
            ("csrf", token.as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .expect("sign in");
    assert_eq!(r.status(), 303, "agent signs in");
    keep(&mut cookies, &r);
    for path in [
        "/portal".to_string(),
        "/portal/requests".to_string(),
        format!("/portal/requests/{reference}"),
    ] {
        let r = server
            .client
            .get(server.url(&path))
            .header("cookie", header(&cookies))
            .send()
            .await
            .expect("portal page");
        assert_eq!(r.status(), 200, "{path}");
        let html = r.text().await.expect("html");
        if path.ends_with(reference) {
            assert!(
                html.contains(reference),
                "the detail page shows the request"
            );
            // The staff page does show the identity: the strings went through the system.
            assert!(
                html.to_lowercase().contains(&EMAIL.to_lowercase()),
                "staff see the subject's address on the detail page"
            );
        }
    }
}

/// Every way the three strings could be written: as given, lower case, and in the forms
/// JSON and URL encoding give them.
fn forbidden() -> Vec<String> {
    let mut out = Vec::new();
    for s in [EMAIL, NAME, FREE_TEXT] {
        out.push(s.to_lowercase());
        out.push(
            serde_json::to_string(s)
                .expect("json")
                .trim_matches('"')
                .to_lowercase(),
        );
        out.push(
            form_urlencoded::byte_serialize(s.as_bytes())
                .collect::<String>()
                .to_lowercase(),
        );
    }
    // Distinctive pieces too, so a truncated or re-cased value is still caught.
    out.extend(["quirinus", "zanzibar", "wolkenf", "flamingo orchid"].map(String::from));
    out.sort();
    out.dedup();
    out
}

fn assert_clean(what: &str, text: &str) {
    let lower = text.to_lowercase();
    for f in forbidden() {
        assert!(!lower.contains(&f), "{what} contains personal data ({f:?})");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_story_logs_no_personal_data() {
    common::install_crypto();
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    // The product knows the subject: a customer row with the same email and name.
    let (pool, datamap) = common::product::product(dir).await;
    sqlx::query(
        "INSERT INTO customers (id, email, name, phone, created_at) \
         VALUES (9001, ?, ?, '+44 20 7946 0991', '2024-01-02 03:04:05')",
    )
    .bind(EMAIL.to_lowercase())
    .bind(NAME)
    .execute(&pool)
    .await
    .expect("insert the subject");
    pool.close().await;

    let sink = smtp::start().await;
    let port = free_port();
    let metrics_port = free_port();
    let config = format!(
        r#"listen = "127.0.0.1:{port}"
metrics_listen = "127.0.0.1:{metrics_port}"
public_url = "http://127.0.0.1:{port}"
database_url = "sqlite://{db}"
data_dir = "{data}"
datamap_dir = "{datamap}"
log_format = "json"
log_level = "trace"

[email]
transport = "smtp"
smtp_url = "smtp://{smtp}"
privacy_team = "{TEAM}"

[workflow]
auto_start = ["access"]
auto_complete = ["access", "erasure"]

[jobs]
poll_interval = "100ms"
"#,
        db = dir.join("rightsdesk.db").display(),
        data = dir.join("data").display(),
        datamap = datamap.display(),
        smtp = sink.addr,
    );
    std::fs::write(dir.join("rightsdesk.toml"), config).expect("write config");

    let token = cli(
        dir,
        &["token", "create", "--name", "story", "--role", "admin"],
    )
    .trim()
    .to_string();
    let agent_password = cli(
        dir,
        &[
            "user",
            "add",
            "--email",
            "agent@example.com",
            "--role",
            "agent",
        ],
    )
    .trim()
    .to_string();

    let log_path = dir.join("serve.log");
    let child = Command::new(bin())
        .arg("--config")
        .arg(dir.join("rightsdesk.toml"))
        .arg("serve")
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env("RUST_BACKTRACE", "1")
        .stdout(Stdio::from(
            std::fs::File::create(dir.join("serve.out")).expect("stdout file"),
        ))
        .stderr(Stdio::from(
            std::fs::File::create(&log_path).expect("log file"),
        ))
        .spawn()
        .expect("start rightsdesk serve");
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
    };
    let mut up = false;
    for _ in 0..300 {
        if let Ok(r) = server.client.get(server.url("/readyz")).send().await
            && r.status() == 200
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "rightsdesk serve answers /readyz");

    // Access: form, verification, automatic fan-out, export email, download.
    let access = submit(&server, "access").await;
    verify(&server, &sink, &access).await;
    server.wait_for_status(&token, &access, "completed").await;
    let done = subject_mail(&sink, "/download/").await;
    let download = link(&server, &done, "/download/");
    let zip = server.client.get(&download).send().await.expect("download");
    assert_eq!(zip.status(), 200);
    let bytes = zip.bytes().await.expect("zip");
    assert!(
        bytes.starts_with(b"PK"),
        "the export is a ZIP holding the subject's rows"
    );
    let status = link(&server, &done, "/status/");
    let page = server
        .client
        .get(&status)
        .send()
        .await
        .expect("status page");
    assert_eq!(page.status(), 200);

    // Erasure: form, verification, staff start through the API, completion.
    let erasure = submit(&server, "erasure").await;
    verify(&server, &sink, &erasure).await;
    let r = server
        .client
        .post(server.url(&format!("/api/v1/requests/{erasure}/start")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("start");
    assert_eq!(r.status(), 200);
    server.wait_for_status(&token, &erasure, "completed").await;

    // Staff portal views and the staff API list.
    portal_views(&server, "agent@example.com", &agent_password, &erasure).await;
    let list = server.get(&token, "/api/v1/requests").await;
    assert!(list.to_string().contains(&erasure));

    // Metrics.
    let metrics = server
        .client
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(metrics.contains("rightsdesk_requests_open"));
    assert_clean("/metrics", &metrics);

    // Staff notification emails carry references, not identities.
    let mails = sink.messages();
    let staff: Vec<_> = mails
        .iter()
        .filter(|m| m.to.iter().any(|t| t == TEAM))
        .collect();
    assert!(!staff.is_empty(), "staff were notified");
    let mut staff_text = String::new();
    for m in &staff {
        staff_text.push_str(&m.data);
        staff_text.push_str(&smtp::decoded_text(&m.data));
    }
    assert!(staff_text.contains(&access) || staff_text.contains(&erasure));
    assert_clean("staff notification emails", &staff_text);

    // Stop the server gracefully so every line is flushed.
    let mut child = server.child;
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let mut stopped = false;
    for _ in 0..300 {
        if let Ok(Some(_)) = child.try_wait() {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !stopped {
        let _ = child.kill();
        let _ = child.wait();
    }

    let log = std::fs::read_to_string(&log_path).expect("serve log");
    let cli_log = std::fs::read_to_string(dir.join("cli.log")).unwrap_or_default();
    let out = std::fs::read_to_string(dir.join("serve.out")).unwrap_or_default();
    assert!(
        !log.contains("panicked at"),
        "no panic while serving the story"
    );
    assert_clean("serve logs", &log);
    assert_clean("CLI logs", &cli_log);
    assert_clean("serve stdout", &out);

    // The logs are JSON at TRACE, name the references, and carry the request id inside
    // HTTP requests.
    let mut lines = 0;
    let mut with_request_id = 0;
    let mut trace_lines = 0;
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a log line is not JSON ({e}): {line}"));
        lines += 1;
        if v["level"] == "TRACE" {
            trace_lines += 1;
        }
        let in_http = v["spans"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["name"] == "http"));
        if in_http {
            let id = v["span"]["request_id"]
                .as_str()
                .or_else(|| {
                    v["spans"].as_array().and_then(|s| {
                        s.iter()
                            .find(|s| s["name"] == "http")
                            .and_then(|s| s["request_id"].as_str())
                    })
                })
                .unwrap_or("");
            assert!(
                id.len() >= 32,
                "a line inside an HTTP request has no request id: {line}"
            );
            with_request_id += 1;
        }
    }
    eprintln!("{lines} log lines, {trace_lines} at TRACE, {with_request_id} inside HTTP requests");
    assert!(lines > 50, "the story wrote a fair number of log lines");
    assert!(trace_lines > 0, "logs ran at TRACE");
    assert!(with_request_id > 0, "HTTP lines were found");
    for reference in [&access, &erasure] {
        assert!(
            log.lines()
                .any(|l| l.contains(&format!("\"reference\":\"{reference}\""))),
            "the logs name {reference}"
        );
    }
}
