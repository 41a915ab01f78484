//! The web and sign-in hardening, over HTTP as an attacker would try it: two-factor
//! guessing, sign-in floods, recovery codes, spoofed client addresses, slow clients,
//! download counting, the metrics listener and file modes, and intake answers that give
//! nothing away. SQLite and PostgreSQL where the store is involved.

mod common;

use common::portal::{Browser, between, totp_code};
#[path = "security/support.rs"]
mod support;

use std::time::Duration;

use chrono::TimeDelta;
use common::{Backend, Options, TestApp, json, smtp, spawn_app_with};
use rightsdesk::config::{Config, HumanDuration};
use rightsdesk::domain::staff::Role;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

// ---- a browser without JavaScript ----------------------------------------------------

fn wrong_code(right: &str) -> &'static str {
    if right == "000000" {
        "111111"
    } else {
        "000000"
    }
}

async fn user(app: &TestApp, email: &str, role: Role) -> String {
    rightsdesk::http::portal::auth::create_user(&app.state, email, role)
        .await
        .expect("user")
        .1
}

fn opts(configure: impl FnOnce(&mut Config) + Send + 'static) -> Options {
    Options {
        configure: Box::new(configure),
        handlers: Vec::new(),
    }
}

/// The messages in the file outbox as (To, decoded text), waiting until `n` arrived.
async fn outbox(app: &TestApp, n: usize) -> Vec<(String, String)> {
    let dir = app.state.config.data_dir.join("outbox");
    let mut out = Vec::new();
    for _ in 0..200 {
        out = std::fs::read_dir(&dir)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .map(|eml| {
                        (
                            smtp::header(&eml, "To").unwrap_or_default(),
                            smtp::decoded_text(&eml),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        if out.len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    out
}

// ---- 1. two-factor guessing ----------------------------------------------------------

/// Seen in the review: with a stolen password, sign in, try codes, sign in again, repeat.
/// Wrong codes now count apart from passwords, a correct password does not reset them,
/// the lockout ends every session of the user and emails them and the privacy team, and
/// while locked even the right code is refused.
async fn wrong_codes_lock_the_second_step_across_password_sign_ins(backend: Backend) {
    let Some(app) = spawn_app_with(
        backend,
        opts(|c| {
            c.portal.max_failed_logins = 3;
            c.portal.max_failed_codes = 3;
        }),
    )
    .await
    else {
        return;
    };
    let email = "dana@staff.example";
    let pw = user(&app, email, Role::Admin).await;
    let mut owner = Browser::new(&app);
    assert_eq!(
        owner.password(email, &pw).await.location.as_deref(),
        Some("/portal/account/totp")
    );
    let (secret, _) = owner.enrol().await;
    assert_eq!(owner.get("/portal").await.status, 200, "the owner is in");

    let mut attacker = Browser::new(&app);
    let right = totp_code(&app, &secret);
    let wrong = wrong_code(&right);
    for round in 0..2 {
        let r = attacker.password(email, &pw).await;
        assert_eq!(
            r.location.as_deref(),
            Some("/portal/login/totp"),
            "round {round}"
        );
        let r = attacker.code(wrong).await;
        assert_eq!(r.status, 401, "round {round}: {}", r.body);
    }
    // The password again (this used to wipe the count), then the third wrong code.
    assert_eq!(
        attacker.password(email, &pw).await.location.as_deref(),
        Some("/portal/login/totp")
    );
    let locked = attacker.code(wrong).await;
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert!(locked.body.contains("locked"), "{}", locked.body);
    assert!(locked.retry_after.unwrap_or(0) > 0);
    assert!(!attacker.cookies.contains_key("rd_session"));

    // Every session of the user ended, the owner's too.
    let r = owner.get("/portal").await;
    assert_eq!(r.location.as_deref(), Some("/portal/login"));

    // While locked, the right code (a fresh step, never used) is refused too.
    app.clock.advance(TimeDelta::seconds(30));
    assert_eq!(
        attacker.password(email, &pw).await.location.as_deref(),
        Some("/portal/login/totp")
    );
    let r = attacker.code(&totp_code(&app, &secret)).await;
    assert_eq!(r.status, 429, "{}", r.body);

    // The user and the privacy team were told, with the same lockout reference.
    let mails = outbox(&app, 2).await;
    let locks: Vec<&(String, String)> = mails
        .iter()
        .filter(|(_, text)| text.contains("Lockout: "))
        .collect();
    assert_eq!(locks.len(), 2, "{mails:?}");
    let to: Vec<&str> = locks.iter().map(|(to, _)| to.as_str()).collect();
    assert!(to.iter().any(|t| t.contains(email)), "{to:?}");
    assert!(
        to.iter()
            .any(|t| t.contains(&app.state.config.email.privacy_team)),
        "{to:?}"
    );
    let reference = between(&locks[0].1, "Lockout: ", "\n")
        .expect("lockout reference")
        .trim()
        .to_string();
    assert!(reference.starts_with("LOCK-"), "{reference}");
    assert!(locks[1].1.contains(&reference));
    let audit = app.state.store.audit_after(0, 10_000).await.expect("audit");
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.action == "portal.totp_locked")
            .count(),
        1
    );

    // After the lockout, the right code works again.
    app.clock.advance(TimeDelta::minutes(16));
    assert_eq!(
        attacker.password(email, &pw).await.location.as_deref(),
        Some("/portal/login/totp")
    );
    let r = attacker.code(&totp_code(&app, &secret)).await;
    assert_eq!(r.location.as_deref(), Some("/portal"), "{}", r.body);
    app.stop().await;
}

// ---- 2. sign-in memory and rate limits -------------------------------------------------

/// Sign-in attempts are counted per account and per client before any hashing; the
/// second step (codes and recovery codes) per account too.
async fn sign_in_attempts_are_limited_per_account_and_per_client(backend: Backend) {
    let Some(app) = spawn_app_with(
        backend,
        opts(|c| {
            c.portal.sign_in_per_account_per_hour = 4;
            c.portal.sign_in_per_client_per_hour = 6;
            c.portal.max_failed_logins = 100;
            c.portal.max_failed_codes = 100;
        }),
    )
    .await
    else {
        return;
    };
    let pw = user(&app, "erin@staff.example", Role::Admin).await;
    let mut b = Browser::new(&app);
    for n in 0..4 {
        let r = b.password("erin@staff.example", "not the password").await;
        assert_eq!(r.status, 401, "attempt {n}");
    }
    // The fifth attempt on the account is refused before the password is looked at.
    let r = b.password("erin@staff.example", &pw).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.retry_after.unwrap_or(0) > 0);
    assert!(r.body.contains("Too many sign-in attempts"));
    // Other accounts from this client: two more, then the client's own limit.
    assert_eq!(b.password("nobody-1@staff.example", "x").await.status, 401);
    assert_eq!(b.password("nobody-2@staff.example", "x").await.status, 401);
    assert_eq!(b.password("nobody-3@staff.example", "x").await.status, 429);
    // An hour later the account signs in.
    app.clock.advance(TimeDelta::minutes(61));
    let r = b.password("erin@staff.example", &pw).await;
    assert_eq!(r.location.as_deref(), Some("/portal/account/totp"));
    let (secret, _) = b.enrol().await;
    let page = b.get("/portal").await;
    let _ = b.post("/portal/logout", &[("csrf", &page.csrf())]).await;

    // The second step: wrong codes and made-up recovery codes count against the account.
    app.clock.advance(TimeDelta::minutes(61));
    assert_eq!(
        b.password("erin@staff.example", &pw)
            .await
            .location
            .as_deref(),
        Some("/portal/login/totp")
    );
    let wrong = wrong_code(&totp_code(&app, &secret));
    for n in 0..4 {
        let guess = if n % 2 == 0 {
            wrong.to_string()
        } else {
            "abcde-fghjk-mnpqr-stuvw".to_string()
        };
        assert_eq!(b.code(&guess).await.status, 401, "guess {n}");
    }
    app.clock.advance(TimeDelta::seconds(30));
    let r = b.code(&totp_code(&app, &secret)).await;
    assert_eq!(r.status, 429, "{}", r.body);
    app.stop().await;
}

/// Password hashing runs in bounded turns: while every turn is taken, an attempt waits
/// (up to `hashing_wait`) and then gets 429; when a turn frees up in time it goes on.
async fn password_hashing_waits_for_a_turn_then_answers_429(backend: Backend) {
    let Some(app) = spawn_app_with(
        backend,
        opts(|c| {
            c.portal.hashing_threads = 1;
            c.portal.hashing_queue = 1;
            c.portal.hashing_wait = HumanDuration(Duration::from_secs(1));
        }),
    )
    .await
    else {
        return;
    };
    let pw = user(&app, "finn@staff.example", Role::Agent).await;
    assert_eq!(app.state.hashing.size(), 1);
    let gate = app.state.hashing.clone();
    let held = gate.hold_all().await;
    let mut b = Browser::new(&app);
    let r = b.password("finn@staff.example", &pw).await;
    assert_eq!(r.status, 429, "{}", r.body);
    drop(held);
    assert!(r.retry_after.unwrap_or(0) > 0);
    // A turn that frees up while the attempt waits lets it through.
    let held = gate.hold_all().await;
    let (r, ()) = tokio::join!(b.password("finn@staff.example", &pw), async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(held);
    });
    assert_eq!(r.location.as_deref(), Some("/portal"), "{}", r.body);
    app.stop().await;
}

// ---- 12. recovery codes ----------------------------------------------------------------

/// Recovery codes carry at least 80 bits, are stored salted and slow (argon2id), never
/// as a plain hash of the code, and each works once.
async fn recovery_codes_are_long_slow_hashed_and_single_use(backend: Backend) {
    let Some(app) = spawn_app_with(backend, Options::default()).await else {
        return;
    };
    let pw = user(&app, "gail@staff.example", Role::Admin).await;
    let mut b = Browser::new(&app);
    b.password("gail@staff.example", &pw).await;
    let (_, codes) = b.enrol().await;
    for c in &codes {
        let chars: String = c.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        // 20 characters of a 31-letter alphabet: 99 bits.
        assert_eq!(chars.len(), 20, "{c}");
        assert!(20.0 * 31f64.log2() >= 80.0);
    }
    let stored = app
        .state
        .store
        .user_by_email("gail@staff.example")
        .await
        .expect("user")
        .expect("exists")
        .recovery_codes
        .expect("codes");
    let hashes: Vec<String> = serde_json::from_str(&stored).expect("json");
    assert_eq!(hashes.len(), 10);
    let plain_sha: Vec<String> = codes
        .iter()
        .map(|c| {
            let n: String = c.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
            rightsdesk::crypto::sha256_hex(n.as_bytes())
        })
        .collect();
    for h in &hashes {
        assert!(h.starts_with("a1:") && h.contains("$argon2id$"), "{h}");
        assert!(!plain_sha.iter().any(|p| h.contains(p.as_str())));
        assert!(!codes.iter().any(|c| h.contains(c.as_str())));
    }

    let page = b.get("/portal").await;
    b.post("/portal/logout", &[("csrf", &page.csrf())]).await;
    b.password("gail@staff.example", &pw).await;
    let r = b.code(&codes[3].to_uppercase()).await;
    assert_eq!(r.location.as_deref(), Some("/portal"), "{}", r.body);
    let page = b.get("/portal").await;
    b.post("/portal/logout", &[("csrf", &page.csrf())]).await;
    b.password("gail@staff.example", &pw).await;
    assert_eq!(b.code(&codes[3]).await.status, 401, "a code works once");
    assert_eq!(b.code(&codes[4]).await.location.as_deref(), Some("/portal"));
    app.stop().await;
}

// ---- 3 and 16. the client address ----------------------------------------------------

/// Behind a proxy that appends, a client writes its own `X-Forwarded-For` entry on the
/// left: only the right end is believed. IPv6 clients count per /64.
async fn forwarded_for_is_read_from_the_right_and_ipv6_counts_per_64(backend: Backend) {
    let Some(app) = spawn_app_with(
        backend,
        opts(|c| {
            c.intake.per_client_per_hour = 1;
            c.intake.trusted_proxies = vec!["127.0.0.1".into(), "10.0.0.0/8".into()];
        }),
    )
    .await
    else {
        return;
    };
    let send = |fwd: &'static str, n: u32| {
        app.client
            .post(app.url("/api/v1/intake"))
            .header("x-forwarded-for", fwd)
            .json(&json!({"kind": "access", "email": format!("x{n}@example.com")}))
            .send()
    };
    // The client claims two different addresses; the proxy saw the same one both times.
    assert_eq!(
        send("192.0.2.1, 198.51.100.7", 1).await.unwrap().status(),
        202
    );
    assert_eq!(
        send("192.0.2.2, 198.51.100.7, 10.1.1.1", 2)
            .await
            .unwrap()
            .status(),
        429
    );
    let audit = app.state.store.audit_after(0, 10_000).await.expect("audit");
    let submit = audit
        .iter()
        .find(|a| a.action == "intake.submit")
        .expect("submit audited");
    assert_eq!(submit.client_addr.as_deref(), Some("198.51.100.7"));

    // Two addresses of one IPv6 /64 are one client.
    assert_eq!(send("2001:db8:1:2::1", 3).await.unwrap().status(), 202);
    assert_eq!(
        send("2001:db8:1:2:ffff:1:2:3", 4).await.unwrap().status(),
        429
    );
    assert_eq!(send("2001:db8:1:3::1", 5).await.unwrap().status(), 202);
    app.stop().await;
}

// ---- 17. intake answers ----------------------------------------------------------------

/// Someone asking for an address that already has a request waiting, or that reached
/// its per-address limit, gets an answer like a fresh request: a new reference, 202, no
/// extra email. The waiting request's reference is never handed out.
async fn intake_answers_never_reveal_an_earlier_request(backend: Backend) {
    let Some(app) = spawn_app_with(
        backend,
        opts(|c| {
            c.intake.per_email_per_hour = 2;
        }),
    )
    .await
    else {
        return;
    };
    let submit = || async {
        json(
            app.client
                .post(app.url("/api/v1/intake"))
                .json(&json!({"kind": "erasure", "email": "hana@example.com"}))
                .send()
                .await
                .expect("intake"),
        )
        .await
    };
    let fresh = |v: &Value| {
        let r = v["reference"].as_str().unwrap_or("");
        assert!(r.starts_with("DSR-") && r.len() == 13, "{v}");
        let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["reference", "status"], "{v}");
        assert_eq!(v["status"], "awaiting_verification");
    };
    let (s, first) = submit().await;
    assert_eq!(s, 202);
    fresh(&first);
    // Somebody else asks for the same address: a fresh-looking reference, not the first.
    let (s, second) = submit().await;
    assert_eq!(s, 202);
    fresh(&second);
    assert_ne!(second["reference"], first["reference"]);
    // Past the per-address limit: the same kind of answer, not 429.
    let (s, third) = submit().await;
    assert_eq!(s, 202, "{third}");
    fresh(&third);
    assert_ne!(third["reference"], first["reference"]);
    // Only the two allowed emails went out, and only one request exists.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mails = outbox(&app, 2).await;
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(
        mails
            .iter()
            .all(|(_, t)| t.contains(first["reference"].as_str().unwrap()))
    );
    let token = app.token(Role::Auditor).await;
    let (_, list) = json(app.get(&token, "/api/v1/requests").await).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["reference"], first["reference"]);
    // Staff can match an answered reference to the real one in the audit log.
    let audit = app.state.store.audit_after(0, 10_000).await.expect("audit");
    let again = audit
        .iter()
        .find(|a| a.action == "intake.answered_again")
        .expect("audited");
    assert_eq!(again.request_ref.as_deref(), first["reference"].as_str());
    let detail = |d: &str| serde_json::from_str::<Value>(d).expect("detail json");
    assert_eq!(
        detail(&again.detail)["answered_reference"],
        second["reference"]
    );
    assert!(audit.iter().any(|a| a.action == "intake.limited"
        && detail(&a.detail)["answered_reference"] == third["reference"]));
    app.stop().await;
}

// ---- 11 and 16. downloads, file modes ------------------------------------------------

/// A `HEAD` (a mail scanner checking the link) never uses a download; five complete
/// `GET`s do. Export files and the SQLite database are readable by the owner only.
async fn only_complete_downloads_count_and_files_are_private(backend: Backend) {
    let product_dir = tempfile::tempdir().expect("tempdir");
    let (_pool, datamap) = common::product::product(product_dir.path()).await;
    let Some(app) = spawn_app_with(backend, opts(move |c| c.datamap_dir = datamap)).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let reference =
        common::product::create_and_start(&app, &agent, "access", "ada@example.com").await;
    common::product::wait_for_status(&app, &agent, &reference, "completed").await;
    let token = support::next_token(&app, "/download/", &[]).await;
    let url = app.url(&format!("/download/{token}"));
    for _ in 0..10 {
        let r = app.client.head(&url).send().await.expect("head");
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/zip");
    }
    for n in 0..5 {
        let r = app.client.get(&url).send().await.expect("get");
        assert_eq!(r.status(), 200, "download {n}");
        let body = r.bytes().await.expect("body");
        assert!(body.starts_with(b"PK"), "a whole ZIP");
    }
    assert_eq!(
        app.client.get(&url).send().await.expect("get").status(),
        410
    );
    assert_eq!(
        app.client.head(&url).send().await.expect("head").status(),
        410
    );
    let audit = app.state.store.audit_after(0, 10_000).await.expect("audit");
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.action == "export.download")
            .count(),
        5
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            |p: &std::path::Path| std::fs::metadata(p).expect("file").permissions().mode() & 0o777;
        let exports: Vec<_> = std::fs::read_dir(app.state.config.data_dir.join("exports"))
            .expect("exports dir")
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(!exports.is_empty());
        for f in &exports {
            assert_eq!(mode(f), 0o600, "{}", f.display());
        }
        if backend == Backend::Sqlite {
            let db = app.dir.path().join("rightsdesk.db");
            assert_eq!(mode(&db), 0o600);
            let wal = app.dir.path().join("rightsdesk.db-wal");
            if wal.exists() {
                assert_eq!(mode(&wal), 0o600);
            }
        }
    }
    app.stop().await;
}

// ---- 16. the metrics listener ----------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_only_on_their_own_listener() {
    let app = spawn_app_with(Backend::Sqlite, Options::default())
        .await
        .expect("app");
    let public = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("public");
    assert_eq!(public.status(), 404);
    assert!(
        !public
            .text()
            .await
            .unwrap_or_default()
            .contains("rightsdesk_")
    );
    let metrics = app
        .client
        .get(app.metrics_url())
        .send()
        .await
        .expect("metrics");
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics
            .text()
            .await
            .unwrap_or_default()
            .contains("rightsdesk_requests_open")
    );
    // Nothing else is served there.
    let other = app
        .client
        .get(format!("{}/api/v1/requests", app.metrics_base))
        .send()
        .await
        .expect("other");
    assert_eq!(other.status(), 404);
    assert_ne!(app.metrics_base, app.base);
    app.stop().await;
}

// ---- 6. slow clients -----------------------------------------------------------------

/// Read until the server closes the connection; `None` if it is still open after a
/// generous wait (the behaviour before the fix: open for good).
async fn closed_by_server(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_cut_off_and_connections_are_capped() {
    let app = spawn_app_with(
        Backend::Sqlite,
        opts(|c| {
            c.header_read_timeout = HumanDuration(Duration::from_secs(1));
            c.max_connections = 2;
        }),
    )
    .await
    .expect("app");
    let addr = app.base.trim_start_matches("http://").to_string();

    // A client trickling its header is cut off.
    let mut slow = TcpStream::connect(&addr).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let closed = closed_by_server(&mut slow).await;
    assert!(closed.is_some(), "a half-sent header holds the connection");
    assert!(
        !String::from_utf8_lossy(&closed.unwrap_or_default()).contains("200 OK"),
        "no answer to an unfinished request"
    );

    // An idle keep-alive connection is closed after its request was answered.
    let mut idle = TcpStream::connect(&addr).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let answer = closed_by_server(&mut idle).await;
    let answer =
        String::from_utf8_lossy(&answer.expect("the idle connection was closed")).to_string();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // Two connections fill the cap: a third is answered only when one of them ends.
    let first = TcpStream::connect(&addr).await.expect("connect");
    let _second = TcpStream::connect(&addr).await.expect("connect");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let third = tokio::spawn({
        let client = reqwest::Client::new();
        let url = app.url("/healthz");
        async move { client.get(url).send().await.map(|r| r.status().as_u16()) }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!third.is_finished(), "served past the connection cap");
    drop(first);
    // The header timeout frees the held slots anyway; either way the third gets in.
    let status = tokio::time::timeout(Duration::from_secs(30), third)
        .await
        .expect("the third client was served")
        .expect("task")
        .expect("request");
    assert_eq!(status, 200);
    app.stop().await;
}

backend_fn_tests!(
    wrong_codes_lock_the_second_step_across_password_sign_ins,
    sign_in_attempts_are_limited_per_account_and_per_client,
    password_hashing_waits_for_a_turn_then_answers_429,
    recovery_codes_are_long_slow_hashed_and_single_use,
    forwarded_for_is_read_from_the_right_and_ipv6_counts_per_64,
    intake_answers_never_reveal_an_earlier_request,
    only_complete_downloads_count_and_files_are_private,
);
