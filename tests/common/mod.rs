//! Test helpers: start the real app on a random port against a fresh database (SQLite
//! file, or a new PostgreSQL database per test), with a clock the test moves.
#![allow(dead_code)]

pub mod database;
pub mod portal;
pub mod product;
pub mod smtp;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use reqwest::{Client, Response};
use rightsdesk::app::App;
use rightsdesk::clock::ManualClock;
use rightsdesk::config::Config;
use rightsdesk::domain::staff::Role;
use rightsdesk::http::AppState;
use rightsdesk::jobs::JobHandler;
use rightsdesk::secret::Secret;
use serde_json::Value;
use tokio::sync::oneshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL URL for tests, or `None` (the test prints that it skipped). Under
/// `CI=true` a missing URL fails the test.
pub fn postgres_url() -> Option<String> {
    service_url("RIGHTSDESK_TEST_POSTGRES_URL")
}

/// A service URL from the environment, or `None` (the test prints that it skipped);
/// under `CI=true` a missing service fails the test.
pub fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true but {var} is not set");
            }
            eprintln!("skipped: {var} is not set");
            None
        }
    }
}

/// `base` with its database name replaced (query string kept).
pub fn with_database(base: &str, name: &str) -> String {
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let (head, query) = match base.find('?') {
        Some(q) => (&base[..q], &base[q..]),
        None => (base, ""),
    };
    let prefix = match head[scheme_end..].find('/') {
        Some(i) => &head[..scheme_end + i],
        None => head,
    };
    format!("{prefix}/{name}{query}")
}

/// Create a fresh database on the PostgreSQL server of `base`; it is dropped when the
/// returned guard is (also when the test fails).
pub async fn fresh_postgres_database(base: &str) -> database::TestDatabase {
    database::TestDatabase::create(database::Server::Postgres, base, "rd_test").await
}

pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub const T0: &str = "2026-10-10T09:00:00Z";

pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("valid time")
        .with_timezone(&Utc)
}

pub struct TestApp {
    pub base: String,
    /// `http://addr` of the metrics listener.
    pub metrics_base: String,
    pub client: Client,
    pub clock: ManualClock,
    pub state: AppState,
    pub database_url: String,
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// The PostgreSQL database, dropped with the app (or with [`Stopped`]).
    database: Option<database::TestDatabase>,
}

/// What is left of a stopped app: its directory (database file, key, data) and, on
/// PostgreSQL, its database, both kept until this is dropped.
pub struct Stopped {
    pub dir: tempfile::TempDir,
    pub database: Option<database::TestDatabase>,
}

impl std::ops::Deref for Stopped {
    type Target = tempfile::TempDir;
    fn deref(&self) -> &tempfile::TempDir {
        &self.dir
    }
}

pub struct Options {
    pub configure: Box<dyn FnOnce(&mut Config) + Send>,
    pub handlers: Vec<(String, Arc<dyn JobHandler>)>,
}

impl Options {
    /// The connectors of the data map in `datamap`, everything else as configured by
    /// default.
    pub fn datamap(datamap: PathBuf) -> Self {
        Self {
            configure: Box::new(move |c| c.datamap_dir = datamap),
            handlers: Vec::new(),
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            configure: Box::new(|_| {}),
            handlers: Vec::new(),
        }
    }
}

/// Start the app, or `None` when the backend's service is not configured.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, Options::default()).await
}

pub async fn spawn_app_with(backend: Backend, opts: Options) -> Option<TestApp> {
    install_crypto();
    let dir = tempfile::tempdir().expect("tempdir");
    let (database_url, database) = match backend {
        Backend::Sqlite => (
            format!("sqlite://{}", dir.path().join("rightsdesk.db").display()),
            None,
        ),
        Backend::Postgres => {
            let db = fresh_postgres_database(&postgres_url()?).await;
            (db.url.clone(), Some(db))
        }
    };
    let key_file: PathBuf = dir.path().join("test.key");
    std::fs::write(&key_file, "11".repeat(32)).expect("write key");
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        metrics_listen: "127.0.0.1:0".into(),
        database_url: Secret::new(database_url.clone()),
        data_dir: dir.path().join("data"),
        datamap_dir: dir.path().join("datamap"),
        secret_key_file: Some(key_file),
        ..Config::default()
    };
    config.jobs.poll_interval =
        rightsdesk::config::HumanDuration::parse("100ms").expect("duration");
    (opts.configure)(&mut config);
    let clock = ManualClock::new(t(T0));
    let mut app = App::build_with(config, Arc::new(clock.clone()))
        .await
        .expect("app builds");
    for (kind, h) in opts.handlers {
        app = app.with_job_handler(&kind, h);
    }
    let base = format!("http://{}", app.local_addr());
    let metrics_base = app
        .metrics_addr()
        .map(|a| format!("http://{a}"))
        .unwrap_or_default();
    let state = app.state();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    Some(TestApp {
        base,
        metrics_base,
        client: Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        clock,
        state,
        database_url,
        backend,
        dir,
        stop: Some(tx),
        server: Some(server),
        database,
    })
}

/// Start the app sending its email over real SMTP to a sink of its own (the privacy
/// team is `privacy-team@example.com`), then `tune` the configuration further.
pub async fn spawn_app_with_sink(
    backend: Backend,
    tune: impl FnOnce(&mut Config) + Send + 'static,
) -> Option<(TestApp, smtp::SmtpSink)> {
    let sink = smtp::start().await;
    let addr = sink.addr;
    let opts = Options {
        configure: Box::new(move |c| {
            c.email.transport = rightsdesk::config::EmailTransport::Smtp;
            c.email.smtp_url = Secret::new(format!("smtp://{addr}"));
            c.email.privacy_team = "privacy-team@example.com".into();
            tune(c);
        }),
        handlers: Vec::new(),
    };
    let app = spawn_app_with(backend, opts).await?;
    Some((app, sink))
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The first link to `prefix` (e.g. `/verify/`) in a text, rewritten to this server.
    pub fn link_in(&self, text: &str, prefix: &str) -> String {
        let start = text
            .find(prefix)
            .unwrap_or_else(|| panic!("no {prefix} link in:\n{text}"));
        let rest = &text[start..];
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '>' || c == '"')
            .unwrap_or(rest.len());
        self.url(&rest[..end])
    }

    /// The first link to `prefix` in a mail's text part, rewritten to this server.
    pub fn link(&self, mail: &smtp::ReceivedMail, prefix: &str) -> String {
        self.link_in(&smtp::decoded_text(&mail.data), prefix)
    }

    /// Run SQL (one or more statements, no binds) on the app's own store database.
    pub async fn store_sql(&self, sql: &str) {
        let q = || sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()));
        match self.backend {
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&self.database_url).await.unwrap();
                q().execute(&pool).await.unwrap();
                pool.close().await;
            }
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.database_url).await.unwrap();
                q().execute(&pool).await.unwrap();
                pool.close().await;
            }
        }
    }

    /// The id of the request with this reference.
    pub async fn request_id(&self, reference: &str) -> String {
        self.state
            .store
            .request_by_reference(reference)
            .await
            .expect("store")
            .unwrap_or_else(|| panic!("no request {reference}"))
            .id
    }

    /// The queued jobs (the first page).
    pub async fn queued_jobs(&self) -> Vec<rightsdesk::store::Job> {
        self.state
            .store
            .list_jobs(
                Some(rightsdesk::store::JobStatus::Queued),
                rightsdesk::store::PageRequest::default(),
            )
            .await
            .expect("jobs")
            .items
    }

    /// Wait (up to 10 s) for a queued job that `found` accepts (a job that failed and
    /// waits for its retry), and return it.
    pub async fn queued_job(
        &self,
        what: &str,
        found: impl Fn(&rightsdesk::store::Job) -> bool,
    ) -> rightsdesk::store::Job {
        for _ in 0..100 {
            if let Some(job) = self.queued_jobs().await.into_iter().find(|j| found(j)) {
                return job;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("no queued job: {what}");
    }

    /// Wait (up to 15 s) until no job is running and none is queued to run now: the
    /// background work that follows an answer (emails, callbacks, webhooks) is done.
    /// Jobs queued for later (retries, reminders) do not count.
    pub async fn settle(&self) {
        use rightsdesk::store::{JobStatus, PageRequest};
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let now = rightsdesk::clock::Clock::now(&self.clock);
            let mut busy = 0;
            for status in [JobStatus::Queued, JobStatus::Running] {
                let page = PageRequest {
                    page: 1,
                    per_page: 1000,
                };
                busy += self
                    .state
                    .store
                    .list_jobs(Some(status), page)
                    .await
                    .expect("jobs")
                    .items
                    .iter()
                    .filter(|j| status == JobStatus::Running || j.run_at <= now)
                    .count();
            }
            if busy == 0 || std::time::Instant::now() > deadline {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Confirm a request with its verification token through the intake API, as a
    /// subject's app would: the status and the answer's JSON.
    pub async fn verify_by_api(&self, token: &str) -> (u16, Value) {
        json(
            self.client
                .post(self.url("/api/v1/intake/verify"))
                .json(&serde_json::json!({ "token": token }))
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    /// The audit entries of `reference` (first 100), read with an auditor token.
    pub async fn audit_of(&self, reference: &str) -> Value {
        let token = self.token(Role::Auditor).await;
        let (s, v) = json(
            self.get(
                &token,
                &format!("/api/v1/audit?request={reference}&per_page=100"),
            )
            .await,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        v
    }

    /// The text of a page fetched without credentials (as the subject's browser does).
    pub async fn page(&self, url: impl reqwest::IntoUrl) -> String {
        self.client
            .get(url)
            .send()
            .await
            .expect("request")
            .text()
            .await
            .expect("body")
    }

    /// POST `body` as JSON and return the answer's JSON, asserting a 2xx status.
    pub async fn post_ok(&self, token: &str, path: &str, body: &Value) -> Value {
        let (s, v) = json(self.post_json(token, path, body).await).await;
        assert!((200..300).contains(&s), "POST {path}: {s} {v}");
        v
    }

    /// The request as the staff API shows it (read with an auditor token).
    pub async fn staff_view(&self, reference: &str) -> Value {
        let token = self.token(Role::Auditor).await;
        let (s, v) = json(
            self.get(&token, &format!("/api/v1/requests/{reference}"))
                .await,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        v
    }

    /// `/metrics` on the metrics listener.
    pub fn metrics_url(&self) -> String {
        format!("{}/metrics", self.metrics_base)
    }

    /// Issue a staff token with `role` the way `rightsdesk token create` does.
    pub async fn token(&self, role: Role) -> String {
        rightsdesk::http::api::tokens::issue(
            &self.state,
            &format!("{}-{}", role.as_str(), uuid::Uuid::new_v4().simple()),
            role,
            "test",
            None,
        )
        .await
        .expect("token")
        .token
    }

    pub async fn post_json(&self, token: &str, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_empty(&self, token: &str, path: &str) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, token: &str, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// Stop the server gracefully and wait for it. Returns the app's directory (database,
    /// key, data) and its PostgreSQL database, kept for tests that look at them afterwards.
    pub async fn stop(mut self) -> Stopped {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(s) = self.server.take() {
            let _ = s.await;
        }
        Stopped {
            dir: self.dir,
            database: self.database,
        }
    }
}

/// Status and JSON body of a response.
pub async fn json(resp: Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

/// Assert a problem+json answer with `status`; returns the body.
pub async fn problem(resp: Response, status: u16) -> Value {
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (got, body) = json(resp).await;
    assert_eq!(got, status, "body: {body}");
    assert_eq!(ct, "application/problem+json", "body: {body}");
    assert_eq!(body["status"], status);
    body
}

pub fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
        .single()
        .expect("valid date")
}

/// Run a test body on SQLite and, when configured, PostgreSQL.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::common::spawn_app($crate::common::Backend::Sqlite).await {
                        super::$name(app).await;
                    }
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::common::spawn_app($crate::common::Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            )+
        }
    };
}

/// Run `async fn name(backend: Backend)` tests on SQLite and, when configured, PostgreSQL
/// (for tests that start the app with their own options).
#[macro_export]
macro_rules! backend_fn_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::common::Backend::Sqlite).await;
            })+
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if $crate::common::postgres_url().is_some() {
                    super::$name($crate::common::Backend::Postgres).await;
                }
            })+
        }
    };
}
