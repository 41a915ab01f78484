//! Retention purges, end to end through the API, on real product databases: SQLite (a
//! file per test), PostgreSQL (`RIGHTSDESK_TEST_POSTGRES_URL`) and MariaDB/MySQL
//! (`RIGHTSDESK_TEST_MYSQL_URL`), each test on a fresh database; plus legal holds and
//! the purge of Rightsdesk's own data (SQLite and PostgreSQL stores).
//!
//! The product: `leads` (identity `email`) -> `conversations` (foreign key `lead_id`),
//! and `visits` (identity `visitor_email`, anonymized). The app's clock stands at
//! 2026-10-10 09:00 UTC, so "24 months" means before 2024-10-10 09:00.

mod common;

use std::time::Duration;

use common::{Backend, Options, TestApp, json, problem, spawn_app_with};
use rightsdesk::clock::Clock;
use rightsdesk::domain::staff::Role;
use serde_json::{Value, json};

use common::product::{Engine, ProductDb};

/// A product database with the leads schema and rows (dropped with this, also when the
/// test fails), and a directory for the data map.
struct Product {
    db: ProductDb,
    engine: Engine,
    url: String,
    _dir: tempfile::TempDir,
}

impl Product {
    async fn create(engine: Engine) -> Option<Self> {
        let db = ProductDb::fresh(engine, "rd_ret").await?;
        let p = Self {
            engine,
            url: db.url.clone(),
            db,
            _dir: tempfile::tempdir().expect("tempdir"),
        };
        let ts = if engine == Engine::MySql {
            "DATETIME"
        } else {
            "TIMESTAMP"
        };
        p.exec(&format!(
            "CREATE TABLE leads (
                id INTEGER PRIMARY KEY,
                email VARCHAR(254) NOT NULL,
                source VARCHAR(32) NOT NULL,
                last_activity_at {ts} NOT NULL
            );
            CREATE TABLE conversations (
                id INTEGER PRIMARY KEY,
                lead_id INTEGER NOT NULL,
                body TEXT NOT NULL,
                FOREIGN KEY (lead_id) REFERENCES leads (id)
            );
            CREATE TABLE visits (
                id INTEGER PRIMARY KEY,
                visitor_email VARCHAR(254),
                ip VARCHAR(64),
                visited_at {ts} NOT NULL
            );"
        ))
        .await;
        // Leads 1-30: inactive since 2023 (due); 31-35: active this year; 36-40: old but
        // from a partner (the policy's filter keeps them). Lead 5 is the held subject.
        let mut leads = Vec::new();
        let mut conversations = Vec::new();
        for id in 1..=40 {
            let email = if id == 5 {
                "held@example.com".to_string()
            } else {
                format!("lead{id}@example.com")
            };
            let (source, at) = match id {
                1..=30 => ("form", format!("2023-01-{:02} 10:00:00", id % 28 + 1)),
                31..=35 => ("form", "2026-01-15 10:00:00".to_string()),
                _ => ("partner", "2022-06-01 10:00:00".to_string()),
            };
            leads.push(format!("({id}, '{email}', '{source}', '{at}')"));
            for n in 1..=2 {
                conversations.push(format!("({}, {id}, 'message {n}')", id * 10 + n));
            }
        }
        let mut visits = Vec::new();
        for id in 1..=20 {
            let email = if id == 3 {
                "held@example.com".to_string()
            } else {
                format!("visitor{id}@example.com")
            };
            let at = if id <= 15 {
                "2026-08-01 12:00:00"
            } else {
                "2026-10-05 12:00:00"
            };
            visits.push(format!("({id}, '{email}', '10.0.0.{id}', '{at}')"));
        }
        p.exec(&format!(
            "INSERT INTO leads (id, email, source, last_activity_at) VALUES {};
             INSERT INTO conversations (id, lead_id, body) VALUES {};
             INSERT INTO visits (id, visitor_email, ip, visited_at) VALUES {};",
            leads.join(", "),
            conversations.join(", "),
            visits.join(", ")
        ))
        .await;
        Some(p)
    }

    fn kind(&self) -> &'static str {
        self.engine.kind()
    }

    async fn exec(&self, sql: &str) {
        self.db.exec(sql).await
    }

    /// Every value of the first column, as text (NULL as "NULL").
    async fn column(&self, sql: &str) -> Vec<String> {
        self.db
            .texts(sql)
            .await
            .into_iter()
            .map(|mut r| r.swap_remove(0))
            .collect()
    }

    async fn ids(&self, table: &str) -> Vec<i64> {
        let cast = match self.engine {
            Engine::MySql => "CAST(id AS CHAR)",
            _ => "CAST(id AS TEXT)",
        };
        let mut ids: Vec<i64> = self
            .column(&format!("SELECT {cast} FROM {table}"))
            .await
            .iter()
            .map(|s| s.parse().expect("id"))
            .collect();
        ids.sort_unstable();
        ids
    }

    /// A product-side trigger that makes deleting lead 20 fail: a purge interrupted
    /// half way, as by a crash or a lock timeout.
    async fn break_lead_20(&self) {
        match self.engine {
            Engine::Sqlite => {
                self.exec(
                    "CREATE TRIGGER stop_lead BEFORE DELETE ON leads WHEN OLD.id = 20 \
                     BEGIN SELECT RAISE(ABORT, 'lead 20 is locked'); END;",
                )
                .await
            }
            Engine::Postgres => {
                self.exec(
                    "CREATE FUNCTION stop_lead() RETURNS trigger AS $$ BEGIN \
                     IF OLD.id = 20 THEN RAISE EXCEPTION 'lead 20 is locked'; END IF; RETURN OLD; \
                     END $$ LANGUAGE plpgsql; \
                     CREATE TRIGGER stop_lead BEFORE DELETE ON leads FOR EACH ROW EXECUTE FUNCTION stop_lead();",
                )
                .await
            }
            Engine::MySql => {
                self.exec(
                    "CREATE TRIGGER stop_lead BEFORE DELETE ON leads FOR EACH ROW BEGIN \
                     IF OLD.id = 20 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'lead 20 is locked'; END IF; END",
                )
                .await
            }
        }
    }

    async fn repair_lead_20(&self) {
        self.exec(match self.engine {
            Engine::Postgres => "DROP TRIGGER stop_lead ON leads",
            _ => "DROP TRIGGER stop_lead",
        })
        .await;
    }
}

const DATAMAP: &str = r#"
name = "app"
kind = "KIND"
url = "URL"
max_connections = 2

[[tables]]
name = "leads"
primary_key = "id"
identities = { email = "email" }
erase = "delete"

[[tables]]
name = "conversations"
primary_key = "id"
via = { lead_id = "leads.id" }
erase = "delete"

[[tables]]
name = "visits"
primary_key = "id"
identities = { email = "visitor_email" }
erase = "anonymize"
[tables.fields]
visitor_email = { category = "contact.email", mask = "hash" }
ip = { category = "online.ip", mask = "null" }

[[retention]]
name = "stale-leads"
table = "leads"
age_column = "last_activity_at"
max_age = "24 months"
action = "delete"
batch_size = 7
filter = { source = "form" }

[[retention]]
name = "old-visits"
table = "visits"
age_column = "visited_at"
max_age = "30d"
action = "anonymize"
batch_size = 5
schedule = "0 30 3 * * *"
"#;

/// The app (SQLite store) with a data map pointing at `product`.
async fn app_for(product: &Product) -> TestApp {
    let datamap = product._dir.path().join("datamap");
    std::fs::create_dir_all(&datamap).expect("datamap dir");
    std::fs::write(
        datamap.join("app.toml"),
        DATAMAP
            .replace("KIND", product.kind())
            .replace("URL", &product.url),
    )
    .expect("datamap file");
    spawn_app_with(
        Backend::Sqlite,
        Options {
            configure: Box::new(move |c| c.datamap_dir = datamap),
            ..Options::default()
        },
    )
    .await
    .expect("sqlite app")
}

/// Start a real run and wait for its record to leave `running`.
async fn run_and_wait(app: &TestApp, token: &str, policy: &str) -> Value {
    let (status, started) = json(
        app.post_empty(
            token,
            &format!("/api/v1/retention/{policy}/run?dry_run=false"),
        )
        .await,
    )
    .await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["status"], "running");
    let id = started["id"].as_str().expect("run id").to_string();
    for _ in 0..600 {
        let (_, runs) = json(app.get(token, "/api/v1/retention/runs?per_page=100").await).await;
        if let Some(run) = runs["items"]
            .as_array()
            .and_then(|items| items.iter().find(|r| r["id"] == id.as_str()))
            && run["status"] != "running"
        {
            return run.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("retention run {id} never finished");
}

async fn purges_on(engine: Engine) {
    let Some(product) = Product::create(engine).await else {
        return;
    };
    let app = app_for(&product).await;
    let admin = app.token(Role::Admin).await;
    let agent = app.token(Role::Agent).await;

    // A hold on the subject of lead 5 and visit 3.
    let body = json!({"email": "Held@Example.com", "reason": "Litigation 2026-17"});
    problem(app.post_json(&agent, "/api/v1/holds", &body).await, 403).await;
    let (status, hold) = json(app.post_json(&admin, "/api/v1/holds", &body).await).await;
    assert_eq!(status, 201, "{hold}");
    assert_eq!(hold["email"], "held@example.com");
    assert_eq!(hold["active"], true);

    let (status, list) = json(app.get(&agent, "/api/v1/retention").await).await;
    assert_eq!(status, 200, "{list}");
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["stale-leads", "old-visits"]);
    assert!(list["items"][0]["last_run"].is_null());
    assert_eq!(list["items"][1]["schedule"], "0 30 3 * * *");
    assert!(list["items"][1]["next_run"].is_string());

    // Only admins run purges.
    problem(
        app.post_empty(&agent, "/api/v1/retention/stale-leads/run?dry_run=true")
            .await,
        403,
    )
    .await;
    problem(
        app.post_empty(&admin, "/api/v1/retention/nope/run?dry_run=true")
            .await,
        404,
    )
    .await;

    // Dry run: counts, nothing changes.
    let (status, dry) = json(
        app.post_empty(&admin, "/api/v1/retention/stale-leads/run?dry_run=true")
            .await,
    )
    .await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["rows_matched"], 30, "{dry}");
    assert_eq!(dry["rows_held"], 1, "{dry}");
    assert_eq!(dry["would_purge"], 29, "{dry}");
    assert_eq!(product.ids("leads").await.len(), 40);
    assert_eq!(product.ids("conversations").await.len(), 80);

    // A run interrupted by a failing batch keeps the batches it committed...
    product.break_lead_20().await;
    let failed = run_and_wait(&app, &admin, "stale-leads").await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(error.contains("leads"), "{error}");
    assert!(!error.contains("example.com"), "{error}");
    let left = product.ids("leads").await;
    // Batches of 7 by id: 1-7 (5 held) and 8-14 committed; the third (15-21) rolled back.
    assert_eq!(left.first(), Some(&5));
    assert!(left.contains(&15) && left.contains(&20) && !left.contains(&14));
    assert_eq!(failed["rows_purged"], 13, "{failed}");

    // ...and the next run finishes the job.
    product.repair_lead_20().await;
    let done = run_and_wait(&app, &admin, "stale-leads").await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["rows_purged"], 16, "{done}");
    assert_eq!(done["rows_held"], 1, "{done}");
    assert_eq!(
        failed["rows_purged"].as_i64().unwrap() + done["rows_purged"].as_i64().unwrap(),
        dry["would_purge"].as_i64().unwrap(),
        "the dry run counted what the real runs purged"
    );
    let expected: Vec<i64> = std::iter::once(5).chain(31..=40).collect();
    assert_eq!(product.ids("leads").await, expected);
    // Children went with their parents (before them: the foreign key allowed nothing
    // else); the kept leads keep theirs.
    let conversations = product.ids("conversations").await;
    let parents: Vec<i64> = conversations.iter().map(|c| c / 10).collect();
    let mut unique = parents.clone();
    unique.dedup();
    assert_eq!(unique, expected);
    assert_eq!(conversations.len(), 22);

    // Anonymize: masks applied to due rows, the held visitor and young visits untouched.
    let visits = run_and_wait(&app, &admin, "old-visits").await;
    assert_eq!(visits["status"], "succeeded", "{visits}");
    assert_eq!(visits["rows_matched"], 15, "{visits}");
    assert_eq!(visits["rows_held"], 1, "{visits}");
    assert_eq!(visits["rows_purged"], 14, "{visits}");
    let ips = product.column("SELECT ip FROM visits ORDER BY id").await;
    let emails = product
        .column("SELECT visitor_email FROM visits ORDER BY id")
        .await;
    for (i, (ip, email)) in ips.iter().zip(&emails).enumerate() {
        let id = i + 1;
        if id <= 15 && id != 3 {
            assert_eq!(ip, "NULL", "visit {id}");
            assert_eq!(email.len(), 64, "visit {id}: {email}");
            assert!(email.bytes().all(|b| b.is_ascii_hexdigit()), "visit {id}");
        } else {
            assert_eq!(ip, &format!("10.0.0.{id}"), "visit {id}");
            assert!(email.ends_with("@example.com"), "visit {id}");
        }
    }
    // A second run finds nothing new to mask (the hash is never applied twice).
    let again = run_and_wait(&app, &admin, "old-visits").await;
    assert_eq!(again["rows_purged"], 0, "{again}");
    assert_eq!(
        product
            .column("SELECT visitor_email FROM visits ORDER BY id")
            .await,
        emails
    );

    // The policy list shows the last runs; the metric says none failed.
    let (_, list) = json(app.get(&agent, "/api/v1/retention").await).await;
    assert_eq!(list["items"][0]["last_run"]["id"], done["id"]);
    let metrics = app.page(app.metrics_url()).await;
    assert!(
        metrics
            .contains("rightsdesk_retention_run_failed{connector=\"app\",name=\"stale-leads\"} 0"),
        "{metrics}"
    );

    // Every run is audited, without personal data.
    let (_, audit) = json(app.get(&admin, "/api/v1/audit?per_page=100").await).await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions.iter().filter(|a| **a == "retention.run").count(), 4);
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "retention.dry_run")
            .count(),
        1
    );
    assert!(actions.contains(&"hold.create"));
    assert!(!audit.to_string().contains("held@example.com"));

    // While the hold lasts, an erasure for the subject is refused, visibly to staff.
    let reference =
        common::product::create_and_start(&app, &admin, "erasure", "held@example.com").await;
    let req = common::product::wait_for_status(&app, &admin, &reference, "review").await;
    let task_error = req["tasks"][0]["error"].as_str().unwrap_or_default();
    assert!(task_error.contains("legal hold"), "{req}");
    assert!(!req["tasks"].to_string().contains("held@example.com"));
    assert_eq!(product.ids("leads").await.first(), Some(&5));

    // Releasing the hold lets the next purge take the subject's rows.
    let id = hold["id"].as_str().unwrap();
    problem(
        app.client
            .delete(app.url(&format!("/api/v1/holds/{id}")))
            .bearer_auth(&agent)
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    let resp = app
        .client
        .delete(app.url(&format!("/api/v1/holds/{id}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let last = run_and_wait(&app, &admin, "stale-leads").await;
    assert_eq!(last["rows_purged"], 1, "{last}");
    assert_eq!(product.ids("leads").await, (31..=40).collect::<Vec<_>>());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_on_sqlite_product() {
    purges_on(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_on_postgres_product() {
    purges_on(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_on_mariadb_product() {
    purges_on(Engine::MySql).await;
}

/// A purge that would delete parents of rows the data map says must be kept is
/// refused before it touches anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_reaching_a_retained_table_is_refused() {
    let Some(product) = Product::create(Engine::Sqlite).await else {
        return;
    };
    let datamap = product._dir.path().join("datamap");
    std::fs::create_dir_all(&datamap).unwrap();
    std::fs::write(
        datamap.join("app.toml"),
        DATAMAP
            .replace("KIND", "sqlite")
            .replace("URL", &product.url)
            .replace(
                "via = { lead_id = \"leads.id\" }\nerase = \"delete\"",
                "via = { lead_id = \"leads.id\" }\nerase = \"retain\"\nretain_reason = \"kept for claims\"",
            ),
    )
    .unwrap();
    let app = spawn_app_with(
        Backend::Sqlite,
        Options {
            configure: Box::new(move |c| c.datamap_dir = datamap),
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let admin = app.token(Role::Admin).await;
    let run = run_and_wait(&app, &admin, "stale-leads").await;
    assert_eq!(run["status"], "failed");
    assert!(
        run["error"]
            .as_str()
            .unwrap()
            .contains("\"conversations\" is declared erase = \"retain\""),
        "{run}"
    );
    assert_eq!(product.ids("leads").await.len(), 40);
    let metrics = app.page(app.metrics_url()).await;
    assert!(
        metrics
            .contains("rightsdesk_retention_run_failed{connector=\"app\",name=\"stale-leads\"} 1"),
        "{metrics}"
    );
    app.stop().await;
}

/// A run whose process died stays `running` until the next run of its policy takes the
/// lease (the dead run's lease expired): then it is marked failed, as interrupted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_left_running_by_a_crash_is_marked_interrupted() {
    let Some(product) = Product::create(Engine::Sqlite).await else {
        return;
    };
    let app = app_for(&product).await;
    let admin = app.token(Role::Admin).await;
    let then = app.clock.now() - chrono::TimeDelta::hours(1);
    let dead = rightsdesk::store::RetentionRun {
        id: "01000000-0000-7000-8000-000000000001".into(),
        connector: "app".into(),
        policy: "old-visits".into(),
        trigger_kind: "schedule".into(),
        actor: "scheduler".into(),
        dry_run: false,
        status: "running".into(),
        started_at: then,
        finished_at: None,
        cutoff: then,
        rows_matched: 5,
        rows_purged: 5,
        rows_held: 0,
        batches: 1,
        error: None,
    };
    app.state.store.insert_retention_run(&dead).await.unwrap();
    let run = run_and_wait(&app, &admin, "old-visits").await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let (_, runs) = json(app.get(&admin, "/api/v1/retention/runs").await).await;
    assert_eq!(runs["total"], 2);
    let old = runs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == dead.id.as_str())
        .unwrap();
    assert_eq!(old["status"], "failed");
    assert!(
        old["error"].as_str().unwrap().starts_with("interrupted"),
        "{old}"
    );
    app.stop().await;
}

/// Holds: admins create and release, staff list; bad input is a 422.
async fn holds_api(app: TestApp) {
    let admin = app.token(Role::Admin).await;
    let agent = app.token(Role::Agent).await;
    let auditor = app.token(Role::Auditor).await;
    let body = json!({"email": "not-an-address", "reason": "x"});
    let p = problem(app.post_json(&admin, "/api/v1/holds", &body).await, 422).await;
    assert_eq!(p["errors"][0]["field"], "email");
    let body = json!({"email": "a@example.com", "reason": "  "});
    let p = problem(app.post_json(&admin, "/api/v1/holds", &body).await, 422).await;
    assert_eq!(p["errors"][0]["field"], "reason");
    let body = json!({"email": "a@example.com", "reason": "Subpoena"});
    let (status, hold) = json(app.post_json(&admin, "/api/v1/holds", &body).await).await;
    assert_eq!(status, 201);
    problem(app.get(&auditor, "/api/v1/holds").await, 403).await;
    let (status, list) = json(app.get(&agent, "/api/v1/holds").await).await;
    assert_eq!(status, 200);
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["reason"], "Subpoena");
    let id = hold["id"].as_str().unwrap();
    let delete = |token: String| {
        app.client
            .delete(app.url(&format!("/api/v1/holds/{id}")))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(delete(admin.clone()).await.unwrap().status(), 204);
    problem(delete(admin.clone()).await.unwrap(), 404).await;
    let (_, list) = json(app.get(&agent, "/api/v1/holds").await).await;
    assert_eq!(list["total"], 0);
    let (_, list) = json(app.get(&agent, "/api/v1/holds?include_released=true").await).await;
    assert_eq!(list["items"][0]["active"], false);
    assert!(list["items"][0]["released_by"].is_string());
    app.stop().await;
}

/// Own data: an expired export's file is deleted and the status page's view of it says
/// expired; a request closed longer than `closed_request_pii` loses its identity and free
/// text, keeping its reference, kind and dates.
async fn own_data_purge(app: TestApp) {
    let admin = app.token(Role::Admin).await;
    let body = json!({"kind": "access", "email": "old@example.com", "name": "Old Subject",
        "details": "my account 123", "verification_note": "called back"});
    let (status, created) = json(app.post_json(&admin, "/api/v1/requests", &body).await).await;
    assert_eq!(status, 201, "{created}");
    let reference = created["reference"].as_str().unwrap().to_string();
    let (status, _) = json(
        app.post_json(
            &admin,
            &format!("/api/v1/requests/{reference}/withdraw"),
            &json!({"note": "subject phoned to withdraw"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    let state = &app.state;
    let req = state
        .store
        .request_by_reference(&reference)
        .await
        .unwrap()
        .unwrap();
    let now = app.clock.now();
    let export = rightsdesk::store::Export {
        id: uuid::Uuid::now_v7().to_string(),
        request_id: req.id.clone(),
        token_hash: "h".repeat(64),
        token_ct: None,
        file_name: "data.zip".into(),
        manifest: "{}".into(),
        size_bytes: 3,
        downloads: 0,
        max_downloads: 5,
        expires_at: now + chrono::TimeDelta::days(7),
        created_at: now,
        deleted_at: None,
    };
    state.store.insert_export(&export).await.unwrap();
    let file = rightsdesk::services::export::file_path(state, &export.id);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, b"zip").unwrap();

    // Before expiry nothing goes.
    let report = rightsdesk::services::retention::own::purge(state, "test")
        .await
        .unwrap();
    assert_eq!(report.exports_expired, 0);
    assert!(file.exists());

    app.clock.advance(chrono::TimeDelta::days(8));
    let report = rightsdesk::services::retention::own::purge(state, "test")
        .await
        .unwrap();
    assert_eq!(report.exports_expired, 1);
    assert_eq!(report.requests_wiped, 0);
    assert!(!file.exists());
    let (st, _) = rightsdesk::services::export::newest(state, &req.id)
        .await
        .unwrap()
        .unwrap();
    // The status page shows a deleted package as expired.
    assert_eq!(st, rightsdesk::services::export::ExportState::Deleted);
    let link = rightsdesk::services::export::live_link(state, &req.id)
        .await
        .unwrap();
    assert!(link.is_none());

    // 24 months after closing, the identity and free text go.
    app.clock.advance(chrono::TimeDelta::days(740));
    let report = rightsdesk::services::retention::own::purge(state, "test")
        .await
        .unwrap();
    assert_eq!(report.requests_wiped, 1);
    let after = state
        .store
        .request_by_reference(&reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.reference, req.reference);
    assert_eq!(after.kind, req.kind);
    assert_eq!(after.status, req.status);
    assert_eq!(after.received_at, req.received_at);
    assert_eq!(after.closed_at, req.closed_at);
    assert!(after.email_ct.is_none() && after.email_index.is_none());
    assert!(after.name_ct.is_none() && after.details_ct.is_none());
    assert!(after.verification_note_ct.is_none());
    let events = state.store.events(&req.id).await.unwrap();
    assert!(events.iter().all(|e| e.note.is_none()), "{events:?}");
    let (status, v) = json(
        app.get(&admin, &format!("/api/v1/requests/{reference}"))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert!(!v.to_string().contains("old@example.com"));
    // Running it again wipes nothing more.
    let report = rightsdesk::services::retention::own::purge(state, "test")
        .await
        .unwrap();
    assert_eq!(report.requests_wiped, 0);
    app.stop().await;
}

backend_tests!(holds_api, own_data_purge);
