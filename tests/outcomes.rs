//! Honest task outcomes through the API and a real SMTP sink: a connector that declares
//! nothing for an operation (no `[restriction]`, no `[objection]`, no field a correction
//! names) ends `skipped` with the reason; such a request never completes by itself; a
//! rectification naming no declared field is not run but stops in review, staff edit its
//! corrections and run it again; the completion email and the status page say per system
//! what was done and what was skipped, and why.

mod common;

use std::path::Path;
use std::time::Duration;

use common::product::{create_and_start, product, wait_for_status};
use common::smtp;
use common::{Backend, Options, TestApp, json, spawn_app_with};
use rightsdesk::config::EmailTransport;
use rightsdesk::domain::request::Kind;
use rightsdesk::domain::staff::Role;
use rightsdesk::secret::Secret;
use serde_json::{Value, json};
use sqlx::SqlitePool;

/// A second product system that declares no `[restriction]`, no `[objection]` and no
/// field `rectify = true`: it can only be searched and erased.
async fn bare_crm(dir: &Path, datamap: &Path) -> SqlitePool {
    let db = dir.join("crm.db");
    let pool = SqlitePool::connect(&format!("sqlite://{}?mode=rwc", db.display()))
        .await
        .unwrap();
    sqlx::raw_sql(
        "CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT NOT NULL, nickname TEXT);\
         INSERT INTO contacts (email, nickname) VALUES ('ada@example.com', 'countess'), ('bob@example.com', 'bob');",
    )
    .execute(&pool)
    .await
    .unwrap();
    std::fs::write(
        datamap.join("crm.toml"),
        format!(
            "name = \"crm\"\nkind = \"sqlite\"\nurl = \"sqlite://{}\"\n\n\
             [[tables]]\nname = \"contacts\"\nprimary_key = \"id\"\n\
             identities = {{ email = \"email\" }}\nerase = \"delete\"\n",
            db.display()
        ),
    )
    .unwrap();
    pool
}

async fn task_of(app: &TestApp, token: &str, reference: &str, connector: &str) -> Value {
    let (_, v) = json(
        app.get(token, &format!("/api/v1/requests/{reference}"))
            .await,
    )
    .await;
    v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|t| t["connector"] == connector)
        .cloned()
        .unwrap_or_else(|| panic!("no {connector} task: {v}"))
}

fn status_link(text: &str) -> String {
    let i = text.find("/status/").expect("a status link");
    text[i..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect()
}

async fn complete(app: &TestApp, token: &str, reference: &str) {
    let (s, v) = json(
        app.post_empty(token, &format!("/api/v1/requests/{reference}/complete"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "completed");
}

async fn name_of(pool: &SqlitePool, email: &str) -> String {
    sqlx::query_scalar("SELECT name FROM customers WHERE email = $1")
        .bind(email)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn outcomes_are_honest(backend: Backend) {
    let sink = smtp::start().await;
    let addr = sink.addr;
    let dir = tempfile::tempdir().unwrap();
    let (shop, datamap) = product(dir.path()).await;
    let crm = bare_crm(dir.path(), &datamap).await;
    let opts = Options {
        configure: Box::new(move |c| {
            c.datamap_dir = datamap;
            c.email.transport = EmailTransport::Smtp;
            c.email.smtp_url = Secret::new(format!("smtp://{addr}"));
            // Every kind would complete by itself if every task succeeded.
            c.workflow.auto_complete = Kind::ALL.to_vec();
        }),
        handlers: Vec::new(),
    };
    let Some(app) = spawn_app_with(backend, opts).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;

    // Where every connector did its part, the request completes by itself.
    let access = create_and_start(&app, &agent, "access", "bob@example.com").await;
    wait_for_status(&app, &agent, &access, "completed").await;

    // A restriction: the shop sets its flag, the crm declares nothing and is skipped.
    let restriction = create_and_start(&app, &agent, "restriction", "ada@example.com").await;
    let v = wait_for_status(&app, &agent, &restriction, "review").await;
    let crm_task = task_of(&app, &agent, &restriction, "crm").await;
    assert_eq!(crm_task["status"], "skipped", "{v}");
    assert_eq!(
        crm_task["reason"],
        "no [restriction] declared for this connector"
    );
    assert_eq!(crm_task["error"], Value::Null);
    assert_eq!(
        task_of(&app, &agent, &restriction, "shop").await["status"],
        "succeeded"
    );
    // Not completed by itself, even though the kind auto-completes.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let v = wait_for_status(&app, &agent, &restriction, "review").await;
    assert!(v["completed_at"].is_null(), "{v}");
    complete(&app, &agent, &restriction).await;
    let mail = sink.text_with(&["We have completed", &restriction]).await;
    assert!(
        mail.contains("- shop: processing restricted (1 record marked)"),
        "{mail}"
    );
    assert!(
        mail.contains(
            "- crm: skipped, nothing was changed: no [restriction] declared for this connector"
        ),
        "{mail}"
    );
    // The status page says the same.
    let page = app.page(app.url(&status_link(&mail))).await;
    assert!(page.contains("What we did in each system"), "{page}");
    assert!(
        page.contains("no [restriction] declared for this connector"),
        "{page}"
    );

    // Lifting it: the shop resets its flag, the crm has no restriction to lift.
    let (s, v) = json(
        app.post_json(
            &agent,
            &format!("/api/v1/requests/{restriction}/lift"),
            &json!({"reason": "The address was confirmed."}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let mut lifts = Vec::new();
    for _ in 0..100 {
        let (_, v) = json(
            app.get(&agent, &format!("/api/v1/requests/{restriction}"))
                .await,
        )
        .await;
        lifts = v["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["operation"] == "lift")
            .cloned()
            .collect();
        if lifts.len() == 2 && lifts.iter().all(|t| t["finished_at"].is_string()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let lift_of = |c: &str| lifts.iter().find(|t| t["connector"] == c).unwrap().clone();
    assert_eq!(lift_of("shop")["status"], "succeeded", "{lifts:?}");
    assert_eq!(lift_of("crm")["status"], "skipped", "{lifts:?}");
    assert_eq!(
        lift_of("crm")["reason"],
        "no [restriction] declared for this connector, so there is no restriction to lift"
    );

    // An objection: the same, with its own reason.
    let objection = create_and_start(&app, &agent, "objection", "bob@example.com").await;
    wait_for_status(&app, &agent, &objection, "review").await;
    let crm_task = task_of(&app, &agent, &objection, "crm").await;
    assert_eq!(crm_task["status"], "skipped");
    assert_eq!(
        crm_task["reason"],
        "no [objection] declared for this connector"
    );
    complete(&app, &agent, &objection).await;
    let mail = sink.text_with(&["We have completed", &objection]).await;
    assert!(
        mail.contains("- shop: your objection recorded (1 record marked)"),
        "{mail}"
    );
    assert!(
        mail.contains(
            "- crm: skipped, nothing was changed: no [objection] declared for this connector"
        ),
        "{mail}"
    );

    // A rectification naming a field no connector declares: not run, straight to review
    // with the unmatched correction listed; nothing changed in the product.
    let body = json!({
        "kind": "rectification", "email": "ada@example.com",
        "verification_note": "checked in person",
        "corrections": [{"field": "surname", "value": "Byron"}],
    });
    let (s, v) = json(app.post_json(&agent, "/api/v1/requests", &body).await).await;
    assert_eq!(s, 201, "{v}");
    let rect = v["reference"].as_str().unwrap().to_string();
    let (s, v) = json(
        app.post_empty(&agent, &format!("/api/v1/requests/{rect}/start"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "review", "{v}");
    assert_eq!(v["unmatched_corrections"], json!(["surname"]));
    assert_eq!(v["tasks"], json!([]), "nothing was run");
    let note = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "tasks_done")
        .map(|e| e["note"].to_string())
        .unwrap();
    assert!(
        note.contains("not run") && note.contains("surname"),
        "{note}"
    );
    assert_eq!(name_of(&shop, "ada@example.com").await, "Ada Lovelace");

    // Corrections: only rectifications, only a valid list; rerun only rectifications.
    let path = format!("/api/v1/requests/{rect}/corrections");
    let put = |body: Value, path: String| {
        let app = &app;
        let agent = agent.clone();
        async move {
            json(
                app.client
                    .put(app.url(&path))
                    .bearer_auth(agent)
                    .json(&body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let (s, v) = put(json!({"corrections": []}), path.clone()).await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = put(
        json!({"corrections": [{"field": "name", "value": "x"}], "run": true}),
        path.clone(),
    )
    .await;
    assert_eq!(s, 422, "unknown field: {v}");
    let (s, v) = put(
        json!({"corrections": [{"field": "x".repeat(101), "value": "x"}]}),
        path.clone(),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["errors"][0]["field"], "corrections[0].field", "{v}");
    let resp = app
        .client
        .put(app.url(&path))
        .bearer_auth(&agent)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    common::problem(resp, 400).await;
    let (s, v) = put(
        json!({"corrections": [{"field": "name", "value": "x"}]}),
        format!("/api/v1/requests/{objection}/corrections"),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    let auditor = app.token(Role::Auditor).await;
    let resp = app
        .client
        .put(app.url(&path))
        .bearer_auth(&auditor)
        .json(&json!({"corrections": [{"field": "name", "value": "x"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);

    // Staff name the declared field and run it again: the row is corrected.
    let (s, v) = put(
        json!({"corrections": [{"field": "name", "value": "Ada King"}]}),
        path.clone(),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["unmatched_corrections"], json!([]));
    assert_eq!(v["status"], "review");
    let (s, v) = json(
        app.post_empty(&agent, &format!("/api/v1/requests/{rect}/rerun"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let v = wait_for_status(&app, &agent, &rect, "review").await;
    let tasks = v["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2, "{v}");
    let crm_task = task_of(&app, &agent, &rect, "crm").await;
    assert_eq!(crm_task["status"], "skipped");
    assert_eq!(
        crm_task["reason"],
        "none of the corrections names a field declared rectify = true in this connector"
    );
    assert_eq!(
        task_of(&app, &agent, &rect, "shop").await["status"],
        "succeeded"
    );
    assert_eq!(name_of(&shop, "ada@example.com").await, "Ada King");
    let nickname: String =
        sqlx::query_scalar("SELECT nickname FROM contacts WHERE email = 'ada@example.com'")
            .fetch_one(&crm)
            .await
            .unwrap();
    assert_eq!(nickname, "countess", "the crm was not touched");
    tokio::time::sleep(Duration::from_millis(500)).await;
    wait_for_status(&app, &agent, &rect, "review").await;
    complete(&app, &agent, &rect).await;
    let mail = sink.text_with(&["We have completed", &rect]).await;
    assert!(
        mail.contains("- shop: name corrected in customers (1 record)"),
        "{mail}"
    );
    assert!(
        mail.contains("- crm: skipped, nothing was changed: none of the corrections"),
        "{mail}"
    );
    // Reruns are for rectifications in review only.
    let (s, _) = json(
        app.post_empty(&agent, &format!("/api/v1/requests/{rect}/rerun"))
            .await,
    )
    .await;
    assert_eq!(s, 409);
    app.stop().await;
}

/// Every task skipped: the request goes to review at once and stays there.
async fn all_skipped_stays_in_review(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let datamap = dir.path().join("datamap");
    std::fs::create_dir_all(&datamap).unwrap();
    let _crm = bare_crm(dir.path(), &datamap).await;
    let opts = Options {
        configure: Box::new(move |c| {
            c.datamap_dir = datamap;
            c.workflow.auto_complete = Kind::ALL.to_vec();
        }),
        handlers: Vec::new(),
    };
    let Some(app) = spawn_app_with(backend, opts).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let reference = create_and_start(&app, &agent, "objection", "ada@example.com").await;
    let v = wait_for_status(&app, &agent, &reference, "review").await;
    assert_eq!(v["tasks"][0]["status"], "skipped", "{v}");
    assert_eq!(v["tasks"][0]["attempts"], 0, "no job ran: {v}");
    let note = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "tasks_done")
        .map(|e| e["note"].to_string())
        .unwrap();
    assert!(note.contains("1 skipped"), "{note}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let v = wait_for_status(&app, &agent, &reference, "review").await;
    assert!(v["completed_at"].is_null(), "{v}");
    app.stop().await;
}

backend_fn_tests!(outcomes_are_honest, all_skipped_stays_in_review);
