//! Email delivery through lettre's real SMTP client into an in-process sink, and through
//! the file outbox.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::smtp::{self, SmtpSink, decoded_html, decoded_text, header, header_names};
use rightsdesk::config::{EmailConfig, EmailTransport};
use rightsdesk::email::{Mailer, Rendered};
use rightsdesk::secret::Secret;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);
const VERIFY_URL: &str =
    "https://privacy.example.com/verify/q8Jz2mYbW4xT0cLr9sVhNk3pD7fGa1eU5oIy6wRtXnE";

fn smtp_config(smtp_url: String) -> EmailConfig {
    EmailConfig {
        transport: EmailTransport::Smtp,
        smtp_url: Secret::new(smtp_url),
        ..EmailConfig::default()
    }
}

fn smtp_mailer(sink: &SmtpSink, data_dir: &Path) -> Mailer {
    common::install_crypto();
    Mailer::from_config(&smtp_config(format!("smtp://{}", sink.addr)), data_dir)
        .expect("SMTP mailer")
}

fn verify_mail(mailer: &Mailer, organisation: &str, verify_url: &str) -> Rendered {
    mailer
        .templates()
        .render(
            "verify",
            &json!({
                "reference": "DSR-7KQ2-M9XD",
                "organisation": organisation,
                "kind_label": "a copy of your personal data",
                "verify_url": verify_url,
                "expires_hours": 24,
            }),
        )
        .expect("verify renders")
}

fn outbox_files(data_dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data_dir.join("outbox"))
        .expect("outbox exists")
        .map(|e| e.expect("dir entry").path())
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn smtp_delivers_a_multipart_verify_mail() {
    let sink = smtp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mailer = smtp_mailer(&sink, dir.path());
    let rendered = verify_mail(&mailer, "Example Ltd", VERIFY_URL);

    mailer
        .send("someone@example.com", &rendered)
        .await
        .expect("delivered");

    let mails = sink.wait_for(1, WAIT).await;
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.from, "privacy@example.com");
    assert_eq!(mail.to, vec!["someone@example.com".to_string()]);
    assert_eq!(
        header(&mail.data, "To").as_deref(),
        Some("someone@example.com")
    );
    assert_eq!(
        header(&mail.data, "From").as_deref(),
        Some("\"Privacy Team\" <privacy@example.com>")
    );
    assert_eq!(
        header(&mail.data, "Subject").as_deref(),
        Some("Please confirm your request for a copy of your personal data (DSR-7KQ2-M9XD)")
    );
    assert!(header(&mail.data, "Message-ID").is_some_and(|id| id.ends_with("@example.com>")));
    assert!(header(&mail.data, "Date").is_some());
    assert!(
        header(&mail.data, "Content-Type")
            .is_some_and(|ct| ct.starts_with("multipart/alternative")),
        "{}",
        mail.data
    );

    let text = decoded_text(&mail.data);
    assert!(text.contains(VERIFY_URL), "{text}");
    assert!(text.contains("expires in 24 hours"), "{text}");
    let html = decoded_html(&mail.data);
    assert!(html.contains(&format!("href=\"{VERIFY_URL}\"")), "{html}");
    assert!(html.starts_with("<!DOCTYPE html>"));
}

#[tokio::test]
async fn long_links_and_non_ascii_survive_transfer_encoding() {
    let sink = smtp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mailer = smtp_mailer(&sink, dir.path());
    // Longer than a 76-character encoded line, so lettre has to break it.
    let url = format!("{VERIFY_URL}{}", "Ab9".repeat(40));
    let rendered = verify_mail(&mailer, "Société Générale Ünïcode Ltd", &url);

    mailer
        .send("someone@example.com", &rendered)
        .await
        .expect("delivered");

    let mail = &sink.wait_for(1, WAIT).await[0];
    let text = decoded_text(&mail.data);
    assert!(text.contains(&url), "{text}");
    assert!(
        text.contains("Société Générale Ünïcode Ltd privacy team"),
        "{text}"
    );
    assert!(decoded_html(&mail.data).contains(&url));

    let subject = "Zürich: Ihre Anfrage ist eingegangen, wir melden uns so bald wie möglich";
    let rendered = Rendered {
        subject: subject.into(),
        ..rendered
    };
    mailer
        .send("someone@example.com", &rendered)
        .await
        .expect("delivered");
    let mail = &sink.wait_for(2, WAIT).await[1];
    assert!(
        smtp::raw_header(&mail.data, "Subject").is_some_and(|s| s.starts_with("=?utf-8?")),
        "lettre encodes a non-ASCII subject"
    );
    assert_eq!(header(&mail.data, "Subject").as_deref(), Some(subject));
}

#[tokio::test]
async fn file_transport_writes_one_eml_with_both_parts() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = EmailConfig {
        transport: EmailTransport::File,
        ..EmailConfig::default()
    };
    let mailer = Mailer::from_config(&cfg, dir.path()).expect("file mailer");
    let rendered = verify_mail(&mailer, "Example Ltd", VERIFY_URL);

    mailer
        .send("someone@example.com", &rendered)
        .await
        .expect("written");

    let files = outbox_files(dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    let (stamp, rest) = name.split_once('-').expect("timestamp-uuid.eml");
    assert_eq!(stamp.len(), "20261010T090000".len(), "{name}");
    assert!(
        chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%S").is_ok(),
        "{name}"
    );
    let uuid = rest.strip_suffix(".eml").expect(".eml");
    assert!(uuid::Uuid::parse_str(uuid).is_ok(), "{name}");

    let eml = std::fs::read_to_string(&files[0]).unwrap();
    assert!(eml.contains("\r\n"), "RFC 5322 line endings");
    assert_eq!(
        header(&eml, "Subject").as_deref(),
        Some(rendered.subject.as_str())
    );
    assert_eq!(header(&eml, "To").as_deref(), Some("someone@example.com"));
    assert!(decoded_text(&eml).contains(VERIFY_URL));
    assert!(decoded_html(&eml).contains(&format!("href=\"{VERIFY_URL}\"")));
}

#[tokio::test]
async fn a_permanent_rejection_is_permanent_and_names_no_recipient() {
    let sink = smtp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mailer = smtp_mailer(&sink, dir.path());
    let rendered = verify_mail(&mailer, "Example Ltd", VERIFY_URL);

    sink.reject_next(550);
    let err = mailer
        .send("someone@example.com", &rendered)
        .await
        .expect_err("refused");
    assert!(err.permanent, "{err}");
    assert!(err.message.contains("550"), "{err}");
    assert!(!err.message.contains("someone"), "{err}");

    // The transport recovers: the next message goes through.
    mailer
        .send("someone@example.com", &rendered)
        .await
        .expect("delivered after a refusal");
    assert_eq!(sink.wait_for(1, WAIT).await.len(), 1);
}

#[tokio::test]
async fn a_transient_rejection_is_not_permanent() {
    let sink = smtp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mailer = smtp_mailer(&sink, dir.path());
    let rendered = verify_mail(&mailer, "Example Ltd", VERIFY_URL);

    sink.reject_next(451);
    let err = mailer
        .send("someone@example.com", &rendered)
        .await
        .expect_err("refused");
    assert!(!err.permanent, "{err}");
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn connection_refused_is_not_permanent() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    common::install_crypto();
    let mailer =
        Mailer::from_config(&smtp_config(format!("smtp://127.0.0.1:{port}")), dir.path()).unwrap();
    let rendered = verify_mail(&mailer, "Example Ltd", VERIFY_URL);

    let err = mailer
        .send("someone@example.com", &rendered)
        .await
        .expect_err("nobody listens");
    assert!(!err.permanent, "{err}");
    assert!(!err.message.contains("someone"), "{err}");
}

#[tokio::test]
async fn header_injection_cannot_add_a_recipient() {
    let sink = smtp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mailer = smtp_mailer(&sink, dir.path());
    let injected = "\r\nBcc: evil@example.net";

    // Through a template variable that lands in the subject.
    let rendered = mailer
        .templates()
        .render(
            "expired",
            &json!({
                "reference": format!("DSR-1{injected}"),
                "organisation": "Example Ltd",
                "kind_label": format!("access{injected}"),
            }),
        )
        .unwrap();
    mailer.send("someone@example.com", &rendered).await.unwrap();

    // Through a `Rendered` built by hand, which skips the template's cleaning.
    let by_hand = Rendered {
        subject: format!("Hello{injected}\r\nX-Evil: 1"),
        ..rendered.clone()
    };
    mailer.send("someone@example.com", &by_hand).await.unwrap();

    // Through the recipient's display name: refused outright.
    let err = mailer
        .send(
            &format!("Someone{injected} <someone@example.com>"),
            &rendered,
        )
        .await
        .expect_err("a name with CRLF is refused");
    assert!(err.permanent);
    assert!(!err.message.contains("evil"), "{err}");

    let mails = sink.wait_for(2, WAIT).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mails_after = sink.messages();
    assert_eq!(mails_after.len(), mails.len(), "no third message");
    for mail in &mails_after {
        assert_eq!(mail.to, vec!["someone@example.com".to_string()]);
        let names = header_names(&mail.data);
        assert!(
            !names
                .iter()
                .any(|n| n.eq_ignore_ascii_case("bcc") || n.eq_ignore_ascii_case("x-evil")),
            "{names:?}\n{}",
            mail.data
        );
        let subject = header(&mail.data, "Subject").expect("subject");
        assert!(
            subject.contains("Bcc: evil@example.net"),
            "kept as text: {subject}"
        );
    }
}

#[test]
fn the_sink_decoder_handles_both_transfer_encodings() {
    let message = "Subject: x\r\n\
        Content-Type: multipart/alternative;\r\n boundary=\"b1\"\r\n\
        \r\n\
        preamble\r\n\
        --b1\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\
        Content-Transfer-Encoding: quoted-printable\r\n\
        \r\n\
        https://example.com/verify/abc=\r\n\
        def?x=3D1 caf=C3=A9\r\n\
        --b1\r\n\
        Content-Type: text/html; charset=utf-8\r\n\
        Content-Transfer-Encoding: base64\r\n\
        \r\n\
        PHA+Y2Fmw6k8L3A+\r\n\
        --b1--\r\n";
    assert_eq!(
        decoded_text(message),
        "https://example.com/verify/abcdef?x=1 café"
    );
    assert_eq!(decoded_html(message), "<p>café</p>");
    assert_eq!(
        header(message, "content-type").as_deref(),
        Some("multipart/alternative; boundary=\"b1\"")
    );
    let encoded = "Subject: =?utf-8?b?WsO8cmljaA==?= =?utf-8?q?_caf=C3=A9?= and more\r\n\r\n";
    assert_eq!(
        header(encoded, "Subject").as_deref(),
        Some("Zürich café and more")
    );
}
