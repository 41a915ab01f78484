//! `rightsdesk keys rotate`: after rotation the service, running with the new key only,
//! finds requests by email and shows their data; nothing stored opens with the old key;
//! an interrupted rotation finishes when run again; the audit log records it. On SQLite
//! and PostgreSQL.

mod common;
#[path = "security/support.rs"]
mod support;

use std::path::Path;
use std::sync::Arc;

use common::product::{create_and_start, wait_for_status};
use common::{Backend, Options, json, spawn_app_with};
use rightsdesk::app::App;
use rightsdesk::config::Config;
use rightsdesk::crypto::Keys;
use rightsdesk::domain::staff::Role;
use rightsdesk::store::RotatedRow;
use serde_json::{Value, json};

backend_fn_tests!(rotation_moves_everything_to_the_new_key);

const OLD: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const NEW: &str = "2222222222222222222222222222222222222222222222222222222222222222";

fn rotate_cli(dir: &Path, config: &Config, old_key_file: &Path) -> std::process::Output {
    // The command reads its config file like the service does.
    let toml = format!(
        "database_url = {:?}\ndata_dir = {:?}\ndatamap_dir = {:?}\nsecret_key_file = {:?}\n",
        config.database_url.expose(),
        config.data_dir.display().to_string(),
        config.datamap_dir.display().to_string(),
        config
            .secret_key_file
            .as_ref()
            .expect("key file")
            .display()
            .to_string(),
    );
    let path = dir.join("rotate.toml");
    std::fs::write(&path, toml).expect("config file");
    std::process::Command::new(env!("CARGO_BIN_EXE_rightsdesk"))
        .args(["--config", path.to_str().expect("utf-8 path")])
        .args(["keys", "rotate", "--json", "--old-key-file"])
        .arg(old_key_file)
        .env_remove("RIGHTSDESK_SECRET_KEY")
        .env_remove("RIGHTSDESK_OLD_SECRET_KEY")
        .env_remove("RIGHTSDESK_CONFIG")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run rightsdesk keys rotate")
}

/// Every value under the key, table by table, read through the store.
/// Open a stored value the way the service does: request identity values are bound to
/// their table, column and row.
fn open(
    keys: &Keys,
    table: &str,
    i: usize,
    row: &RotatedRow,
    v: &str,
) -> Result<String, rightsdesk::crypto::DecryptError> {
    let (spec, _) = rightsdesk::services::keys_rotate::rotated_tables()
        .find(|(t, _)| t.name == table)
        .expect("table");
    if rightsdesk::services::keys_rotate::is_bound(table) {
        let id = row.key.join(":");
        keys.open_at(
            rightsdesk::crypto::Field {
                table,
                column: spec.columns[i],
                row: &id,
            },
            v,
        )
    } else {
        keys.decrypt(v)
    }
}

async fn stored(
    state: &rightsdesk::http::AppState,
) -> Vec<(&'static str, usize, bool, RotatedRow)> {
    let mut out = Vec::new();
    for (table, indexes) in rightsdesk::services::keys_rotate::rotated_tables() {
        let rows = state
            .store
            .rotation_rows(table, None, 10_000)
            .await
            .expect("rows");
        for row in rows {
            for i in 0..table.columns.len() {
                let is_index = indexes.iter().any(|(ix, _)| *ix == i);
                out.push((table.name, i, is_index, row.clone()));
            }
        }
    }
    out
}

async fn rotation_moves_everything_to_the_new_key(backend: Backend) {
    // A product database, so that connector tasks store results and erasures leave
    // ledger entries (both encrypted, bound to their rows).
    let product_dir = tempfile::tempdir().unwrap();
    let (_product, datamap) = common::product::product(product_dir.path()).await;
    let opts = Options::datamap(datamap);
    let Some(app) = spawn_app_with(backend, opts).await else {
        return;
    };
    // The test app's key is OLD.
    assert_eq!(
        std::fs::read_to_string(app.state.config.secret_key_file.as_ref().unwrap()).unwrap(),
        OLD
    );
    let admin = app.token(Role::Admin).await;
    // A subject's request through intake, verified; a staff-entered one with a note; a
    // legal hold; an admin with TOTP (its secret is encrypted); queued emails.
    let (ada_ref, _status) = support::verified_subject(&app, "ada.rotation@example.com").await;
    let (s, v) = json(
        app.post_json(
            &admin,
            "/api/v1/requests",
            &json!({ "kind": "erasure", "email": "bob.rotation@example.com", "name": "Bob Rotation",
                     "details": "Please delete my account", "verification_note": "Checked passport",
                     "received_at": "2026-10-01T12:00:00Z" }),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let bob_ref = v["reference"].as_str().unwrap().to_string();
    // Staff record an identity check (its note is encrypted too).
    let (s, v) = json(
        app.post_json(
            &admin,
            &format!("/api/v1/requests/{bob_ref}/identity"),
            &json!({ "note": "Called back on the number on file" }),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = json(
        app.post_json(
            &admin,
            "/api/v1/holds",
            &json!({ "email": "carol.rotation@example.com", "reason": "Litigation 2026-17" }),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    support::portal_login(&app, Role::Admin).await;
    // An access search with stored result parts, and an erasure in the ledger.
    let access_ref = create_and_start(&app, &admin, "access", "ada@example.com").await;
    wait_for_status(&app, &admin, &access_ref, "completed").await;
    let erasure_ref = create_and_start(&app, &admin, "erasure", "bob@example.com").await;
    wait_for_status(&app, &admin, &erasure_ref, "review").await;

    let old_state = app.state.clone();
    let dir = app.stop().await;
    // An entry the old service wrote and never chained (it was killed before its
    // sealer ran): the rotation chains it with the old key, in the old epoch.
    old_state
        .store
        .append_audit(&rightsdesk::store::NewAudit {
            at: chrono::Utc::now(),
            actor: "system".into(),
            action: "test.unchained_before_rotation".into(),
            request_ref: None,
            client_addr: None,
            detail: json!({}),
        })
        .await
        .unwrap();
    assert!(old_state.store.audit_pending().await.unwrap());
    let old_file = dir.path().join("old.key");
    let new_file = dir.path().join("new.key");
    std::fs::write(&old_file, OLD).unwrap();
    std::fs::write(&new_file, NEW).unwrap();
    let config = config_with_key_from(&old_state, &new_file);
    let old = Keys::from_hex(OLD).unwrap();
    let new = Keys::from_hex(NEW).unwrap();

    // An interrupted run: the first batch of requests already under the new key.
    let new_state = rightsdesk::app::open(&config, Arc::new(rightsdesk::clock::SystemClock))
        .await
        .expect("open with the new key");
    let (requests, _) = rightsdesk::services::keys_rotate::rotated_tables()
        .next()
        .expect("requests first");
    let first = new_state
        .store
        .rotation_rows(requests, None, 1)
        .await
        .unwrap();
    let half: Vec<RotatedRow> = first
        .into_iter()
        .map(|mut r| {
            for i in 0..5 {
                if let Some(ct) = &r.values[i] {
                    let id = r.key.join(":");
                    let at = rightsdesk::crypto::Field {
                        table: "requests",
                        column: requests.columns[i],
                        row: &id,
                    };
                    r.values[i] = Some(new.seal_at(at, &old.open_at(at, ct).unwrap()));
                }
            }
            r
        })
        .collect();
    new_state
        .store
        .rotation_write(requests, &half)
        .await
        .unwrap();

    // Wrong old key: refused, nothing changed.
    let wrong = dir.path().join("wrong.key");
    std::fs::write(&wrong, "33".repeat(32)).unwrap();
    let out = rotate_cli(dir.path(), &config, &wrong);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("opens with neither"), "{err}");
    assert!(!err.contains("rotation@example.com"), "{err}");

    // The rotation.
    let out = rotate_cli(dir.path(), &config, &old_file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("json report");
    let rotated: u64 = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["rotated"].as_u64().unwrap())
        .sum();
    assert!(rotated >= 4, "{report}");

    // Everything opens with the new key, nothing with the old; indexes are the new key's.
    let rows = stored(&new_state).await;
    let mut values = 0;
    for (table, i, is_index, row) in &rows {
        let Some(v) = &row.values[*i] else { continue };
        if *is_index {
            continue;
        }
        values += 1;
        assert!(
            open(&new, table, *i, row, v).is_ok(),
            "{table} column {i} not under the new key"
        );
        assert!(
            open(&old, table, *i, row, v).is_err(),
            "{table} column {i} still opens with the old key"
        );
    }
    assert!(values >= 8, "only {values} encrypted values found");
    for table in ["users", "task_result_parts", "erasure_ledger"] {
        assert!(
            rows.iter()
                .any(|(t, i, ix, row)| *t == table && !*ix && row.values[*i].is_some()),
            "no encrypted value in {table}"
        );
    }
    for (table, indexes) in rightsdesk::services::keys_rotate::rotated_tables() {
        for row in new_state
            .store
            .rotation_rows(table, None, 10_000)
            .await
            .unwrap()
        {
            for (ix, src) in indexes {
                if let Some(ct) = &row.values[*src] {
                    let plain = open(&new, table.name, *src, &row, ct).unwrap();
                    assert_eq!(
                        row.values[*ix],
                        Some(new.blind_index(&plain)),
                        "{}",
                        table.name
                    );
                    assert_ne!(row.values[*ix], Some(old.blind_index(&plain)));
                }
            }
        }
    }

    // Run again (as after an interruption): nothing left to do.
    let out = rotate_cli(dir.path(), &config, &old_file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again: Value = serde_json::from_slice(&out.stdout).unwrap();
    for t in again["tables"].as_array().unwrap() {
        assert_eq!(t["rotated"], 0, "{again}");
    }

    // The service with the new key only: finds requests by email, shows their data, and
    // the audit log records the rotation (and its chain holds).
    let served = App::build_with(config.clone(), Arc::new(rightsdesk::clock::SystemClock))
        .await
        .expect("app with the new key");
    let base = format!("http://{}", served.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(served.run_until_stopped(async move {
        let _ = rx.await;
    }));
    let client = reqwest::Client::new();
    let get = |path: String| {
        let client = client.clone();
        let base = base.clone();
        let admin = admin.clone();
        async move {
            json(
                client
                    .get(format!("{base}{path}"))
                    .bearer_auth(admin)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    for (email, reference) in [
        ("ada.rotation@example.com", &ada_ref),
        ("bob.rotation@example.com", &bob_ref),
    ] {
        let (s, v) = get(format!("/api/v1/requests?q={email}")).await;
        assert_eq!(s, 200, "{v}");
        let found: Vec<&str> = v["items"]
            .as_array()
            .or_else(|| v["requests"].as_array())
            .expect("list")
            .iter()
            .filter_map(|r| r["reference"].as_str())
            .collect();
        assert_eq!(found, vec![reference.as_str()], "{email}");
        let (s, v) = get(format!("/api/v1/requests/{reference}")).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["subject"]["email"], email);
    }
    let (_, v) = get(format!("/api/v1/requests/{bob_ref}")).await;
    assert_eq!(v["subject"]["name"], "Bob Rotation");
    assert_eq!(v["verification_note"], "Checked passport");
    let (_, v) = get(format!("/api/v1/requests/{bob_ref}/identity")).await;
    assert_eq!(v["note"], "Called back on the number on file");
    let (s, v) = get("/api/v1/holds".to_string()).await;
    assert_eq!(s, 200, "{v}");
    assert!(v.to_string().contains("carol.rotation@example.com"), "{v}");
    // The stored access results open under the new key: the package is built again.
    let r = client
        .post(format!("{base}/api/v1/requests/{access_ref}/export"))
        .bearer_auth(&admin)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());
    let (_, v) = get("/api/v1/audit?per_page=100".to_string()).await;
    assert!(v.to_string().contains("keys.rotate"), "{v}");
    // The chain survives the rotation: the entries before it stay sealed in epoch 1 (that
    // key is now kept under the new key), the rotation and what follows are epoch 2.
    let items = v["items"].as_array().unwrap();
    let rotations: Vec<&Value> = items
        .iter()
        .filter(|e| e["action"] == "keys.rotate")
        .collect();
    assert!(!rotations.is_empty());
    assert!(rotations.iter().all(|e| e["key_epoch"] == 2), "{v}");
    assert!(items.iter().any(|e| e["key_epoch"] == 1), "{v}");
    let unchained: Vec<&Value> = items
        .iter()
        .filter(|e| e["action"] == "test.unchained_before_rotation")
        .collect();
    assert_eq!(unchained.len(), 1, "{v}");
    assert_eq!(unchained[0]["key_epoch"], 1, "{v}");
    let (_, v) = get("/api/v1/audit/verify".to_string()).await;
    assert_eq!(v["ok"], true, "{v}");
    let _ = tx.send(());
    let _ = server.await;

    // The old key alone no longer finds anyone.
    let old_only = config_with_key_from(&old_state, &old_file);
    let old_state = rightsdesk::app::open(&old_only, Arc::new(rightsdesk::clock::SystemClock))
        .await
        .unwrap();
    for (table, i, is_index, row) in stored(&old_state).await {
        if !is_index
            && let Some(v) = &row.values[i]
            && (v.starts_with("v1.") || v.starts_with("v2."))
        {
            assert!(open(&old, table, i, &row, v).is_err(), "{table}");
        }
    }
    drop(dir);
}

fn config_with_key_from(state: &rightsdesk::http::AppState, key_file: &Path) -> Config {
    let mut c = (*state.config).clone();
    c.secret_key_file = Some(key_file.to_path_buf());
    c.listen = "127.0.0.1:0".into();
    c
}

#[test]
fn export_files_are_resealed_frame_by_frame() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.zip");
    // Three frames and a bit.
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&plain, &data).unwrap();
    let sealed = dir.path().join("e1.bin");
    let old = Keys::from_hex(OLD).unwrap();
    let new = Keys::from_hex(NEW).unwrap();
    rightsdesk::services::export::encrypt_file(&old, "e1", &plain, &sealed).unwrap();
    assert!(rightsdesk::services::export::reseal_file(&old, &new, "e1", &sealed).unwrap());
    let mut back = Vec::new();
    rightsdesk::services::export::decrypt_file(&new, "e1", &sealed, |c| {
        back.extend(c);
        Ok(())
    })
    .unwrap();
    assert_eq!(back, data);
    assert!(rightsdesk::services::export::decrypt_file(&old, "e1", &sealed, |_| Ok(())).is_err());
    // Again: already under the new key, left alone.
    assert!(!rightsdesk::services::export::reseal_file(&old, &new, "e1", &sealed).unwrap());
}
