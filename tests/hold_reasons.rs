//! Stop-the-clock where the law has it (issue 20 item 5): a hold records its reason;
//! only `awaiting_subject` pauses the clock, and only under a regime whose holds may
//! (GDPR, UK GDPR, LGPD); under CCPA and `days:N` no hold moves the due date, and other
//! reasons never do.

mod common;

use chrono::TimeDelta;
use common::{TestApp, json, problem};
use rightsdesk::domain::staff::Role;
use rightsdesk::store::{JobStatus, PageRequest};
use serde_json::{Value, json};

/// A staff-entered request under `regime`, received at T0, held for three whole days
/// (and two hours) with `code`, then resumed: the request after resuming.
async fn held_three_days(
    app: &TestApp,
    agent: &str,
    regime: &str,
    code: Option<&str>,
) -> (Value, Value) {
    let email = format!("{regime}-{code:?}@example.com").replace([':', '"', '(', ')'], "");
    let (s, created) = json(
        app.post_json(
            agent,
            "/api/v1/requests",
            &json!({"kind": "access", "email": email,
                    "regime": regime, "verification_note": "by phone"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{created}");
    let reference = created["reference"].as_str().unwrap().to_string();
    let mut body = json!({"reason": "Please tell us which of your two accounts you mean."});
    if let Some(c) = code {
        body["reason_code"] = c.into();
    }
    let (s, v) = json(
        app.post_json(agent, &format!("/api/v1/requests/{reference}/hold"), &body)
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["hold_reason"], code.unwrap_or("other"), "{v}");
    // Both emails (received, on hold) are sent and their jobs done before the clock jumps:
    // a job still running when three days pass would see its lease expire and run twice.
    let to = format!("To: {}", email.to_lowercase());
    let outbox = app.state.config.data_dir.join("outbox");
    let sent = || {
        std::fs::read_dir(&outbox)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|f| std::fs::read_to_string(f.path()).is_ok_and(|raw| raw.contains(&to)))
            .count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let busy = || async {
        let mut n = 0;
        for status in [JobStatus::Queued, JobStatus::Running] {
            n += app
                .state
                .store
                .list_jobs(Some(status), PageRequest::default())
                .await
                .expect("jobs")
                .items
                .len();
        }
        n
    };
    while (sent() < 2 || busy().await > 0) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(sent(), 2, "received and on-hold emails for {to}");
    app.clock.advance(TimeDelta::hours(3 * 24 + 2));
    let (s, resumed) = json(
        app.post_empty(agent, &format!("/api/v1/requests/{reference}/resume"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{resumed}");
    assert_eq!(resumed["hold_reason"], Value::Null);
    (created, resumed)
}

async fn only_awaiting_subject_pauses_and_only_where_the_law_lets_it(app: TestApp) {
    let agent = app.token(Role::Agent).await;
    let days = |from: &Value, to: &Value| {
        let d = |v: &Value| {
            chrono::NaiveDate::parse_from_str(v["due_date"].as_str().unwrap(), "%Y-%m-%d").unwrap()
        };
        (d(to) - d(from)).num_days()
    };
    for (regime, code, moved) in [
        ("gdpr", Some("awaiting_subject"), 3),
        ("uk_gdpr", Some("awaiting_subject"), 3),
        ("lgpd", Some("awaiting_subject"), 3),
        ("gdpr", Some("awaiting_third_party"), 0),
        ("gdpr", Some("other"), 0),
        ("gdpr", None, 0),
        ("ccpa", Some("awaiting_subject"), 0),
        ("days:30", Some("awaiting_subject"), 0),
    ] {
        let (created, resumed) = held_three_days(&app, &agent, regime, code).await;
        assert_eq!(
            days(&created, &resumed),
            moved,
            "{regime} {code:?}: {created} -> {resumed}"
        );
        let note = resumed["events"].as_array().unwrap().last().unwrap()["note"]
            .as_str()
            .unwrap()
            .to_string();
        if moved == 0 {
            assert!(note.contains("does not pause"), "{regime} {code:?}: {note}");
        } else {
            assert!(note.contains("3 whole day(s) on hold"), "{note}");
        }
    }
    // The on-hold emails tell each subject the truth about their deadline.
    let outbox = app.state.config.data_dir.join("outbox");
    let texts = || -> Vec<String> {
        std::fs::read_dir(&outbox)
            .into_iter()
            .flatten()
            .flatten()
            .map(|f| common::smtp::decoded_text(&std::fs::read_to_string(f.path()).unwrap()))
            .filter(|t| t.contains("on hold"))
            .collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while texts().len() < 8 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let texts = texts();
    assert_eq!(texts.len(), 8);
    assert_eq!(texts.iter().filter(|t| t.contains("is paused")).count(), 3);
    assert_eq!(
        texts.iter().filter(|t| t.contains("keeps running")).count(),
        5
    );
    // An unknown reason code is refused by name.
    let (_, created) = json(
        app.post_json(
            &agent,
            "/api/v1/requests",
            &json!({"kind": "access", "email": "z@example.com", "verification_note": "by phone"}),
        )
        .await,
    )
    .await;
    let reference = created["reference"].as_str().unwrap();
    let v = problem(
        app.post_json(
            &agent,
            &format!("/api/v1/requests/{reference}/hold"),
            &json!({"reason": "x", "reason_code": "lunch"}),
        )
        .await,
        422,
    )
    .await;
    assert!(v["errors"].to_string().contains("reason_code"), "{v}");
}

backend_tests!(only_awaiting_subject_pauses_and_only_where_the_law_lets_it);
