//! The OpenAPI document matches the router, health endpoints answer, and the CLI behaves
//! as documented (token create prints only the token, check names the bad key).

mod common;

use std::process::Command;

use common::{Backend, json, spawn_app};

/// Every route of the staff API as DESIGN.md lists it (for what exists so far).
const EXPECTED: &[(&str, &str)] = &[
    ("get", "/api/v1/drp/agents"),
    ("post", "/api/v1/drp/agents/{agent_id}/suspend"),
    ("post", "/api/v1/drp/agents/{agent_id}/reinstate"),
    ("post", "/api/v1/intake"),
    ("post", "/api/v1/intake/verify"),
    ("get", "/api/v1/requests"),
    ("post", "/api/v1/requests"),
    ("get", "/api/v1/requests/{id}"),
    ("get", "/api/v1/requests/{id}/status"),
    ("post", "/api/v1/requests/{id}/start"),
    ("post", "/api/v1/requests/{id}/deny"),
    ("post", "/api/v1/requests/{id}/extend"),
    ("post", "/api/v1/requests/{id}/hold"),
    ("post", "/api/v1/requests/{id}/resume"),
    ("post", "/api/v1/requests/{id}/complete"),
    ("post", "/api/v1/requests/{id}/withdraw"),
    ("post", "/api/v1/requests/{id}/assign"),
    ("post", "/api/v1/requests/{id}/lift"),
    ("post", "/api/v1/requests/{id}/rerun"),
    ("put", "/api/v1/requests/{id}/corrections"),
    ("post", "/api/v1/requests/{id}/notes"),
    ("post", "/api/v1/requests/{id}/unlink"),
    ("post", "/api/v1/requests/{id}/merge"),
    ("post", "/api/v1/requests/{id}/regime"),
    ("post", "/api/v1/requests/{id}/decide"),
    ("post", "/api/v1/requests/{id}/ask"),
    ("post", "/api/v1/requests/{id}/messages"),
    ("get", "/api/v1/requests/{id}/conversation"),
    ("get", "/api/v1/requests/{id}/files/{file_id}"),
    ("post", "/api/v1/requests/{id}/agent/consent"),
    ("post", "/api/v1/requests/{id}/agent/accept"),
    ("post", "/api/v1/suppressions/check"),
    ("get", "/api/v1/suppressions/export"),
    ("get", "/api/v1/suppressions/key"),
    ("get", "/api/v1/requests/{id}/identity"),
    ("post", "/api/v1/requests/{id}/identity"),
    ("get", "/api/v1/reports/sla"),
    ("get", "/api/v1/requests/{id}/preview"),
    ("get", "/api/v1/requests/{id}/export"),
    ("post", "/api/v1/requests/{id}/export"),
    ("post", "/api/v1/requests/{id}/export/link"),
    ("post", "/api/v1/requests/{id}/tasks/{task_id}/retry"),
    ("get", "/api/v1/connectors"),
    ("post", "/api/v1/connectors/{name}/test"),
    ("post", "/api/v1/callbacks/{task_token}"),
    ("get", "/api/v1/audit"),
    ("get", "/api/v1/audit/verify"),
    ("get", "/api/v1/tokens"),
    ("post", "/api/v1/tokens"),
    ("delete", "/api/v1/tokens/{token_id}"),
    ("get", "/api/v1/jobs"),
    ("post", "/api/v1/jobs/{job_id}/retry"),
    ("get", "/api/v1/retention"),
    ("get", "/api/v1/retention/runs"),
    ("post", "/api/v1/retention/{name}/run"),
    ("get", "/api/v1/holds"),
    ("post", "/api/v1/holds"),
    ("delete", "/api/v1/holds/{hold_id}"),
    ("get", "/api/v1/openapi.json"),
    ("post", "/api/v1/optouts"),
];

#[tokio::test]
async fn openapi_documents_every_route_and_only_real_ones() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let (status, doc) = json(
        app.client
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    let mut documented = Vec::new();
    for (path, item) in paths {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                documented.push((method.to_string(), path.clone()));
            }
        }
    }
    for (m, p) in EXPECTED {
        assert!(
            documented.contains(&(m.to_string(), p.to_string())),
            "{m} {p} missing from the OpenAPI document"
        );
    }
    // Each documented operation is served (anonymous callers get 401, never 404/405).
    for (m, p) in &documented {
        let url = app.url(
            &p.replace("{id}", "DSR-AAAA-AAAA")
                .replace("{token_id}", "x")
                .replace("{agent_id}", "x")
                .replace("{job_id}", "x")
                .replace("{task_id}", "x")
                .replace("{name}", "x")
                .replace("{hold_id}", "x")
                .replace("{task_token}", "x"),
        );
        let method = reqwest::Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
        let resp = app.client.request(method, url).send().await.unwrap();
        let s = resp.status().as_u16();
        let public = p.starts_with("/api/v1/intake")
            || p.starts_with("/api/v1/callbacks")
            || p == "/api/v1/openapi.json";
        if public {
            assert!(s != 404 && s != 405 && s < 500, "{m} {p} answered {s}");
        } else {
            assert_eq!(s, 401, "{m} {p} must need a token");
        }
    }
    assert_eq!(
        documented.len(),
        EXPECTED.len(),
        "a route was added without updating this list: {documented:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let (s, v) = json(app.client.get(app.url("/healthz")).send().await.unwrap()).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("ok")));
    let resp = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert!(resp.headers().contains_key("x-request-id"));
    let (s, v) = json(resp).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("ready")));
    app.stop().await;
}

fn rightsdesk(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rightsdesk"))
        .args(args)
        .current_dir(dir)
        .env_remove("RIGHTSDESK_SECRET_KEY")
        .env_remove("RIGHTSDESK_CONFIG")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run rightsdesk")
}

#[test]
fn cli_token_create_prints_only_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let out = rightsdesk(
        dir.path(),
        &["token", "create", "--name", "ci", "--role", "agent"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert!(lines[0].starts_with("rd_") && lines[0].len() > 40);
    // Embedded mode created the database and a private key file.
    assert!(dir.path().join("data/rightsdesk.db").exists());
    assert!(dir.path().join("data/secret.key").exists());
    let list = rightsdesk(dir.path(), &["token", "list"]);
    let listed = String::from_utf8(list.stdout).unwrap();
    assert!(listed.contains("agent") && listed.contains("ci") && !listed.contains(lines[0]));
    // The company's site gets a `site` token the same way; a person cannot hold the role.
    let site = rightsdesk(
        dir.path(),
        &["token", "create", "--name", "www", "--role", "site"],
    );
    assert!(
        site.status.success(),
        "{}",
        String::from_utf8_lossy(&site.stderr)
    );
    assert!(String::from_utf8(site.stdout).unwrap().starts_with("rd_"));
    let list = rightsdesk(dir.path(), &["token", "list"]);
    assert!(String::from_utf8(list.stdout).unwrap().contains("site"));
    let user = rightsdesk(
        dir.path(),
        &[
            "user",
            "add",
            "--email",
            "web@example.com",
            "--role",
            "site",
        ],
    );
    assert!(!user.status.success());
    assert!(
        String::from_utf8_lossy(&user.stderr).contains("site role is for API tokens only"),
        "{}",
        String::from_utf8_lossy(&user.stderr)
    );
    let verify = rightsdesk(dir.path(), &["audit", "verify"]);
    assert!(verify.status.success());
    assert!(String::from_utf8_lossy(&verify.stdout).contains("intact"));
}

#[test]
fn cli_check_names_the_key_that_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rightsdesk.toml"),
        "listen = \"not an address\"\n[deadlines]\nreminders_days = [0]\n",
    )
    .unwrap();
    let out = rightsdesk(dir.path(), &["check"]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("listen"), "{text}");
    assert!(text.contains("deadlines.reminders_days"), "{text}");

    std::fs::write(
        dir.path().join("rightsdesk.toml"),
        "[deadlines]\nregime = \"eu\"\n",
    )
    .unwrap();
    let out = rightsdesk(dir.path(), &["check"]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("deadlines.regime"), "{text}");

    std::fs::write(dir.path().join("rightsdesk.toml"), "colour = \"blue\"\n").unwrap();
    let out = rightsdesk(dir.path(), &["check"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("colour"));

    std::fs::write(
        dir.path().join("rightsdesk.toml"),
        "[deadlines]\npolicy_days = 0\n",
    )
    .unwrap();
    let out = rightsdesk(dir.path(), &["check", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
}

/// `rightsdesk serve` as an operator runs it: answers health checks, and on SIGTERM stops
/// accepting, finishes, and exits 0.
#[tokio::test]
async fn serve_answers_and_stops_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader};
    common::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rightsdesk"))
        .arg("serve")
        .current_dir(dir.path())
        .env_remove("RIGHTSDESK_SECRET_KEY")
        .env_remove("RIGHTSDESK_CONFIG")
        .env("RIGHTSDESK_LISTEN", "127.0.0.1:0")
        .env("RIGHTSDESK_METRICS_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut base = None;
    let mut log = Vec::new();
    while base.is_none() {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("serve printed its address");
        if let Some(rest) = line.split("listening on ").nth(1) {
            base = Some(rest.trim().to_string());
        }
        log.push(line);
    }
    let base = base.unwrap();
    let client = reqwest::Client::new();
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(
        dir.path().join("data/rightsdesk.db").exists(),
        "embedded SQLite created"
    );

    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
    while let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(2)) {
        log.push(line);
    }
    let log = log.join("\n");
    assert!(log.contains("shutdown signal received"), "{log}");
    assert!(log.contains("stopped"), "{log}");
}
