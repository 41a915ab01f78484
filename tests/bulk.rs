//! Bulk work from the queue over HTTP, as a browser without JavaScript sends it: every
//! request goes through the workflow on its own (event and audit entry each), the ones
//! the action does not fit are listed with why and left unchanged, a missing reason is
//! a readable 422, and "all matching the filters" takes the queue's filters. SQLite and
//! PostgreSQL.

mod common;

use common::TestApp;
use common::portal::Browser;
use rightsdesk::domain::staff::Role;
use serde_json::{Value, json};

backend_tests!(bulk_extend_and_note_go_through_the_workflow_one_by_one);

async fn request(app: &TestApp, token: &str, i: usize) -> String {
    let (s, v) = common::json(
        app.post_json(
            token,
            "/api/v1/requests",
            &json!({ "kind": "erasure", "email": format!("bulk{i}@example.com"),
                     "received_at": "2026-10-01T12:00:00Z",
                     "verification_note": "Called back on the number on file" }),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    v["reference"].as_str().unwrap().to_string()
}

async fn detail(app: &TestApp, token: &str, r: &str) -> Value {
    common::json(app.get(token, &format!("/api/v1/requests/{r}")).await)
        .await
        .1
}

async fn bulk_extend_and_note_go_through_the_workflow_one_by_one(app: TestApp) {
    let token = app.token(Role::Agent).await;
    let mut refs = Vec::new();
    for i in 0..4 {
        refs.push(request(&app, &token, i).await);
    }
    let (s, _) = common::json(
        app.post_json(
            &token,
            &format!("/api/v1/requests/{}/withdraw", refs[3]),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);

    let mut b = Browser::staff(&app, "agent@staff.example", Role::Agent).await;
    let queue = b.get("/portal/requests?status=all").await;
    assert_eq!(queue.status, 200);
    for r in &refs {
        assert!(
            queue.body.contains(&format!("name=\"ref\" value=\"{r}\"")),
            "{r} has a checkbox"
        );
    }
    let csrf = queue.csrf();
    let mut form: Vec<(&str, &str)> =
        vec![("csrf", &csrf), ("scope", "selected"), ("action", "extend")];
    for r in &refs {
        form.push(("ref", r));
    }

    // One reason for all of them, or nothing happens.
    let mut no_reason = form.clone();
    no_reason.push(("reason", ""));
    let page = b.post("/portal/requests/bulk", &no_reason).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("give one reason"), "{}", page.body);
    assert_eq!(detail(&app, &token, &refs[0]).await["extended"], false);

    form.push(("reason", "Data spread over several systems"));
    let page = b.post("/portal/requests/bulk", &form).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("<span id=\"done-count\">3</span>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<span id=\"refused-count\">1</span>"));
    assert!(
        page.body
            .contains("cannot extend a request that is withdrawn"),
        "{}",
        page.body
    );
    for r in &refs[..3] {
        let v = detail(&app, &token, r).await;
        assert_eq!(v["extended"], true, "{v}");
        assert_eq!(v["extension_reason"], "Data spread over several systems");
    }
    let v = detail(&app, &token, &refs[3]).await;
    assert_eq!(v["status"], "withdrawn");
    assert_eq!(v["extended"], false);

    // A note on every open request matching the filters (the withdrawn one is not).
    let page = b
        .post(
            "/portal/requests/bulk",
            &[
                ("csrf", &csrf),
                ("scope", "matching"),
                ("filters", "status=open"),
                ("action", "note"),
                ("note", "Checked in the weekly review"),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("<span id=\"done-count\">3</span>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<span id=\"refused-count\">0</span>"));
    for r in &refs[..3] {
        let v = detail(&app, &token, r).await;
        let notes: Vec<&Value> = v["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["note"] == "Checked in the weekly review")
            .collect();
        assert_eq!(notes.len(), 1, "{v}");
    }
    assert!(
        !detail(&app, &token, &refs[3]).await["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["note"] == "Checked in the weekly review")
    );

    // Each request has its own audit entry, under the staff member.
    let (_, audit) = common::json(
        app.get(
            &app.token(Role::Auditor).await,
            &format!("/api/v1/audit?request={}", refs[1]),
        )
        .await,
    )
    .await;
    let entries: Vec<(&str, &str)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert!(
        entries.contains(&("request.extend", "user:agent@staff.example")),
        "{entries:?}"
    );
    assert!(
        entries.contains(&("request.note", "user:agent@staff.example")),
        "{entries:?}"
    );
    let _stopped = app.stop().await;
}
