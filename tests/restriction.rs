//! A restriction through its whole life: staff start it, every connector sets the flag,
//! staff complete it; later they lift it — the subject is emailed why first (GDPR art.
//! 18(3)), the flags are reset, and it cannot be lifted twice. Internal notes stay off
//! the subject's status page.

mod common;

use common::product::{create_and_start, product, wait_for_status};
use common::{Backend, Options, json, spawn_app_with};
use rightsdesk::domain::staff::Role;
use serde_json::json;
use sqlx::SqlitePool;

async fn flag(pool: &SqlitePool, email: &str) -> bool {
    sqlx::query_scalar("SELECT processing_restricted FROM customers WHERE email = $1")
        .bind(email)
        .fetch_one(pool)
        .await
        .unwrap()
}

fn outbox_texts(app: &common::TestApp) -> Vec<String> {
    let dir = app.state.config.data_dir.join("outbox");
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|f| f.path().extension().and_then(|e| e.to_str()) == Some("eml"))
        .map(|f| common::smtp::decoded_text(&std::fs::read_to_string(f.path()).unwrap()))
        .collect()
}

async fn restriction_is_set_then_lifted_with_notice(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (pool, datamap) = product(dir.path()).await;
    let opts = Options::datamap(datamap);
    let Some(app) = spawn_app_with(backend, opts).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let reference = create_and_start(&app, &agent, "restriction", "ada@example.com").await;
    wait_for_status(&app, &agent, &reference, "review").await;
    assert!(flag(&pool, "ada@example.com").await);
    assert!(!flag(&pool, "bob@example.com").await);

    // Not before the request is completed.
    let path = format!("/api/v1/requests/{reference}/lift");
    let (s, v) = json(
        app.post_json(&agent, &path, &json!({"reason": "checked"}))
            .await,
    )
    .await;
    assert_eq!(s, 409, "{v}");
    let (s, _) = json(
        app.post_empty(&agent, &format!("/api/v1/requests/{reference}/complete"))
            .await,
    )
    .await;
    assert_eq!(s, 200);

    // An internal note: on the staff timeline, not on the subject's page.
    let (s, v) = json(
        app.post_json(
            &agent,
            &format!("/api/v1/requests/{reference}/notes"),
            &json!({"note": "Subject disputes the address; checking with billing"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(v["events"].to_string().contains("checking with billing"));

    // A reason is required; an auditor may not lift.
    let (s, v) = json(app.post_json(&agent, &path, &json!({"reason": "  "})).await).await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["errors"][0]["field"], "reason");
    let auditor = app.token(Role::Auditor).await;
    let (s, _) = json(
        app.post_json(&auditor, &path, &json!({"reason": "x"}))
            .await,
    )
    .await;
    assert_eq!(s, 403);
    assert!(flag(&pool, "ada@example.com").await, "nothing changed yet");

    let reason = "The address was verified against the invoice on file.";
    let (s, v) = json(
        app.post_json(&agent, &path, &json!({"reason": reason}))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "completed");
    // The notice, with the reason, went to the subject.
    let mut notice = None;
    for _ in 0..100 {
        notice = outbox_texts(&app)
            .into_iter()
            .find(|t| t.contains("article 18(3)") && t.contains(&reference));
        if notice.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let notice = notice.expect("art. 18(3) notice emailed");
    assert!(notice.contains(reason), "{notice}");
    // Every connector reset its flag; other subjects untouched.
    let mut lifted = false;
    for _ in 0..100 {
        let (_, v) = json(
            app.get(&agent, &format!("/api/v1/requests/{reference}"))
                .await,
        )
        .await;
        lifted = v["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["operation"] == "lift" && t["status"] == "succeeded");
        if lifted {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(lifted, "lift task succeeded");
    assert!(!flag(&pool, "ada@example.com").await);
    assert!(!flag(&pool, "bob@example.com").await);
    let (s, _) = json(
        app.post_json(&agent, &path, &json!({"reason": "again"}))
            .await,
    )
    .await;
    assert_eq!(s, 409, "lifted once");

    // The status page tells the subject, and never shows the internal note.
    let texts = outbox_texts(&app);
    let status_link = texts
        .iter()
        .filter(|t| t.contains(&reference))
        .find_map(|t| {
            t.find("/status/").map(|i| {
                t[i..]
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .collect::<String>()
            })
        })
        .unwrap();
    let page = app.page(app.url(&status_link)).await;
    assert!(page.contains("We lifted the restriction"), "{page}");
    assert!(!page.contains("billing"), "{page}");

    // Only restriction requests have something to lift.
    let access = create_and_start(&app, &agent, "access", "cy@example.com").await;
    wait_for_status(&app, &agent, &access, "completed").await;
    let (s, _) = json(
        app.post_json(
            &agent,
            &format!("/api/v1/requests/{access}/lift"),
            &json!({"reason": "x"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 409);
    app.stop().await;
}

backend_fn_tests!(restriction_is_set_then_lifted_with_notice);
