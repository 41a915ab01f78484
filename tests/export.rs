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
use rightsdesk::domain::staff::Role;
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

/// Every `<prefix><token>` path in the emails about `reference` so far.
fn links(app: &TestApp, reference: &str, prefix: &str) -> std::collections::BTreeSet<String> {
    let outbox = app.state.config.data_dir.join("outbox");
    let mut out = std::collections::BTreeSet::new();
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

/// The one `prefix` link that appears in the emails of `reference` after `before`.
async fn new_link(
    app: &TestApp,
    reference: &str,
    prefix: &str,
    before: &std::collections::BTreeSet<String>,
) -> String {
    for _ in 0..150 {
        let fresh: Vec<String> = links(app, reference, prefix)
            .difference(before)
            .cloned()
            .collect();
        if let [one] = fresh.as_slice() {
            return one.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no new {prefix} link for {reference}");
}

async fn page(app: &TestApp, path: &str) -> String {
    let resp = fetch(app, path).await;
    assert_eq!(resp.status(), 200, "{path}");
    resp.text().await.unwrap()
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

fn register() -> rightsdesk::config::ProcessingConfig {
    use rightsdesk::config::*;
    ProcessingConfig {
        controller: "Shop Ltd, 1 Market Street".into(),
        dpo: "dpo@shop.example".into(),
        supervisory_authority: "Data Protection Commission (IE)".into(),
        purposes: vec![ProcessingPurpose {
            name: "orders".into(),
            description: "Deliver and invoice what you ordered".into(),
            legal_basis: LegalBasis::Contract,
            categories: vec!["name".into(), "contact.address".into()],
            retention: "10 years after the order".into(),
        }],
        recipients: vec![ProcessingRecipient {
            name: "Parcel carrier".into(),
            role: "processor".into(),
            purpose: "delivery".into(),
            transfer: String::new(),
            ..Default::default()
        }],
        sources: vec![ProcessingSource {
            name: "you, when you order".into(),
            categories: vec!["name".into()],
        }],
        automated_decisions: vec![AutomatedDecision {
            name: "fraud screening".into(),
            profiling: true,
            solely_automated: true,
            logic: "Orders whose address and card country differ are scored".into(),
            significance: "A high score holds the order".into(),
            consequences: "A held order ships after a person checked it".into(),
        }],
    }
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
        configure: Box::new(move |c| {
            c.datamap_dir = datamap;
            c.processing = register();
        }),
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
        about["kept_despite_erasure"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["table"] == "consents")
    );
    // The register of processing from the configuration (GDPR art. 15(1)).
    assert_eq!(about["controller"], "Shop Ltd, 1 Market Street");
    assert_eq!(about["register_provided"], true);
    let purpose = &about["purposes"][0];
    assert_eq!(purpose["name"], "orders");
    assert_eq!(purpose["legal_basis"], "contract");
    assert!(
        purpose["legal_basis_explained"]
            .as_str()
            .unwrap()
            .contains("6(1)(b)")
    );
    assert_eq!(purpose["retention"], "10 years after the order");
    assert_eq!(about["recipients"][0]["transfer_outside_eea"], Value::Null);
    assert_eq!(about["sources"][0]["name"], "you, when you order");
    // GDPR art. 15(1)(h): automated decision-making and profiling, from the register.
    let h = &about["automated_decision_making_and_profiling"];
    assert_eq!(h["article"], "GDPR art. 15(1)(h)", "{about:#}");
    assert_eq!(h["provided"], true);
    assert_eq!(h["items"][0]["name"], "fraud screening");
    assert_eq!(h["items"][0]["profiling"], true);
    assert_eq!(
        h["items"][0]["solely_automated_with_significant_effects"],
        true
    );
    assert_eq!(
        h["items"][0]["logic_involved"],
        "Orders whose address and card country differ are scored"
    );
    assert_eq!(
        h["items"][0]["significance"],
        "A high score holds the order"
    );
    assert_eq!(
        h["items"][0]["envisaged_consequences"],
        "A held order ships after a person checked it"
    );
    assert!(
        h["statement"].as_str().unwrap().contains("art. 22(3)"),
        "{h}"
    );
    assert_eq!(about["register_not_provided"], Value::Null);
    let rights: Vec<&str> = about["your_rights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["right"].as_str().unwrap())
        .collect();
    for r in [
        "rectification",
        "erasure",
        "restriction",
        "objection",
        "complaint",
    ] {
        assert!(rights.contains(&r), "{r} missing from {rights:?}");
    }
    assert!(
        about["your_rights"]
            .to_string()
            .contains("Data Protection Commission")
    );
    assert!(
        about["tables_searched"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["table"] == "orders" && t["records"] == 2)
    );
    let readme = String::from_utf8(files["README.txt"].clone()).unwrap();
    assert!(readme.contains(&reference) && readme.contains("CSV"));

    // Five complete downloads in all, then the link is used up.
    for _ in 0..4 {
        let resp = fetch(&app, &link).await;
        assert_eq!(resp.status(), 200);
        assert!(!resp.bytes().await.unwrap().is_empty());
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

    // The status page offers the link while it lives, and says when it is used up.
    let status = links(&app, &reference, "/status/");
    let status_page = page(&app, status.iter().next().unwrap()).await;
    assert!(status_page.contains("used as many times"), "{status_page}");

    // Staff see the manifest (never the data) and where the package stands.
    let (s, v) = json(
        app.get(&agent, &format!("/api/v1/requests/{reference}/export"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"][0]["state"], "used_up");
    assert_eq!(v["items"][0]["downloads"], 5);
    let listed = v["items"][0]["manifest"]["files"].as_array().unwrap();
    assert!(
        listed
            .iter()
            .any(|f| f["path"] == "data/shop/orders.csv" && f["rows"] == 2)
    );
    assert!(!v.to_string().contains("ada@example.com"));
    // An auditor may look but not send links.
    let auditor = app.token(Role::Auditor).await;
    let (s, _) = json(
        app.get(&auditor, &format!("/api/v1/requests/{reference}/export"))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = json(
        app.post_empty(
            &auditor,
            &format!("/api/v1/requests/{reference}/export/link"),
        )
        .await,
    )
    .await;
    assert_eq!(s, 403);

    // A new link to the same package: emailed, not shown; the old one stays dead.
    let before = links(&app, &reference, "/download/");
    let (s, v) = json(
        app.post_empty(&agent, &format!("/api/v1/requests/{reference}/export/link"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "live");
    assert_eq!(v["downloads"], 0);
    assert!(!v.to_string().contains("/download/"));
    let fresh = new_link(&app, &reference, "/download/", &before).await;
    assert_eq!(fetch(&app, &link).await.status(), 410);
    let again = unzip(&fetch(&app, &fresh).await.bytes().await.unwrap());
    assert_eq!(again["manifest.json"], files["manifest.json"]);
    // Its email came with a fresh status link, whose page offers to email the download
    // link but never shows it.
    let status_now = new_link(&app, &reference, "/status/", &status).await;
    let status_page = page(&app, &status_now).await;
    let token = fresh.trim_start_matches("/download/");
    assert!(!status_page.contains(token), "{status_page}");
    assert!(
        status_page.contains("Email me the download link"),
        "{status_page}"
    );
    assert!(
        status_page.contains("new link to download"),
        "{status_page}"
    );

    // Portability: the same package; its link expires after 7 days.
    let second = create_and_start(&app, &agent, "portability").await;
    let link2 = download_path(&app, &second).await;
    assert_ne!(link2, link);
    assert_eq!(fetch(&app, &link2).await.status(), 200);
    app.clock.advance(chrono::TimeDelta::days(8));
    assert_eq!(fetch(&app, &link2).await.status(), 410);
    let status2 = links(&app, &second, "/status/");
    let expired_page = page(&app, status2.iter().next().unwrap()).await;
    assert!(expired_page.contains("has expired"), "{expired_page}");
    assert!(!expired_page.contains("/download/"), "{expired_page}");
    // Built again on staff request from the stored results: a new package and link.
    let before = links(&app, &second, "/download/");
    let (s, v) = json(
        app.post_empty(&agent, &format!("/api/v1/requests/{second}/export"))
            .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["state"], "live");
    let rebuilt = new_link(&app, &second, "/download/", &before).await;
    let files2 = unzip(&fetch(&app, &rebuilt).await.bytes().await.unwrap());
    assert!(files2.contains_key("data/shop/orders.json"));
    let (s, v) = json(
        app.get(&agent, &format!("/api/v1/requests/{second}/export"))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    let states: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["expired", "live"]);
    // An erasure request has no package.
    let (s, v) = json(
        app.post_json(
            &agent,
            "/api/v1/requests",
            &json!({"kind": "erasure", "email": "ada@example.com", "verification_note": "letter"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let erasure = v["reference"].as_str().unwrap();
    let (s, _) = json(
        app.post_empty(&agent, &format!("/api/v1/requests/{erasure}/export"))
            .await,
    )
    .await;
    assert_eq!(s, 409);
    app.stop().await;
}

backend_fn_tests!(
    access_export_story,
    a_package_is_recorded_with_its_completion_or_not_at_all,
    a_staff_completion_records_its_package_or_nothing
);

/// A table larger than one stored result part (`task_results::PART_ROWS`) is streamed
/// part by part into one JSON array and one CSV: every row once, in order, types kept.
#[tokio::test]
async fn a_large_table_spans_result_parts_and_arrives_whole() {
    let product_dir = tempfile::tempdir().unwrap();
    let (pool, datamap) = product(product_dir.path()).await;
    let extra = rightsdesk::services::task_results::PART_ROWS * 2 + 345;
    // Generated in the product database itself: ids 1000.., notes that need CSV quoting.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $1) \
         INSERT INTO orders (id, customer_id, shipping_address_id, placed_at, total, note) \
         SELECT 1000 + i, 1, 3, '2024-03-01 09:00:00', i * 0.5, 'note, \"quoted\" ' || i FROM n",
    )
    .bind(extra as i64)
    .execute(&pool)
    .await
    .unwrap();
    let opts = Options::datamap(datamap);
    let app = spawn_app_with(Backend::Sqlite, opts).await.unwrap();
    let agent = app.token(Role::Agent).await;
    let reference = create_and_start(&app, &agent, "access").await;
    let link = download_path(&app, &reference).await;
    let files = unzip(&fetch(&app, &link).await.bytes().await.unwrap());

    let orders: Vec<Value> = serde_json::from_slice(&files["data/shop/orders.json"]).unwrap();
    assert_eq!(orders.len(), extra + 2);
    let mut ids: Vec<i64> = orders.iter().map(|o| o["id"].as_i64().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), extra + 2, "every row exactly once");
    let last = orders
        .iter()
        .find(|o| o["id"] == 1000 + extra as i64 - 1)
        .unwrap();
    assert_eq!(last["total"], json!((extra as f64 - 1.0) * 0.5));
    assert_eq!(
        last["note"],
        format!("note, \"quoted\" {}", extra - 1).as_str()
    );
    let (header, rows) = csv_rows(&files["data/shop/orders.csv"]);
    assert_eq!(rows.len(), extra + 2);
    let note = header.iter().position(|h| h == "note").unwrap();
    assert!(rows.iter().any(|r| r[note] == "note, \"quoted\" 0"));
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    let m = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "data/shop/orders.json")
        .unwrap();
    assert_eq!(m["rows"], (extra + 2) as u64);
    // Stored in several encrypted parts, none holding the plaintext.
    let tasks = app
        .state
        .store
        .tasks_for_request(&app.request_id(&reference).await)
        .await
        .unwrap();
    let parts = app
        .state
        .store
        .result_part_index(&tasks[0].id)
        .await
        .unwrap();
    assert!(
        parts.iter().filter(|p| p.table_name == "orders").count() >= 3,
        "{parts:?}"
    );
    let raw = app
        .state
        .store
        .result_part_rows(&tasks[0].id, parts[0].seq, parts[0].seq)
        .await
        .unwrap();
    assert_eq!(raw.len(), 1);
    assert!(!raw[0].1.contains("ada@example.com"));
    app.stop().await;
}

/// SQL that makes the store refuse every completion of a request (a trigger), and SQL
/// that takes it away.
fn refuse_completions(backend: Backend) -> (&'static str, &'static str) {
    match backend {
        Backend::Postgres => (
            "CREATE FUNCTION rd_test_refuse() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$; \
             CREATE TRIGGER rd_test_refuse BEFORE UPDATE ON requests FOR EACH ROW \
             WHEN (NEW.status = 'completed') EXECUTE FUNCTION rd_test_refuse();",
            "DROP TRIGGER rd_test_refuse ON requests; DROP FUNCTION rd_test_refuse();",
        ),
        Backend::Sqlite => (
            "CREATE TRIGGER rd_test_refuse BEFORE UPDATE ON requests FOR EACH ROW \
             WHEN NEW.status = 'completed' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
            "DROP TRIGGER rd_test_refuse;",
        ),
    }
}

/// The package files in the exports directory.
fn package_files(app: &TestApp) -> Vec<PathBuf> {
    let dir = app.state.config.data_dir.join("exports");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|f| f.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// A started access request for the shop's subject, with the refusing trigger in place
/// (see [`refuse_completions`]): its reference.
async fn access_refused_at_completion(app: &TestApp, agent: &str) -> String {
    app.store_sql(refuse_completions(app.backend).0).await;
    common::product::create_and_start(app, agent, "access", "bob@example.com").await
}

/// The request's view: `status`, nothing packaged (no row, no file).
async fn no_package(app: &TestApp, agent: &str, reference: &str, status: &str) -> Value {
    let (_, view) = json(
        app.get(agent, &format!("/api/v1/requests/{reference}"))
            .await,
    )
    .await;
    assert_eq!(view["status"], status, "{view}");
    let id = app.request_id(reference).await;
    let rows = app.state.store.exports_for_request(&id).await.unwrap();
    assert!(
        rows.is_empty(),
        "no package row without its completion: {rows:?}"
    );
    assert_eq!(
        package_files(app),
        Vec::<PathBuf>::new(),
        "no package file left behind"
    );
    view
}

/// Exactly one package, row and file, and the emailed link downloads it.
async fn one_package(app: &TestApp, reference: &str) {
    let id = app.request_id(reference).await;
    let rows = app.state.store.exports_for_request(&id).await.unwrap();
    assert_eq!(rows.len(), 1, "one package: {rows:?}");
    assert_eq!(package_files(app).len(), 1, "{:?}", package_files(app));
    let path = download_path(app, reference).await;
    let r = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// The package of an automatic completion is recorded in the completion's own
/// transaction: when the completion cannot be stored, neither the package's row nor its
/// file stays, and the request is not left in `review`; once the completion goes
/// through (the job retried), there is exactly one package, and its link works.
async fn a_package_is_recorded_with_its_completion_or_not_at_all(backend: Backend) {
    let product_dir = tempfile::tempdir().unwrap();
    let (_pool, datamap) = product(product_dir.path()).await;
    let Some(app) = spawn_app_with(backend, Options::datamap(datamap)).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    // The store refuses every completion, as a database failing at that moment would.
    let reference = access_refused_at_completion(&app, &agent).await;
    // The task's job fails at the completion and goes back to the queue.
    let failed = app
        .queued_job("the task's job failed at the completion", |j| {
            j.payload.0["reference"] == reference.as_str()
                && j.last_error
                    .as_deref()
                    .is_some_and(|e| e.contains("refused by the test"))
        })
        .await;
    let view = no_package(&app, &agent, &reference, "in_progress").await;
    assert!(
        view["tasks"]
            .as_array()
            .is_some_and(|t| t.iter().all(|t| t["status"] == "succeeded")),
        "{view}"
    );

    // The store takes completions again; the retried job completes the request.
    app.store_sql(refuse_completions(backend).1).await;
    let wait = failed.run_at - rightsdesk::clock::Clock::now(&app.clock);
    app.clock.advance(wait + chrono::TimeDelta::seconds(1));
    app.state.queue.wake();
    let done = wait_for_status(&app, &agent, &reference, "completed").await;
    let actions: Vec<&str> = done["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        ["create", "start", "tasks_done", "complete"],
        "{done}"
    );
    one_package(&app, &reference).await;
    let _stopped = app.stop().await;
}

/// Staff completing an access request: the package built for it is recorded with the
/// completion. A completion the store refuses leaves no package row and no file (the
/// staff member gets the error); the next one leaves exactly one package.
async fn a_staff_completion_records_its_package_or_nothing(backend: Backend) {
    let product_dir = tempfile::tempdir().unwrap();
    let (_pool, datamap) = product(product_dir.path()).await;
    let opts = Options {
        configure: Box::new(move |c| {
            c.datamap_dir = datamap;
            c.workflow.auto_complete.clear();
        }),
        handlers: Vec::new(),
    };
    let Some(app) = spawn_app_with(backend, opts).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let reference = access_refused_at_completion(&app, &agent).await;
    wait_for_status(&app, &agent, &reference, "review").await;
    let complete = format!("/api/v1/requests/{reference}/complete");
    let r = app.post_json(&agent, &complete, &json!({})).await;
    assert_eq!(r.status(), 500);
    no_package(&app, &agent, &reference, "review").await;

    app.store_sql(refuse_completions(backend).1).await;
    let (status, done) = json(app.post_json(&agent, &complete, &json!({})).await).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "completed", "{done}");
    one_package(&app, &reference).await;
    let _stopped = app.stop().await;
}
