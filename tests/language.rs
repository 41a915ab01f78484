//! The subject's language (issue 23 item 5): every public page and every subject email
//! renders in every language with strict translations (a missing message or argument
//! fails), every language has every message, a German browser gets German pages and
//! emails for the whole story through a real SMTP listener, `?lang=` on the status page
//! switches the page and the request's later emails, and a company's file replaces one
//! message.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::smtp::{self, SmtpSink};
use common::{Backend, TestApp, json, spawn_app_with_sink};
use rightsdesk::domain::language::Language;
use rightsdesk::domain::staff::Role;
use rightsdesk::email::Templates;
use rightsdesk::i18n::{Catalog, Localiser};
use serde_json::{Value, json};

/// Every `t("…")` key written in the page and email templates.
fn template_keys() -> BTreeSet<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for entry in std::fs::read_dir(root.join("templates")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "html") {
            files.push(p);
        }
    }
    for name in rightsdesk::services::notify::SUBJECT_TEMPLATES {
        for part in ["subject.txt", "body.txt", "body.html"] {
            files.push(root.join("email-templates").join(name).join(part));
        }
    }
    let mut keys = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for piece in text.split("t(\"").skip(1) {
            keys.insert(piece.split('"').next().unwrap().to_string());
        }
    }
    keys
}

#[test]
fn every_language_has_every_message_and_every_template_key_exists() {
    let en = rightsdesk::i18n::builtin_names("en");
    for lang in Language::ALL {
        let names = rightsdesk::i18n::builtin_names(lang.tag());
        let missing: Vec<_> = en.difference(&names).collect();
        let extra: Vec<_> = names.difference(&en).collect();
        assert!(missing.is_empty(), "{lang} lacks {missing:?}");
        assert!(
            extra.is_empty(),
            "{lang} has messages English lacks: {extra:?}"
        );
    }
    let used = template_keys();
    assert!(used.len() > 150, "{}", used.len());
    let unknown: Vec<_> = used.difference(&en).collect();
    assert!(
        unknown.is_empty(),
        "templates use unknown messages: {unknown:?}"
    );
}

/// Contexts that take every branch of the public pages.
fn page_contexts() -> Vec<(&'static str, Value)> {
    let org = "Example Ltd";
    let history = json!([{ "date": "6 December 2026", "text": "x" }]);
    vec![
        (
            "form.html",
            json!({
                "organisation": org, "policy_days": 30,
                "kinds": [{ "value": "access", "label": "x" }],
                "values": { "kind": "access", "scope": "profiling" },
                "errors": { "form": "x", "email": "x" },
                "account_field": { "label": "Customer number", "kinds": "x" },
                "gpc": true,
            }),
        ),
        (
            "submitted.html",
            json!({ "organisation": org, "reference": "DSR-1", "agent": false, "expires_hours": 24 }),
        ),
        (
            "submitted.html",
            json!({ "organisation": org, "reference": "DSR-1", "agent": true, "expires_hours": 1 }),
        ),
        (
            "verify_confirm.html",
            json!({ "organisation": org, "token": "t", "reference": "DSR-1", "kind_label": "x" }),
        ),
        (
            "verified.html",
            json!({ "organisation": org, "reference": "DSR-1", "due_date": "x" }),
        ),
        ("gone.html", json!({ "organisation": org })),
        (
            "message.html",
            json!({ "organisation": org, "title": "x", "message": "x", "back": true }),
        ),
        (
            "status.html",
            json!({
                "organisation": org, "reference": "DSR-1", "kind_label": "x", "status": "x",
                "received": "x", "due_date": "x", "history": history,
                "export": { "state": "live", "token": "t", "expires": "x" },
                "systems": [{ "system": "shop", "text": "x", "tables": [{ "table": "t", "text": "x", "reason": "y" }] }],
                "recipients": { "recipients_asked": true, "recipients": [{ "name": "M", "role": "p", "purpose": "x", "transfer": "x", "told": true }] },
                "opt_in": "t", "objection_completed": true,
                "appeal": { "token": "t", "until": "x", "answer_within": "x" },
                "withdraw_objection": "t",
                "conversation": [
                    { "date": "x", "from_us": true, "question": true, "text": "x", "files": [{ "name": "a.pdf", "size": "1 KB" }] },
                    { "date": "x", "from_us": true, "question": false, "text": "x", "files": [] },
                    { "date": "x", "from_us": false, "question": false, "text": "x", "files": [] },
                ],
                "reply": { "token": "t", "asked": true },
            }),
        ),
        (
            "status.html",
            json!({
                "organisation": org, "reference": "DSR-1", "kind_label": "x", "status": "x",
                "received": "x", "history": history,
                "export": { "state": "used_up" },
                "systems": [{ "system": "shop", "text": "x", "tables": [] }],
                "recipients": { "recipients_asked": true, "recipients": [], "register_provided": true },
                "opt_in": "t", "objection_completed": false,
                "withdraw_objection": "t",
            }),
        ),
        (
            "status.html",
            json!({
                "organisation": org, "reference": "DSR-1", "kind_label": "x", "status": "x",
                "received": "x", "history": history, "export": { "state": "expired" },
                "systems": [{ "system": "shop", "text": "x" }],
                "recipients": { "recipients_asked": true, "recipients": [], "register_provided": false },
            }),
        ),
        (
            "agent_status.html",
            json!({
                "organisation": org, "reference": "DSR-1", "kind_label": "x", "status": "x",
                "received": "x", "due_date": "x", "agent": { "confirmed": true, "consent": true },
                "history": history,
            }),
        ),
        (
            "agent_status.html",
            json!({
                "organisation": org, "reference": "DSR-1", "kind_label": "x", "status": "x",
                "received": "x", "agent": { "confirmed": false, "consent": false }, "history": history,
            }),
        ),
    ]
}

/// Contexts that take every branch of the subject emails.
fn email_contexts() -> Vec<(&'static str, Value)> {
    let base = |extra: Value| {
        let mut ctx = json!({
            "reference": "DSR-7KQ2-M9XD", "organisation": "Example Ltd",
            "kind_label": "x", "status_url": "https://p.example/status/s",
        });
        if let (Some(c), Value::Object(e)) = (ctx.as_object_mut(), extra) {
            c.extend(e);
        }
        ctx
    };
    let systems = json!([
        { "system": "shop", "outcome": "done", "text": "x", "tables": [{ "table": "t", "outcome": "erased", "records": 1, "text": "x", "reason": "y" }] },
        { "system": "crm", "outcome": "not_done", "text": "x", "tables": [] },
    ]);
    let recipient =
        json!([{ "name": "M", "role": "p", "purpose": "x", "transfer": "x", "told": true }]);
    vec![
        (
            "verify",
            base(json!({ "verify_url": "https://p.example/verify/v", "expires_hours": 24 })),
        ),
        (
            "verify",
            base(
                json!({ "verify_url": "https://p.example/verify/v", "expires_hours": 1, "agent": { "name": "A", "organisation": "O" } }),
            ),
        ),
        ("received", base(json!({ "due_date": "2026-12-06" }))),
        (
            "extended",
            base(json!({ "reason": "x", "new_due_date": "2026-12-06" })),
        ),
        (
            "on_hold",
            base(json!({ "reason": "x", "clock_paused": true })),
        ),
        (
            "on_hold",
            base(json!({ "reason": "x", "clock_paused": false })),
        ),
        (
            "denied",
            base(json!({ "reason_label": "x", "note": "x", "complaint_authority": "x" })),
        ),
        (
            "denied",
            base(
                json!({ "reason_label": "x", "complaint_authority": "x", "appeal": { "until": "6 December 2026", "answer_within": "45 days", "authority": "x" } }),
            ),
        ),
        (
            "completed",
            base(
                json!({ "systems": systems, "download_url": "https://p.example/download/d", "retained": [{ "table": "t", "reason": "y" }], "recipients_asked": true, "recipients": recipient, "register_provided": true }),
            ),
        ),
        (
            "completed",
            base(
                json!({ "systems": [], "recipients_asked": true, "recipients": [], "register_provided": true }),
            ),
        ),
        (
            "completed",
            base(json!({ "recipients_asked": true, "recipients": [], "register_provided": false })),
        ),
        ("expired", base(json!({}))),
        (
            "export_link",
            base(json!({ "download_url": "https://p.example/download/d" })),
        ),
        (
            "restriction_lifted",
            base(json!({ "reason": "x", "complaint_authority": "x" })),
        ),
        (
            "duplicate",
            base(json!({ "first_reference": "DSR-4HJK-2PQR" })),
        ),
        (
            "appeal_decided",
            base(
                json!({ "original_reference": "DSR-1", "reversed": true, "reason": "x", "authority_name": "x", "authority_url": "https://a.example", "due_date": "2026-12-06" }),
            ),
        ),
        (
            "appeal_decided",
            base(
                json!({ "original_reference": "DSR-1", "reversed": true, "reason": "x", "authority_name": "x", "authority_url": "", "due_date": null }),
            ),
        ),
        (
            "appeal_decided",
            base(
                json!({ "original_reference": "DSR-1", "reversed": false, "reason": "x", "authority_name": "x", "authority_url": "", "due_date": null }),
            ),
        ),
        ("message", base(json!({ "message": "x" }))),
        (
            "agent_received",
            base(json!({ "agent_url": "https://p.example/agent/a" })),
        ),
    ]
}

#[test]
fn every_page_and_email_renders_in_every_language_with_strict_translations() {
    let catalog = Arc::new(Catalog::new(None, true).unwrap());
    let templates = Templates::new(None).unwrap();
    let pages = page_contexts();
    let emails = email_contexts();
    let page_names: BTreeSet<&str> = pages.iter().map(|(n, _)| *n).collect();
    let public: BTreeSet<&str> = rightsdesk::http::pages::template_names()
        .filter(|n| *n != "base.html")
        .collect();
    assert_eq!(page_names, public, "a context for every public page");
    let email_names: BTreeSet<&str> = emails.iter().map(|(n, _)| *n).collect();
    let subject: BTreeSet<&str> = rightsdesk::services::notify::SUBJECT_TEMPLATES
        .iter()
        .copied()
        .collect();
    assert_eq!(email_names, subject, "a context for every subject email");

    for lang in Language::ALL {
        let loc = Localiser::new(catalog.clone(), *lang);
        let english = Localiser::new(catalog.clone(), Language::En);
        for (name, ctx) in &pages {
            let html = rightsdesk::http::pages::render(&loc, Some("/status/t"), name, ctx.clone())
                .unwrap_or_else(|e| panic!("{name} in {lang}: {e:#}"));
            assert!(
                html.contains(&format!("<html lang=\"{}\">", lang.tag())),
                "{name}"
            );
            // The switcher: a plain link to each other language, the current one marked.
            for other in Language::ALL {
                let link = format!("href=\"/status/t?lang={}\"", other.tag());
                assert_eq!(
                    html.contains(&link),
                    other != lang,
                    "{name} in {lang}: {link}"
                );
            }
            assert!(!html.contains("<script"), "{name}");
            if *lang != Language::En {
                let en =
                    rightsdesk::http::pages::render(&english, None, name, ctx.clone()).unwrap();
                assert_ne!(html, en, "{name} is not translated into {lang}");
            }
        }
        for (name, ctx) in &emails {
            let r = templates
                .render_in(name, ctx, &loc)
                .unwrap_or_else(|e| panic!("{name} in {lang}: {e:#?}"));
            assert!(r.text.contains("DSR-7KQ2-M9XD"), "{name} in {lang}");
            assert!(
                r.html.contains(&format!("<html lang=\"{}\">", lang.tag())),
                "{name}"
            );
            if *lang != Language::En {
                let en = templates.render_in(name, ctx, &english).unwrap();
                assert_ne!(r.subject, en.subject, "{name} subject in {lang}");
                assert_ne!(r.text, en.text, "{name} text in {lang}");
            }
        }
    }
}

#[test]
fn strict_rendering_fails_on_a_missing_message() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("fr")).unwrap();
    // A company file that uses an argument the template does not give.
    std::fs::write(
        dir.path().join("fr/ours.ftl"),
        "gone-heading = Ce lien { $nope } n’est plus valable\n",
    )
    .unwrap();
    let strict = Arc::new(Catalog::new(Some(dir.path()), true).unwrap());
    let loc = Localiser::new(strict, Language::Fr);
    let err = rightsdesk::http::pages::render(&loc, None, "gone.html", json!({})).unwrap_err();
    assert!(format!("{err:#}").contains("gone-heading"), "{err:#}");
    let lenient = Arc::new(Catalog::new(Some(dir.path()), false).unwrap());
    let loc = Localiser::new(lenient, Language::Fr);
    // Outside strict mode the page still renders: that message falls back to English.
    let html = rightsdesk::http::pages::render(&loc, None, "gone.html", json!({})).unwrap();
    assert!(html.contains("This link is no longer valid"), "{html}");
    assert!(
        html.contains("Le lien a peut-être déjà été utilisé"),
        "{html}"
    );
}

async fn app_with_sink(
    backend: Backend,
    tune: impl FnOnce(&mut rightsdesk::config::Config) + Send + 'static,
) -> Option<(TestApp, SmtpSink)> {
    spawn_app_with_sink(backend, move |c| {
        c.workflow.auto_start.clear();
        c.i18n.strict = true;
        tune(c);
    })
    .await
}

fn subject_of(mail: &smtp::ReceivedMail) -> String {
    smtp::header(&mail.data, "subject").unwrap_or_default()
}

async fn staff_action(app: &TestApp, reference: &str, action: &str, body: Value) {
    let token = app.token(Role::Agent).await;
    let (s, v) = json(
        app.post_json(
            &token,
            &format!("/api/v1/requests/{reference}/{action}"),
            &body,
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{action}: {v}");
}

async fn german_browser_gets_german_pages_and_emails(backend: Backend) {
    let Some((app, sink)) = app_with_sink(backend, |_| {}).await else {
        return;
    };
    let german = "de-DE,de;q=0.9,en;q=0.5";
    let form = app
        .client
        .get(app.url("/"))
        .header("accept-language", german)
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    let html = form.text().await.unwrap();
    assert!(html.contains("<html lang=\"de\">"), "{html}");
    assert!(html.contains("Löschen Sie meine Daten"), "{html}");
    assert!(html.contains("Antrag senden"));
    assert!(html.contains("name=\"language\" value=\"de\""));
    assert!(html.contains("href=\"/?lang=fr\"") && html.contains(">Français</a>"));

    let resp = app
        .client
        .post(app.url("/requests"))
        .header("accept-language", german)
        .form(&[
            ("kind", "erasure"),
            ("email", "jonas@example.de"),
            ("language", "de"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let page = resp.text().await.unwrap();
    assert!(page.contains("Sehen Sie in Ihr E-Mail-Postfach"), "{page}");
    let reference = page
        .split("class=\"ref\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();

    let verify = sink.mail_to("jonas@example.de", "/verify/").await;
    let text = smtp::decoded_text(&verify.data);
    assert!(
        subject_of(&verify).contains("Bitte bestätigen Sie Ihren Antrag auf Löschung"),
        "{}",
        subject_of(&verify)
    );
    assert!(text.starts_with("Guten Tag,"), "{text}");
    assert!(
        text.contains("Löschung Ihrer personenbezogenen Daten"),
        "{text}"
    );
    assert!(smtp::decoded_html(&verify.data).contains("<html lang=\"de\">"));

    // The confirm page follows the request's language even without the header.
    let verify_url = app.link(&verify, "/verify/");
    let confirm = app.page(&verify_url).await;
    assert!(confirm.contains("Ja, das ist mein Antrag"), "{confirm}");
    let done = app.client.post(&verify_url).send().await.unwrap();
    assert_eq!(done.status(), 200);
    let done = done.text().await.unwrap();
    assert!(
        done.contains("Vielen Dank, Ihr Antrag ist bestätigt"),
        "{done}"
    );
    assert!(done.contains("9. November 2026"), "German due date: {done}");

    let received = sink.mail_to("jonas@example.de", "/status/").await;
    let text = smtp::decoded_text(&received.data);
    assert!(
        text.contains("spätestens bis zum 9. November 2026"),
        "{text}"
    );
    let status_url = app.link(&received, "/status/");
    let status = app.page(&status_url).await;
    assert!(status.contains("<html lang=\"de\">"), "{status}");
    assert!(status.contains("Eingegangen und bestätigt"), "{status}");
    assert!(status.contains("Antwort spätestens am"), "{status}");
    assert!(
        status.contains("10. Oktober 2026"),
        "received date: {status}"
    );
    assert!(
        status.contains("Sie haben Ihre E-Mail-Adresse bestätigt."),
        "{status}"
    );

    // The staff mail stays English.
    let staff = sink.mail_to("privacy-team@example.com", &reference).await;
    assert!(smtp::decoded_text(&staff.data).contains("erasure"));

    staff_action(&app, &reference, "start", json!({})).await;
    staff_action(&app, &reference, "complete", json!({})).await;
    let completed = sink.mail_to("jonas@example.de", "abgeschlossen").await;
    let text = smtp::decoded_text(&completed.data);
    assert!(
        subject_of(&completed)
            .contains("Ihr Antrag auf Löschung Ihrer personenbezogenen Daten ist abgeschlossen"),
        "{}",
        subject_of(&completed)
    );
    assert!(
        text.contains("Wir haben Ihren Antrag auf Löschung"),
        "{text}"
    );
    assert!(text.contains("Das Datenschutzteam von"), "{text}");
    let status = app.page(&status_url).await;
    assert!(status.contains("Abgeschlossen"), "{status}");
    assert!(
        status.contains("Ihr Antrag wurde abgeschlossen."),
        "{status}"
    );
    assert!(!status.contains("Antwort spätestens am"), "{status}");
    app.stop().await;
}

async fn lang_on_the_status_page_switches_the_page_and_later_emails(backend: Backend) {
    let Some((app, sink)) = app_with_sink(backend, |_| {}).await else {
        return;
    };
    let r = app
        .client
        .post(app.url("/api/v1/intake"))
        .json(&json!({ "kind": "access", "email": "lea@example.com" }))
        .send()
        .await
        .unwrap();
    let (s, v) = json(r).await;
    assert_eq!(s, 202, "{v}");
    let verify = sink.mail_to("lea@example.com", "/verify/").await;
    assert!(subject_of(&verify).starts_with("Please confirm your request"));
    app.client
        .post(app.link(&verify, "/verify/"))
        .send()
        .await
        .unwrap();
    let received = sink.mail_to("lea@example.com", "/status/").await;
    let status_url = app.link(&received, "/status/");
    let reference = {
        let token = app.token(Role::Auditor).await;
        let (_, list) = json(app.get(&token, "/api/v1/requests").await).await;
        list["items"][0]["reference"].as_str().unwrap().to_string()
    };

    let fr = app.page(format!("{status_url}?lang=fr")).await;
    assert!(fr.contains("<html lang=\"fr\">"), "{fr}");
    assert!(fr.contains("Reçue et confirmée"), "{fr}");
    assert!(fr.contains("copie de vos données personnelles"), "{fr}");
    // Remembered: the plain link is French now, whatever the browser says.
    let again = app
        .client
        .get(&status_url)
        .header("accept-language", "de")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(again.contains("<html lang=\"fr\">"), "{again}");

    staff_action(
        &app,
        &reference,
        "extend",
        json!({ "reason": "Plusieurs bases de données" }),
    )
    .await;
    let extended = sink.mail_to("lea@example.com", "Plusieurs bases").await;
    let text = smtp::decoded_text(&extended.data);
    assert!(
        subject_of(&extended).starts_with("Il nous faut plus de temps"),
        "{}",
        subject_of(&extended)
    );
    assert!(
        text.contains("Nouvelle échéance : 9 janvier 2027"),
        "{text}"
    );
    assert!(text.contains("Bonjour,"), "{text}");
    app.stop().await;
}

async fn intake_api_takes_a_language_and_refuses_an_unknown_one(backend: Backend) {
    let Some((app, sink)) = app_with_sink(backend, |_| {}).await else {
        return;
    };
    let post = |body: Value| {
        app.client
            .post(app.url("/api/v1/intake"))
            .json(&body)
            .send()
    };
    let r = post(json!({ "kind": "access", "email": "ana@example.com", "language": "xx" }))
        .await
        .unwrap();
    let problem = common::problem(r, 422).await;
    assert!(problem.to_string().contains("language"), "{problem}");
    let r = post(json!({ "kind": "access", "email": "ana@example.com", "language": "pt-BR" }))
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let verify = sink.mail_to("ana@example.com", "/verify/").await;
    assert!(
        subject_of(&verify)
            .starts_with("Confirme sua solicitação de cópia dos seus dados pessoais"),
        "{}",
        subject_of(&verify)
    );
    let r = post(json!({ "kind": "erasure", "email": "eva@example.com", "language": "es" }))
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let verify = sink.mail_to("eva@example.com", "/verify/").await;
    assert!(
        smtp::decoded_text(&verify.data).starts_with("Hola:"),
        "{}",
        smtp::decoded_text(&verify.data)
    );
    app.stop().await;
}

async fn a_company_file_replaces_one_message(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("de")).unwrap();
    std::fs::write(
        dir.path().join("de/firma.ftl"),
        "form-submit = Jetzt absenden\n",
    )
    .unwrap();
    let path = dir.path().to_path_buf();
    let Some((app, _sink)) = app_with_sink(backend, move |c| c.i18n.dir = Some(path)).await else {
        return;
    };
    let html = |lang: &'static str| {
        let client = app.client.clone();
        let url = app.url(&format!("/?lang={lang}"));
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let de = html("de").await;
    assert!(de.contains("Jetzt absenden"), "{de}");
    assert!(!de.contains("Antrag senden"), "{de}");
    assert!(
        de.contains("Löschen Sie meine Daten"),
        "the other messages stay: {de}"
    );
    let en = html("en").await;
    assert!(
        en.contains("Send request"),
        "other languages keep theirs: {en}"
    );
    app.stop().await;
}

backend_fn_tests!(
    german_browser_gets_german_pages_and_emails,
    lang_on_the_status_page_switches_the_page_and_later_emails,
    intake_api_takes_a_language_and_refuses_an_unknown_one,
    a_company_file_replaces_one_message,
);
