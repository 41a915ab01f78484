//! The privacy inbox against a real IMAP server (Dovecot from the Debian packages, on
//! loopback, over TLS with its own certificate authority): a person's message becomes one
//! triage item with the kind and language guessed, an auto-reply, a bounce and list mail
//! become none, every message is moved to the processed folder, the same message read
//! twice is one item; staff convert an item (the sender is emailed the verification link)
//! or dismiss one with a reason; decided items go with the own-data purge. SQLite and
//! PostgreSQL.

mod common;
#[path = "security/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use common::smtp;
use common::{Backend, Options, TestApp, spawn_app_with};
use rightsdesk::config::EmailTransport;
use rightsdesk::domain::staff::Role;
use rightsdesk::secret::Secret;

const USER: &str = "privacy";
const PASSWORD: &str = "s3cret-imap";
const PROCESSED: &str = "Rightsdesk/Processed";
const WAIT: Duration = Duration::from_secs(30);

/// A Dovecot instance of this test alone: its own directory, certificate and port; stopped
/// (and its directory removed) when dropped, also when the test fails.
struct Dovecot {
    dir: tempfile::TempDir,
    port: u16,
}

impl Dovecot {
    /// `None` when Dovecot is not installed here (under `CI=true` that fails the test).
    async fn start() -> Option<Self> {
        let bin = Path::new("/usr/sbin/dovecot");
        if !bin.exists() {
            assert!(
                std::env::var("CI").is_err(),
                "CI=true but dovecot is not installed (apt-get install dovecot-imapd)"
            );
            eprintln!("skipped: dovecot is not installed");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // Dovecot's own processes (users mail, dovecot, dovenull) must reach the home.
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        // A certificate authority of the test's own, and the server's certificate from it.
        std::fs::write(
            d.join("leaf.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        let openssl = |args: &[&str]| {
            let ok = std::process::Command::new("openssl")
                .current_dir(d)
                .args(args)
                .stderr(std::process::Stdio::null())
                .status()
                .expect("openssl")
                .success();
            assert!(ok, "openssl {args:?}");
        };
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        openssl(
            &[
                &[
                    "req",
                    "-x509",
                    "-days",
                    "1",
                    "-subj",
                    "/CN=Rightsdesk test CA",
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                ][..],
                &ec[..],
            ]
            .concat(),
        );
        openssl(
            &[
                &[
                    "req",
                    "-subj",
                    "/CN=127.0.0.1",
                    "-keyout",
                    "key.pem",
                    "-out",
                    "leaf.csr",
                ][..],
                &ec[..],
            ]
            .concat(),
        );
        openssl(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "leaf.ext",
            "-out",
            "cert.pem",
        ]);
        std::fs::create_dir_all(d.join("home")).unwrap();
        let chown = std::process::Command::new("chown")
            .args(["mail:mail"])
            .arg(d.join("home"))
            .status()
            .unwrap();
        assert!(chown.success());
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let p = d.display();
        let conf = format!(
            "base_dir = {p}/run\nstate_dir = {p}/state\nlog_path = {p}/dovecot.log\n\
             protocols = imap\nlisten = 127.0.0.1\nssl = required\n\
             ssl_cert = <{p}/cert.pem\nssl_key = <{p}/key.pem\n\
             first_valid_uid = 1\nfirst_valid_gid = 1\nauth_mechanisms = plain\n\
             service imap-login {{\n  inet_listener imap {{\n    port = 0\n  }}\n  inet_listener imaps {{\n    port = {port}\n    ssl = yes\n  }}\n}}\n\
             passdb {{\n  driver = static\n  args = password={PASSWORD}\n}}\n\
             userdb {{\n  driver = static\n  args = uid=mail gid=mail home={p}/home/%u\n}}\n\
             mail_location = maildir:~/Maildir\n\
             namespace inbox {{\n  inbox = yes\n  separator = /\n}}\n"
        );
        std::fs::write(d.join("dovecot.conf"), conf).unwrap();
        let started = std::process::Command::new(bin)
            .arg("-c")
            .arg(d.join("dovecot.conf"))
            .status()
            .unwrap();
        assert!(started.success(), "dovecot did not start");
        let server = Self { dir, port };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Some(server);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("dovecot is not listening on {port}");
    }

    /// The certificate authority the server's certificate comes from.
    fn cert(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A signed-in IMAP session of the test's own (to put mail in and look at folders).
    async fn session(
        &self,
    ) -> async_imap::Session<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
        use rustls_pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls_pki_types::CertificateDer::pem_file_iter(self.cert()).unwrap() {
            roots.add(c.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .unwrap();
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(
                rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap(),
                tcp,
            )
            .await
            .unwrap();
        let mut client = async_imap::Client::new(tls);
        client.read_response().await.unwrap().unwrap();
        client
            .login(USER, PASSWORD)
            .await
            .map_err(|(e, _)| e)
            .unwrap()
    }

    async fn deliver(&self, message: &str) {
        let mut s = self.session().await;
        s.append("INBOX", None, None, message.replace('\n', "\r\n"))
            .await
            .unwrap();
        let _ = s.logout().await;
    }

    /// Messages in a folder (`None`: no such folder).
    async fn count(&self, folder: &str) -> Option<u32> {
        let mut s = self.session().await;
        let n = s.examine(folder).await.ok().map(|m| m.exists);
        let _ = s.logout().await;
        n
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let pid = std::fs::read_to_string(self.dir.path().join("run/master.pid"))
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok());
        if let Some(pid) = pid {
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
            for _ in 0..50 {
                if !Path::new(&format!("/proc/{pid}")).exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

fn person_mail(id: &str) -> String {
    format!(
        "From: Anna Beispiel <anna@example.com>\n\
         To: privacy@shop.example\n\
         Subject: Löschung meiner Daten\n\
         Message-ID: <{id}@example.com>\n\
         Date: Sat, 05 Dec 2026 09:00:00 +0000\n\
         MIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\n\
         \n\
         --b1\n\
         Content-Type: text/plain; charset=utf-8\n\
         Content-Transfer-Encoding: 8bit\n\
         \n\
         Guten Tag, bitte löschen Sie meine Daten und die Kopie meines Kontos.\n\
         Mit freundlichen Grüßen, Anna\n\
         --b1\n\
         Content-Type: application/pdf; name=\"ausweis.pdf\"\n\
         Content-Disposition: attachment; filename=\"ausweis.pdf\"\n\
         Content-Transfer-Encoding: base64\n\
         \n\
         JVBERi0xLjQKJcTl8uXrCg==\n\
         --b1--\n"
    )
}

const AUTO_REPLY: &str = "From: Bob <bob@example.org>\n\
To: privacy@shop.example\n\
Subject: Out of office: your message\n\
Message-ID: <ooo-1@example.org>\n\
Auto-Submitted: auto-replied\n\
Content-Type: text/plain\n\
\n\
I am away until Monday; please delete nothing, I will answer then.\n";

const BOUNCE: &str = "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\n\
To: privacy@shop.example\n\
Subject: Undelivered Mail Returned to Sender\n\
Message-ID: <bounce-1@mx.example.net>\n\
MIME-Version: 1.0\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"r1\"\n\
\n\
--r1\n\
Content-Type: text/plain\n\
\n\
Your message to someone@example.net could not be delivered: access denied.\n\
--r1\n\
Content-Type: message/delivery-status\n\
\n\
Reporting-MTA: dns; mx.example.net\n\
--r1--\n";

const LIST_MAIL: &str = "From: News <news@lists.example.org>\n\
To: privacy@shop.example\n\
Subject: Weekly privacy digest: how to request access to your data\n\
Message-ID: <digest-7@lists.example.org>\n\
List-Id: Privacy digest <digest.lists.example.org>\n\
Content-Type: text/plain\n\
\n\
This week: erasure, access and objection explained.\n";

const ACCESS_MAIL: &str = "From: Carl <carl@example.com>\n\
To: privacy@shop.example\n\
Subject: Subject access request\n\
Message-ID: <carl-1@example.com>\n\
Content-Type: text/plain\n\
\n\
Please send me a copy of my data.\n";

async fn wait_until<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = tokio::time::Instant::now() + WAIT;
    while !f().await {
        assert!(
            tokio::time::Instant::now() < end,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn portal_post(
    app: &TestApp,
    login: &support::PortalLogin,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut fields = vec![("csrf", login.csrf.as_str())];
    fields.extend_from_slice(form);
    app.client
        .post(app.url(path))
        .header("cookie", &login.cookie)
        .header("origin", &app.base)
        .form(&fields)
        .send()
        .await
        .unwrap()
}

async fn portal_get(app: &TestApp, login: &support::PortalLogin, path: &str) -> (u16, String) {
    let r = app
        .client
        .get(app.url(path))
        .header("cookie", &login.cookie)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn inbox_story(backend: Backend) {
    let Some(imap) = Dovecot::start().await else {
        return;
    };
    let sink = smtp::start().await;
    let (addr, port, cert) = (sink.addr, imap.port, imap.cert());
    let opts = Options {
        configure: Box::new(move |c| {
            c.email.transport = EmailTransport::Smtp;
            c.email.smtp_url = Secret::new(format!("smtp://{addr}"));
            c.inbox.url = format!("imaps://127.0.0.1:{port}");
            c.inbox.username = USER.into();
            c.inbox.password = Secret::new(PASSWORD.into());
            c.inbox.ca_file = Some(cert);
            c.inbox.poll_interval = rightsdesk::config::HumanDuration(Duration::from_secs(2));
            // A webhook endpoint on loopback hears of new items (nothing listens there:
            // the test reads the queued delivery, not the wire).
            c.webhooks.allow_http = true;
            c.webhooks.allow_private = true;
        }),
        handlers: Vec::new(),
    };
    let Some(app) = spawn_app_with(backend, opts).await else {
        return;
    };
    let store = app.state.store.clone();
    let (hook, _secret) = rightsdesk::services::webhooks::create_endpoint(
        &app.state,
        &rightsdesk::services::workflow::Actor {
            name: "test".into(),
            client_addr: None,
        },
        "http://127.0.0.1:9/hook",
        "triage",
        &["inbox.item".to_string()],
    )
    .await
    .unwrap();

    // One person's message, an auto-reply, a bounce, list mail, and the person's message
    // again (same Message-ID): read as the service runs (IDLE wakes it).
    for m in [
        person_mail("anna-1"),
        AUTO_REPLY.to_string(),
        BOUNCE.to_string(),
        LIST_MAIL.to_string(),
        person_mail("anna-1"),
    ] {
        imap.deliver(&m).await;
    }
    wait_until("the folder is read and emptied", || async {
        imap.count("INBOX").await == Some(0) && imap.count(PROCESSED).await == Some(5)
    })
    .await;
    let items = store
        .inbox_items(None, rightsdesk::store::PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        items.total, 1,
        "one item for the person, none for the machines"
    );
    let item = &items.items[0];
    assert_eq!(item.guessed_kind.as_deref(), Some("erasure"));
    assert_eq!(item.language.as_deref(), Some("de"));
    assert_eq!(item.status, "new");
    // Stored encrypted: no clear sender or text in the row.
    assert!(!item.from_ct.contains("anna@example.com"));
    assert!(!item.body_ct.contains("löschen"));
    // One inbox.item event, for the person's message only, naming the item and its guess.
    let deliveries = store.webhook_deliveries(&hook.id, 10).await.unwrap();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0].event_type, "inbox.item");
    let payload: serde_json::Value = serde_json::from_str(&deliveries[0].payload).unwrap();
    assert_eq!(payload["data"]["item"], item.id.as_str(), "{payload}");
    assert_eq!(payload["data"]["guessed_kind"], "erasure", "{payload}");
    assert!(!deliveries[0].payload.contains("anna@example.com"));
    assert!(!deliveries[0].payload.contains("Löschung"));

    // The triage queue and the item, for an agent; not for an auditor.
    let agent = support::portal_login(&app, Role::Agent).await;
    let (s, queue) = portal_get(&app, &agent, "/portal/inbox").await;
    assert_eq!(s, 200);
    assert!(
        queue.contains("anna@example.com") && queue.contains("Löschung meiner Daten"),
        "{queue}"
    );
    assert!(
        queue.contains("<td class=\"guess\">erasure</td>"),
        "{queue}"
    );
    let auditor = support::portal_login(&app, Role::Auditor).await;
    let (s, _) = portal_get(&app, &auditor, "/portal/inbox").await;
    assert_eq!(s, 403);
    let (s, page) = portal_get(&app, &agent, &format!("/portal/inbox/{}", item.id)).await;
    assert_eq!(s, 200);
    assert!(page.contains("bitte löschen Sie meine Daten"), "{page}");
    assert!(page.contains("ausweis.pdf"), "{page}");
    // The attachment comes back whole, as a download.
    let attachments = store.inbox_attachment_list(&item.id).await.unwrap();
    assert_eq!(attachments.len(), 1);
    let r = app
        .client
        .get(app.url(&format!(
            "/portal/inbox/{}/attachments/{}",
            item.id, attachments[0].id
        )))
        .header("cookie", &agent.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("ausweis.pdf")
    );
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF-1.4"));

    // Convert: a request for the sender, who is emailed the link to confirm the address.
    let r = portal_post(
        &app,
        &agent,
        &format!("/portal/inbox/{}/convert", item.id),
        &[("kind", "erasure"), ("regime", "")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let reference = to.strip_prefix("/portal/requests/").unwrap().to_string();
    let mails = sink.wait_for(1, WAIT).await;
    let verify = mails
        .iter()
        .find(|m| m.to.iter().any(|t| t == "anna@example.com"))
        .expect("a mail to the sender");
    let text = smtp::decoded_text(&verify.data);
    assert!(
        text.contains("/verify/") && text.contains(&reference),
        "{text}"
    );
    // The message was German: so are the link's email and the request's language.
    assert!(text.contains("bestätigen Sie bitte"), "{text}");
    let req = store
        .request_by_reference(&reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(req.kind.as_str(), "erasure");
    assert_eq!(req.status.as_str(), "awaiting_verification");
    assert_eq!(req.language.tag(), "de");
    let item = store.inbox_item(&item.id).await.unwrap().unwrap();
    assert_eq!(
        (item.status.as_str(), item.request_ref.as_deref()),
        ("converted", Some(reference.as_str()))
    );
    // Converting twice is refused, nothing new is created.
    let r = portal_post(
        &app,
        &agent,
        &format!("/portal/inbox/{}/convert", item.id),
        &[("kind", "erasure")],
    )
    .await;
    assert_eq!(r.status(), 409);

    // A second message, dismissed: a reason is required.
    imap.deliver(ACCESS_MAIL).await;
    wait_until("the second message is an item", || async {
        store
            .inbox_items(Some("new"), rightsdesk::store::PageRequest::default())
            .await
            .unwrap()
            .total
            == 1
    })
    .await;
    let second = store
        .inbox_items(Some("new"), rightsdesk::store::PageRequest::default())
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(second.guessed_kind.as_deref(), Some("access"));
    let path = format!("/portal/inbox/{}/dismiss", second.id);
    let r = portal_post(&app, &agent, &path, &[("reason", " ")]).await;
    assert_eq!(r.status(), 422);
    let r = portal_post(&app, &agent, &path, &[("reason", "answered by phone")]).await;
    assert_eq!(r.status(), 303);
    let second = store.inbox_item(&second.id).await.unwrap().unwrap();
    assert_eq!(
        (second.status.as_str(), second.reason.as_deref()),
        ("dismissed", Some("answered by phone"))
    );

    // Audited by reference and item, never by address.
    let audit = store
        .list_audit(&rightsdesk::store::AuditFilter {
            page: rightsdesk::store::PageRequest {
                page: 1,
                per_page: 500,
            },
            ..Default::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = audit.items.iter().map(|e| e.action.as_str()).collect();
    for a in [
        "inbox.view",
        "inbox.attachment_download",
        "inbox.convert",
        "inbox.dismiss",
    ] {
        assert!(actions.contains(&a), "{a} not audited: {actions:?}");
    }
    for e in &audit.items {
        assert!(!e.detail.to_string().contains("anna@example.com"), "{e:?}");
    }

    // Decided items go with closed requests' personal data.
    app.clock
        .advance(app.state.config.retention_own.closed_request_pii.chrono() + TimeDelta::days(1));
    let report = rightsdesk::services::retention::own::purge(&app.state, "test")
        .await
        .unwrap();
    assert_eq!(report.inbox_items_deleted, 2);
    assert_eq!(
        store
            .inbox_items(None, rightsdesk::store::PageRequest::default())
            .await
            .unwrap()
            .total,
        0
    );
    let _stopped = app.stop().await;
}

backend_fn_tests!(inbox_story);
