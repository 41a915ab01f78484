//! Security of the data Rightsdesk holds (issue 17): status links that expire and never
//! show the download link, an erasure that also deletes Rightsdesk's own copies, exports
//! refused for denied or withdrawn requests, the data map's environment allowlist, the
//! keyed and anchored audit chain (append-only on PostgreSQL), identity-check proofs wiped
//! with the request, the holds list audited, and unique ZIP entry names. On SQLite and
//! PostgreSQL where storage is involved.

mod common;

use std::collections::BTreeSet;
use std::io::Read;
use std::time::Duration;

use common::product::{create_and_start, product, wait_for_status};
use common::{Backend, Options, TestApp, json, spawn_app_with};
use rightsdesk::domain::staff::Role;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

mod stored {
    backend_fn_tests!(
        status_links_expire_and_never_show_the_download_link,
        erasure_deletes_rightsdesks_own_copies_of_earlier_requests,
        export_is_refused_for_denied_and_withdrawn_requests,
        identity_check_proofs_are_wiped_with_the_request,
        task_results_and_ledger_entries_are_bound_to_their_row
    );
    use super::*;
}

mod served {
    backend_tests!(
        audit_chain_is_keyed_anchored_and_append_only,
        holds_list_is_audited,
        request_values_are_bound_to_their_row,
        unkeyed_entries_from_before_the_upgrade_stay_verifiable
    );
    use super::*;
}

/// Every `<prefix><token>` path in the emails about `reference` so far.
fn links(app: &TestApp, reference: &str, prefix: &str) -> BTreeSet<String> {
    let outbox = app.state.config.data_dir.join("outbox");
    let mut out = BTreeSet::new();
    for f in std::fs::read_dir(&outbox).into_iter().flatten().flatten() {
        let p = f.path();
        if p.extension().and_then(|e| e.to_str()) != Some("eml") {
            continue;
        }
        let text = common::smtp::decoded_text(&std::fs::read_to_string(&p).unwrap());
        if !text.contains(reference) {
            continue;
        }
        for (i, _) in text.match_indices(prefix) {
            let token: String = text[i + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            out.insert(format!("{prefix}{token}"));
        }
    }
    out
}

/// A `prefix` link in the emails of `reference` that is not in `before`.
async fn new_link(
    app: &TestApp,
    reference: &str,
    prefix: &str,
    before: &BTreeSet<String>,
) -> String {
    for _ in 0..150 {
        if let Some(l) = links(app, reference, prefix).difference(before).next() {
            return l.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no new {prefix} link for {reference}");
}

async fn any_link(app: &TestApp, reference: &str, prefix: &str) -> String {
    new_link(app, reference, prefix, &BTreeSet::new()).await
}

async fn get(app: &TestApp, path: &str) -> (u16, String) {
    let r = app.client.get(app.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn post(app: &TestApp, path: &str) -> (u16, String) {
    let r = app.client.post(app.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn with_product(
    datamap: std::path::PathBuf,
    extra: impl FnOnce(&mut rightsdesk::config::Config) + Send + 'static,
) -> Options {
    Options {
        configure: Box::new(move |c| {
            c.datamap_dir = datamap;
            extra(c);
        }),
        handlers: Vec::new(),
    }
}

// --- item 4: status links ---

async fn status_links_expire_and_never_show_the_download_link(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (_pool, datamap) = product(dir.path()).await;
    let Some(app) = spawn_app_with(backend, with_product(datamap, |_| {})).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let reference = create_and_start(&app, &agent, "access", "ada@example.com").await;
    wait_for_status(&app, &agent, &reference, "completed").await;
    let download = any_link(&app, &reference, "/download/").await;
    let token = download.trim_start_matches("/download/").to_string();
    let status = any_link(&app, &reference, "/status/").await;

    // The page says a package is ready but never holds its link.
    let (code, page) = get(&app, &status).await;
    assert_eq!(code, 200, "{page}");
    assert!(!page.contains(&token), "{page}");
    assert!(!page.contains("/download/"), "{page}");
    assert!(page.contains("Email me the download link"), "{page}");

    // Asking for it emails the live link to the request's own address.
    let before = links(&app, &reference, "/download/");
    let (code, page) = post(&app, &format!("{status}/link")).await;
    assert_eq!(code, 200, "{page}");
    assert!(!page.contains(&token), "{page}");
    let emails_with_link = || {
        let outbox = app.state.config.data_dir.join("outbox");
        std::fs::read_dir(&outbox)
            .unwrap()
            .flatten()
            .map(|f| std::fs::read_to_string(f.path()).unwrap_or_default())
            .filter(|raw| common::smtp::decoded_text(raw).contains(&token))
            .collect::<Vec<_>>()
    };
    let mut sent = Vec::new();
    for _ in 0..100 {
        sent = emails_with_link();
        if sent.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sent.len(), 2, "the completion email and the one asked for");
    for raw in &sent {
        let to = common::smtp::header(raw, "To").unwrap_or_default();
        assert!(to.contains("ada@example.com"), "{to}");
    }
    assert_eq!(
        links(&app, &reference, "/download/"),
        before,
        "the same live link"
    );
    let r = app.client.get(app.url(&download)).send().await.unwrap();
    assert_eq!(r.status(), 200);

    // Rate-limited: three a day.
    for _ in 0..2 {
        assert_eq!(post(&app, &format!("{status}/link")).await.0, 200);
    }
    assert_eq!(post(&app, &format!("{status}/link")).await.0, 429);

    // The link lives `status_link_days` (90) after the request closed, then is gone.
    app.clock.advance(chrono::TimeDelta::days(89));
    assert_eq!(get(&app, &status).await.0, 200);
    app.clock.advance(chrono::TimeDelta::days(2));
    let (code, page) = get(&app, &status).await;
    assert_eq!(code, 410, "{page}");
    assert!(!page.contains(&reference), "{page}");
    assert_eq!(post(&app, &format!("{status}/link")).await.0, 410);
    app.stop().await;

    // With a shorter `closed_request_pii`, the link dies with the personal data.
    let dir = tempfile::tempdir().unwrap();
    let (_pool, datamap) = product(dir.path()).await;
    let opts = with_product(datamap, |c| {
        c.retention_own.closed_request_pii =
            rightsdesk::config::HumanDuration::parse("30d").unwrap();
    });
    let Some(app) = spawn_app_with(backend, opts).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let reference = create_and_start(&app, &agent, "access", "ada@example.com").await;
    wait_for_status(&app, &agent, &reference, "completed").await;
    let status = any_link(&app, &reference, "/status/").await;
    app.clock.advance(chrono::TimeDelta::days(29));
    assert_eq!(get(&app, &status).await.0, 200);
    app.clock.advance(chrono::TimeDelta::days(2));
    assert_eq!(get(&app, &status).await.0, 410);
    // The purge also deletes the links themselves.
    rightsdesk::services::retention::own::purge(&app.state, "test")
        .await
        .unwrap();
    let req = app
        .state
        .store
        .request_by_reference(&reference)
        .await
        .unwrap()
        .unwrap();
    let live = app
        .state
        .store
        .request_by_token(
            &rightsdesk::crypto::token_hash(status.trim_start_matches("/status/")),
            rightsdesk::store::TokenPurpose::Status,
            rightsdesk::clock::Clock::now(&app.clock),
        )
        .await
        .unwrap();
    assert!(live.is_none(), "the status token row is gone");
    assert!(req.email_ct.is_none());
    app.stop().await;
}

// --- item 5: an erasure deletes Rightsdesk's own copies ---

async fn erasure_deletes_rightsdesks_own_copies_of_earlier_requests(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (_pool, datamap) = product(dir.path()).await;
    let Some(app) = spawn_app_with(backend, with_product(datamap, |_| {})).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let access = create_and_start(&app, &agent, "access", "ada@example.com").await;
    wait_for_status(&app, &agent, &access, "completed").await;
    let download = any_link(&app, &access, "/download/").await;
    let (s, v) = json(
        app.post_json(
            &agent,
            &format!("/api/v1/requests/{access}/identity"),
            &json!({ "note": "Called back on the number on file" }),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    // Someone else's request stays untouched.
    let other = create_and_start(&app, &agent, "access", "bob@example.com").await;
    wait_for_status(&app, &agent, &other, "completed").await;

    let exports_dir = app.state.config.data_dir.join("exports");
    let files = || -> usize {
        std::fs::read_dir(&exports_dir)
            .unwrap()
            .flatten()
            .filter(|f| f.path().extension().is_some_and(|e| e == "bin"))
            .count()
    };
    assert_eq!(files(), 2);
    let access_req = app
        .state
        .store
        .request_by_reference(&access)
        .await
        .unwrap()
        .unwrap();
    let stored_parts = |id: String| {
        let state = app.state.clone();
        async move {
            let mut n = 0;
            for t in state.store.tasks_for_request(&id).await.unwrap() {
                n += rightsdesk::services::task_results::parts(&state, &t)
                    .await
                    .unwrap()
                    .len();
            }
            n
        }
    };
    assert!(stored_parts(access_req.id.clone()).await > 0);

    let erasure = create_and_start(&app, &agent, "erasure", "Ada@Example.com").await;
    wait_for_status(&app, &agent, &erasure, "review").await;
    let (s, v) = json(
        app.post_json(
            &agent,
            &format!("/api/v1/requests/{erasure}/complete"),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "completed");

    // Nothing of Ada's is left with us: results, package, proof.
    assert_eq!(stored_parts(access_req.id.clone()).await, 0);
    for t in app
        .state
        .store
        .tasks_for_request(&access_req.id)
        .await
        .unwrap()
    {
        assert!(t.result_ct.is_none(), "task {} keeps a result", t.id);
    }
    assert_eq!(files(), 1, "only Bob's package is left");
    let check = app
        .state
        .store
        .identity_check(&access_req.id)
        .await
        .unwrap()
        .unwrap();
    assert!(check.note_ct.is_none() && check.proof_ct.is_none());
    assert_eq!(
        app.client
            .get(app.url(&download))
            .send()
            .await
            .unwrap()
            .status(),
        410
    );
    // Staff cannot send it again or rebuild it.
    for path in ["export", "export/link"] {
        let r = app
            .post_empty(&agent, &format!("/api/v1/requests/{access}/{path}"))
            .await;
        let p = common::problem(r, 409).await;
        assert!(p["detail"].as_str().unwrap().contains(&erasure), "{p}");
    }
    // Bob's package and results are still there.
    let bob = app
        .state
        .store
        .request_by_reference(&other)
        .await
        .unwrap()
        .unwrap();
    assert!(stored_parts(bob.id).await > 0);

    // The erasure says so, with references and counts only.
    let (_, v) = json(
        app.get(&agent, &format!("/api/v1/requests/{erasure}"))
            .await,
    )
    .await;
    let text = v.to_string();
    assert!(text.contains("own_copies_deleted"), "{v}");
    assert!(text.contains(&access), "{v}");
    let audit = app.state.store.audit_after(0, 10_000).await.unwrap();
    let entry = audit
        .iter()
        .find(|a| a.action == "erasure.own_copies_deleted")
        .expect("audited");
    assert_eq!(entry.request_ref.as_deref(), Some(erasure.as_str()));
    let detail: Value = serde_json::from_str(&entry.detail).unwrap();
    assert_eq!(detail["requests"], json!([access]));
    assert_eq!(detail["export_files"], 1);
    assert_eq!(detail["identity_proofs"], 1);
    assert!(detail["result_parts"].as_u64().unwrap() >= 1, "{detail}");
    assert!(!entry.detail.contains("ada@"), "{}", entry.detail);
    app.stop().await;
}

// --- item 7: no export for denied or withdrawn requests ---

async fn export_is_refused_for_denied_and_withdrawn_requests(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (_pool, datamap) = product(dir.path()).await;
    // Access waits in review so that staff decide.
    let opts = with_product(datamap, |c| c.workflow.auto_complete = Vec::new());
    let Some(app) = spawn_app_with(backend, opts).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    for (action, body) in [
        (
            "deny",
            json!({ "reason": "manifestly_unfounded", "note": "third request this week" }),
        ),
        (
            "withdraw",
            json!({ "note": "the subject withdrew it by phone" }),
        ),
    ] {
        let reference = create_and_start(&app, &agent, "access", "ada@example.com").await;
        wait_for_status(&app, &agent, &reference, "review").await;
        let (s, v) = json(
            app.post_json(
                &agent,
                &format!("/api/v1/requests/{reference}/{action}"),
                &body,
            )
            .await,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        let before = links(&app, &reference, "/download/");
        for path in ["export", "export/link"] {
            let r = app
                .post_empty(&agent, &format!("/api/v1/requests/{reference}/{path}"))
                .await;
            let p = common::problem(r, 409).await;
            assert!(
                p["current_status"] == "denied" || p["current_status"] == "withdrawn",
                "{p}"
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            links(&app, &reference, "/download/"),
            before,
            "no link sent"
        );
        let (_, v) = json(
            app.get(&agent, &format!("/api/v1/requests/{reference}/export"))
                .await,
        )
        .await;
        assert_eq!(v["items"], json!([]), "no package built");
    }
    app.stop().await;
}

// --- item 13: identity-check proofs wiped at closed_request_pii ---

async fn identity_check_proofs_are_wiped_with_the_request(backend: Backend) {
    let Some(app) = spawn_app_with(backend, Options::default()).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let (s, v) = json(
        app.post_json(
            &agent,
            "/api/v1/requests",
            &json!({"kind": "erasure", "email": "ada@example.com", "verification_note": "signed letter"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let reference = v["reference"].as_str().unwrap().to_string();
    let (s, v) = json(
        app.post_json(
            &agent,
            &format!("/api/v1/requests/{reference}/identity"),
            &json!({ "note": "Passport number 1234 seen on video call" }),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = json(
        app.post_json(
            &agent,
            &format!("/api/v1/requests/{reference}/deny"),
            &json!({ "reason": "insufficient_verification" }),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let req = app
        .state
        .store
        .request_by_reference(&reference)
        .await
        .unwrap()
        .unwrap();
    assert!(
        app.state
            .store
            .identity_check(&req.id)
            .await
            .unwrap()
            .unwrap()
            .note_ct
            .is_some()
    );
    app.clock.advance(chrono::TimeDelta::days(800));
    let report = rightsdesk::services::retention::own::purge(&app.state, "test")
        .await
        .unwrap();
    assert_eq!(report.requests_wiped, 1);
    let check = app
        .state
        .store
        .identity_check(&req.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        check.note_ct.is_none() && check.proof_ct.is_none(),
        "{check:?}"
    );
    assert_eq!(check.state, "confirmed", "the outcome stays");
    let (_, v) = json(
        app.get(&agent, &format!("/api/v1/requests/{reference}/identity"))
            .await,
    )
    .await;
    assert!(!v.to_string().contains("Passport"), "{v}");
    app.stop().await;
}

// --- item 14: the holds list is audited ---

async fn holds_list_is_audited(app: TestApp) {
    let admin = app.token(Role::Admin).await;
    let (s, v) = json(
        app.post_json(
            &admin,
            "/api/v1/holds",
            &json!({ "email": "held@example.com", "reason": "litigation 2026-17" }),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let agent = app.token(Role::Agent).await;
    let (s, v) = json(app.get(&agent, "/api/v1/holds").await).await;
    assert_eq!(s, 200, "{v}");
    assert!(v.to_string().contains("held@example.com"));
    let audit = app.state.store.audit_after(0, 10_000).await.unwrap();
    let views: Vec<_> = audit.iter().filter(|a| a.action == "hold.view").collect();
    assert_eq!(views.len(), 1, "{audit:?}");
    assert!(views[0].actor.contains("agent"), "{}", views[0].actor);
    assert!(!views[0].detail.contains("held@"), "{}", views[0].detail);
    assert_eq!(
        serde_json::from_str::<Value>(&views[0].detail).unwrap()["holds"],
        1
    );
    app.stop().await;
}

// --- item 9: the audit chain ---

/// The unkeyed chain hash (what anyone can compute without the deployment key): SHA-256
/// of the previous hash and the entry's fields in this order, as the unkeyed chain had it.
fn plain_hash(e: &rightsdesk::store::AuditEntry, prev: &str) -> String {
    #[derive(serde::Serialize)]
    struct Canonical<'a> {
        seq: i64,
        at: String,
        actor: &'a str,
        action: &'a str,
        request_ref: Option<&'a str>,
        client_addr: Option<&'a str>,
        detail: &'a str,
    }
    let canonical = Canonical {
        seq: e.seq,
        at: e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        actor: &e.actor,
        action: &e.action,
        request_ref: e.request_ref.as_deref(),
        client_addr: e.client_addr.as_deref(),
        detail: &e.detail,
    };
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(serde_json::to_vec(&canonical).unwrap());
    hex::encode(h.finalize())
}

enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Db {
    async fn exec(&self, sql: &str) -> Result<u64, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        match self {
            Db::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|r| r.rows_affected()),
            Db::Postgres(p) => sqlx::query(sql).execute(p).await.map(|r| r.rows_affected()),
        }
    }
}

async fn audit_chain_is_keyed_anchored_and_append_only(app: TestApp) {
    let agent = app.token(Role::Agent).await;
    let create = |email: &'static str| {
        let (app, agent) = (&app, agent.clone());
        async move {
            let (s, v) = json(
                app.post_json(
                    &agent,
                    "/api/v1/requests",
                    &json!({"kind": "access", "email": email, "verification_note": "letter"}),
                )
                .await,
            )
            .await;
            assert_eq!(s, 201, "{v}");
        }
    };
    for e in ["a@example.com", "b@example.com", "c@example.com"] {
        create(e).await;
    }
    let store = app.state.store.as_ref();
    let first = rightsdesk::store::audit_chain::verify(store).await.unwrap();
    assert!(first.ok, "{first:?}");
    assert_eq!(first.head_seq, first.entries);
    // Every entry is sealed with the chain key, not a plain hash.
    let rows = store.audit_after(0, 10_000).await.unwrap();
    assert!(rows.iter().all(|e| e.key_epoch == 1), "{rows:?}");
    let mut prev = rightsdesk::store::audit_chain::GENESIS.to_string();
    for e in &rows {
        assert_ne!(e.hash, plain_hash(e, &prev), "entry {} is unkeyed", e.seq);
        prev = e.hash.clone();
    }
    let checkpoint = rightsdesk::store::audit_chain::Checkpoint {
        seq: first.head_seq,
        hash: first.head_hash.clone(),
    };
    for e in ["d@example.com", "e@example.com"] {
        create(e).await;
    }
    let since = rightsdesk::store::audit_chain::verify_since(store, &checkpoint)
        .await
        .unwrap();
    assert!(since.ok, "{since:?}");
    assert!(since.head_seq > checkpoint.seq);
    let later = rightsdesk::store::audit_chain::Checkpoint {
        seq: since.head_seq,
        hash: since.head_hash.clone(),
    };

    let db = match app.backend {
        Backend::Sqlite => Db::Sqlite(sqlx::SqlitePool::connect(&app.database_url).await.unwrap()),
        Backend::Postgres => Db::Postgres(sqlx::PgPool::connect(&app.database_url).await.unwrap()),
    };
    if let Db::Postgres(_) = db {
        // Append-only: the database itself refuses changes and removals.
        for sql in [
            "UPDATE audit_log SET actor = 'nobody' WHERE seq = 2",
            "DELETE FROM audit_log WHERE seq = 2",
            "TRUNCATE audit_log",
        ] {
            let err = db.exec(sql).await.expect_err(sql);
            assert!(err.to_string().contains("append-only"), "{sql}: {err}");
        }
        // Someone who owns the database can still switch the triggers off: the chain
        // and the checkpoints catch what they do next.
        db.exec("ALTER TABLE audit_log DISABLE TRIGGER USER")
            .await
            .unwrap();
    }

    // Truncation of the newest entries leaves a consistent prefix; the checkpoint kept
    // outside the database shows the loss.
    let cut = db
        .exec(&format!(
            "DELETE FROM audit_log WHERE seq > {}",
            checkpoint.seq
        ))
        .await
        .unwrap();
    assert!(cut >= 2);
    assert!(
        rightsdesk::store::audit_chain::verify(store)
            .await
            .unwrap()
            .ok
    );
    let r = rightsdesk::store::audit_chain::verify_since(store, &later)
        .await
        .unwrap();
    assert!(!r.ok, "{r:?}");
    assert_eq!(r.first_broken_seq, Some(later.seq));
    assert!(r.problem.unwrap().contains("truncated"));

    // Where the unkeyed part ends is fixed by the migration.
    let err = db
        .exec("UPDATE audit_chain SET unkeyed_until = 1000000")
        .await
        .expect_err("audit_chain is fixed");
    assert!(
        err.to_string().contains("audit_chain is fixed") || err.to_string().contains("append-only"),
        "{err}"
    );

    // Rewriting an entry and recomputing every hash after it, without the key, as the
    // unkeyed chain allowed: detected.
    let rows = store.audit_after(0, 10_000).await.unwrap();
    let mut prev = rightsdesk::store::audit_chain::GENESIS.to_string();
    for mut e in rows {
        if e.seq == 2 {
            e.actor = "nobody".into();
        }
        let hash = plain_hash(&e, &prev);
        db.exec(&format!(
            "UPDATE audit_log SET actor = '{}', prev_hash = '{prev}', hash = '{hash}', key_epoch = 0 WHERE seq = {}",
            e.actor.replace('\'', "''"),
            e.seq
        ))
        .await
        .unwrap();
        prev = hash;
    }
    let r = rightsdesk::store::audit_chain::verify(store).await.unwrap();
    assert!(!r.ok, "a chain recomputed without the key passed: {r:?}");
    let (_, v) = json(
        app.get(&app.token(Role::Auditor).await, "/api/v1/audit/verify")
            .await,
    )
    .await;
    assert_eq!(v["ok"], false, "{v}");
    let r = rightsdesk::store::audit_chain::verify_since(store, &checkpoint)
        .await
        .unwrap();
    assert!(!r.ok, "{r:?}");
    app.stop().await;
}

// --- item 15: ciphertexts bound to their table, column and row ---

async fn request_values_are_bound_to_their_row(app: TestApp) {
    let agent = app.token(Role::Agent).await;
    let mut refs = Vec::new();
    for (email, name) in [("alice@example.com", "Alice"), ("bob@example.com", "Bob")] {
        let (s, v) = json(
            app.post_json(
                &agent,
                "/api/v1/requests",
                &json!({"kind": "access", "email": email, "name": name, "verification_note": "letter"}),
            )
            .await,
        )
        .await;
        assert_eq!(s, 201, "{v}");
        refs.push(v["reference"].as_str().unwrap().to_string());
    }
    let (alice, bob) = (&refs[0], &refs[1]);
    let db = match app.backend {
        Backend::Sqlite => Db::Sqlite(sqlx::SqlitePool::connect(&app.database_url).await.unwrap()),
        Backend::Postgres => Db::Postgres(sqlx::PgPool::connect(&app.database_url).await.unwrap()),
    };
    let row = |r: &str| {
        let state = app.state.clone();
        let r = r.to_string();
        async move { state.store.request_by_reference(&r).await.unwrap().unwrap() }
    };
    let bob_row = row(bob).await;
    assert!(bob_row.email_ct.as_deref().unwrap().starts_with("v2."));

    // Someone with write access moves Alice's encrypted address into Bob's request.
    let alice_row = row(alice).await;
    let moved = alice_row.email_ct.clone().unwrap();
    db.exec(&format!(
        "UPDATE requests SET email_ct = '{moved}' WHERE id = '{}'",
        bob_row.id
    ))
    .await
    .unwrap();
    let r = app.get(&agent, &format!("/api/v1/requests/{bob}")).await;
    let code = r.status().as_u16();
    let body = r.text().await.unwrap();
    assert_eq!(code, 500, "{body}");
    assert!(!body.contains("alice@"), "{body}");
    // The re-seal command refuses it, naming the place, never the value.
    let err = rightsdesk::services::keys_rotate::reseal(&app.state)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("requests.email_ct") && err.contains(&bob_row.id),
        "{err}"
    );

    // Values written before they were bound (v1) are re-sealed in place, resumably.
    let legacy = app.state.keys.encrypt("Bob Legacy");
    db.exec(&format!(
        "UPDATE requests SET email_ct = '{}', name_ct = '{legacy}' WHERE id = '{}'",
        bob_row.email_ct.clone().unwrap(),
        bob_row.id
    ))
    .await
    .unwrap();
    let (_, v) = json(app.get(&agent, &format!("/api/v1/requests/{bob}")).await).await;
    assert_eq!(v["subject"]["name"], "Bob Legacy", "a v1 value still opens");
    let report = rightsdesk::services::keys_rotate::reseal(&app.state)
        .await
        .unwrap();
    assert_eq!(report.tables[0].rotated, 1, "{report:?}");
    let after = row(bob).await;
    assert!(after.name_ct.as_deref().unwrap().starts_with("v2."));
    let (s, v) = json(app.get(&agent, &format!("/api/v1/requests/{bob}")).await).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["subject"]["name"], "Bob Legacy");
    assert_eq!(v["subject"]["email"], "bob@example.com");
    let again = rightsdesk::services::keys_rotate::reseal(&app.state)
        .await
        .unwrap();
    assert_eq!(again.tables[0].rotated, 0, "{again:?}");
    app.stop().await;
}

/// A task's stored result part and an erasure ledger identity, copied into another
/// task's row, are refused where they land (and named by `keys reseal`).
async fn task_results_and_ledger_entries_are_bound_to_their_row(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (_pool, datamap) = product(dir.path()).await;
    let Some(app) = spawn_app_with(backend, with_product(datamap.clone(), |_| {})).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let db = match app.backend {
        Backend::Sqlite => Db::Sqlite(sqlx::SqlitePool::connect(&app.database_url).await.unwrap()),
        Backend::Postgres => Db::Postgres(sqlx::PgPool::connect(&app.database_url).await.unwrap()),
    };
    // The request's task that holds result parts.
    let task_with_parts = |reference: String| {
        let state = app.state.clone();
        async move {
            let req = state
                .store
                .request_by_reference(&reference)
                .await
                .unwrap()
                .unwrap();
            for t in state.store.tasks_for_request(&req.id).await.unwrap() {
                if !rightsdesk::services::task_results::parts(&state, &t)
                    .await
                    .unwrap()
                    .is_empty()
                {
                    return t.id;
                }
            }
            panic!("no task of {reference} holds a result");
        }
    };

    // Result parts: Ada's rows copied over Bob's first part.
    let ada = create_and_start(&app, &agent, "access", "ada@example.com").await;
    wait_for_status(&app, &agent, &ada, "completed").await;
    let bob = create_and_start(&app, &agent, "access", "bob@example.com").await;
    wait_for_status(&app, &agent, &bob, "completed").await;
    let (ada_task, bob_task) = (
        task_with_parts(ada.clone()).await,
        task_with_parts(bob.clone()).await,
    );
    let rebuild = |reference: String| {
        let (app, agent) = (&app, agent.clone());
        async move {
            let r = app
                .post_json(
                    &agent,
                    &format!("/api/v1/requests/{reference}/export"),
                    &json!({}),
                )
                .await;
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (code, body) = rebuild(bob.clone()).await;
    assert_eq!(code, 201, "Bob's package builds before the move: {body}");
    let moved = db
        .exec(&format!(
            "UPDATE task_result_parts SET rows_ct = \
             (SELECT rows_ct FROM task_result_parts WHERE task_id = '{ada_task}' AND seq = 0) \
             WHERE task_id = '{bob_task}' AND seq = 0"
        ))
        .await
        .unwrap();
    assert_eq!(moved, 1);
    assert!(
        rightsdesk::services::task_results::read_part(&app.state, &bob_task, 0)
            .await
            .is_err()
    );
    let (code, body) = rebuild(bob.clone()).await;
    assert_eq!(code, 500, "{body}");
    assert!(!body.contains("ada@"), "{body}");
    let err = rightsdesk::services::keys_rotate::reseal(&app.state)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("task_result_parts.rows_ct") && err.contains(&format!("{bob_task}:0")),
        "{err}"
    );
    // Ada's own part still opens where it is.
    assert!(
        rightsdesk::services::task_results::read_part(&app.state, &ada_task, 0)
            .await
            .is_ok()
    );
    db.exec(&format!(
        "DELETE FROM task_result_parts WHERE task_id = '{bob_task}'"
    ))
    .await
    .unwrap();

    // The erasure ledger: Ada's identity copied into Bob's entry.
    let ada_erasure = create_and_start(&app, &agent, "erasure", "ada@example.com").await;
    wait_for_status(&app, &agent, &ada_erasure, "review").await;
    let bob_erasure = create_and_start(&app, &agent, "erasure", "bob@example.com").await;
    wait_for_status(&app, &agent, &bob_erasure, "review").await;
    let entries = app
        .state
        .store
        .ledger_since(chrono::DateTime::UNIX_EPOCH)
        .await
        .unwrap();
    let entry_of = |reference: &str| {
        entries
            .iter()
            .find(|e| e.request_ref == reference)
            .unwrap_or_else(|| panic!("no ledger entry for {reference}"))
            .task_id
            .clone()
    };
    let (ada_entry, bob_entry) = (entry_of(&ada_erasure), entry_of(&bob_erasure));
    let moved = db
        .exec(&format!(
            "UPDATE erasure_ledger SET identity_ct = \
             (SELECT identity_ct FROM erasure_ledger WHERE task_id = '{ada_entry}') \
             WHERE task_id = '{bob_entry}'"
        ))
        .await
        .unwrap();
    assert_eq!(moved, 1);
    // Replaying the ledger (after a restore) erases Ada again and refuses Bob's entry,
    // rather than erasing Ada a second time under Bob's request.
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(
        cwd.path().join("rightsdesk.toml"),
        format!(
            "database_url = \"{}\"\nsecret_key_file = \"{}\"\ndatamap_dir = \"{}\"\ndata_dir = \"{}\"\n",
            app.database_url,
            app.dir.path().join("test.key").display(),
            datamap.display(),
            cwd.path().join("data").display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rightsdesk"))
        .args(["ledger", "replay", "--since", "2026-01-01", "--json"])
        .current_dir(cwd.path())
        .env_remove("RIGHTSDESK_SECRET_KEY")
        .env_remove("RIGHTSDESK_CONFIG")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success(), "a refused entry fails the replay");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = |reference: &str| {
        report
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["request"] == reference)
            .unwrap_or_else(|| panic!("{reference} not replayed: {report}"))
            .clone()
    };
    let (ada_row, bob_row) = (row(&ada_erasure), row(&bob_erasure));
    assert!(ada_row["error"].is_null(), "{ada_row}");
    assert!(bob_row["rows_changed"].is_null(), "{bob_row}");
    assert!(
        bob_row["error"]
            .as_str()
            .unwrap()
            .contains("does not open here"),
        "{bob_row}"
    );
    let err = rightsdesk::services::keys_rotate::reseal(&app.state)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("erasure_ledger.identity_ct") && err.contains(&bob_entry),
        "{err}"
    );
    app.stop().await;
}

/// A log written before the chain was keyed: the service continues it keyed from a
/// marked entry; an unkeyed entry after that is refused.
async fn unkeyed_entries_from_before_the_upgrade_stay_verifiable(app: TestApp) {
    let db = match app.backend {
        Backend::Sqlite => Db::Sqlite(sqlx::SqlitePool::connect(&app.database_url).await.unwrap()),
        Backend::Postgres => Db::Postgres(sqlx::PgPool::connect(&app.database_url).await.unwrap()),
    };
    // As migration 0017 finds it on a database with three entries: they stay unkeyed.
    match db {
        Db::Postgres(_) => {
            for t in ["audit_log", "audit_chain"] {
                db.exec(&format!("ALTER TABLE {t} DISABLE TRIGGER USER"))
                    .await
                    .unwrap();
            }
        }
        Db::Sqlite(_) => {
            db.exec("DROP TRIGGER audit_chain_no_update").await.unwrap();
        }
    }
    db.exec("DELETE FROM audit_log").await.unwrap();
    db.exec("UPDATE audit_chain SET unkeyed_until = 3")
        .await
        .unwrap();
    // Three entries as the previous release wrote them (plain SHA-256, epoch 0).
    let mut prev = rightsdesk::store::audit_chain::GENESIS.to_string();
    for seq in 1..=3 {
        let mut e = rightsdesk::store::AuditEntry {
            seq,
            at: common::t("2026-10-01T10:00:00Z"),
            actor: "admin".into(),
            action: "request.create".into(),
            request_ref: Some(format!("DSR-OLD{seq}")),
            client_addr: None,
            detail: "{}".into(),
            prev_hash: prev.clone(),
            hash: String::new(),
            key_epoch: 0,
        };
        e.hash = plain_hash(&e, &prev);
        db.exec(&format!(
            "INSERT INTO audit_log (seq, at, actor, action, request_ref, client_addr, detail, prev_hash, hash, key_epoch) \
             VALUES ({seq}, '2026-10-01T10:00:00Z', 'admin', 'request.create', 'DSR-OLD{seq}', NULL, '{{}}', '{prev}', '{}', 0)",
            e.hash
        ))
        .await
        .unwrap();
        prev = e.hash;
    }
    let legacy = rightsdesk::store::audit_chain::verify(app.state.store.as_ref())
        .await
        .unwrap();
    assert!(legacy.ok, "{legacy:?}");
    // The service starting on it marks where the keyed chain begins.
    rightsdesk::store::audit_chain::mark_keyed_start(
        app.state.store.as_ref(),
        common::t(common::T0),
    )
    .await
    .unwrap();
    let agent = app.token(Role::Agent).await;
    let (s, _) = json(
        app.post_json(
            &agent,
            "/api/v1/requests",
            &json!({"kind": "access", "email": "new@example.com", "verification_note": "letter"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201);
    let rows = app.state.store.audit_after(0, 100).await.unwrap();
    assert_eq!(rows[3].action, "audit.chain_keyed");
    assert_eq!(rows[3].key_epoch, 1);
    assert!(rows[4..].iter().all(|e| e.key_epoch == 1));
    let report = rightsdesk::store::audit_chain::verify(app.state.store.as_ref())
        .await
        .unwrap();
    assert!(report.ok, "{report:?}");
    // A second start adds no second marker.
    rightsdesk::store::audit_chain::mark_keyed_start(
        app.state.store.as_ref(),
        common::t(common::T0),
    )
    .await
    .unwrap();
    assert_eq!(
        app.state.store.audit_after(0, 100).await.unwrap().len(),
        rows.len()
    );
    // An unkeyed entry appended after the keyed ones (anyone can compute it) is refused.
    let head = rows.last().unwrap().clone();
    let mut forged = head.clone();
    forged.seq = head.seq + 1;
    forged.prev_hash = head.hash.clone();
    forged.key_epoch = 0;
    forged.hash = plain_hash(&forged, &head.hash);
    db.exec(&format!(
        "INSERT INTO audit_log (seq, at, actor, action, request_ref, client_addr, detail, prev_hash, hash, key_epoch) \
         SELECT {}, at, actor, action, request_ref, client_addr, detail, '{}', '{}', 0 FROM audit_log WHERE seq = {}",
        forged.seq, forged.prev_hash, forged.hash, head.seq
    ))
    .await
    .unwrap();
    let report = rightsdesk::store::audit_chain::verify(app.state.store.as_ref())
        .await
        .unwrap();
    assert!(!report.ok, "{report:?}");
    assert_eq!(report.first_broken_seq, Some(forged.seq));
    app.stop().await;
}

// --- item 8: the data map reads only allowed variables ---

#[test]
fn a_data_map_reads_only_allowed_environment_variables() {
    // PATH is set in every test environment; the data map must not be able to read it
    // (nor the deployment key or any other secret) by naming it.
    assert!(std::env::var("PATH").is_ok());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("app.toml"),
        "name = \"app\"\nkind = \"http\"\nurl = \"https://${PATH}.example\"\nsecret = \"0123456789abcdef0123\"\n",
    )
    .unwrap();
    let problems = rightsdesk::connectors::datamap::load_dir(dir.path(), &[]).unwrap_err();
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert!(
        text.iter()
            .any(|p| p.contains("PATH may not be read") && p.contains("connectors.env_allow")),
        "{text:?}"
    );
    let path = std::env::var("PATH").unwrap();
    assert!(!text.iter().any(|p| p.contains(&path)), "{text:?}");
    // Listed in `connectors.env_allow`, it is read.
    let allowed = rightsdesk::connectors::datamap::load_dir(dir.path(), &["PATH".into()]);
    if let Err(problems) = allowed {
        assert!(
            !problems
                .iter()
                .any(|p| p.to_string().contains("may not be read")),
            "{problems:?}"
        );
    }
}

// --- item 18: unique ZIP entry names ---

async fn product_endpoint(body: axum::body::Bytes) -> axum::Json<Value> {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match v["action"].as_str() {
        Some("access") => axum::Json(json!({
            "tables": [
                { "table": "order items", "rows": [{ "id": 1, "sku": "first" }] },
                { "table": "order_items", "rows": [{ "id": 2, "sku": "second" }] },
                { "table": "Order.Items", "rows": [{ "id": 3, "sku": "third" }] }
            ]
        })),
        _ => axum::Json(json!({})),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_whose_names_sanitise_alike_get_unique_zip_entries() {
    let app = axum::Router::new().route("/privacy", axum::routing::post(product_endpoint));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = tempfile::tempdir().unwrap();
    let datamap = dir.path().join("datamap");
    std::fs::create_dir_all(&datamap).unwrap();
    std::fs::write(
        datamap.join("product.toml"),
        format!(
            "name = \"product\"\nkind = \"http\"\nurl = \"http://{addr}/privacy\"\n\
             secret = \"product-endpoint-secret-0123456789\"\ntimeout_secs = 5\nallow_private = true\n"
        ),
    )
    .unwrap();
    let app = spawn_app_with(Backend::Sqlite, with_product(datamap, |_| {}))
        .await
        .expect("app");
    let agent = app.token(Role::Agent).await;
    let reference = create_and_start(&app, &agent, "access", "ada@example.com").await;
    wait_for_status(&app, &agent, &reference, "completed").await;
    let download = any_link(&app, &reference, "/download/").await;
    let bytes = app
        .client
        .get(app.url(&download))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut entries = std::collections::BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut text = String::new();
        f.read_to_string(&mut text).unwrap();
        entries.insert(name, text);
    }
    let json_entries: Vec<&String> = entries
        .keys()
        .filter(|k| k.starts_with("data/product/") && k.ends_with(".json"))
        .collect();
    assert_eq!(
        json_entries,
        [
            "data/product/Order_Items_3.json",
            "data/product/order_items.json",
            "data/product/order_items_2.json"
        ],
        "{:?}",
        entries.keys()
    );
    assert!(entries["data/product/order_items.json"].contains("first"));
    assert!(entries["data/product/order_items_2.json"].contains("second"));
    assert!(entries["data/product/Order_Items_3.json"].contains("third"));
    let manifest: Value = serde_json::from_str(&entries["manifest.json"]).unwrap();
    assert!(
        manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "data/product/order_items_2.csv" && f["table"] == "order_items")
    );
    app.stop().await;
}
