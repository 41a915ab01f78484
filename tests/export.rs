//! Access export through the service: a staff-entered access request runs against a real
//! product database, completes by itself, and the completion email links to an encrypted
//! ZIP whose manifest, JSON and CSV hold exactly the subject's rows; the link stops
//! working when used up, when expired, and for a wrong token.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use common::product::{product, wait_for_status};
use common::{Backend, Options, TestApp, json, spawn_app_with};
use rightsdesk::auth::Role;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The download path (`/download/<token>`) in the completion email of `reference`.
async fn download_path(app: &TestApp, reference: &str) -> String {
    let outbox = app.state.config.data_dir.join("outbox");
    for _ in 0..150 {
        if let Ok(dir) = std::fs::read_dir(&outbox) {
            for f in dir.flatten() {
                let p = f.path();
                if p.extension().and_then(|e| e.to_str()) != Some("eml") {
                    continue;
                }
                let raw = std::fs::read_to_string(&p).unwrap();
                let text = common::smtp::decoded_text(&raw);
                if !text.contains(reference) {
                    continue;
                }
                if let Some(i) = text.find("/download/") {
                    let token: String = text[i + "/download/".len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                        .collect();
                    assert_eq!(token.len(), 43, "{text}");
                    return format!("/download/{token}");
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no completion email with a download link for {reference}");
}

async fn fetch(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.unwrap()
}

fn unzip(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = BTreeMap::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).unwrap();
        out.insert(name, buf);
    }
    out
}

fn csv_rows(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(bytes);
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

async fn create_and_start(app: &TestApp, agent: &str, kind: &str) -> String {
    let (s, v) = json(
        app.post_json(
            agent,
            "/api/v1/requests",
            &json!({"kind": kind, "email": "Ada@Example.com", "verification_note": "signed letter"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let reference = v["reference"].as_str().unwrap().to_string();
    let (s, v) = json(
        app.post_empty(agent, &format!("/api/v1/requests/{reference}/start"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    wait_for_status(app, agent, &reference, "completed").await;
    reference
}

async fn access_export_story(backend: Backend) {
    let product_dir = tempfile::tempdir().unwrap();
    let (pool, datamap) = product(product_dir.path()).await;
    // A formula in a name, a missing phone, and text beyond ASCII.
    sqlx::query(
        "UPDATE customers SET name = '=HYPERLINK(\"x\")', phone = NULL WHERE email = 'ada@example.com'",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("UPDATE addresses SET city = 'Zürich — 東京 🦀' WHERE id = 5")
        .execute(&pool)
        .await
        .unwrap();
    let opts = Options {
        configure: Box::new(move |c| c.datamap_dir = datamap),
        handlers: Vec::new(),
    };
    let Some(app) = spawn_app_with(backend, opts).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let reference = create_and_start(&app, &agent, "access").await;
    let link = download_path(&app, &reference).await;

    // Stored encrypted, no plaintext left behind.
    let exports = app.state.config.data_dir.join("exports");
    let files: Vec<PathBuf> = std::fs::read_dir(&exports)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].extension().unwrap(), "bin");
    let sealed = std::fs::read(&files[0]).unwrap();
    assert!(!sealed.windows(4).any(|w| w == b"PK\x03\x04"));

    let resp = fetch(&app, &link).await;
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(h["content-type"], "application/zip");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(
        h["content-disposition"],
        format!("attachment; filename=\"{reference}.zip\"").as_str()
    );
    let zip = resp.bytes().await.unwrap();
    let files = unzip(&zip);
    for f in [
        "README.txt",
        "request.json",
        "about-your-data.json",
        "manifest.json",
    ] {
        assert!(files.contains_key(f), "{f} missing: {:?}", files.keys());
    }

    // The manifest lists every other file with its hash and row count.
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    let listed = manifest["files"].as_array().unwrap();
    assert_eq!(listed.len(), files.len() - 1);
    for m in listed {
        let path = m["path"].as_str().unwrap();
        let data = &files[path];
        assert_eq!(m["sha256"], hex::encode(Sha256::digest(data)), "{path}");
        assert_eq!(m["bytes"], data.len() as u64, "{path}");
        if path.ends_with(".json") && path.starts_with("data/") {
            let rows: Vec<Value> = serde_json::from_slice(data).unwrap();
            assert_eq!(m["rows"], rows.len() as u64, "{path}");
            assert_eq!(m["connector"], "shop");
        }
        if path.ends_with(".csv") {
            assert_eq!(m["rows"], csv_rows(data).1.len() as u64, "{path}");
        }
    }
    let rows_of = |table: &str| {
        let v: Vec<Value> =
            serde_json::from_slice(&files[&format!("data/shop/{table}.json")]).unwrap();
        v
    };
    let expected = [
        ("customers", 1),
        ("orders", 2),
        ("order_items", 3),
        ("addresses", 3),
        ("invoices", 2),
        ("newsletter", 2),
        ("consents", 1),
    ];
    for (table, n) in expected {
        assert_eq!(rows_of(table).len(), n, "{table}");
    }

    // JSON keeps types and values exactly; nulls stay null; unexported fields are absent.
    let customer = &rows_of("customers")[0];
    assert_eq!(customer["email"], "ada@example.com");
    assert_eq!(customer["name"], "=HYPERLINK(\"x\")");
    assert_eq!(customer["phone"], Value::Null);
    assert!(customer.get("password_hash").is_none(), "{customer}");
    let orders = rows_of("orders");
    let mut ids: Vec<i64> = orders.iter().map(|o| o["id"].as_i64().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, [10, 11]);
    assert!(
        rows_of("addresses")
            .iter()
            .any(|a| a["city"] == "Zürich — 東京 🦀")
    );

    // CSV: header, escaped formula, empty null, unicode intact.
    let (header, rows) = csv_rows(&files["data/shop/customers.csv"]);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(rows[0][col("name")], "'=HYPERLINK(\"x\")");
    assert_eq!(rows[0][col("phone")], "");
    assert_eq!(rows[0][col("email")], "ada@example.com");
    let (header, rows) = csv_rows(&files["data/shop/addresses.csv"]);
    let city = header.iter().position(|h| h == "city").unwrap();
    assert!(rows.iter().any(|r| r[city] == "Zürich — 東京 🦀"));
    assert!(
        files["data/shop/customers.csv"]
            .windows(2)
            .any(|w| w == b"\r\n")
    );

    // Nothing of anyone else.
    for (name, data) in &files {
        let text = String::from_utf8_lossy(data);
        for other in [
            "bob@example.com",
            "Bob Babbage",
            "cy@example.com",
            "Somerville",
            "4 Bob Works",
            "gift for Ada",
        ] {
            assert!(!text.contains(other), "{other} found in {name}");
        }
    }

    let request: Value = serde_json::from_slice(&files["request.json"]).unwrap();
    assert_eq!(request["reference"], reference.as_str());
    assert_eq!(request["kind"], "access");
    assert!(request["received"].is_string() && request["completed"].is_string());
    let about: Value = serde_json::from_slice(&files["about-your-data.json"]).unwrap();
    assert!(
        about["retained"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["table"] == "consents")
    );
    let readme = String::from_utf8(files["README.txt"].clone()).unwrap();
    assert!(readme.contains(&reference) && readme.contains("CSV"));

    // Five downloads in all, then the link is used up.
    for _ in 0..4 {
        assert_eq!(fetch(&app, &link).await.status(), 200);
    }
    assert_eq!(fetch(&app, &link).await.status(), 410);
    // A wrong token.
    assert_eq!(
        fetch(
            &app,
            "/download/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        )
        .await
        .status(),
        410
    );
    let audit = app.state.store.audit_after(0, 10_000).await.unwrap();
    let downloads = audit
        .iter()
        .filter(|a| a.action == "export.download" && a.request_ref.as_deref() == Some(&reference))
        .count();
    assert_eq!(downloads, 5);

    // Portability: the same package; its link expires after 7 days.
    let second = create_and_start(&app, &agent, "portability").await;
    let link2 = download_path(&app, &second).await;
    assert_ne!(link2, link);
    assert_eq!(fetch(&app, &link2).await.status(), 200);
    app.clock.advance(chrono::TimeDelta::days(8));
    assert_eq!(fetch(&app, &link2).await.status(), 410);
    app.stop().await;
}

backend_fn_tests!(access_export_story);
