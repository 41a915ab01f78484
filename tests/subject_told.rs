//! What the subject and the recipients are told (GDPR art. 17(3), 19), through the API
//! and a real SMTP listener: an erasure against a data map with `delete`, `anonymize`
//! with a reason and `retain` with a reason names every table with its outcome and
//! reason in the completion email and on the status page; the recipients declared with
//! `notify` get a notice after an erasure, a rectification and a restriction, none after
//! an access; the subject who asked sees the recipients, one who did not ask does not.

mod common;

use std::time::Duration;

use common::product::{create_and_start, product, wait_for_status};
use common::smtp::{self, SmtpSink, decoded_text};
use common::{Backend, Options, TestApp, json, spawn_app_with};
use rightsdesk::config::{
    EmailTransport, ProcessingConfig, ProcessingPurpose, ProcessingRecipient,
};
use rightsdesk::domain::staff::Role;
use rightsdesk::secret::Secret;
use serde_json::{Value, json};

const NOTIFY: &str = "dsr@mail-delivery.example";

fn register() -> ProcessingConfig {
    ProcessingConfig {
        controller: "Shop Ltd".into(),
        supervisory_authority: "Data Protection Commission (IE)".into(),
        purposes: vec![ProcessingPurpose {
            name: "orders".into(),
            description: "Deliver what you ordered".into(),
            ..Default::default()
        }],
        recipients: vec![
            ProcessingRecipient {
                name: "Mail Delivery Ltd".into(),
                role: "processor".into(),
                purpose: "sending our emails".into(),
                transfer: "USA, standard contractual clauses".into(),
                notify: NOTIFY.into(),
                ..Default::default()
            },
            ProcessingRecipient {
                name: "Shop warehouse".into(),
                role: "processor".into(),
                purpose: "packing orders".into(),
                connector: "shop".into(),
                ..Default::default()
            },
            ProcessingRecipient {
                name: "Hosting Ltd".into(),
                role: "processor".into(),
                purpose: "hosting".into(),
                ..Default::default()
            },
        ],
        ..Default::default()
    }
}

/// The plain text of every message to `to` that mentions `reference`.
fn mails_to(sink: &SmtpSink, to: &str, reference: &str) -> Vec<String> {
    sink.messages()
        .iter()
        .filter(|m| m.to.iter().any(|t| t.contains(to)))
        .map(|m| decoded_text(&m.data))
        .filter(|t| t.contains(reference))
        .collect()
}

/// Wait until `n` notices about `reference` reached the recipient.
async fn notices(sink: &SmtpSink, reference: &str, n: usize) -> Vec<String> {
    for _ in 0..150 {
        let got = mails_to(sink, NOTIFY, reference);
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no notice to {NOTIFY} for {reference}");
}

async fn complete(app: &TestApp, token: &str, reference: &str) {
    let (s, v) = json(
        app.post_empty(token, &format!("/api/v1/requests/{reference}/complete"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
}

async fn create(app: &TestApp, token: &str, body: Value) -> String {
    let (s, v) = json(app.post_json(token, "/api/v1/requests", &body).await).await;
    assert_eq!(s, 201, "{v}");
    let reference = v["reference"].as_str().unwrap().to_string();
    let (s, v) = json(
        app.post_empty(token, &format!("/api/v1/requests/{reference}/start"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    reference
}

fn status_link(text: &str) -> String {
    let i = text.find("/status/").expect("a status link");
    text[i..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect()
}

async fn subjects_and_recipients_are_told(backend: Backend) {
    let sink = smtp::start().await;
    let addr = sink.addr;
    let dir = tempfile::tempdir().unwrap();
    let (_shop, datamap) = product(dir.path()).await;
    let opts = Options {
        configure: Box::new(move |c| {
            c.datamap_dir = datamap;
            c.email.transport = EmailTransport::Smtp;
            c.email.smtp_url = Secret::new(format!("smtp://{addr}"));
            c.processing = register();
        }),
        handlers: Vec::new(),
    };
    let Some(app) = spawn_app_with(backend, opts).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;

    // An erasure; the subject asked who received their data.
    let erasure = create(
        &app,
        &agent,
        json!({"kind": "erasure", "email": "ada@example.com", "name": "Ada Lovelace",
               "verification_note": "checked in person", "recipients_requested": true}),
    )
    .await;
    wait_for_status(&app, &agent, &erasure, "review").await;
    complete(&app, &agent, &erasure).await;
    let mail = sink.text_with(&["We have completed", &erasure]).await;
    let tables = [
        "    - customers: 1 record deleted\n",
        "    - orders: 2 records deleted\n",
        "    - order_items: 3 records deleted\n",
        "    - invoices: 2 records anonymised: what identifies you was removed, the rest kept. Why: Invoices are kept for 10 years under tax law\n",
        "    - newsletter: 2 records deleted\n",
        "    - consents: 1 record kept. Why: Proof of consent is kept (GDPR art. 7(1))\n",
    ];
    for line in tables {
        assert!(mail.contains(line), "{line:?} missing:\n{mail}");
    }
    assert!(
        mail.contains(
            "    - addresses: 1 record deleted, 2 records kept. Why: the kept records are shared"
        ),
        "{mail}"
    );
    for line in [
        "You asked us to tell you who received your data (GDPR article 19).",
        "- Mail Delivery Ltd (processor), for sending our emails; transfer outside the EEA: USA, standard contractual clauses. We have told them of your request.",
        "- Shop warehouse (processor), for packing orders. We have told them of your request.",
        "- Hosting Ltd (processor), for hosting\n",
    ] {
        assert!(mail.contains(line), "{line:?} missing:\n{mail}");
    }
    // The status page says the same, table by table.
    let page = app.page(app.url(&status_link(&mail))).await;
    for line in [
        "<li>customers: 1 record deleted</li>",
        "<li>invoices: 2 records anonymised: what identifies you was removed, the rest kept. Why: Invoices are kept for 10 years under tax law</li>",
        "<li>consents: 1 record kept. Why: Proof of consent is kept (GDPR art. 7(1))</li>",
        "Who received your data",
        "<strong>Mail Delivery Ltd</strong>",
    ] {
        assert!(page.contains(line), "{line:?} missing:\n{page}");
    }

    // The recipient with `notify` got one notice: the reference, the address, what to
    // do; not the subject's name.
    let notice = notices(&sink, &erasure, 1).await;
    assert_eq!(notice.len(), 1, "{notice:?}");
    let notice = &notice[0];
    assert!(
        notice.contains("Please erase the personal data about this person"),
        "{notice}"
    );
    assert!(notice.contains("Person: ada@example.com"), "{notice}");
    assert!(
        notice.contains(&format!("Reference: {erasure}")),
        "{notice}"
    );
    assert!(
        !notice.contains("Lovelace"),
        "no more personal data than needed: {notice}"
    );
    // The timeline and the audit log say who was told and how.
    let (_, v) = json(
        app.get(&agent, &format!("/api/v1/requests/{erasure}"))
            .await,
    )
    .await;
    let event = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "recipients_notified")
        .unwrap_or_else(|| panic!("no recipients_notified event: {v}"))
        .clone();
    let note = event["note"].as_str().unwrap();
    assert!(note.contains("Mail Delivery Ltd: notice emailed"), "{note}");
    assert!(
        note.contains("Shop warehouse: told through connector shop (task succeeded)"),
        "{note}"
    );
    assert!(!note.contains("Hosting"), "{note}");
    let auditor = app.token(Role::Auditor).await;
    let (s, audit) = json(
        app.get(
            &auditor,
            &format!("/api/v1/audit?request={erasure}&per_page=100"),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{audit}");
    let entry = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "request.recipients_notified")
        .unwrap_or_else(|| panic!("no audit entry: {audit}"))
        .clone();
    assert!(entry.to_string().contains("Mail Delivery Ltd"), "{entry}");

    // A rectification (not asked for recipients): the recipient gets the corrections;
    // the subject's email lists no recipients.
    let rect = create(
        &app,
        &agent,
        json!({"kind": "rectification", "email": "bob@example.com",
               "verification_note": "checked in person",
               "corrections": [{"field": "name", "value": "Bob B. Babbage"}]}),
    )
    .await;
    wait_for_status(&app, &agent, &rect, "review").await;
    complete(&app, &agent, &rect).await;
    let mail = sink.text_with(&["We have completed", &rect]).await;
    assert!(!mail.contains("Mail Delivery Ltd"), "not asked: {mail}");
    assert!(!mail.contains("who received"), "{mail}");
    let notice = notices(&sink, &rect, 1).await;
    assert!(
        notice[0].contains("Please correct the personal data"),
        "{}",
        notice[0]
    );
    assert!(
        notice[0].contains("- name: Bob B. Babbage"),
        "{}",
        notice[0]
    );

    // A restriction: a notice too.
    let restriction = create_and_start(&app, &agent, "restriction", "cy@example.com").await;
    wait_for_status(&app, &agent, &restriction, "review").await;
    complete(&app, &agent, &restriction).await;
    sink.text_with(&["We have completed", &restriction]).await;
    let notice = notices(&sink, &restriction, 1).await;
    assert!(
        notice[0].contains("Please stop processing"),
        "{}",
        notice[0]
    );

    // An access: completed, and no recipient is told.
    let access = create_and_start(&app, &agent, "access", "bob@example.com").await;
    wait_for_status(&app, &agent, &access, "completed").await;
    sink.text_with(&["We have completed", &access]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(mails_to(&sink, NOTIFY, &access).is_empty());
    let (_, v) = json(app.get(&agent, &format!("/api/v1/requests/{access}")).await).await;
    assert!(
        !v["events"].to_string().contains("recipients_notified"),
        "{v}"
    );
    let _stopped = app.stop().await;
}

/// "Tell me who received my data" is kept from the public form (the ticked box) and the
/// intake API (`recipients_requested`); left out, it is not.
async fn the_ask_is_kept_from_the_form_and_the_api(app: TestApp) {
    let asked = |reference: String| {
        let app = &app;
        async move {
            let req = app
                .state
                .store
                .request_by_reference(&reference)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("no request {reference}"));
            app.state.store.recipients_asked(&req.id).await.unwrap()
        }
    };
    let form = |email: &'static str, tick: bool| {
        let app = &app;
        async move {
            let mut fields = vec![("kind", "erasure"), ("email", email)];
            if tick {
                fields.push(("recipients_requested", "yes"));
            }
            let resp = app
                .client
                .post(app.url("/requests"))
                .form(&fields)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 202);
            let page = resp.text().await.unwrap();
            let i = page.find("DSR-").expect("a reference on the page");
            page[i..i + 13].to_string()
        }
    };
    let page = app.page(app.url("/")).await;
    assert!(page.contains("Tell me who received my data"), "{page}");
    assert!(asked(form("ticked@example.com", true).await).await);
    assert!(!asked(form("unticked@example.com", false).await).await);
    for (email, tick) in [("api-yes@example.com", true), ("api-no@example.com", false)] {
        let (s, v) = json(
            app.client
                .post(app.url("/api/v1/intake"))
                .json(
                    &json!({"kind": "rectification", "email": email, "recipients_requested": tick}),
                )
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(s, 202, "{v}");
        assert_eq!(
            asked(v["reference"].as_str().unwrap().to_string()).await,
            tick
        );
    }
}

/// Without a register, the access package's `about-your-data.json` says plainly that the
/// company did not provide the art. 15(1) information, (h) included.
async fn a_package_without_a_register_says_so(backend: Backend) {
    let sink = smtp::start().await;
    let addr = sink.addr;
    let dir = tempfile::tempdir().unwrap();
    let (_shop, datamap) = product(dir.path()).await;
    let opts = Options {
        configure: Box::new(move |c| {
            c.datamap_dir = datamap;
            c.email.transport = EmailTransport::Smtp;
            c.email.smtp_url = Secret::new(format!("smtp://{addr}"));
            c.organisation = "Shop Ltd".into();
        }),
        handlers: Vec::new(),
    };
    let Some(app) = spawn_app_with(backend, opts).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let access = create_and_start(&app, &agent, "access", "ada@example.com").await;
    wait_for_status(&app, &agent, &access, "completed").await;
    let mail = sink.text_with(&["We have completed", &access]).await;
    let i = mail.find("/download/").expect("a download link");
    let path: String = mail[i..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let resp = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let bytes = resp.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("about-your-data.json").unwrap(), &mut text)
        .unwrap();
    let about: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(about["register_provided"], false, "{about:#}");
    assert!(
        about["register_not_provided"]
            .as_str()
            .unwrap_or("")
            .starts_with("Shop Ltd did not provide its register of processing"),
        "{about:#}"
    );
    let h = &about["automated_decision_making_and_profiling"];
    assert_eq!(h["article"], "GDPR art. 15(1)(h)");
    assert_eq!(h["provided"], false);
    assert!(
        h["statement"]
            .as_str()
            .unwrap()
            .starts_with("Shop Ltd did not provide this information to us."),
        "{h}"
    );
    let _stopped = app.stop().await;
}

/// A recipient's `notify` must be an address, and a recipient is told one way only.
#[test]
fn recipients_are_checked_in_the_configuration() {
    let mut config = rightsdesk::config::Config {
        processing: register(),
        ..Default::default()
    };
    assert!(config.problems().is_empty(), "{:?}", config.problems());
    config.processing.recipients[0].notify = "not an address".into();
    config.processing.recipients[1].notify = NOTIFY.into();
    let keys: Vec<String> = config.problems().into_iter().map(|p| p.key).collect();
    assert_eq!(
        keys,
        [
            "processing.recipients[0].notify",
            "processing.recipients[1]"
        ]
    );
}

backend_fn_tests!(
    subjects_and_recipients_are_told,
    a_package_without_a_register_says_so
);

mod ask {
    use super::*;
    backend_tests!(the_ask_is_kept_from_the_form_and_the_api);
}
