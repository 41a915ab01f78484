//! The staff API over HTTP: the request story and every kind of bad input, on SQLite and
//! PostgreSQL.

mod common;

use common::{TestApp, json, problem};
use rightsdesk::domain::staff::Role;
use serde_json::{Value, json};

backend_tests!(
    story_back_dated_request_through_hold_extend_complete,
    bad_input_gets_problem_answers,
    audit_tampering_is_detected,
    list_filters_and_search,
    create_and_start_in_one_call,
    status_answers_at_once_or_once_the_request_changes,
    requests_entered_and_started_at_once_start_once
);

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, v) = json(app.post_json(token, "/api/v1/requests", &body).await).await;
    assert_eq!(status, 201, "{v}");
    v
}

fn staff_request() -> Value {
    json!({
        "kind": "access",
        "email": "Grace.Hopper@Example.org",
        "name": "Grace Hopper",
        "received_at": "2026-10-01T12:00:00Z",
        "verification_note": "Letter with signed ID copy, checked by phone"
    })
}

async fn story_back_dated_request_through_hold_extend_complete(app: TestApp) {
    let agent = app.token(Role::Agent).await;
    let auditor = app.token(Role::Auditor).await;

    let r = create(&app, &agent, staff_request()).await;
    let reference = r["reference"].as_str().unwrap().to_string();
    assert!(reference.starts_with("DSR-") && reference.len() == 13);
    assert_eq!(r["status"], "open");
    assert_eq!(r["received_at"], "2026-10-01T12:00:00Z");
    // GDPR from 2026-10-01 is 2026-11-01; the 30-day policy promise (2026-10-31) is earlier.
    assert_eq!(r["due_date"], "2026-10-31");
    assert_eq!(r["subject"]["email"], "grace.hopper@example.org");
    assert_eq!(r["overdue"], false);

    let path = |a: &str| format!("/api/v1/requests/{reference}/{a}");
    let (s, v) = json(app.post_empty(&agent, &path("start")).await).await;
    assert_eq!(s, 200, "{v}");
    // No connectors are declared, so fan-out finishes at once.
    assert_eq!(v["status"], "review");

    let (s, v) = json(
        app.post_json(
            &agent,
            &path("hold"),
            &json!({"reason": "waiting for the subject to clarify", "reason_code": "awaiting_subject"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "on_hold");
    assert_eq!(v["held_from"], "review");

    app.clock.advance(chrono::TimeDelta::hours(3 * 24 + 2));
    let (s, v) = json(app.post_empty(&agent, &path("resume")).await).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "review");
    assert_eq!(
        v["due_date"], "2026-11-03",
        "three whole days on hold move the due date"
    );

    let (s, v) = json(
        app.post_json(
            &agent,
            &path("extend"),
            &json!({"reason": "Complex request spanning several systems"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["extended"], true);
    assert_eq!(v["original_due_date"], "2026-11-03");
    assert_eq!(
        v["due_date"], "2027-01-03",
        "GDPR allows two further months"
    );
    assert_eq!(
        v["extension_reason"],
        "Complex request spanning several systems"
    );

    let (s, v) = json(
        app.post_json(
            &agent,
            &path("complete"),
            &json!({"note": "answered by post"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "completed");
    assert!(v["completed_at"].is_string());

    // Events read back in order, with who and what.
    let (s, v) = json(
        app.get(&auditor, &format!("/api/v1/requests/{reference}"))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    let actions: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "create",
            "start",
            "tasks_done",
            "hold",
            "resume",
            "extend",
            "complete"
        ]
    );
    let hold = &v["events"][3];
    assert_eq!(hold["from_status"], "review");
    assert_eq!(hold["to_status"], "on_hold");
    assert_eq!(hold["note"], "waiting for the subject to clarify");
    assert!(hold["actor"].as_str().unwrap().starts_with("token:agent-"));
    assert!(
        v["events"][5]["note"]
            .as_str()
            .unwrap()
            .contains("Complex request")
    );

    // Audit entries for this request: every action, and the auditor's read.
    let (s, a) = json(
        app.get(
            &auditor,
            &format!("/api/v1/audit?request={reference}&per_page=100"),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{a}");
    let mut audited: Vec<&str> = a["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    audited.reverse();
    assert_eq!(
        audited,
        [
            "request.create",
            "request.start",
            "request.hold",
            "request.resume",
            "request.extend",
            "request.complete",
            "request.view"
        ]
    );
    let (s, verify) = json(app.get(&auditor, "/api/v1/audit/verify").await).await;
    assert_eq!(s, 200);
    assert_eq!(verify["ok"], true, "{verify}");

    // A final request accepts nothing more.
    let body = problem(app.post_empty(&agent, &path("start")).await, 409).await;
    assert_eq!(body["current_status"], "completed");
    app.stop().await;
}

async fn bad_input_gets_problem_answers(app: TestApp) {
    let agent = app.token(Role::Agent).await;
    let auditor = app.token(Role::Auditor).await;
    let ok = create(&app, &agent, staff_request()).await;
    let reference = ok["reference"].as_str().unwrap().to_string();

    let field_of = |b: &Value| b["errors"][0]["field"].as_str().unwrap_or("").to_string();
    let mut body = staff_request();
    body["kind"] = json!("delete_everything");
    let p = problem(app.post_json(&agent, "/api/v1/requests", &body).await, 422).await;
    assert_eq!(field_of(&p), "kind");

    let mut body = staff_request();
    body["email"] = json!("not-an-email");
    let p = problem(app.post_json(&agent, "/api/v1/requests", &body).await, 422).await;
    assert_eq!(field_of(&p), "email");

    let mut body = staff_request();
    body["colour"] = json!("blue");
    let p = problem(app.post_json(&agent, "/api/v1/requests", &body).await, 422).await;
    assert_eq!(field_of(&p), "colour");

    let mut body = staff_request();
    body["received_at"] = json!("2026-12-01T00:00:00Z");
    let p = problem(app.post_json(&agent, "/api/v1/requests", &body).await, 422).await;
    assert_eq!(field_of(&p), "received_at");

    let mut body = staff_request();
    body["verification_note"] = json!("   ");
    let p = problem(app.post_json(&agent, "/api/v1/requests", &body).await, 422).await;
    assert_eq!(field_of(&p), "verification_note");

    let mut body = staff_request();
    body["corrections"] = json!([{"field": "name", "value": "x"}]);
    let p = problem(app.post_json(&agent, "/api/v1/requests", &body).await, 422).await;
    assert_eq!(field_of(&p), "corrections");

    let send_raw = |ct: &'static str, body: Vec<u8>| {
        app.client
            .post(app.url("/api/v1/requests"))
            .bearer_auth(&agent)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    problem(
        send_raw("application/json", b"{\"kind\": \"access\",".to_vec())
            .await
            .unwrap(),
        400,
    )
    .await;
    // The server answers before reading a too-large body and drops the connection, so
    // this one goes on a connection of its own.
    let oversized = reqwest::Client::new()
        .post(app.url("/api/v1/requests"))
        .bearer_auth(&agent)
        .header("content-type", "application/json")
        .body(vec![b' '; 1024 * 1024])
        .send()
        .await
        .unwrap();
    problem(oversized, 413).await;
    problem(send_raw("text/plain", b"{}".to_vec()).await.unwrap(), 415).await;

    // Authentication and roles.
    let no_token = app
        .client
        .get(app.url("/api/v1/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        no_token.headers().get("www-authenticate").unwrap(),
        "Bearer"
    );
    problem(no_token, 401).await;
    problem(
        app.get("rd_not-a-real-token", "/api/v1/requests").await,
        401,
    )
    .await;
    let created =
        rightsdesk::http::api::tokens::issue(&app.state, "leaver", Role::Agent, "test", None)
            .await
            .unwrap();
    assert_eq!(
        json(app.get(&created.token, "/api/v1/requests").await)
            .await
            .0,
        200
    );
    let admin = app.token(Role::Admin).await;
    let revoke = app
        .client
        .delete(app.url(&format!("/api/v1/tokens/{}", created.id)))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 204);
    problem(app.get(&created.token, "/api/v1/requests").await, 401).await;
    problem(
        app.post_empty(&auditor, &format!("/api/v1/requests/{reference}/start"))
            .await,
        403,
    )
    .await;
    problem(app.get(&agent, "/api/v1/tokens").await, 403).await;
    assert_eq!(
        json(
            app.get(&auditor, &format!("/api/v1/requests/{reference}"))
                .await
        )
        .await
        .0,
        200
    );

    // Workflow rules.
    let p = problem(
        app.post_empty(&agent, &format!("/api/v1/requests/{reference}/complete"))
            .await,
        409,
    )
    .await;
    assert_eq!(p["current_status"], "open");
    let path = format!("/api/v1/requests/{reference}/extend");
    problem(
        app.post_json(&agent, &path, &json!({"reason": ""})).await,
        422,
    )
    .await;
    problem(
        app.post_json(
            &agent,
            &path,
            &json!({"reason": "x", "until": "2030-01-01"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        json(
            app.post_json(&agent, &path, &json!({"reason": "complex"}))
                .await
        )
        .await
        .0,
        200
    );
    problem(
        app.post_json(&agent, &path, &json!({"reason": "again"}))
            .await,
        409,
    )
    .await;
    problem(
        app.post_empty(&agent, &format!("/api/v1/requests/{reference}/deny"))
            .await,
        422,
    )
    .await;
    let p = problem(
        app.post_json(
            &agent,
            &format!("/api/v1/requests/{reference}/deny"),
            &json!({"reason": "because"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(field_of(&p), "reason");
    problem(
        app.post_json(
            &agent,
            &format!("/api/v1/requests/{reference}/hold"),
            &json!({"reason": " "}),
        )
        .await,
        422,
    )
    .await;
    problem(app.get(&agent, "/api/v1/requests/DSR-AAAA-AAAA").await, 404).await;
    problem(app.get(&agent, "/api/v1/nothing-here").await, 404).await;
    problem(
        app.get(&agent, "/api/v1/requests?status=sleeping").await,
        422,
    )
    .await;
    problem(app.get(&agent, "/api/v1/requests?per_page=1000").await, 422).await;

    // Nothing refused was stored.
    let (_, list) = json(app.get(&agent, "/api/v1/requests").await).await;
    assert_eq!(list["total"], 1, "{list}");
    app.stop().await;
}

async fn audit_tampering_is_detected(app: TestApp) {
    let agent = app.token(Role::Agent).await;
    let auditor = app.token(Role::Auditor).await;
    for _ in 0..3 {
        create(&app, &agent, staff_request()).await;
    }
    let (_, v) = json(app.get(&auditor, "/api/v1/audit/verify").await).await;
    assert_eq!(v["ok"], true);
    let entries = v["entries"].as_i64().unwrap();
    assert!(entries >= 5, "{v}");

    // Someone with database access rewrites history (on PostgreSQL the table refuses
    // updates: only its owner, switching the trigger off, gets that far).
    let sql = "UPDATE audit_log SET actor = 'nobody' WHERE seq = 3";
    match app.backend {
        common::Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        common::Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            let refused = sqlx::query(sql).execute(&pool).await.unwrap_err();
            assert!(refused.to_string().contains("append-only"), "{refused}");
            sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER USER")
                .execute(&pool)
                .await
                .unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
    }
    let (_, v) = json(app.get(&auditor, "/api/v1/audit/verify").await).await;
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["first_broken_seq"], 3, "{v}");
    app.stop().await;
}

async fn list_filters_and_search(app: TestApp) {
    let agent = app.token(Role::Agent).await;
    let mut late = staff_request();
    late["received_at"] = json!("2026-08-01T10:00:00Z");
    late["email"] = json!("late@example.com");
    let late = create(&app, &agent, late).await;
    let mut erase = staff_request();
    erase["kind"] = json!("erasure");
    let erase = create(&app, &agent, erase).await;

    let refs = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["reference"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, v) = json(app.get(&agent, "/api/v1/requests?overdue=true").await).await;
    assert_eq!(refs(&v), [late["reference"].as_str().unwrap()]);
    assert_eq!(v["items"][0]["overdue"], true);
    let (_, v) = json(app.get(&agent, "/api/v1/requests?overdue=false").await).await;
    assert_eq!(refs(&v), [erase["reference"].as_str().unwrap()]);
    let (_, v) = json(app.get(&agent, "/api/v1/requests?kind=erasure").await).await;
    assert_eq!(v["total"], 1);
    let (_, v) = json(app.get(&agent, "/api/v1/requests?q=LATE@example.com").await).await;
    assert_eq!(
        refs(&v),
        [late["reference"].as_str().unwrap()],
        "search by email uses the blind index"
    );
    let prefix = &erase["reference"].as_str().unwrap()[..8].to_lowercase();
    let (_, v) = json(
        app.get(&agent, &format!("/api/v1/requests?q={prefix}"))
            .await,
    )
    .await;
    assert!(refs(&v).contains(&erase["reference"].as_str().unwrap().to_string()));
    let (_, v) = json(app.get(&agent, "/api/v1/requests?per_page=1&page=2").await).await;
    assert_eq!(v["total"], 2);
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    assert_eq!(v["page"], 2);
    // The total is the same whether the page is full, short, or past the end.
    for (query, shown) in [
        ("per_page=1&page=1", 1),
        ("per_page=5&page=1", 2),
        ("per_page=1&page=3", 0),
        ("per_page=2&page=2", 0),
    ] {
        let (_, v) = json(app.get(&agent, &format!("/api/v1/requests?{query}")).await).await;
        assert_eq!(v["total"], 2, "{query}: {v}");
        assert_eq!(v["items"].as_array().unwrap().len(), shown, "{query}: {v}");
    }
    // Lists never carry identity.
    assert!(!v.to_string().contains("example"));
    app.stop().await;
}

/// `start: true` on a create starts the request in the same call; a request that may not
/// start (here: a repeat of an open one) is still created, stays `open`, and says why.
async fn create_and_start_in_one_call(app: TestApp) {
    let agent = app.token(Role::Agent).await;
    let body = |start: Value| {
        json!({
            "kind": "erasure",
            "email": "ada@example.org",
            "verification_note": "by phone",
            "start": start,
        })
    };
    let v = create(&app, &agent, body(json!(true))).await;
    // No connectors are declared, so the started request's fan-out finishes at once.
    assert_eq!(v["status"], "review", "{v}");
    let actions: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions[..2], ["create", "start"], "{v}");
    assert!(v.get("start_refused").is_none(), "{v}");
    let first = v["reference"].as_str().unwrap().to_string();
    // What the request's own page says, read again.
    let stored = app.staff_view(&first).await;
    assert_eq!(stored["status"], "review", "{stored}");

    // The same person and kind while the first is open: created, linked, not started.
    let v = create(&app, &agent, body(json!(true))).await;
    assert_eq!(v["status"], "open", "{v}");
    assert_eq!(v["duplicate_of"], first.as_str(), "{v}");
    let why = v["start_refused"].as_str().unwrap_or_default();
    assert!(why.contains("repeats") && why.contains(&first), "{v}");
    let second = v["reference"].as_str().unwrap().to_string();
    assert_eq!(app.staff_view(&second).await["status"], "open");

    // Without the flag (or with `false`) nothing changes: the request waits at `open`.
    let mut other = body(json!(false));
    other["email"] = json!("brian@example.org");
    let v = create(&app, &agent, other).await;
    assert_eq!(v["status"], "open", "{v}");
    assert!(v.get("start_refused").is_none(), "{v}");
    // A flag that is not a boolean is refused before anything is created.
    let (s, v) = json(
        app.post_json(&agent, "/api/v1/requests", &body(json!("yes")))
            .await,
    )
    .await;
    assert_eq!(s, 422, "{v}");
}

/// `GET /requests/{id}/status`: at once without `version`; with it, once the request has
/// changed (by this process, or behind its back as another replica would), or after
/// `wait` seconds with the same version.
async fn status_answers_at_once_or_once_the_request_changes(app: TestApp) {
    let agent = app.token(Role::Agent).await;
    let auditor = app.token(Role::Auditor).await;
    let mut body = staff_request();
    body["received_at"] = Value::Null;
    let v = create(&app, &agent, body).await;
    let reference = v["reference"].as_str().unwrap().to_string();
    let path = format!("/api/v1/requests/{reference}/status");
    let at_once = |app: &TestApp, token: String, path: String| {
        let app_url = app.url(&path);
        async move {
            let r = reqwest::Client::new()
                .get(app_url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            json(r).await
        }
    };
    let (s, now) = at_once(&app, auditor.clone(), path.clone()).await;
    assert_eq!(s, 200, "{now}");
    assert_eq!(now["status"], "open", "{now}");
    assert_eq!(now["final"], false, "{now}");
    // Nothing of the subject in it.
    assert!(!now.to_string().contains("Hopper"), "{now}");
    let v0 = now["version"].as_i64().unwrap();

    // Nothing changes: the same version comes back once the wait is over.
    let (s, same) = at_once(&app, auditor.clone(), format!("{path}?version={v0}&wait=1")).await;
    assert_eq!(s, 200, "{same}");
    assert_eq!(same["version"], v0, "{same}");
    assert_eq!(same["status"], "open", "{same}");

    // A change made through this process answers a waiting call with the new state.
    let began = std::time::Instant::now();
    let waiting = tokio::spawn(at_once(
        &app,
        auditor.clone(),
        format!("{path}?version={v0}&wait=20"),
    ));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let held = app
        .post_ok(
            &agent,
            &format!("/api/v1/requests/{reference}/hold"),
            &json!({"reason": "asked for a clearer ID copy"}),
        )
        .await;
    assert_eq!(held["status"], "on_hold", "{held}");
    let (s, changed) = waiting.await.unwrap();
    assert_eq!(s, 200, "{changed}");
    assert_eq!(changed["status"], "on_hold", "{changed}");
    let v1 = changed["version"].as_i64().unwrap();
    assert!(v1 > v0, "{changed}");
    assert!(
        began.elapsed() < std::time::Duration::from_secs(15),
        "the wait ran its course"
    );

    // A change this process did not make (another replica's) is found by reading again.
    let waiting = tokio::spawn(at_once(
        &app,
        auditor.clone(),
        format!("{path}?version={v1}&wait=20"),
    ));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    app.store_sql(&format!(
        "UPDATE requests SET status = 'withdrawn', version = version + 1 WHERE reference = '{reference}'"
    ))
    .await;
    let (s, elsewhere) = waiting.await.unwrap();
    assert_eq!(s, 200, "{elsewhere}");
    assert_eq!(elsewhere["status"], "withdrawn", "{elsewhere}");
    assert_eq!(elsewhere["final"], true, "{elsewhere}");
    assert_eq!(elsewhere["version"], v1 + 1, "{elsewhere}");

    // Bad input and unknown requests get problems.
    let p = problem(
        app.get(&auditor, &format!("{path}?version=1&wait=26"))
            .await,
        422,
    )
    .await;
    assert!(p.to_string().contains("wait"), "{p}");
    let p = problem(app.get(&auditor, &format!("{path}?version=one")).await, 422).await;
    assert!(p.to_string().contains("version"), "{p}");
    problem(
        app.get(&auditor, "/api/v1/requests/DSR-0000-0000/status")
            .await,
        404,
    )
    .await;
}

/// Several calls entering and starting the same person's request of the same kind at the
/// same moment: exactly one is started, every other is entered, linked to it and left
/// `open` (each call holds the person's lock while it looks and stores).
async fn requests_entered_and_started_at_once_start_once(app: TestApp) {
    let agent = app.token(Role::Agent).await;
    let body = json!({
        "kind": "erasure",
        "email": "Ada@Example.org",
        "verification_note": "by phone",
        "start": true,
    });
    // Every call waits at the barrier, then all go at once.
    let calls_at_once = 8;
    let go = std::sync::Arc::new(tokio::sync::Barrier::new(calls_at_once));
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..calls_at_once {
        let (client, url, token, body) = (
            reqwest::Client::new(),
            app.url("/api/v1/requests"),
            agent.clone(),
            body.clone(),
        );
        let go = go.clone();
        calls.spawn(async move {
            // A connection made before the barrier, so the calls themselves meet.
            let _ = client
                .get(url.replace("/api/v1/requests", "/healthz"))
                .send()
                .await;
            go.wait().await;
            let r = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            json(r).await
        });
    }
    let mut started = Vec::new();
    let mut linked = Vec::new();
    while let Some(done) = calls.join_next().await {
        let (status, v) = done.unwrap();
        assert_eq!(status, 201, "{v}");
        if v["status"] == "open" {
            linked.push(v);
        } else {
            started.push(v);
        }
    }
    let references = |vs: &[Value]| -> Vec<String> {
        vs.iter()
            .map(|v| format!("{} {}", v["reference"], v["status"]))
            .collect()
    };
    assert_eq!(started.len(), 1, "started: {:?}", references(&started));
    let first = started[0]["reference"].as_str().unwrap();
    // Started (no connector is declared: on to review at once), both steps on its
    // timeline.
    let stored = app.staff_view(first).await;
    assert_eq!(stored["status"], "review", "{stored}");
    let actions: Vec<&str> = stored["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions[..2], ["create", "start"], "{stored}");
    assert_eq!(linked.len(), calls_at_once - 1);
    for v in &linked {
        assert_eq!(v["duplicate_of"], first, "{v}");
        assert!(
            v["start_refused"]
                .as_str()
                .unwrap_or_default()
                .contains(first),
            "{v}"
        );
        let reference = v["reference"].as_str().unwrap();
        assert_eq!(app.staff_view(reference).await["status"], "open");
    }
}
