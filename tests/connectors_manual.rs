//! The manual connector through the service and a real SMTP sink: the person named in
//! the data map gets an email with instructions and a completion link; opening the link
//! changes nothing, confirming it finishes the task (once) and the request moves on.

mod common;

use std::time::Duration;

use common::product::{create_and_start, wait_for_status};
use common::smtp::{SmtpSink, decoded_text};
use common::{Backend, json, spawn_app_with_sink};
use rightsdesk::domain::staff::Role;

const VENDOR: &str = "privacy@vendor.example";

/// The app with one manual connector `crm-vendor` whose person is `VENDOR` (`extra` lines
/// added to its declaration), email over real SMTP.
async fn app_with_vendor(
    extra: &str,
    tune: impl FnOnce(&mut rightsdesk::config::Config) + Send + 'static,
) -> Option<(common::TestApp, SmtpSink, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let datamap = dir.path().join("datamap");
    std::fs::create_dir_all(&datamap).unwrap();
    std::fs::write(
        datamap.join("crm.toml"),
        format!("name = \"crm-vendor\"\nkind = \"manual\"\nemail = \"{VENDOR}\"\n{extra}"),
    )
    .unwrap();
    let (app, sink) = spawn_app_with_sink(Backend::Sqlite, move |c| {
        c.datamap_dir = datamap;
        c.email.privacy_team = "privacy@example.com".into();
        tune(c);
    })
    .await?;
    Some((app, sink, dir))
}

/// The vendor's task email: its text and the path of the completion link.
async fn vendor_task(sink: &SmtpSink) -> (String, String) {
    let text = decoded_text(&sink.mail_to(VENDOR, "/tasks/").await.data);
    let start = text.find("/tasks/").expect("a completion link");
    let path: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    (text, path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_confirms_the_task_through_a_single_use_link() {
    let Some((app, sink, _dir)) = app_with_vendor(
        "instructions = \"Search the CRM by email and delete the contact.\"\n",
        |_| {},
    )
    .await
    else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let reference = create_and_start(&app, &agent, "erasure", "ada@example.com").await;

    // The vendor's email: who, what, the instructions and the link.
    let (text, path) = vendor_task(&sink).await;
    assert!(text.contains("ada@example.com"), "{text}");
    assert!(text.contains(&reference), "{text}");
    assert!(text.contains("delete the contact"), "{text}");
    assert!(text.contains("erase the data you hold"), "{text}");

    let (_, v) = json(
        app.get(&agent, &format!("/api/v1/requests/{reference}"))
            .await,
    )
    .await;
    assert_eq!(v["status"], "in_progress");
    assert_eq!(v["tasks"][0]["status"], "waiting");

    // Opening the link (as a mail scanner would) changes nothing.
    let page = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("The task is done"), "{html}");
    assert!(html.contains(&reference));
    let (_, v) = json(
        app.get(&agent, &format!("/api/v1/requests/{reference}"))
            .await,
    )
    .await;
    assert_eq!(v["tasks"][0]["status"], "waiting");

    // Unconfirmed after `escalate_after_days` (7 by default): the privacy team is told
    // once, by the deadline sweep.
    let report = rightsdesk::services::deadlines::sweep(&app.state)
        .await
        .unwrap();
    assert_eq!(report.manual_escalations, 0, "not yet");
    app.clock.advance(chrono::TimeDelta::days(8));
    let report = rightsdesk::services::deadlines::sweep(&app.state)
        .await
        .unwrap();
    assert_eq!(report.manual_escalations, 1);
    let report = rightsdesk::services::deadlines::sweep(&app.state)
        .await
        .unwrap();
    assert_eq!(report.manual_escalations, 0, "escalated once");
    let mut chase = None;
    for _ in 0..100 {
        chase = sink.messages().into_iter().find(|m| {
            m.to.iter().any(|t| t == "privacy@example.com")
                && decoded_text(&m.data).contains("Manual task waiting")
        });
        if chase.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let chase = decoded_text(&chase.expect("the privacy team was told").data);
    assert!(
        chase.contains(&reference) && chase.contains("crm-vendor"),
        "{chase}"
    );
    assert!(
        !chase.contains("ada@example.com"),
        "staff mail carries the reference only"
    );

    // Confirming finishes the task, and the request moves on to review.
    let done = app.client.post(app.url(&path)).send().await.unwrap();
    assert_eq!(done.status(), 200);
    let v = wait_for_status(&app, &agent, &reference, "review").await;
    assert_eq!(v["tasks"][0]["status"], "succeeded", "{v}");

    // The link works once.
    let again = app.client.post(app.url(&path)).send().await.unwrap();
    assert_eq!(again.status(), 410);
    let again = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(again.status(), 410);
    let unknown = app
        .client
        .get(app.url("/tasks/nonsense"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 410);
    app.stop().await;
}

#[test]
fn a_manual_connector_needs_an_address() {
    let err = rightsdesk::connectors::datamap::parse_str(
        "datamap/crm.toml",
        "name = \"crm\"\nkind = \"manual\"\nemail = \"not an address\"\nwho = 1\n",
    )
    .expect_err("invalid");
    let lines: Vec<String> = err.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "datamap/crm.toml: email: is not an email address",
            "datamap/crm.toml: who: unknown field `who`, expected `email`, `instructions`, `link_days` or `escalate_after_days`"
        ]
    );
}

/// The person says their system holds nothing the task could change: the task ends
/// `skipped` with their reason (which is required), not `succeeded`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_may_answer_there_is_nothing_to_do() {
    let Some((app, sink, _dir)) = app_with_vendor("", |_| {}).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let reference = create_and_start(&app, &agent, "objection", "ada@example.com").await;
    let (_, path) = vendor_task(&sink).await;

    // A reason is required; without one nothing changes.
    let resp = app
        .client
        .post(app.url(&path))
        .form(&[("outcome", "skipped"), ("reason", "  ")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("why there is nothing to do")
    );
    let (_, v) = json(
        app.get(&agent, &format!("/api/v1/requests/{reference}"))
            .await,
    )
    .await;
    assert_eq!(v["tasks"][0]["status"], "waiting", "{v}");

    let resp = app
        .client
        .post(app.url(&path))
        .form(&[
            ("outcome", "skipped"),
            ("reason", "We never send this person marketing."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("nothing to do"));
    let v = wait_for_status(&app, &agent, &reference, "review").await;
    let task = &v["tasks"][0];
    assert_eq!(task["status"], "skipped", "{v}");
    assert_eq!(
        task["reason"],
        "the person responsible says there is nothing to do: We never send this person marketing."
    );
    let again = app.client.post(app.url(&path)).send().await.unwrap();
    assert_eq!(again.status(), 410, "the link works once");
    app.stop().await;
}

/// A sale opt-out (CCPA) through a manual connector: the person is asked, in those words,
/// to stop selling or sharing the subject's personal information; their confirmation
/// completes the task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_is_asked_to_stop_selling_for_an_opt_out() {
    let Some((app, sink, _dir)) = app_with_vendor("", |c| {
        c.deadlines.regime = rightsdesk::domain::deadline::Regime::Ccpa;
    })
    .await
    else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let reference = create_and_start(&app, &agent, "opt_out_sale", "ada@example.com").await;
    let (text, path) = vendor_task(&sink).await;
    assert!(text.contains(&reference), "{text}");
    assert!(text.contains("ada@example.com"), "{text}");
    assert!(
        text.contains("stop selling or sharing this person's personal information"),
        "{text}"
    );
    assert!(!text.contains("erase the data"), "{text}");
    let done = app.client.post(app.url(&path)).send().await.unwrap();
    assert_eq!(done.status(), 200);
    let v = wait_for_status(&app, &agent, &reference, "completed").await;
    assert_eq!(v["tasks"][0]["status"], "succeeded", "{v}");
    assert_eq!(v["tasks"][0]["connector"], "crm-vendor", "{v}");
    app.stop().await;
}
