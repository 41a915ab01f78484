//! `rightsdesk demo` as a newcomer meets it: run it twice in an empty directory (the
//! second run changes nothing), start `rightsdesk serve` there, and run the three printed
//! curl lines: the seeded requests are listed, a new request is entered, and the open one
//! is started and goes through the demo product's fan-out to completion. Every seeded
//! kind changed the demo product's data or says truthfully why not, with the demo's
//! register of processing (recipients told, profiling in access packages).

mod common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rightsdesk")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn rightsdesk(dir: &Path, port: u16) -> Command {
    let mut c = Command::new(bin());
    c.current_dir(dir)
        .env_remove("RIGHTSDESK_CONFIG")
        .env_remove("RIGHTSDESK_DATABASE_URL")
        .env("RIGHTSDESK_LISTEN", format!("127.0.0.1:{port}"))
        .env("RIGHTSDESK_METRICS_LISTEN", "127.0.0.1:0")
        .env("RIGHTSDESK_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("RIGHTSDESK_JOBS__POLL_INTERVAL", "200ms");
    c
}

fn demo(dir: &Path, port: u16) -> String {
    let out: Output = rightsdesk(dir, port)
        .arg("demo")
        .output()
        .expect("run rightsdesk demo");
    assert!(
        out.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The seeded requests the demo printed: (reference, kind, status).
fn listed(text: &str) -> Vec<(String, String, String)> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let (r, k, s) = (w.next()?, w.next()?, w.next()?);
            (r.starts_with("DSR-") && w.next().is_none())
                .then(|| (r.to_string(), k.to_string(), s.to_string()))
        })
        .collect()
}

fn curl_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("curl "))
        .map(String::from)
        .collect()
}

/// Run one printed line in a shell, as the reader would paste it.
fn run_line(dir: &Path, line: &str) -> Value {
    let out = Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir(dir)
        .output()
        .expect("sh runs (curl must be installed for this test)");
    assert!(out.status.success(), "`{line}` failed");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "`{line}` did not answer JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn status_of(client: &reqwest::Client, base: &str, token: &str, reference: &str) -> Value {
    client
        .get(format!("{base}/api/v1/requests/{reference}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("get request")
        .json()
        .await
        .expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_twice_then_serve_and_the_printed_curl_lines_work() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let port = free_port();

    let first = demo(dir, port);
    assert!(first.contains("Demo ready."), "{first}");
    let seeded = listed(&first);
    assert_eq!(seeded.len(), 14, "fourteen requests:\n{first}");
    let statuses: std::collections::BTreeSet<&str> =
        seeded.iter().map(|(_, _, s)| s.as_str()).collect();
    for s in [
        "awaiting_verification",
        "open",
        "in_progress",
        "review",
        "on_hold",
        "completed",
        "denied",
        "withdrawn",
        "expired",
    ] {
        assert!(statuses.contains(s), "no seeded request is {s}:\n{first}");
    }
    assert!(dir.join("data/demo/product.sqlite").is_file());
    let datamap = std::fs::read_to_string(dir.join("datamap/demo.toml")).expect("data map");
    assert!(datamap.contains("[[retention]]") && datamap.contains("retain_reason"));
    assert!(
        !datamap.contains("company_directory\""),
        "the shared table is not declared"
    );
    let password_file = dir.join("data/initial-admin-password");
    assert!(first.contains("initial-admin-password") && password_file.is_file());
    let lines = curl_lines(&first);
    assert_eq!(lines.len(), 3, "three curl lines:\n{first}");

    // Running it again changes nothing and shows the same token and requests.
    let second = demo(dir, port);
    assert!(second.contains("already present"), "{second}");
    assert_eq!(listed(&second).len(), 14);
    assert_eq!(curl_lines(&second), lines, "same token, same lines");

    let token = first
        .lines()
        .find_map(|l| l.trim().strip_prefix("3. Staff API token (agent): "))
        .expect("the token line")
        .to_string();

    let log = std::fs::File::create(dir.join("serve.log")).expect("log file");
    let _serve = Serve(
        rightsdesk(dir, port)
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start serve"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..300 {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "serve answers /readyz");
    let portal = client
        .get(format!("{base}/portal/login"))
        .send()
        .await
        .expect("portal");
    assert_eq!(portal.status(), 200);

    // 1: the seeded requests are listed.
    let list = run_line(dir, &lines[0]).to_string();
    for (reference, _, _) in &seeded {
        assert!(list.contains(reference), "{reference} is not listed");
    }
    // 2: a new access request is entered.
    let created = run_line(dir, &lines[1]);
    let new_ref = created["reference"]
        .as_str()
        .expect("a reference")
        .to_string();
    assert_eq!(created["status"], "open", "{created}");
    // 3: the open request starts and the demo product's fan-out completes it.
    let started = run_line(dir, &lines[2]);
    assert_eq!(started["status"], "in_progress", "{started}");
    let reference = started["reference"]
        .as_str()
        .expect("reference")
        .to_string();
    let mut last = Value::Null;
    for _ in 0..300 {
        last = status_of(&client, &base, &token, &reference).await;
        if last["status"] == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last["status"], "completed", "{last}");
    let list = run_line(dir, &lines[0]).to_string();
    assert!(list.contains(&new_ref));
}

/// The decoded text and `To` header of every email the demo wrote to the outbox folder.
fn outbox(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_dir(dir.join("data/outbox"))
        .expect("the outbox folder")
        .flatten()
        .filter(|f| f.path().extension().and_then(|e| e.to_str()) == Some("eml"))
        .map(|f| {
            let data = std::fs::read_to_string(f.path()).expect("eml");
            (
                common::smtp::header(&data, "To").unwrap_or_default(),
                common::smtp::decoded_text(&data),
            )
        })
        .collect()
}

/// Each seeded kind did its work on the demo product, or says why not: the erasure
/// deleted and anonymised with reasons and the subject who asked sees the recipients;
/// the restriction and the marketing objection set their columns; the recipients are
/// told of the erasure and the restriction, never of an access; the register carries
/// profiling, and `check` has nothing to warn about.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_seeded_kind_changes_demo_data_or_says_why_not() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let out = demo(dir, free_port());
    let seeded = listed(&out);
    let kinds: std::collections::BTreeSet<(&str, &str)> = seeded
        .iter()
        .map(|(_, k, s)| (k.as_str(), s.as_str()))
        .collect();
    for done in [
        ("access", "completed"),
        ("erasure", "completed"),
        ("restriction", "completed"),
        ("objection", "completed"),
        ("objection", "denied"),
    ] {
        assert!(kinds.contains(&done), "no {done:?}:\n{out}");
    }
    let datamap = std::fs::read_to_string(dir.join("datamap/demo.toml")).expect("data map");
    assert!(datamap.contains("[restriction]") && datamap.contains("[objection]"));
    let config = std::fs::read_to_string(dir.join("rightsdesk.toml")).expect("register");
    for section in [
        "[[processing.purposes]]",
        "[[processing.recipients]]",
        "[[processing.automated_decisions]]",
        "profiling = true",
        "notify = ",
    ] {
        assert!(config.contains(section), "{section} missing:\n{config}");
    }
    assert!(out.contains("register          rightsdesk.toml"), "{out}");

    let product = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.join("data/demo/product.sqlite").display()
    ))
    .await
    .expect("demo product database");
    let flag = |column: &'static str, email: &'static str| {
        let product = product.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
                "SELECT MAX({column}) FROM leads WHERE email = ?"
            )))
            .bind(email)
            .fetch_one(&product)
            .await
            .expect("flag")
        }
    };
    // The restriction and the objection marked the person's leads, no one else's.
    assert_eq!(
        flag("processing_restricted", "tomas.ortega@example.net").await,
        1
    );
    assert_eq!(
        flag("processing_restricted", "maria.jensen@example.com").await,
        0
    );
    assert_eq!(
        flag("marketing_opt_out", "priya.raman@example.net").await,
        1
    );
    assert_eq!(
        flag("marketing_opt_out", "maria.jensen@example.com").await,
        0
    );
    // The erasure deleted the leads and anonymised the user line.
    let count = |sql: &'static str| {
        let product = product.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&product)
                .await
                .expect("count")
        }
    };
    assert_eq!(
        count("SELECT COUNT(*) FROM leads WHERE email = 'mateo.rossi@example.net'").await,
        0
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM users WHERE email = 'mateo.rossi@example.net' OR full_name = 'Mateo Rossi'").await,
        0
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM users").await,
        6,
        "the line is kept, masked"
    );
    product.close().await;

    let mails = outbox(dir);
    let completion = mails
        .iter()
        .map(|(_, t)| t)
        .find(|t| t.contains("completed your request for erasure"))
        .expect("the erasure's completion email");
    for line in [
        "- users: 1 record anonymised: what identifies you was removed, the rest kept. Why: The customer account keeps a masked user line",
        "- feedback: 2 records anonymised: what identifies you was removed, the rest kept. Why: Ratings are kept",
        "- leads: 1 record deleted",
        "- chat_conversations: 1 record deleted",
        "You asked us to tell you who received your data",
        "- Example Mail Delivery Inc. (processor), for sending product and notification emails; transfer outside the EEA: USA",
        "We have told them of your request.",
    ] {
        assert!(completion.contains(line), "{line:?} missing:\n{completion}");
    }
    let notices: Vec<&String> = mails
        .iter()
        .filter(|(to, _)| to.contains("dsr@mail-delivery.example"))
        .map(|(_, t)| t)
        .collect();
    assert_eq!(
        notices.len(),
        2,
        "erasure and restriction, not access or objection"
    );
    assert!(
        notices
            .iter()
            .any(|t| t.contains("Person: mateo.rossi@example.net")
                && t.contains("Please erase the personal data"))
    );
    assert!(
        notices
            .iter()
            .any(|t| t.contains("Person: tomas.ortega@example.net")
                && t.contains("Please stop processing"))
    );
    for t in &notices {
        assert!(
            !t.contains("Mateo Rossi") && !t.contains("Tomás Ortega"),
            "no names: {t}"
        );
    }
    assert_eq!(
        mails
            .iter()
            .filter(|(to, _)| to.contains("privacy@crm-partner.example"))
            .count(),
        2
    );
    // The restriction and the objection say what they did per system.
    assert!(mails.iter().any(
        |(_, t)| t.contains("completed your request for restriction")
            && t.contains("- demo: processing restricted (1 record marked)")
    ));
    assert!(
        mails
            .iter()
            .any(|(_, t)| t.contains("an end to the processing")
                && t.contains("- demo: your objection recorded (1 record marked)"))
    );

    let (ok, report) = cli_json(dir, &["check"]);
    assert!(ok, "{report:#}");
    assert_eq!(report["warnings"], serde_json::json!([]), "{report:#}");
}

/// Without a register, `check` warns (and still passes): access packages would say the
/// company did not provide the information of GDPR art. 15(1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_warns_without_a_register() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    std::fs::create_dir_all(dir.join("data")).expect("data dir");
    std::fs::create_dir_all(dir.join("datamap")).expect("datamap dir");
    let (ok, report) = cli_json(dir, &["check"]);
    assert!(ok, "a warning does not fail check: {report:#}");
    let warnings = report["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{report:#}");
    assert_eq!(warnings[0]["key"], "processing");
    assert!(
        warnings[0]["message"]
            .as_str()
            .unwrap()
            .contains("did not provide"),
        "{report:#}"
    );
    let out = rightsdesk(dir, free_port())
        .arg("check")
        .output()
        .expect("run check");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("warning: processing: no register of processing"),
        "{text}"
    );

    // With a register, no warning.
    std::fs::write(
        dir.join("rightsdesk.toml"),
        "[[processing.purposes]]\nname = \"service\"\nlegal_basis = \"contract\"\n",
    )
    .expect("config");
    let (ok, report) = cli_json(dir, &["check"]);
    assert!(ok, "{report:#}");
    assert_eq!(report["warnings"], serde_json::json!([]), "{report:#}");
}

/// `rightsdesk <args> --json` in the demo directory: exit status and JSON answer.
fn cli_json(dir: &Path, args: &[&str]) -> (bool, Value) {
    let out = rightsdesk(dir, free_port())
        .args(args)
        .arg("--json")
        .output()
        .expect("run rightsdesk");
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?} did not answer JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), v)
}

/// The demo product keeps its visit times as SQLite TEXT: its retention policy passes
/// `check`, the dry run says what the purge then deletes, and the purge deletes exactly
/// the visits older than the cutoff. A visit whose time is not a date fails `check` and
/// the run, and is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_retention_policy_runs_on_sqlite_text_dates() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    demo(dir, free_port());
    let product = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.join("data/demo/product.sqlite").display()
    ))
    .await
    .expect("demo product database");
    let count = |sql: &'static str, cutoff: Option<String>| {
        let product = product.clone();
        async move {
            let mut q = sqlx::query_scalar::<_, i64>(sql);
            if let Some(c) = cutoff {
                q = q.bind(c);
            }
            q.fetch_one(&product).await.expect("count")
        }
    };
    const ALL: &str = "SELECT COUNT(*) FROM website_visits";
    const OLDER: &str =
        "SELECT COUNT(*) FROM website_visits WHERE julianday(visited_at) < julianday(?)";

    let (ok, report) = cli_json(dir, &["check"]);
    assert!(ok, "check passes: {report:#}");

    let before = count(ALL, None).await;
    let (ok, dry) = cli_json(dir, &["purge", "--dry-run"]);
    assert!(ok, "{dry:#}");
    let run = &dry["items"][0];
    assert_eq!(run["policy"], "stale-website-visits", "{dry:#}");
    assert_eq!(run["error"], Value::Null, "{dry:#}");
    let cutoff = run["cutoff"].as_str().expect("cutoff").to_string();
    let due = count(OLDER, Some(cutoff.clone())).await;
    assert!(due > 0, "the demo has visits older than 13 months");
    assert_eq!(run["rows_matched"], due, "{dry:#}");
    let would = run["would_purge"].as_i64().expect("would_purge");
    assert_eq!(count(ALL, None).await, before, "a dry run deletes nothing");

    let (ok, done) = cli_json(dir, &["purge"]);
    assert!(ok, "{done:#}");
    let run = &done["items"][0];
    assert_eq!(run["status"], "succeeded", "{done:#}");
    assert_eq!(run["rows_purged"], would, "{done:#}");
    assert_eq!(count(ALL, None).await, before - would);
    assert_eq!(
        count(OLDER, Some(cutoff)).await,
        due - would,
        "only held visits stay past the cutoff"
    );

    // A visit time that is not a date: reported by `check` and the run, never deleted.
    sqlx::query(
        "INSERT INTO website_visits (account_id, ip_address, page, seconds_on_page, visited_at) \
         SELECT id, '203.0.113.250', '/pricing', 5, 'yesterday' FROM accounts LIMIT 1",
    )
    .execute(&product)
    .await
    .expect("insert");
    let (ok, report) = cli_json(dir, &["check"]);
    assert!(!ok, "check fails: {report:#}");
    assert!(report.to_string().contains("are not dates"), "{report:#}");
    let (ok, failed) = cli_json(dir, &["purge"]);
    assert!(!ok, "{failed:#}");
    let run = &failed["items"][0];
    assert_eq!(run["status"], "failed", "{failed:#}");
    assert!(
        run["error"].as_str().unwrap_or("").contains("not a date"),
        "{failed:#}"
    );
    let kept: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM website_visits WHERE visited_at = 'yesterday'")
            .fetch_one(&product)
            .await
            .expect("count");
    assert_eq!(kept, 1);
    product.close().await;
}
