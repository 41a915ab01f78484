//! Asking the subject for information (issue 20 item 5) and authorized agents (issue 21
//! item 6), end to end over HTTP and a real SMTP listener, on SQLite and PostgreSQL:
//! the question is emailed, the subject answers with a file on the status page, the
//! answer resumes the request (the due date moves under GDPR, not under CCPA), the file
//! is sealed at rest and gone after `closed_request_pii`; garbage uploads get a readable
//! page; an agent's request is confirmed by the subject, followed by the agent through
//! its own link, and answered to the subject only.

mod common;
#[path = "security/support.rs"]
mod support;

use chrono::TimeDelta;
use common::smtp::{self, SmtpSink};
use common::{Backend, TestApp, json, problem, spawn_app_with_sink};
use rightsdesk::domain::staff::Role;
use serde_json::{Value, json};

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n";

async fn app_with_sink(
    backend: Backend,
    datamap: Option<std::path::PathBuf>,
) -> Option<(TestApp, SmtpSink)> {
    spawn_app_with_sink(backend, move |c| {
        if let Some(d) = datamap {
            c.datamap_dir = d;
        }
        c.schedules.enabled = false;
    })
    .await
}

/// A `multipart/form-data` body: text fields and `(field, file name, bytes)` files.
fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "rightsdesk-test-boundary-7f3a";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, file, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_multipart(
    app: &TestApp,
    url: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> (u16, String) {
    let (ct, body) = multipart(fields, files);
    let r = app
        .client
        .post(url)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn staff_view(app: &TestApp, token: &str, reference: &str) -> Value {
    let (s, v) = json(
        app.get(token, &format!("/api/v1/requests/{reference}"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v
}

fn due(v: &Value) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(v["due_date"].as_str().unwrap(), "%Y-%m-%d").unwrap()
}

/// A staff-entered request under `regime`; its status link from the acknowledgement.
async fn entered(
    app: &TestApp,
    sink: &SmtpSink,
    agent: &str,
    regime: &str,
    email: &str,
) -> (String, String) {
    let (s, v) = json(
        app.post_json(
            agent,
            "/api/v1/requests",
            &json!({"kind": "access", "email": email, "regime": regime, "verification_note": "by phone"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let reference = v["reference"].as_str().unwrap().to_string();
    let ack = sink.mails_to(email, "/status/", 1).await;
    assert_eq!(ack.len(), 1, "acknowledgement to {email}");
    (reference, app.link(&ack[0], "/status/"))
}

async fn question_answered_with_a_file_resumes_and_the_file_is_purged(backend: Backend) {
    let Some((app, sink)) = app_with_sink(backend, None).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let (gdpr_ref, gdpr_status) = entered(&app, &sink, &agent, "gdpr", "ada@example.com").await;
    let (ccpa_ref, ccpa_status) = entered(&app, &sink, &agent, "ccpa", "cal@example.com").await;
    let before_gdpr = staff_view(&app, &agent, &gdpr_ref).await;
    let before_ccpa = staff_view(&app, &agent, &ccpa_ref).await;

    // Staff ask; an empty question is refused by field.
    let p = problem(
        app.post_json(
            &agent,
            &format!("/api/v1/requests/{gdpr_ref}/ask"),
            &json!({"question": "  "}),
        )
        .await,
        422,
    )
    .await;
    assert!(p["errors"].to_string().contains("question"), "{p}");
    for reference in [&gdpr_ref, &ccpa_ref] {
        let (s, v) = json(
            app.post_json(
                &agent,
                &format!("/api/v1/requests/{reference}/ask"),
                &json!({"question": "Which of your two accounts do you mean? Please send the invoice."}),
            )
            .await,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], "on_hold");
        assert_eq!(v["hold_reason"], "awaiting_subject");
    }
    // The question reaches the subject by email, with the status link.
    let asked = sink
        .mails_to("ada@example.com", "Which of your two accounts", 1)
        .await;
    assert_eq!(asked.len(), 1);
    assert!(smtp::decoded_text(&asked[0].data).contains("/status/"));
    let page = app.page(&gdpr_status).await;
    assert!(page.contains("Which of your two accounts"), "{page}");
    assert!(page.contains("waiting for your answer"), "{page}");

    app.settle().await;
    app.clock.advance(TimeDelta::hours(3 * 24 + 2));

    // Garbage is refused with a readable page, and nothing changes.
    let reply_url = format!("{gdpr_status}/reply");
    let (s, page) = post_multipart(
        &app,
        &reply_url,
        &[("text", "here")],
        &[("files", "invoice.pdf", b"MZ\x90\0\x03\0\0\0")],
    )
    .await;
    assert_eq!(s, 422, "{page}");
    assert!(
        page.contains("invoice.pdf") && page.contains("is not a PDF, PNG, JPEG or plain text file"),
        "{page}"
    );
    let big = vec![b'a'; 10 * 1024 * 1024 + 1];
    let (s, page) = post_multipart(
        &app,
        &reply_url,
        &[("text", "")],
        &[("files", "big.txt", &big)],
    )
    .await;
    assert_eq!(s, 422, "{page}");
    assert!(page.contains("larger than 10 MB"), "{page}");
    let four: Vec<(&str, &str, &[u8])> = (0..4).map(|_| ("files", "a.pdf", PDF)).collect();
    let (s, page) = post_multipart(&app, &reply_url, &[("text", "")], &four).await;
    assert_eq!(s, 422, "{page}");
    assert!(page.contains("at most 3 files"), "{page}");
    let (s, page) = post_multipart(&app, &reply_url, &[("text", "")], &[]).await;
    assert_eq!(s, 200, "{page}");
    assert!(page.contains("we did not send anything"), "{page}");
    let r = app
        .client
        .post(&reply_url)
        .body("text=hello")
        .header("content-type", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("could not be read"));
    let huge = vec![b'a'; 32 * 1024 * 1024];
    let (ct, body) = multipart(&[], &[("files", "a.txt", &huge[..])]);
    // The service refuses the body past its limit and may close the connection before the
    // client has finished writing it: either answer is a refusal (what was kept is
    // checked below).
    match app
        .client
        .post(&reply_url)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
    {
        Ok(r) => {
            let s = r.status().as_u16();
            assert!(s == 413 || s == 422, "{s} {}", r.text().await.unwrap());
        }
        Err(e) => assert!(e.is_request() && !e.is_timeout(), "{e:?}"),
    }
    assert_eq!(
        staff_view(&app, &agent, &gdpr_ref).await["status"],
        "on_hold"
    );

    // The subject answers with a file: the request resumes, the due date moves by the
    // three whole days under GDPR.
    let (s, page) = post_multipart(
        &app,
        &reply_url,
        &[("text", "The account ending in 42.")],
        &[("files", "invoice.pdf", PDF)],
    )
    .await;
    assert_eq!(s, 200, "{page}");
    assert!(page.contains("We received your answer"), "{page}");
    let after = staff_view(&app, &agent, &gdpr_ref).await;
    assert_eq!(after["status"], "open", "{after}");
    assert_eq!((due(&after) - due(&before_gdpr)).num_days(), 3, "{after}");
    // Under CCPA the same hold does not move it.
    let (s, page) = post_multipart(
        &app,
        &format!("{ccpa_status}/reply"),
        &[("text", "The one from 2024.")],
        &[],
    )
    .await;
    assert_eq!(s, 200, "{page}");
    let after_ccpa = staff_view(&app, &agent, &ccpa_ref).await;
    assert_eq!(after_ccpa["status"], "open", "{after_ccpa}");
    assert_eq!(due(&after_ccpa), due(&before_ccpa), "{after_ccpa}");

    // The answer lands on the case: API and portal page, the file as sent.
    let (s, conv) = json(
        app.get(&agent, &format!("/api/v1/requests/{gdpr_ref}/conversation"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{conv}");
    let messages = conv["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{conv}");
    assert_eq!(messages[0]["purpose"], "question");
    assert_eq!(messages[1]["author"], "subject");
    assert_eq!(messages[1]["text"], "The account ending in 42.");
    let file = &messages[1]["files"][0];
    assert_eq!(file["name"], "invoice.pdf");
    assert_eq!(file["media_type"], "application/pdf");
    let file_id = file["id"].as_str().unwrap().to_string();
    let r = app
        .get(
            &agent,
            &format!("/api/v1/requests/{gdpr_ref}/files/{file_id}"),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), PDF);
    // Sealed at rest: the stored bytes are not the file.
    let req = app
        .state
        .store
        .request_by_reference(&gdpr_ref)
        .await
        .unwrap()
        .unwrap();
    let stored = app
        .state
        .store
        .request_file(&req.id, &file_id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !stored.body.windows(8).any(|w| w == &PDF[..8]),
        "the file is stored encrypted"
    );
    // The audit log names the message and file, not their text.
    let auditor = app.token(Role::Auditor).await;
    let (_, audit) = json(
        app.get(
            &auditor,
            &format!("/api/v1/audit?per_page=100&request={gdpr_ref}"),
        )
        .await,
    )
    .await;
    let audit_text = audit.to_string();
    assert!(
        audit_text.contains("request.subject_reply") && audit_text.contains(&file_id),
        "{audit_text}"
    );
    assert!(
        !audit_text.contains("ending in 42") && !audit_text.contains("two accounts"),
        "{audit_text}"
    );

    // A free-form message is emailed and joins the conversation.
    let (s, v) = json(
        app.post_json(
            &agent,
            &format!("/api/v1/requests/{gdpr_ref}/messages"),
            &json!({"text": "Thank you, that is all we need."}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let msg = sink
        .mails_to("ada@example.com", "that is all we need", 1)
        .await;
    assert_eq!(msg.len(), 1);
    assert!(
        smtp::header(&msg[0].data, "subject")
            .unwrap()
            .contains("A message about your request")
    );

    // Closed, and `closed_request_pii` later the file and the texts are gone.
    let (s, v) = json(
        app.post_empty(&agent, &format!("/api/v1/requests/{gdpr_ref}/withdraw"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    app.settle().await;
    app.clock.advance(TimeDelta::days(800));
    let report = rightsdesk::services::retention::own::purge(&app.state, "test")
        .await
        .unwrap();
    assert!(report.requests_wiped >= 1, "{report:?}");
    assert_eq!(report.files_deleted, 1, "{report:?}");
    assert!(
        app.state
            .store
            .request_file(&req.id, &file_id)
            .await
            .unwrap()
            .is_none()
    );
    let r = app
        .get(
            &agent,
            &format!("/api/v1/requests/{gdpr_ref}/files/{file_id}"),
        )
        .await;
    assert_eq!(r.status(), 404);
    let (_, conv) = json(
        app.get(&agent, &format!("/api/v1/requests/{gdpr_ref}/conversation"))
            .await,
    )
    .await;
    assert!(
        conv["messages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["text"].is_null() && m["files"].as_array().unwrap().is_empty()),
        "{conv}"
    );
    let _stopped = app.stop().await;
}

async fn an_agent_asks_the_subject_confirms_and_only_the_subject_gets_the_package(
    backend: Backend,
) {
    // A product that holds the subject's data, so the access request yields a package.
    let product_dir = tempfile::tempdir().unwrap();
    let (_pool, datamap) = common::product::product(product_dir.path()).await;
    let Some((app, sink)) = app_with_sink(backend, Some(datamap)).await else {
        return;
    };
    // Garbage permission documents get the form back, saying why.
    let base = [
        ("kind", "access"),
        ("email", "bob@example.com"),
        ("name", "Bob Subject"),
        ("for_someone_else", "on"),
        ("agent_name", "Alex Agent"),
        ("agent_email", "alex@agency.example"),
        ("agent_organisation", "Rights Agency"),
    ];
    let (s, page) = post_multipart(
        &app,
        &app.url("/requests"),
        &base,
        &[("agent_document", "permission.pdf", b"PK\x03\x04zip")],
    )
    .await;
    assert_eq!(s, 422, "{page}");
    assert!(
        page.contains("id=\"agent_document-error\"") && page.contains("is not a PDF"),
        "{page}"
    );
    let (s, page) = post_multipart(&app, &app.url("/requests"), &base, &[]).await;
    assert_eq!(s, 422, "{page}");
    assert!(page.contains("signed permission"), "{page}");
    let mut same = base.to_vec();
    same[5] = ("agent_email", "Bob@Example.com");
    let (s, page) = post_multipart(
        &app,
        &app.url("/requests"),
        &same,
        &[("agent_document", "permission.pdf", PDF)],
    )
    .await;
    assert_eq!(s, 422, "{page}");
    assert!(page.contains("id=\"agent_email-error\""), "{page}");

    let (s, page) = post_multipart(
        &app,
        &app.url("/requests"),
        &base,
        &[("agent_document", "permission.pdf", PDF)],
    )
    .await;
    assert_eq!(s, 202, "{page}");
    assert!(
        page.contains("We will email the person you act for"),
        "{page}"
    );
    let reference = page
        .split("class=\"ref\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();

    // The subject is asked to confirm directly, and told who asked; the agent gets its link.
    let verify = sink.mails_to("bob@example.com", "/verify/", 1).await;
    assert_eq!(verify.len(), 1);
    assert!(smtp::decoded_text(&verify[0].data).contains("Alex Agent"));
    let to_agent = sink.mails_to("alex@agency.example", "/agent/", 1).await;
    assert_eq!(to_agent.len(), 1);
    let agent_url = app.link(&to_agent[0], "/agent/");
    let agent_text = smtp::decoded_text(&to_agent[0].data);
    assert!(
        !agent_text.contains("/verify/") && !agent_text.contains("bob@"),
        "{agent_text}"
    );
    let agent_page = app.page(&agent_url).await;
    assert!(
        agent_page.contains(&reference)
            && agent_page.contains("Waiting for the person you act for to confirm"),
        "{agent_page}"
    );

    // Staff see the agent and the permission document.
    let staff = app.token(Role::Agent).await;
    let (s, conv) = json(
        app.get(
            &staff,
            &format!("/api/v1/requests/{reference}/conversation"),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{conv}");
    assert_eq!(conv["agent"]["name"], "Alex Agent");
    assert_eq!(conv["agent"]["email"], "alex@agency.example");
    assert_eq!(conv["agent"]["authority"], "document");
    let doc = conv["agent"]["documents"][0]["id"].as_str().unwrap();
    let r = app
        .get(&staff, &format!("/api/v1/requests/{reference}/files/{doc}"))
        .await;
    assert_eq!(r.bytes().await.unwrap().as_ref(), PDF);

    // The subject confirms; the agent's page shows it.
    let verify_url = app.link(&verify[0], "/verify/");
    assert_eq!(
        app.client.post(&verify_url).send().await.unwrap().status(),
        200
    );
    let agent_page = app.page(&agent_url).await;
    assert!(
        agent_page.contains("The person confirmed the request"),
        "{agent_page}"
    );

    // Answered (access starts and completes by itself): the package link goes to the
    // subject, never to the agent.
    common::product::wait_for_status(&app, &staff, &reference, "completed").await;
    let done = sink.mails_to("bob@example.com", "/download/", 1).await;
    assert_eq!(done.len(), 1, "the subject gets the package link");
    app.settle().await;
    for m in sink
        .messages()
        .iter()
        .filter(|m| m.to.iter().any(|t| t == "alex@agency.example"))
    {
        let text = smtp::decoded_text(&m.data);
        assert!(
            !text.contains("/download/") && !text.contains("/status/"),
            "{text}"
        );
    }
    let agent_page = app.page(&agent_url).await;
    assert!(agent_page.contains("Completed"), "{agent_page}");
    let lower = agent_page.to_lowercase();
    assert!(
        !lower.contains("bob@example.com")
            && !lower.contains("bob subject")
            && !lower.contains("/download/"),
        "{agent_page}"
    );

    // Through the API: an `agent` object; a bad agent address is refused by field.
    let p = problem(
        app.client
            .post(app.url("/api/v1/intake"))
            .json(&json!({"kind": "erasure", "email": "kim@example.com",
                          "agent": {"name": "Alex Agent", "email": "not an address"}}))
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    assert!(p["errors"].to_string().contains("agent.email"), "{p}");
    let r = app
        .client
        .post(app.url("/api/v1/intake"))
        .json(&json!({"kind": "erasure", "email": "kim@example.com",
                      "agent": {"name": "Alex Agent", "email": "alex@agency.example",
                                "power_of_attorney": "Durable power of attorney granted by Kim on 2026-01-05."}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let kim_ref = r.json::<Value>().await.unwrap()["reference"]
        .as_str()
        .unwrap()
        .to_string();
    let verify = sink.mails_to("kim@example.com", "/verify/", 1).await;
    assert!(smtp::decoded_text(&verify[0].data).contains("Alex Agent"));
    assert_eq!(
        sink.mails_to("alex@agency.example", "/agent/", 2)
            .await
            .len(),
        2
    );
    // Staff accept the power of attorney: the request opens without the subject's link,
    // which stops working; accepting twice is refused.
    let (s, v) = json(
        app.post_empty(&staff, &format!("/api/v1/requests/{kim_ref}/agent/accept"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "open", "{v}");
    assert!(v["due_date"].is_string(), "{v}");
    let kim_verify = app.link(&verify[0], "/verify/");
    assert_eq!(
        app.client.post(&kim_verify).send().await.unwrap().status(),
        410
    );
    problem(
        app.post_empty(&staff, &format!("/api/v1/requests/{kim_ref}/agent/accept"))
            .await,
        409,
    )
    .await;
    // Without a power of attorney there is nothing to accept.
    problem(
        app.post_empty(
            &staff,
            &format!("/api/v1/requests/{reference}/agent/accept"),
        )
        .await,
        409,
    )
    .await;
    let _stopped = app.stop().await;
}

async fn staff_ask_and_read_the_answer_in_the_portal(backend: Backend) {
    let Some((app, sink)) = app_with_sink(backend, None).await else {
        return;
    };
    let api = app.token(Role::Agent).await;
    let (reference, status_url) = entered(&app, &sink, &api, "gdpr", "pat@example.com").await;
    let login = support::portal_login(&app, Role::Agent).await;
    let post = |action: &'static str, field: &'static str, text: &'static str| {
        app.client
            .post(app.url(&format!("/portal/requests/{reference}/{action}")))
            .header("cookie", &login.cookie)
            .header("origin", &app.base)
            .form(&[("csrf", login.csrf.as_str()), (field, text)])
    };
    let r = post(
        "ask",
        "question",
        "Please send a copy of your last invoice.",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let v = staff_view(&app, &api, &reference).await;
    assert_eq!(v["status"], "on_hold");
    assert_eq!(v["hold_reason"], "awaiting_subject");
    assert_eq!(
        sink.mails_to("pat@example.com", "last invoice", 1)
            .await
            .len(),
        1
    );
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    let (s, page) = post_multipart(
        &app,
        &format!("{status_url}/reply"),
        &[("text", "Attached.")],
        &[("files", "scan.png", png)],
    )
    .await;
    assert_eq!(s, 200, "{page}");
    let page = app
        .client
        .get(app.url(&format!("/portal/requests/{reference}")))
        .header("cookie", &login.cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Please send a copy of your last invoice.") && page.contains("Attached."),
        "{page}"
    );
    let file_id = page
        .split(&format!("/portal/requests/{reference}/files/"))
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let r = app
        .client
        .get(app.url(&format!("/portal/requests/{reference}/files/{file_id}")))
        .header("cookie", &login.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().as_ref(), png);
    assert_eq!(staff_view(&app, &api, &reference).await["status"], "open");
    // A message from the case page; an empty one is refused on the page.
    let r = post("message", "text", "We have found your account.")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        sink.mails_to("pat@example.com", "We have found your account.", 1)
            .await
            .len(),
        1
    );
    let r = post("message", "text", " ").send().await.unwrap();
    assert_eq!(r.status(), 422);
    let _stopped = app.stop().await;
}

/// A status link takes a bounded number of answers a day: the next one is refused with
/// 429, a readable page and `Retry-After`, and nothing of it is stored; a day later the
/// link takes answers again.
async fn answers_are_limited_per_request_and_day(backend: Backend) {
    let Some((app, sink)) = app_with_sink(backend, None).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;
    let (reference, status) = entered(&app, &sink, &agent, "gdpr", "flo@example.com").await;
    let reply_url = format!("{status}/reply");
    let limit = rightsdesk::services::conversation::MAX_REPLIES_PER_DAY;
    let answer = |n: i64| {
        app.client
            .post(&reply_url)
            .form(&[("text", format!("Answer number {n}."))])
            .send()
    };
    for n in 1..=limit {
        let r = answer(n).await.unwrap();
        assert_eq!(r.status(), 200, "answer {n}");
    }
    let r = answer(limit + 1).await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let page = r.text().await.unwrap();
    assert!(page.contains("Please wait a little"), "{page}");
    let (s, conv) = json(
        app.get(
            &agent,
            &format!("/api/v1/requests/{reference}/conversation"),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{conv}");
    let messages = conv["messages"].as_array().unwrap();
    assert_eq!(
        messages.len() as i64,
        limit,
        "the refused answer is not stored"
    );
    app.clock
        .advance(TimeDelta::days(1) + TimeDelta::minutes(1));
    assert_eq!(answer(limit + 2).await.unwrap().status(), 200);
    let _stopped = app.stop().await;
}

backend_fn_tests!(
    answers_are_limited_per_request_and_day,
    staff_ask_and_read_the_answer_in_the_portal,
    question_answered_with_a_file_resumes_and_the_file_is_purged,
    an_agent_asks_the_subject_confirms_and_only_the_subject_gets_the_package
);
