//! `rightsdesk demo`: a sample product database, its data map and register of processing,
//! fourteen requests in every status and a staff token, so a newcomer sees the whole flow in a minute.
//!
//! The product database (`data_dir/demo/product.sqlite`) is shaped like a lead-capture
//! SaaS: accounts and their users, leads with company data, website visits, chat
//! conversations, feedback with screenshot metadata, and a shared company directory that
//! the data map leaves out, so no request ever touches it. Requests are seeded through the
//! same workflow code the API uses, with the clock set back so their dates look lived-in.
//! Every step checks what is already there, so running the command twice changes nothing.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Duration as TimeDelta, NaiveDate, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use crate::app::context::AppState;
use crate::clock::{Clock, ManualClock, SystemClock};
use crate::config::Config;
use crate::domain::client::ClientAddr;
use crate::domain::request::{DenyReason, Kind, Status};
use crate::domain::staff::Role;
use crate::jobs::JobHandler;
use crate::services::workflow::{self, Actor, StaffAction, StaffEntry};

/// File name of the demo's data map in `datamap_dir`.
pub const DATAMAP_FILE: &str = "demo.toml";

/// The configuration file the demo writes (when there is none) with the demo product's
/// register of processing: GDPR art. 15(1) for access packages, the recipients told of
/// erasures, rectifications and restrictions (art. 19), and its profiling (art. 15(1)(h)).
pub const CONFIG_FILE: &str = "rightsdesk.toml";

const REGISTER: &str = r#"# Written by `rightsdesk demo`: the demo product's register of processing. Access
# packages carry it (about-your-data.json, GDPR art. 15(1)); recipients with `notify` are
# emailed when an erasure, rectification or restriction is completed (art. 19). The
# notify addresses are fictional: with the default file transport the notices land in
# data/outbox/ like every other email. See ops/rightsdesk.example.toml for every key.

[processing]
controller = "Example Ltd, 1 Example Street, Amsterdam, NL (privacy@example.com)"
dpo = "privacy@example.com"
supervisory_authority = "Autoriteit Persoonsgegevens (NL), autoriteitpersoonsgegevens.nl"

[[processing.purposes]]
name = "service"
description = "Provide the product to customer accounts: sign-in, workspaces, support"
legal_basis = "contract"
categories = ["name", "contact.email", "network.ip_address"]
retention = "account lifetime + 90 days"

[[processing.purposes]]
name = "lead-capture"
description = "Capture and route leads submitted through customers' forms and chat"
legal_basis = "processor"
categories = ["name", "contact.email", "contact.phone", "professional.job_title", "free_text"]
retention = "24 months after the last activity"

[[processing.purposes]]
name = "visitor-analytics"
description = "Pages viewed and time on site, to score leads and improve the product"
legal_basis = "legitimate_interests"
categories = ["network.ip_address", "activity.pages_viewed", "device.browser"]
retention = "13 months"

[[processing.purposes]]
name = "marketing"
description = "Product news to account users"
legal_basis = "consent"
categories = ["name", "contact.email"]
retention = "until you unsubscribe or object"

[[processing.recipients]]
name = "Example Cloud Hosting B.V."
role = "processor"
purpose = "hosting in the EU"

[[processing.recipients]]
name = "Example Mail Delivery Inc."
role = "processor"
purpose = "sending product and notification emails"
transfer = "USA, under the EU standard contractual clauses"
notify = "dsr@mail-delivery.example"

[[processing.recipients]]
name = "Example CRM Partner GmbH"
role = "independent controller"
purpose = "leads passed on to the customer's CRM"
notify = "privacy@crm-partner.example"

[[processing.sources]]
name = "the customer whose website form or chat you used"
categories = ["name", "contact.email", "free_text"]

[[processing.automated_decisions]]
name = "lead scoring"
profiling = true
solely_automated = false
logic = "Points for pages viewed, time on site, company size and the answers in the form; the highest scores are listed first to the customer's sales team"
significance = "Decides how soon a salesperson contacts you"
consequences = "A low score may mean a later answer; no offer, price or refusal depends on it"
"#;

/// What the demo created or found, for the next-steps text.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub product_db: PathBuf,
    pub datamap: PathBuf,
    /// `false` when an earlier run had already seeded the requests.
    pub seeded_now: bool,
    /// (reference, kind, status) of the seeded requests.
    pub requests: Vec<(String, String, String)>,
    pub token: String,
    pub portal_url: String,
    pub admin_email: String,
    pub admin_password_file: Option<PathBuf>,
    /// An `open` request the printed curl line starts.
    pub open_reference: Option<String>,
    pub api: String,
    /// The configuration file the demo wrote with its register, on the run that wrote it.
    pub register_written: Option<PathBuf>,
    /// The configuration in use has a register of processing.
    pub register_provided: bool,
}

/// One fictional person of the sample product.
struct Person {
    name: &'static str,
    email: &'static str,
}

const PEOPLE: &[Person] = &[
    Person {
        name: "Maria Jensen",
        email: "maria.jensen@example.com",
    },
    Person {
        name: "Tomás Ortega",
        email: "tomas.ortega@example.net",
    },
    Person {
        name: "Aiko Tanaka",
        email: "aiko.tanaka@example.org",
    },
    Person {
        name: "Lukas Becker",
        email: "lukas.becker@example.com",
    },
    Person {
        name: "Priya Raman",
        email: "priya.raman@example.net",
    },
    Person {
        name: "Oskar Lindqvist",
        email: "oskar.lindqvist@example.org",
    },
    Person {
        name: "Chloé Martin",
        email: "chloe.martin@example.com",
    },
    Person {
        name: "Daniel Okafor",
        email: "daniel.okafor@example.net",
    },
    Person {
        name: "Eva Novák",
        email: "eva.novak@example.org",
    },
    Person {
        name: "Hannah Schmidt",
        email: "hannah.schmidt@example.com",
    },
    Person {
        name: "Mateo Rossi",
        email: "mateo.rossi@example.net",
    },
    Person {
        name: "Sofia Andersson",
        email: "sofia.andersson@example.org",
    },
];

const COMPANIES: &[(&str, &str, &str, i64)] = &[
    ("Northwind Traders", "northwind.example", "Wholesale", 120),
    (
        "Blue Yonder Airlines",
        "blueyonder.example",
        "Aviation",
        2400,
    ),
    (
        "Contoso Pharmaceuticals",
        "contoso.example",
        "Health care",
        860,
    ),
    (
        "Fabrikam Robotics",
        "fabrikam.example",
        "Manufacturing",
        310,
    ),
    ("Litware Analytics", "litware.example", "Software", 45),
    ("Tailspin Toys", "tailspin.example", "Retail", 75),
];

const SCHEMA: &str = r#"
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    company_name TEXT NOT NULL,
    plan TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    email TEXT NOT NULL UNIQUE,
    full_name TEXT,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    last_login_ip TEXT,
    last_login_at TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE leads (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    email TEXT NOT NULL,
    full_name TEXT,
    phone TEXT,
    company_name TEXT,
    company_domain TEXT,
    company_size TEXT,
    job_title TEXT,
    message TEXT,
    ip_address TEXT,
    source TEXT,
    submitted_at TEXT NOT NULL,
    last_activity_at TEXT NOT NULL,
    -- Set by a restriction (GDPR art. 18) and an objection to marketing (art. 21(3)).
    processing_restricted INTEGER NOT NULL DEFAULT 0,
    marketing_opt_out INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX leads_email ON leads (email);
-- Identity matching compares lower(email): these indexes serve it (`rightsdesk check`).
CREATE INDEX leads_email_lower ON leads (lower(email));
CREATE INDEX users_email_lower ON users (lower(email));
CREATE TABLE website_visits (
    id INTEGER PRIMARY KEY,
    lead_id INTEGER REFERENCES leads (id),
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    ip_address TEXT NOT NULL,
    page TEXT NOT NULL,
    referrer TEXT,
    user_agent TEXT,
    seconds_on_page INTEGER NOT NULL,
    visited_at TEXT NOT NULL
);
CREATE INDEX website_visits_lead ON website_visits (lead_id);
CREATE TABLE chat_conversations (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    visitor_email TEXT NOT NULL,
    visitor_name TEXT,
    started_at TEXT NOT NULL
);
CREATE INDEX chat_conversations_email ON chat_conversations (visitor_email);
CREATE INDEX chat_conversations_email_lower ON chat_conversations (lower(visitor_email));
CREATE TABLE chat_messages (
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES chat_conversations (id),
    sender TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_at TEXT NOT NULL
);
CREATE INDEX chat_messages_conversation ON chat_messages (conversation_id);
CREATE TABLE feedback (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    rating INTEGER NOT NULL,
    comment TEXT,
    screenshot_filename TEXT,
    screenshot_bytes INTEGER,
    screenshot_width INTEGER,
    screenshot_height INTEGER,
    browser TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX feedback_user ON feedback (user_id);
-- Public business data shared by every account: never personal, never erased.
CREATE TABLE company_directory (
    domain TEXT PRIMARY KEY,
    company_name TEXT NOT NULL,
    industry TEXT NOT NULL,
    employees INTEGER NOT NULL,
    country TEXT NOT NULL
);
"#;

const DATAMAP: &str = r#"# Data map of the demo product (`rightsdesk demo`): a lead-capture SaaS with accounts and
# their users, leads, website visits, chat and feedback. `company_directory` is shared
# public business data: it is not declared here, so no request ever reads or changes it.
name = "demo"
kind = "sqlite"
url = "sqlite://${RIGHTSDESK_DM_DEMO_PRODUCT_DB}"
max_connections = 2

# The people who sign in to the product. Their account keeps the row (billing, audit),
# so an erasure masks the person and keeps the line.
[[tables]]
name = "users"
primary_key = "id"
identities = { email = "email" }
erase = "anonymize"
retain_reason = "The customer account keeps a masked user line for its billing and audit records"
[tables.fields]
email = { category = "contact.email", mask = "hash" }
full_name = { category = "name", mask = "redact", rectify = true }
password_hash = { export = false, reason = "security credential" }
last_login_ip = { category = "network.ip_address", mask = "null" }
# SQLite has no date type: these TEXT columns hold "YYYY-MM-DD HH:MM:SS" (UTC).
last_login_at = { type = "timestamp" }
created_at = { type = "timestamp" }

[[tables]]
name = "leads"
primary_key = "id"
identities = { email = "email" }
erase = "delete"
[tables.fields]
email = { category = "contact.email" }
full_name = { category = "name", rectify = true }
phone = { category = "contact.phone", rectify = true }
job_title = { category = "professional.job_title", rectify = true }
message = { category = "free_text" }
ip_address = { category = "network.ip_address" }
submitted_at = { type = "timestamp" }
last_activity_at = { type = "timestamp" }

[[tables]]
name = "website_visits"
primary_key = "id"
via = { lead_id = "leads.id" }
erase = "delete"
[tables.fields]
ip_address = { category = "network.ip_address" }
page = { category = "activity.pages_viewed" }
user_agent = { category = "device.browser" }
visited_at = { category = "activity.visit_time", type = "timestamp" }

[[tables]]
name = "chat_conversations"
primary_key = "id"
identities = { email = "visitor_email" }
erase = "delete"
[tables.fields]
visitor_email = { category = "contact.email" }
visitor_name = { category = "name" }
started_at = { type = "timestamp" }

[[tables]]
name = "chat_messages"
primary_key = "id"
via = { conversation_id = "chat_conversations.id" }
erase = "delete"
[tables.fields]
body = { category = "free_text" }
sent_at = { type = "timestamp" }

[[tables]]
name = "feedback"
primary_key = "id"
via = { user_id = "users.id" }
erase = "anonymize"
retain_reason = "Ratings are kept for product quality statistics; comments and screenshots are removed"
[tables.fields]
comment = { category = "free_text", mask = "redact" }
screenshot_filename = { category = "screenshot", mask = "null" }
browser = { category = "device.browser", mask = "null" }
created_at = { type = "timestamp" }

# A restriction (GDPR art. 18) marks the person's leads: the product's sales views and
# lead scoring leave marked leads alone, and nothing is deleted. An objection to
# marketing (art. 21(3)) marks them too: no more campaign emails.
[restriction]
table = "leads"
set = { processing_restricted = 1 }

[objection]
table = "leads"
set = { marketing_opt_out = 1 }

[[retention]]
name = "stale-website-visits"
table = "website_visits"
age_column = "visited_at"
max_age = "13 months"
action = "delete"
batch_size = 1000
schedule = "0 15 3 * * *"
"#;

fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Create the product database with deterministic rows, unless it exists.
async fn product_database(path: &Path, now: DateTime<Utc>) -> Result<bool, String> {
    if path.exists() {
        return Ok(false);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    // Build beside the final name and rename at the end: an interrupted run leaves no
    // half-filled database that a later run would take as finished.
    let partial = path.with_extension("sqlite.partial");
    let _ = std::fs::remove_file(&partial);
    let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", partial.display()))
        .map_err(|e| e.to_string())?
        .create_if_missing(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .map_err(|e| format!("demo product database: {e}"))?;
    let db = |e: sqlx::Error| format!("demo product database: {e}");
    let mut tx = pool.begin().await.map_err(db)?;
    sqlx::raw_sql(SCHEMA).execute(&mut *tx).await.map_err(db)?;
    for (i, (name, domain, industry, employees)) in COMPANIES.iter().enumerate() {
        let id = i as i64 + 1;
        let plan = ["starter", "growth", "enterprise"][i % 3];
        sqlx::query(
            "INSERT INTO accounts (id, company_name, plan, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(id)
        .bind(name)
        .bind(plan)
        .bind(ts(now - TimeDelta::days(700 - 60 * id)))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        sqlx::query(
            "INSERT INTO company_directory (domain, company_name, industry, employees, country) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(domain)
        .bind(name)
        .bind(industry)
        .bind(employees)
        .bind(["NL", "DE", "SE", "FR", "GB", "US"][i % 6])
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    }
    let pages = [
        "/",
        "/pricing",
        "/features/lead-capture",
        "/blog/gdpr-and-leads",
        "/demo",
        "/contact",
    ];
    let referrers = [
        "https://www.google.com/",
        "https://www.linkedin.com/",
        "",
        "https://news.example/",
    ];
    let browsers = [
        "Firefox 132 on Linux",
        "Chrome 131 on macOS",
        "Safari 18 on iOS",
        "Edge 131 on Windows",
    ];
    let mut visit_id = 0i64;
    let mut message_id = 0i64;
    for (i, p) in PEOPLE.iter().enumerate() {
        let n = i as i64;
        let account = n % COMPANIES.len() as i64 + 1;
        let (company, domain, _, employees) = COMPANIES[(n as usize + 2) % COMPANIES.len()];
        // Half of the people use the product; everyone was a lead once.
        if i % 2 == 0 {
            let user_id = n / 2 + 1;
            sqlx::query(
                "INSERT INTO users (id, account_id, email, full_name, role, password_hash, \
                 last_login_ip, last_login_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(user_id)
            .bind(account)
            .bind(p.email)
            .bind(p.name)
            .bind(if i % 4 == 0 { "owner" } else { "member" })
            .bind(format!(
                "$argon2id$v=19$m=19456,t=2,p=1$demo{n}$notarealhash"
            ))
            .bind(format!("198.51.100.{}", 10 + n))
            .bind(ts(now - TimeDelta::hours(5 + 7 * n)))
            .bind(ts(now - TimeDelta::days(400 - 20 * n)))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            for f in 0..2 {
                let with_shot = f == 0;
                sqlx::query(
                    "INSERT INTO feedback (user_id, rating, comment, screenshot_filename, \
                     screenshot_bytes, screenshot_width, screenshot_height, browser, created_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(user_id)
                .bind(3 + (n + f) % 3)
                .bind(if f == 0 {
                    "The lead export button is hard to find on small screens."
                } else {
                    "Love the new chat widget, my team answers much faster."
                })
                .bind(with_shot.then(|| format!("feedback-{user_id}-{f}.png")))
                .bind(with_shot.then_some(184_320 + 1024 * n))
                .bind(with_shot.then_some(1440))
                .bind(with_shot.then_some(900))
                .bind(browsers[(i + f as usize) % browsers.len()])
                .bind(ts(now - TimeDelta::days(30 + 11 * n + f)))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
        }
        let lead_id = n + 1;
        let submitted = now - TimeDelta::days(90 + 17 * n);
        sqlx::query(
            "INSERT INTO leads (id, account_id, email, full_name, phone, company_name, \
             company_domain, company_size, job_title, message, ip_address, source, submitted_at, \
             last_activity_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(lead_id)
        .bind(account)
        .bind(p.email)
        .bind(p.name)
        .bind(format!("+31 20 555 01{:02}", n))
        .bind(company)
        .bind(domain)
        .bind(if employees > 500 { "500+" } else { "50-500" })
        .bind(
            [
                "Head of Sales",
                "Marketing Lead",
                "CTO",
                "Operations Manager",
            ][i % 4],
        )
        .bind("Could we get a demo for our sales team next week?")
        .bind(format!("203.0.113.{}", 20 + n))
        .bind(["website form", "chat widget", "webinar"][i % 3])
        .bind(ts(submitted))
        .bind(ts(submitted + TimeDelta::days(12)))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        for v in 0..6i64 {
            visit_id += 1;
            sqlx::query(
                "INSERT INTO website_visits (id, lead_id, account_id, ip_address, page, referrer, \
                 user_agent, seconds_on_page, visited_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(visit_id)
            .bind(lead_id)
            .bind(account)
            .bind(format!("203.0.113.{}", 20 + n))
            .bind(pages[(v as usize + i) % pages.len()])
            .bind(referrers[(v as usize + i) % referrers.len()])
            .bind(browsers[i % browsers.len()])
            .bind(15 + 13 * v)
            // Two visits per person are older than the retention policy's 13 months.
            .bind(ts(
                submitted - TimeDelta::days(if v < 2 { 420 + v } else { v })
            ))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        if i % 3 != 2 {
            let started = now - TimeDelta::days(20 + 9 * n);
            sqlx::query(
                "INSERT INTO chat_conversations (id, account_id, visitor_email, visitor_name, \
                 started_at) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(lead_id)
            .bind(account)
            .bind(p.email)
            .bind(p.name)
            .bind(ts(started))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            for (m, (sender, body)) in [
                ("visitor", "Hi! Does the widget work with our CRM?"),
                (
                    "agent",
                    "Yes, it syncs leads both ways. Shall I send the setup guide?",
                ),
                ("visitor", "Please do, thanks."),
            ]
            .iter()
            .enumerate()
            {
                message_id += 1;
                sqlx::query(
                    "INSERT INTO chat_messages (id, conversation_id, sender, body, sent_at) \
                     VALUES (?, ?, ?, ?, ?)",
                )
                .bind(message_id)
                .bind(lead_id)
                .bind(sender)
                .bind(body)
                .bind(ts(started + TimeDelta::minutes(m as i64 * 2)))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
        }
    }
    tx.commit().await.map_err(db)?;
    pool.close().await;
    std::fs::rename(&partial, path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(true)
}

/// Write the data map unless a file of that name exists (the operator may have edited it).
fn write_datamap(dir: &Path, product_db: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(DATAMAP_FILE);
    if !path.exists() {
        let text = DATAMAP.replace(
            "${RIGHTSDESK_DM_DEMO_PRODUCT_DB}",
            &product_db.display().to_string(),
        );
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(path)
}

fn person(i: usize) -> &'static Person {
    &PEOPLE[i % PEOPLE.len()]
}

fn submission(kind: Kind, p: &Person, details: &str) -> Result<workflow::Submission, String> {
    scoped_submission(kind, p, details, None)
}

fn scoped_submission(
    kind: Kind,
    p: &Person,
    details: &str,
    scope: Option<&str>,
) -> Result<workflow::Submission, String> {
    let mut errors = Vec::new();
    workflow::parse_submission(
        kind,
        p.email,
        Some(p.name),
        Some(details),
        None,
        (scope, None),
        &mut errors,
    )
    .ok_or_else(|| format!("demo request does not validate: {errors:?}"))
}

/// A received-and-verified day whose due date (under the configured policy) is `due`.
fn day_due_on(state: &AppState, due: NaiveDate) -> NaiveDate {
    let policy = state.config.deadline_policy(None);
    (1..=120)
        .map(|back| due - TimeDelta::days(back))
        .find(|d| policy.due_date(*d, *d) == due)
        .unwrap_or(due - TimeDelta::days(30))
}

fn at_ten(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(10, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or_else(Utc::now)
}

struct Seeder {
    state: AppState,
    clock: ManualClock,
    staff: Actor,
    made: Vec<String>,
}

impl Seeder {
    async fn staff_request(
        &mut self,
        kind: Kind,
        who: usize,
        received: DateTime<Utc>,
        details: &str,
    ) -> Result<String, String> {
        let s = submission(kind, person(who), details)?;
        self.enter(s, received).await
    }

    /// Enter a prepared submission as staff would.
    async fn enter(
        &mut self,
        submission: workflow::Submission,
        received: DateTime<Utc>,
    ) -> Result<String, String> {
        self.clock.set(received);
        let entry = StaffEntry {
            submission,
            received_at: received,
            verified_at: received,
            regime: self.state.config.deadlines.regime,
            verification_note: "Identity checked against the account's sign-in email".into(),
        };
        let req = workflow::create_staff_request(&self.state, &self.staff, entry)
            .await
            .map_err(|e| e.to_string())?;
        self.made.push(req.reference.clone());
        Ok(req.reference)
    }

    async fn act(&self, at: DateTime<Utc>, reference: &str, a: StaffAction) -> Result<(), String> {
        self.clock.set(at);
        workflow::act(&self.state, &self.staff, reference, a)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Run the queued jobs (connector tasks, emails) at `at`, as a worker would.
    async fn drain(&self, at: DateTime<Utc>) -> Result<(), String> {
        self.clock.set(at);
        let handlers: Vec<(&str, Arc<dyn JobHandler>)> = vec![
            (
                crate::services::notify::SEND_EMAIL,
                Arc::new(crate::services::notify::SendEmail),
            ),
            (
                crate::services::deadlines::SWEEP,
                Arc::new(crate::services::deadlines::SweepJob),
            ),
            (
                crate::services::fanout::RUN_TASK,
                Arc::new(crate::services::fanout::RunTask),
            ),
        ];
        let worker = "demo";
        for _ in 0..500 {
            let now = self.clock.now();
            let job = self
                .state
                .store
                .claim_job(worker, now, now + TimeDelta::minutes(5))
                .await
                .map_err(|e| e.to_string())?;
            let Some(job) = job else { return Ok(()) };
            let handler = handlers
                .iter()
                .find(|(k, _)| *k == job.kind)
                .map(|(_, h)| h);
            let result = match handler {
                Some(h) => h.run(&job, &self.state).await.map_err(|e| e.message),
                None => Err(format!("the demo does not run `{}` jobs", job.kind)),
            };
            let now = self.clock.now();
            let store = &self.state.store;
            match result {
                Ok(()) => store.finish_job(&job.id, worker, now).await,
                // Left for `serve` to run.
                Err(e) => store.fail_job(&job.id, worker, &e, Some(now), now).await,
            }
            .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// Seed fourteen requests in every status; returns their references.
async fn seed(state: &AppState, real_now: DateTime<Utc>) -> Result<Vec<String>, String> {
    let clock = ManualClock::new(real_now);
    let state = AppState {
        clock: Arc::new(clock.clone()),
        ..state.clone()
    };
    let today = workflow::today(&state);
    let mut s = Seeder {
        state: state.clone(),
        clock,
        staff: Actor {
            name: "demo".into(),
            client_addr: None,
        },
        made: Vec::new(),
    };
    let nobody = ClientAddr(None);
    let days = |n: i64| real_now - TimeDelta::days(n);

    // Expired: submitted through the form, never confirmed.
    s.clock.set(days(20));
    let sub = submission(Kind::Access, person(9), "What do you keep about me?")?;
    let r = crate::services::intake::submit(&state, &nobody, sub)
        .await
        .map_err(|e| e.to_string())?;
    s.made.push(r.reference);
    s.clock.set(days(5));
    crate::services::deadlines::sweep(&state)
        .await
        .map_err(|e| e.to_string())?;
    s.drain(days(5)).await?;

    // Completed access (export built, download link in the outbox) and completed erasure.
    let access = s
        .staff_request(
            Kind::Access,
            0,
            days(9),
            "Please send me a copy of my data.",
        )
        .await?;
    s.act(days(9), &access, StaffAction::Start).await?;
    s.drain(days(9) + TimeDelta::minutes(2)).await?;
    // A product user wants everything erased and asks who received their data (GDPR
    // art. 19): the users line and feedback are anonymised with their reasons, leads,
    // visits and chats deleted, and the recipients are told.
    let mut sub = submission(
        Kind::Erasure,
        person(10),
        "I left the company; please delete my account and everything about me.",
    )?;
    sub.recipients_requested = true;
    let erased = s.enter(sub, days(8)).await?;
    s.act(days(8), &erased, StaffAction::Start).await?;
    s.drain(days(8) + TimeDelta::minutes(2)).await?;
    s.act(
        days(7),
        &erased,
        StaffAction::Complete {
            note: Some("Checked the evidence of every table".into()),
            download_url: None,
        },
    )
    .await?;

    // Review: an erasure whose connector work is done, waiting for staff.
    let review = s
        .staff_request(
            Kind::Erasure,
            2,
            days(4),
            "Delete my chat history and my lead.",
        )
        .await?;
    s.act(days(4), &review, StaffAction::Start).await?;
    s.drain(days(4) + TimeDelta::minutes(2)).await?;

    // A completed restriction (GDPR art. 18): the person's leads are marked, nothing is
    // deleted, and the recipients are told (art. 19).
    let restricted = s
        .staff_request(
            Kind::Restriction,
            1,
            days(6),
            "The phone number you hold is wrong; stop using my data until you have checked it.",
        )
        .await?;
    s.act(days(6), &restricted, StaffAction::Start).await?;
    s.drain(days(6) + TimeDelta::minutes(2)).await?;
    s.act(
        days(5),
        &restricted,
        StaffAction::Complete {
            note: Some("Leads marked restricted; the phone number is being checked".into()),
            download_url: None,
        },
    )
    .await?;
    s.drain(days(5) + TimeDelta::minutes(2)).await?;

    // A completed objection to marketing (GDPR art. 21(3)): the leads are marked opted
    // out and the address goes on the suppression list. Marketing objections complete by
    // themselves once every connector confirmed.
    let objected = s
        .enter(
            scoped_submission(
                Kind::Objection,
                person(4),
                "No more marketing emails, please.",
                Some("marketing"),
            )?,
            days(3),
        )
        .await?;
    s.act(days(3), &objected, StaffAction::Start).await?;
    s.drain(days(3) + TimeDelta::minutes(2)).await?;
    let status = workflow::load(&s.state, &objected)
        .await
        .map_err(|e| e.to_string())?
        .status;
    if status == Status::Review {
        s.act(
            days(3) + TimeDelta::minutes(5),
            &objected,
            StaffAction::Complete {
                note: None,
                download_url: None,
            },
        )
        .await?;
        s.drain(days(3) + TimeDelta::minutes(6)).await?;
    }

    // Denied and withdrawn.
    let denied = s
        .staff_request(Kind::Objection, 3, days(15), "Stop the marketing emails.")
        .await?;
    s.act(
        days(14),
        &denied,
        StaffAction::Deny {
            reason: DenyReason::InsufficientVerification,
            note: Some("The letter was not signed and the address did not match".into()),
        },
    )
    .await?;
    let withdrawn = s
        .staff_request(
            Kind::Portability,
            4,
            days(6),
            "Machine-readable copy, please.",
        )
        .await?;
    s.act(
        days(5),
        &withdrawn,
        StaffAction::Withdraw {
            note: Some("The subject found the export in their account settings".into()),
        },
    )
    .await?;

    // On hold.
    let held = s
        .staff_request(Kind::Erasure, 5, days(12), "Please delete my account data.")
        .await?;
    s.act(
        days(11),
        &held,
        StaffAction::Hold {
            reason: "Waiting for the account owner to confirm the workspace transfer".into(),
            code: crate::domain::request::HoldReason::AwaitingSubject,
        },
    )
    .await?;

    // Open: one due tomorrow, one overdue, one fresh.
    let tomorrow = day_due_on(&state, today + TimeDelta::days(1));
    s.staff_request(
        Kind::Access,
        6,
        at_ten(tomorrow),
        "Which companies did you share my contact details with?",
    )
    .await?;
    let overdue = day_due_on(&state, today - TimeDelta::days(3));
    s.staff_request(
        Kind::Erasure,
        7,
        at_ten(overdue),
        "Remove me from your lead lists.",
    )
    .await?;
    s.staff_request(
        Kind::Rectification,
        8,
        days(2),
        "My job title changed to Head of Operations.",
    )
    .await?;

    // Awaiting verification: just submitted through the form.
    s.clock.set(real_now - TimeDelta::hours(2));
    let sub = submission(
        Kind::Access,
        person(11),
        "A copy of my chat transcripts, please.",
    )?;
    let r = crate::services::intake::submit(&state, &nobody, sub)
        .await
        .map_err(|e| e.to_string())?;
    s.made.push(r.reference);
    s.drain(real_now - TimeDelta::hours(2)).await?;

    // In progress: started a moment ago; `serve` runs its connector tasks.
    let running = s
        .staff_request(
            Kind::Access,
            2,
            real_now - TimeDelta::hours(1),
            "Copy of my data.",
        )
        .await?;
    s.act(
        real_now - TimeDelta::minutes(30),
        &running,
        StaffAction::Start,
    )
    .await?;
    Ok(s.made)
}

/// Write the register of processing to `rightsdesk.toml` when the demo runs without a
/// configuration file, and read the configuration again; otherwise the operator's own
/// file stands (the next steps say whether it has a register).
fn with_register(config: &Config, config_given: bool) -> Result<(Config, Option<PathBuf>), String> {
    let file = Path::new(CONFIG_FILE);
    if config_given || file.exists() {
        return Ok((config.clone(), None));
    }
    std::fs::write(file, REGISTER).map_err(|e| format!("{CONFIG_FILE}: {e}"))?;
    let config = Config::load(None).map_err(|p| p.to_string())?;
    Ok((config, Some(file.to_path_buf())))
}

/// Create (or find) the demo and say what to do next. `config_given`: the configuration
/// came from `--config` or `RIGHTSDESK_CONFIG`, so the demo writes no `rightsdesk.toml`.
pub async fn run(config: &Config, config_given: bool) -> Result<Outcome, String> {
    let (config, register_written) = with_register(config, config_given)?;
    let config = &config;
    let demo_dir = config.data_dir.join("demo");
    let product_db = demo_dir.join("product.sqlite");
    let real_now = Utc::now();
    product_database(&product_db, real_now).await?;
    let datamap = write_datamap(&config.datamap_dir, &product_db)?;
    let state = crate::app::open(config, Arc::new(SystemClock))
        .await
        .map_err(|e| e.to_string())?;

    let marker = demo_dir.join("seeded-requests");
    let seeded_now = !marker.exists();
    let references: Vec<String> = if seeded_now {
        let refs = seed(&state, real_now).await?;
        std::fs::write(&marker, refs.join("\n") + "\n")
            .map_err(|e| format!("{}: {e}", marker.display()))?;
        refs
    } else {
        std::fs::read_to_string(&marker)
            .map_err(|e| format!("{}: {e}", marker.display()))?
            .lines()
            .map(str::to_string)
            .filter(|l| !l.is_empty())
            .collect()
    };
    let mut requests = Vec::new();
    let mut open_reference = None;
    for r in &references {
        if let Ok(Some(req)) = state.store.request_by_reference(r).await {
            if req.status == Status::Open && open_reference.is_none() {
                open_reference = Some(req.reference.clone());
            }
            requests.push((req.reference, req.kind.to_string(), req.status.to_string()));
        }
    }

    // One staff token, kept (readable by this user only) so a second run can show it again.
    let token_file = demo_dir.join("staff-token");
    let token = match std::fs::read_to_string(&token_file) {
        Ok(t) if !t.trim().is_empty() => t.trim().to_string(),
        _ => {
            let t = crate::services::staff::issue(&state, "demo", Role::Agent, "demo", None)
                .await
                .map_err(|e| e.to_string())?;
            write_private(&token_file, &t.token)?;
            t.token
        }
    };
    let admin_file = config.data_dir.join("initial-admin-password");
    let public = config.public_url.trim_end_matches('/').to_string();
    Ok(Outcome {
        product_db,
        datamap,
        seeded_now,
        requests,
        token,
        portal_url: format!("{public}/portal"),
        admin_email: config.portal.initial_admin_email.clone(),
        admin_password_file: admin_file.exists().then_some(admin_file),
        open_reference,
        api: format!("{public}/api/v1"),
        register_written,
        register_provided: config.processing.provided(),
    })
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
        .and_then(|mut f| f.write_all(format!("{text}\n").as_bytes()))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The three curl lines of the next-steps text (also what the demo test runs).
pub fn curl_lines(o: &Outcome) -> Vec<String> {
    let auth = format!("-H 'Authorization: Bearer {}'", o.token);
    let open = o.open_reference.as_deref().unwrap_or("RD-XXXX-XXXX");
    vec![
        format!("curl -s {auth} '{}/requests'", o.api),
        format!(
            "curl -s {auth} -H 'Content-Type: application/json' -d '{{\"kind\":\"access\",\"email\":\"{}\",\"verification_note\":\"Demo: checked by phone\"}}' '{}/requests'",
            person(0).email,
            o.api
        ),
        format!("curl -s -X POST {auth} '{}/requests/{open}/start'", o.api),
    ]
}

/// The next-steps text printed by `rightsdesk demo`.
pub fn next_steps(o: &Outcome) -> String {
    let mut out = String::new();
    if o.seeded_now {
        out.push_str("Demo ready.\n");
    } else {
        out.push_str("Demo data already present; nothing was changed.\n");
    }
    out.push_str(&format!(
        "  product database  {}\n  data map          {}\n",
        o.product_db.display(),
        o.datamap.display(),
    ));
    match (&o.register_written, o.register_provided) {
        (Some(f), _) => out.push_str(&format!(
            "  register          {} (purposes, recipients, profiling: GDPR art. 15(1), 19)\n",
            f.display()
        )),
        (None, true) => out.push_str("  register          from your configuration\n"),
        (None, false) => out.push_str(
            "  register          none: your configuration has no [processing] register, so access packages say it was not provided\n",
        ),
    }
    out.push_str(&format!("  requests          {}\n", o.requests.len()));
    for (reference, kind, status) in &o.requests {
        out.push_str(&format!("    {reference}  {kind:14} {status}\n"));
    }
    out.push_str("\nNext steps:\n  1. Start the service:   rightsdesk serve   (or: cargo run --release -- serve)\n");
    out.push_str(&format!("  2. Open the portal:     {}\n", o.portal_url));
    match &o.admin_password_file {
        Some(f) => out.push_str(&format!(
            "     Sign in as {} with the password in {} (you set up two-factor sign-in at first sign-in).\n",
            o.admin_email,
            f.display()
        )),
        None => out.push_str(&format!(
            "     Sign in as {} (the initial password file was removed; `rightsdesk user add` makes another user).\n",
            o.admin_email
        )),
    }
    out.push_str(&format!("  3. Staff API token (agent): {}\n", o.token));
    out.push_str("  4. Try the API:\n");
    for line in curl_lines(o) {
        out.push_str(&format!("     {line}\n"));
    }
    out.push_str("     (list the requests; enter a new access request; start an open one)\n");
    out.push_str(
        "  Emails to subjects and staff are written to the outbox folder of the data directory.\n",
    );
    out
}
