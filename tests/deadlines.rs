//! Deadline enforcement with a test clock: reminders once each, overdue escalation, holds
//! and extensions moving reminders, expiry of unverified requests, CCPA receipt checks,
//! the SLA report, metrics, and one scheduled tick per slot across replicas.

mod common;

use std::time::Duration;

use chrono::TimeDelta;
use common::smtp::{self, SmtpSink};
use common::{Backend, Options, TestApp, json, spawn_app_with, t};
use rightsdesk::config::{Config, EmailTransport};
use rightsdesk::domain::staff::Role;
use rightsdesk::secret::Secret;
use rightsdesk::services::deadlines::sweep;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(15);

async fn app(backend: Backend, tune: fn(&mut Config)) -> Option<(TestApp, SmtpSink)> {
    let sink = smtp::start().await;
    let addr = sink.addr;
    let opts = Options {
        configure: Box::new(move |c| {
            c.email.transport = EmailTransport::Smtp;
            c.email.smtp_url = Secret::new(format!("smtp://{addr}"));
            c.email.privacy_team = "team@example.com".into();
            c.schedules.enabled = false;
            tune(c);
        }),
        handlers: Vec::new(),
    };
    Some((spawn_app_with(backend, opts).await?, sink))
}

async fn create(app: &TestApp, token: &str, body: Value) -> String {
    let (s, v) = json(app.post_json(token, "/api/v1/requests", &body).await).await;
    assert_eq!(s, 201, "{v}");
    v["reference"].as_str().unwrap().to_string()
}

/// Set the clock to `at` once no job is running.
async fn set_clock(app: &TestApp, at: &str) {
    app.settle().await;
    app.clock.set(t(at));
}

/// Set the clock to 10:00 UTC of `day` and run one sweep; wait for its emails.
async fn sweep_on(app: &TestApp, sink: &SmtpSink, day: &str, expect_total: usize) {
    set_clock(app, &format!("{day}T10:00:00Z")).await;
    sweep(&app.state).await.unwrap();
    app.state.queue.wake();
    sink.wait_for(expect_total, WAIT).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        sink.messages().len(),
        expect_total,
        "emails after the sweep on {day}: {:?}",
        sink.messages()
            .iter()
            .map(|m| (m.to.clone(), smtp::header(&m.data, "subject")))
            .collect::<Vec<_>>()
    );
}

fn subjects_to(sink: &SmtpSink, to: &str) -> Vec<String> {
    sink.messages()
        .iter()
        .filter(|m| m.to.iter().any(|t| t == to))
        .map(|m| smtp::header(&m.data, "subject").unwrap_or_default())
        .collect()
}

async fn reminders_once_each_then_escalation(backend: Backend) {
    let Some((app, sink)) = app(backend, |_| {}).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let reference = create(
        &app,
        &agent,
        json!({"kind": "erasure", "email": "s@example.com", "verification_note": "phone"}),
    )
    .await;
    sink.wait_for(1, WAIT).await; // the subject's acknowledgement
    let (s, v) = json(
        app.post_json(
            &agent,
            &format!("/api/v1/requests/{reference}/assign"),
            &json!({"assignee": "Owner@Example.com"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["assignee"], "owner@example.com");
    assert_eq!(v["due_date"], "2026-11-09");

    sweep_on(&app, &sink, "2026-11-01", 1).await; // T-8: nothing yet
    sweep_on(&app, &sink, "2026-11-02", 2).await; // T-7
    sweep_on(&app, &sink, "2026-11-02", 2).await; // same day again: nothing new
    sweep_on(&app, &sink, "2026-11-05", 2).await; // T-4: nothing
    sweep_on(&app, &sink, "2026-11-06", 3).await; // T-3
    sweep_on(&app, &sink, "2026-11-08", 4).await; // T-1
    sweep_on(&app, &sink, "2026-11-09", 4).await; // due date: the 1-day reminder was sent
    let owner = subjects_to(&sink, "owner@example.com");
    assert_eq!(owner.len(), 3, "{owner:?}");
    assert!(
        owner[0].starts_with("Due in 7 days")
            && owner[1].starts_with("Due in 3 days")
            && owner[2].starts_with("Due tomorrow"),
        "{owner:?}"
    );
    assert!(owner.iter().all(|s| s.contains(&reference)));

    let (_, list) = json(app.get(&agent, "/api/v1/requests?overdue=true").await).await;
    assert_eq!(list["total"], 0);
    sweep_on(&app, &sink, "2026-11-10", 6).await; // T+1: escalation to the assignee and the team
    sweep_on(&app, &sink, "2026-11-11", 6).await; // once only
    let owner = subjects_to(&sink, "owner@example.com");
    assert!(owner[3].starts_with("Overdue"), "{owner:?}");
    let team = subjects_to(&sink, "team@example.com");
    assert_eq!(team.len(), 1);
    assert!(team[0].starts_with("Overdue"));
    assert!(
        !sink
            .messages()
            .iter()
            .any(|m| m.to.iter().any(|t| t == "team@example.com")
                && m.data.contains("s@example.com"))
    );

    let (_, list) = json(app.get(&agent, "/api/v1/requests?overdue=true").await).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["overdue"], true);
    let metrics = app.page(app.metrics_url()).await;
    assert!(
        metrics.contains("rightsdesk_requests_overdue 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("rightsdesk_requests_open{status=\"open\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("rightsdesk_emails{status=\"sent\"} 6"),
        "{metrics}"
    );
    assert!(!metrics.contains("example.com"));
    app.stop().await;
}

async fn hold_silences_reminders_and_extension_moves_them(backend: Backend) {
    let Some((app, sink)) = app(backend, |_| {}).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let reference = create(
        &app,
        &agent,
        json!({"kind": "access", "email": "h@example.com", "verification_note": "post"}),
    )
    .await;
    sink.wait_for(1, WAIT).await;
    set_clock(&app, "2026-11-01T08:00:00Z").await;
    let path = |a: &str| format!("/api/v1/requests/{reference}/{a}");
    assert_eq!(
        json(
            app.post_json(
                &agent,
                &path("hold"),
                &json!({"reason": "waiting for ID", "reason_code": "awaiting_subject"})
            )
            .await
        )
        .await
        .0,
        200
    );
    sink.wait_for(2, WAIT).await; // on-hold notice to the subject
    for day in ["2026-11-02", "2026-11-06", "2026-11-08", "2026-11-10"] {
        sweep_on(&app, &sink, day, 2).await;
    }
    set_clock(&app, "2026-11-10T09:00:00Z").await;
    let (_, v) = json(app.post_empty(&agent, &path("resume")).await).await;
    assert_eq!(v["due_date"], "2026-11-18", "nine whole days on hold");
    sweep_on(&app, &sink, "2026-11-11", 3).await; // T-7 of the moved date
    assert!(subjects_to(&sink, "team@example.com")[0].starts_with("Due in 7 days"));

    set_clock(&app, "2026-11-12T09:00:00Z").await;
    let (s, v) = json(
        app.post_json(&agent, &path("extend"), &json!({"reason": "complex"}))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["due_date"], "2027-01-18");
    sink.wait_for(4, WAIT).await; // extension notice to the subject
    sweep_on(&app, &sink, "2026-11-15", 4).await; // T-3 of the old date: nothing
    sweep_on(&app, &sink, "2027-01-11", 5).await; // T-7 of the new date
    let team = subjects_to(&sink, "team@example.com");
    assert_eq!(team.len(), 2);
    assert!(team[1].contains("2027-01-18"), "{team:?}");
    app.stop().await;
}

async fn unverified_requests_expire_and_lose_identity(backend: Backend) {
    let Some((app, sink)) = app(backend, |_| {}).await else {
        return;
    };
    let r = app
        .client
        .post(app.url("/api/v1/intake"))
        .json(&json!({"kind": "access", "email": "x@example.com", "name": "Xavier"}))
        .send()
        .await
        .unwrap();
    let (_, v) = json(r).await;
    let reference = v["reference"].as_str().unwrap().to_string();
    let mails = sink.wait_for(1, WAIT).await;
    let text = smtp::decoded_text(&mails[0].data);
    let start = text.find("/verify/").unwrap();
    let path: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();

    app.clock.advance(TimeDelta::days(13));
    assert_eq!(sweep(&app.state).await.unwrap().expired, 0);
    app.clock
        .advance(TimeDelta::days(1) + TimeDelta::seconds(1));
    let report = sweep(&app.state).await.unwrap();
    assert_eq!(report.expired, 1);
    app.state.queue.wake();
    let mails = sink.wait_for(2, WAIT).await;
    assert_eq!(mails[1].to, ["x@example.com"]);
    assert!(
        smtp::header(&mails[1].data, "subject")
            .unwrap()
            .contains(&reference)
    );

    let auditor = app.token(Role::Auditor).await;
    let (_, v) = json(
        app.get(&auditor, &format!("/api/v1/requests/{reference}"))
            .await,
    )
    .await;
    assert_eq!(v["status"], "expired");
    assert_eq!(v["subject"]["email"], Value::Null);
    assert_eq!(v["subject"]["name"], Value::Null);
    assert_eq!(v["kind"], "access", "reference, kind and dates are kept");
    assert_eq!(
        app.client
            .get(app.url(&path))
            .send()
            .await
            .unwrap()
            .status(),
        410
    );
    assert_eq!(sweep(&app.state).await.unwrap().expired, 0);
    app.stop().await;
}

async fn ccpa_receipt_not_confirmed_is_escalated(backend: Backend) {
    let Some((app, sink)) = app(backend, |c| {
        c.deadlines.regime = "ccpa".parse().unwrap();
        c.deadlines.unverified_expire = rightsdesk::config::HumanDuration::parse("60d").unwrap();
        c.jobs.max_attempts = 1;
    })
    .await
    else {
        return;
    };
    // The verification email (the receipt confirmation) bounces.
    sink.reject_next(550);
    let r = app
        .client
        .post(app.url("/api/v1/intake"))
        .json(&json!({"kind": "erasure", "email": "ca@example.com"}))
        .send()
        .await
        .unwrap();
    let (_, v) = json(r).await;
    let reference = v["reference"].as_str().unwrap().to_string();
    let auditor = app.token(Role::Auditor).await;
    for _ in 0..100 {
        let (_, d) = json(
            app.get(&auditor, &format!("/api/v1/requests/{reference}"))
                .await,
        )
        .await;
        if d["emails"][0]["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Received Saturday 2026-10-10: ten business days end Friday 2026-10-23.
    sweep_on(&app, &sink, "2026-10-23", 0).await;
    sweep_on(&app, &sink, "2026-10-24", 1).await;
    sweep_on(&app, &sink, "2026-10-26", 1).await;
    let team = subjects_to(&sink, "team@example.com");
    assert!(
        team[0].starts_with("Receipt not confirmed") && team[0].contains(&reference),
        "{team:?}"
    );
    app.stop().await;
}

async fn sla_report_matches_hand_counted_requests(backend: Backend) {
    let Some((app, _sink)) = app(backend, |_| {}).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let body = |kind: &str, received: &str| json!({"kind": kind, "email": "r@example.com", "received_at": received, "verification_note": "n"});
    let finish = |reference: String| {
        let agent = agent.clone();
        let app = &app;
        async move {
            assert_eq!(
                json(
                    app.post_empty(&agent, &format!("/api/v1/requests/{reference}/start"))
                        .await
                )
                .await
                .0,
                200
            );
            assert_eq!(
                json(
                    app.post_empty(&agent, &format!("/api/v1/requests/{reference}/complete"))
                        .await
                )
                .await
                .0,
                200
            );
        }
    };
    // A: access received 09-05, answered 09-20 (15 days, on time).
    app.clock.set(t("2026-09-20T12:00:00Z"));
    let a = create(&app, &agent, body("access", "2026-09-05T10:00:00Z")).await;
    finish(a).await;
    // D: erasure received 10-01, refused 10-02 (1 day, on time).
    app.clock.set(t("2026-10-02T12:00:00Z"));
    let d = create(&app, &agent, body("erasure", "2026-10-01T10:00:00Z")).await;
    let (s, _) = json(
        app.post_json(
            &agent,
            &format!("/api/v1/requests/{d}/deny"),
            &json!({"reason": "excessive"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    // B: access received 09-10 (due 10-10), answered 10-20: late, 40 days.
    app.clock.set(t("2026-10-20T12:00:00Z"));
    let b = create(&app, &agent, body("access", "2026-09-10T10:00:00Z")).await;
    finish(b).await;
    // C: erasure received 09-15 (due 10-15), still open: overdue.
    create(&app, &agent, body("erasure", "2026-09-15T10:00:00Z")).await;

    let (s, v) = json(
        app.get(&agent, "/api/v1/reports/sla?from=2026-09&to=2026-10")
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["lines"],
        json!([
            {"month": "2026-09", "kind": "access", "received": 2, "answered_on_time": 1, "answered_late": 1, "open": 0, "overdue": 0, "median_days_to_answer": 27.5},
            {"month": "2026-09", "kind": "erasure", "received": 1, "answered_on_time": 0, "answered_late": 0, "open": 1, "overdue": 1, "median_days_to_answer": null},
            {"month": "2026-10", "kind": "erasure", "received": 1, "answered_on_time": 1, "answered_late": 0, "open": 0, "overdue": 0, "median_days_to_answer": 1.0},
        ])
    );
    let csv = app
        .get(
            &agent,
            "/api/v1/reports/sla?from=2026-09&to=2026-10&format=csv",
        )
        .await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    assert!(text.starts_with(
        "month,kind,received,answered_on_time,answered_late,open,overdue,median_days_to_answer\r\n"
    ));
    assert!(text.contains("2026-09,access,2,1,1,0,0,27.5\r\n"), "{text}");
    let (s, _) = json(app.get(&agent, "/api/v1/reports/sla?from=2026-13").await).await;
    assert_eq!(s, 422);
    app.stop().await;
}

backend_fn_tests!(
    reminders_once_each_then_escalation,
    hold_silences_reminders_and_extension_moves_them,
    unverified_requests_expire_and_lose_identity,
    ccpa_receipt_not_confirmed_is_escalated,
    sla_report_matches_hand_counted_requests,
    us_state_regimes_through_the_staff_api,
);

/// Two replicas on one PostgreSQL database, ticking every second: each tick is one job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_run_each_tick_once() {
    let Some(base) = common::postgres_url() else {
        return;
    };
    common::install_crypto();
    let database = common::fresh_postgres_database(&base).await;
    let url = database.url.clone();
    // Time counts from before the first replica starts: it may tick while the second one
    // is still starting on a loaded machine.
    let started = std::time::Instant::now();
    let mut apps = Vec::new();
    for _ in 0..2 {
        let url = url.clone();
        let opts = Options {
            configure: Box::new(move |c| {
                c.database_url = Secret::new(url);
                c.schedules.deadline_sweep = "* * * * * *".into();
            }),
            handlers: Vec::new(),
        };
        apps.push(spawn_app_with(Backend::Sqlite, opts).await.unwrap());
    }
    // Wait for a few ticks (a loaded machine may start the schedulers late), then stop.
    let store = apps[0].state.store.clone();
    let sweep_keys = || async {
        store
            .list_jobs(
                None,
                rightsdesk::store::PageRequest {
                    page: 1,
                    per_page: 100,
                },
            )
            .await
            .unwrap()
            .items
            .iter()
            .filter(|j| j.kind == "deadlines.sweep")
            .count()
    };
    while sweep_keys().await < 3 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for a in apps {
        a.stop().await;
    }
    // Ticks may still be queued while the replicas stop.
    let elapsed = started.elapsed().as_secs_f64();
    let jobs = store
        .list_jobs(
            None,
            rightsdesk::store::PageRequest {
                page: 1,
                per_page: 100,
            },
        )
        .await
        .unwrap();
    let keys: Vec<String> = jobs
        .items
        .iter()
        .filter(|j| j.kind == "deadlines.sweep")
        .filter_map(|j| j.dedupe_key.clone())
        .collect();
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(keys.len(), unique.len());
    let sweeps: Vec<_> = jobs
        .items
        .iter()
        .filter(|j| j.kind == "deadlines.sweep")
        .collect();
    let done = sweeps
        .iter()
        .filter(|j| j.status == rightsdesk::store::JobStatus::Done)
        .count();
    // Each replica may have queued a last sweep as it stopped; every other one ran.
    assert!(done + 2 >= sweeps.len(), "the sweeps ran: {sweeps:?}");
    assert!(keys.len() >= 2, "ticks ran: {keys:?}");
    assert!(
        (keys.len() as f64) <= elapsed + 1.0,
        "{} ticks in {elapsed:.1}s: some ran twice",
        keys.len()
    );
}

/// Staff enter requests under each US state regime: the due date follows the statute
/// (45 days, Iowa 90) counted from receipt, a configured override changes it, a hold
/// only moves it where the regime lets a hold pause the clock, and the extension is the
/// regime's.
async fn us_state_regimes_through_the_staff_api(backend: Backend) {
    let Some((app, _sink)) = app(backend, |c| {
        c.deadlines.policy_days = 0;
        c.regimes.insert(
            "ucpa".into(),
            toml::from_str("response = \"30 days\"").expect("override"),
        );
    })
    .await
    else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let enter = |regime: &'static str| {
        json!({
            "kind": "access",
            "email": format!("{regime}@example.com"),
            "received_at": "2026-10-01T12:00:00Z",
            "regime": regime,
            "verification_note": "letter with ID"
        })
    };
    let mut refs = std::collections::BTreeMap::new();
    for (regime, due) in [
        ("vcdpa", "2026-11-15"),
        ("cpa", "2026-11-15"),
        ("ctdpa", "2026-11-15"),
        ("tdpsa", "2026-11-15"),
        ("ocpa", "2026-11-15"),
        ("icdpa", "2026-12-30"),
        // `[regimes.ucpa] response = "30 days"`.
        ("ucpa", "2026-10-31"),
    ] {
        let (s, v) = json(
            app.post_json(&agent, "/api/v1/requests", &enter(regime))
                .await,
        )
        .await;
        assert_eq!(s, 201, "{regime}: {v}");
        assert_eq!(v["regime"], regime, "{v}");
        assert_eq!(v["due_date"], due, "{regime}: {v}");
        refs.insert(regime, v["reference"].as_str().unwrap().to_string());
    }
    // An unknown regime is a problem naming the field.
    let resp = app
        .post_json(&agent, "/api/v1/requests", &enter("nevada"))
        .await;
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    assert!(status == 400 || status == 422, "{status}: {body}");
    assert!(body.contains("regime"), "{body}");

    // Three days on hold: Virginia's clock keeps running, Oregon's pauses.
    app.clock.set(t("2026-10-12T09:00:00Z"));
    let path = |r: &str, a: &str| format!("/api/v1/requests/{}/{a}", refs[r]);
    for r in ["vcdpa", "ocpa"] {
        let (s, v) = json(app.post_empty(&agent, &path(r, "start")).await).await;
        assert_eq!(s, 200, "{v}");
        let (s, v) = json(
            app.post_json(
                &agent,
                &path(r, "hold"),
                &json!({"reason": "waiting for ID", "reason_code": "awaiting_subject"}),
            )
            .await,
        )
        .await;
        assert_eq!(s, 200, "{v}");
    }
    app.clock.set(t("2026-10-15T10:00:00Z"));
    let (_, v) = json(app.post_empty(&agent, &path("vcdpa", "resume")).await).await;
    assert_eq!(
        v["due_date"], "2026-11-15",
        "Virginia: a hold does not pause: {v}"
    );
    let (_, v) = json(app.post_empty(&agent, &path("ocpa", "resume")).await).await;
    assert_eq!(
        v["due_date"], "2026-11-18",
        "Oregon: three whole days on hold: {v}"
    );

    // The regime's extension: 45 more days; Iowa's 45 on top of 90.
    for (r, extended) in [
        ("vcdpa", "2026-12-30"),
        ("icdpa", "2027-02-13"),
        ("ucpa", "2026-12-15"),
    ] {
        let (s, v) = json(
            app.post_json(
                &agent,
                &path(r, "extend"),
                &json!({"reason": "many systems"}),
            )
            .await,
        )
        .await;
        assert_eq!(s, 200, "{r}: {v}");
        assert_eq!(v["due_date"], extended, "{r}: {v}");
    }
}
