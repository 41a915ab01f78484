//! Messages to subjects and staff: queued in the outbox in the same transaction as the
//! change that causes them, then sent by the `email.send` job with retries.

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::app::context::AppState;
use crate::domain::language::Language;
use crate::domain::request::Kind;
use crate::i18n::Localiser;
use crate::jobs::{JobError, JobHandler};
use crate::store::{Changes, Job, NewJob, OutboxMessage, OutboxStatus};

pub const SEND_EMAIL: &str = "email.send";

/// How a kind is named to the subject: what they asked for. Every label reads after
/// "your request for …" (emails) and "What you asked for: …" (status page), so a
/// template never puts a possessive or an article in front of it.
pub fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Access => "a copy of your personal data",
        Kind::Portability => "your personal data in a portable format",
        Kind::Erasure => "erasure of your personal data",
        Kind::Rectification => "correction of your personal data",
        Kind::Restriction => "restriction of the processing of your personal data",
        Kind::Objection => "an end to the processing of your personal data (objection)",
        Kind::OptOutSale => "an end to the sale and sharing of your personal information (opt-out)",
        Kind::LimitSensitive => "a limit on the use of your sensitive personal information",
        Kind::OptIn => "taking back your opt-out",
        Kind::Appeal => "a review of our decision to refuse your earlier request (appeal)",
    }
}

/// How a kind is named to staff ("New erasure request …"): the short name, no "your".
pub fn staff_kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Access => "access",
        Kind::Portability => "portability",
        Kind::Erasure => "erasure",
        Kind::Rectification => "rectification",
        Kind::Restriction => "restriction",
        Kind::Objection => "objection",
        Kind::OptOutSale => "opt-out of sale/sharing",
        Kind::LimitSensitive => "limit sensitive data",
        Kind::OptIn => "opt-in (opt-out taken back)",
        Kind::Appeal => "appeal",
    }
}

/// Who a subject may complain to (GDPR art. 77) when `processing.supervisory_authority`
/// is not configured.
pub const COMPLAINT_AUTHORITY: &str =
    "the data protection supervisory authority where you live or work";

/// Who a subject may complain to: the configured `processing.supervisory_authority`,
/// else the generic wording.
pub fn complaint_authority(config: &crate::config::Config) -> String {
    let configured = config.processing.supervisory_authority.trim();
    if configured.is_empty() {
        COMPLAINT_AUTHORITY.to_owned()
    } else {
        configured.to_owned()
    }
}

/// How a refusal reason is explained to the subject.
pub fn deny_reason_label(reason: crate::domain::request::DenyReason) -> &'static str {
    use crate::domain::request::DenyReason as D;
    match reason {
        D::InsufficientVerification => {
            "we could not confirm that the request was made by the person the data is about"
        }
        D::NoMatch => "we hold no personal data matching the details you gave",
        D::ManifestlyUnfounded => "the request is manifestly unfounded",
        D::Excessive => {
            "the request is excessive, in particular because it repeats an earlier request"
        }
        D::LegalExemption => "a legal exemption applies to the data concerned",
        D::OutsideJurisdiction => {
            "the data protection law you relied on does not apply to this processing"
        }
        D::Other => "of the reason explained below",
        D::Duplicate => {
            "it repeats a request of yours that we are already working on; we answer you there"
        }
    }
}

/// How a kind is named to the subject in the language of `loc`.
pub fn kind_label_in(loc: &Localiser, kind: Kind) -> String {
    loc.text(&format!("kind-label-{}", kind.as_str()))
}

/// The templates of emails to a subject or an authorized agent: written in the
/// request's language. Staff emails and recipients' notices stay English.
pub const SUBJECT_TEMPLATES: &[&str] = &[
    "verify",
    "received",
    "extended",
    "on_hold",
    "denied",
    "completed",
    "expired",
    "export_link",
    "restriction_lifted",
    "duplicate",
    "appeal_decided",
    "message",
    "agent_received",
];

/// Put the words the code wrote into a subject email's context into the language of
/// `loc`. Contexts are written (and sealed in the outbox) in English when the email is
/// queued; the language is the request's when the email is sent, so a subject who
/// switched language on the status page gets every later email in it.
async fn localise(
    state: &AppState,
    request_id: Option<&str>,
    ctx: &mut Value,
    loc: &Localiser,
) -> Result<(), JobError> {
    let Some(obj) = ctx.as_object_mut() else {
        return Ok(());
    };
    let kind = obj
        .get("kind_label")
        .and_then(Value::as_str)
        .and_then(|l| Kind::ALL.iter().copied().find(|k| kind_label(*k) == l));
    if let Some(k) = kind {
        obj.insert("kind_label".into(), kind_label_in(loc, k).into());
    }
    if let Some(label) = obj.get("reason_label").and_then(Value::as_str) {
        use crate::domain::request::DenyReason;
        if let Some(r) = DenyReason::ALL
            .iter()
            .find(|r| deny_reason_label(**r) == label)
        {
            obj.insert(
                "reason_label".into(),
                loc.text(&format!("deny-reason-{}", r.as_str())).into(),
            );
        }
    }
    let generic = loc.text("complaint-authority-default");
    if obj.get("complaint_authority").and_then(Value::as_str) == Some(COMPLAINT_AUTHORITY) {
        obj.insert("complaint_authority".into(), generic.clone().into());
    }
    if let Some(appeal) = obj.get_mut("appeal").and_then(Value::as_object_mut)
        && appeal.get("authority").and_then(Value::as_str) == Some(COMPLAINT_AUTHORITY)
    {
        appeal.insert("authority".into(), generic.into());
    }
    // What each system did: said again from the tasks, in the language.
    let has_systems = obj
        .get("systems")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    if has_systems && let (Some(k), Some(id)) = (kind, request_id) {
        let tasks = state
            .store
            .tasks_for_request(id)
            .await
            .map_err(|e| JobError::retry(e.to_string()))?;
        let systems = crate::services::outcomes::summarise_in(k, &tasks, loc);
        if !systems.is_empty() {
            let retained: Vec<Value> = systems
                .iter()
                .flat_map(|s| &s.tables)
                .filter(|t| matches!(t.outcome, "kept" | "anonymised"))
                .map(|t| json!({ "table": t.table, "reason": t.reason }))
                .collect();
            if obj.contains_key("retained") {
                obj.insert("retained".into(), retained.into());
            }
            obj.insert("systems".into(), json!(systems));
        }
    }
    Ok(())
}

/// A link into the public site.
pub fn link(state: &AppState, path: &str) -> String {
    format!("{}{}", state.config.public_url.trim_end_matches('/'), path)
}

/// Add one email to `changes`: an encrypted outbox row and the job that sends it.
pub fn queue(
    state: &AppState,
    changes: &mut Changes,
    request_id: Option<&str>,
    template: &str,
    to: &str,
    mut context: Value,
) {
    let now = state.clock.now();
    if let Some(obj) = context.as_object_mut() {
        obj.entry("organisation")
            .or_insert_with(|| state.config.organisation.clone().into());
    }
    let id = uuid::Uuid::now_v7().to_string();
    changes.outbox.push(OutboxMessage {
        id: id.clone(),
        request_id: request_id.map(String::from),
        template: template.to_string(),
        to_ct: state
            .keys
            .seal_at(crate::crypto::Field::new("outbox", "to_ct", &id), to),
        context_ct: state.keys.seal_at(
            crate::crypto::Field::new("outbox", "context_ct", &id),
            &context.to_string(),
        ),
        status: OutboxStatus::Pending,
        attempts: 0,
        last_error: None,
        created_at: now,
        sent_at: None,
    });
    changes.jobs.push(NewJob {
        kind: SEND_EMAIL.into(),
        payload: json!({ "outbox_id": id }),
        dedupe_key: Some(format!("email:{id}")),
        batch_key: None,
        run_at: now,
        max_attempts: i32::try_from(state.config.jobs.max_attempts).unwrap_or(8),
        created_at: now,
    });
}

/// Sends one outbox message.
pub struct SendEmail;

#[async_trait]
impl JobHandler for SendEmail {
    async fn run(&self, job: &Job, state: &AppState) -> Result<(), JobError> {
        let id = job.payload.0["outbox_id"]
            .as_str()
            .ok_or_else(|| JobError::permanent("payload has no outbox_id"))?;
        let store = &state.store;
        let (msg, request_language) = store
            .outbox_message_to_send(id)
            .await
            .map_err(|e| JobError::retry(e.to_string()))?
            .ok_or_else(|| JobError::permanent("outbox message is gone"))?;
        if msg.status != OutboxStatus::Pending {
            return Ok(());
        }
        let (template, request_id) = (msg.template.clone(), msg.request_id.clone());
        let fail = |error: String, permanent: bool| async move {
            let last = permanent || job.attempts >= job.max_attempts;
            let now = state.clock.now();
            let status = if last {
                OutboxStatus::Failed
            } else {
                OutboxStatus::Pending
            };
            let _ = store.mark_outbox(id, status, Some(&error), now).await;
            if last {
                // The reference, never the address.
                tracing::error!(outbox = %id, template = %template, request = ?request_id, error = %error, "email could not be delivered");
            }
            if permanent {
                JobError::permanent(error)
            } else {
                JobError::retry(error)
            }
        };
        let (to, context) = match (
            state.keys.open_at(
                crate::crypto::Field::new("outbox", "to_ct", &msg.id),
                &msg.to_ct,
            ),
            state.keys.open_at(
                crate::crypto::Field::new("outbox", "context_ct", &msg.id),
                &msg.context_ct,
            ),
        ) {
            (Ok(t), Ok(c)) => (t, c),
            _ => {
                return Err(fail(
                    "cannot decrypt the message with the deployment key".into(),
                    true,
                )
                .await);
            }
        };
        let mut context: Value = serde_json::from_str(&context).unwrap_or(Value::Null);
        // The request's language when the email is sent (read with the message): a
        // subject who switched language on the status page gets every later email in it.
        let language = if SUBJECT_TEMPLATES.contains(&msg.template.as_str()) {
            request_language
        } else {
            Language::En
        };
        let loc = Localiser::new(state.i18n.clone(), language);
        if language != Language::En {
            localise(state, msg.request_id.as_deref(), &mut context, &loc).await?;
        }
        let rendered = match state
            .mailer
            .templates()
            .render_in(&msg.template, &context, &loc)
        {
            Ok(r) => r,
            Err(e) => return Err(fail(format!("template: {e}"), true).await),
        };
        match state.mailer.send(&to, &rendered).await {
            Ok(()) => {
                store
                    .mark_outbox(id, OutboxStatus::Sent, None, state.clock.now())
                    .await
                    .map_err(|e| JobError::retry(e.to_string()))?;
                tracing::info!(outbox = %id, template = %msg.template, "email sent");
                Ok(())
            }
            Err(e) => Err(fail(e.message, e.permanent).await),
        }
    }
}

#[cfg(test)]
mod wording_tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::email::{TEMPLATE_NAMES, Templates};

    /// The context the service gives template `name` for a request of `kind`, built with
    /// the same label functions the call sites use.
    fn context(name: &str, kind: Kind) -> Value {
        let status_url = "https://privacy.example.com/status/c3RhdHVzdG9rZW4";
        let mut ctx = json!({
            "reference": "DSR-7KQ2-M9XD",
            "organisation": "Example Ltd",
            "kind_label": kind_label(kind),
            "status_url": status_url,
        });
        let extra = match name {
            "verify" => json!({
                "verify_url": "https://privacy.example.com/verify/Zm9v",
                "expires_hours": 24,
            }),
            "received" => json!({ "due_date": "2026-11-10" }),
            "extended" => {
                json!({ "reason": "We need to search several products.", "new_due_date": "2027-01-10" })
            }
            "on_hold" => json!({ "reason": "Which of your two accounts?", "clock_paused": true }),
            "denied" => json!({
                "reason_label": deny_reason_label(crate::domain::request::DenyReason::NoMatch),
                "note": "",
                "complaint_authority": "the Information Commissioner's Office (ico.org.uk)",
            }),
            "completed" => completed_context(kind),
            "recipient_notice" => {
                let corrections = if kind == Kind::Rectification {
                    json!([{ "field": "name", "value": "Jane Roe" }])
                } else {
                    json!([])
                };
                json!({
                    "recipient": "Mailer Inc",
                    "request_words": "erasure",
                    "article": "17",
                    "action": crate::services::recipients::action_for(kind),
                    "subject_email": "jane.doe@example.org",
                    "corrections": corrections,
                    "privacy_team": "privacy@example.com",
                })
            }
            "expired" => json!({}),
            "staff_new_request" | "staff_deadline" => json!({
                "kind_label": staff_kind_label(kind),
                "due_date": "2026-11-10",
                "headline": "Due in 3 days",
                "message": "This request must be answered by its due date.",
                "portal_url": "https://privacy.example.com/portal/requests/DSR-7KQ2-M9XD",
            }),
            "export_link" => json!({ "download_url": "https://privacy.example.com/download/ZG93" }),
            "manual_task" => json!({
                "connector": "crm-vendor",
                "action": "erase the data you hold about this person",
                "subject_email": "jane.doe@example.org",
                "instructions": "",
                "corrections": [],
                "link": "https://privacy.example.com/tasks/dGFza3Rva2Vu",
                "expires": "24 November 2026",
            }),
            "restriction_lifted" => json!({
                "reason": "The accuracy of your address was confirmed.",
                "complaint_authority": "the Information Commissioner's Office (ico.org.uk)",
            }),
            "account_locked" => json!({
                "account": "carol@staff.example",
                "locked_until": "2026-11-10 09:15 UTC",
                "portal_url": "https://privacy.example.com/portal/login",
            }),
            "duplicate" => json!({ "first_reference": "DSR-4HJK-2PQR" }),
            "appeal_decided" => json!({
                "original_reference": "DSR-4HJK-2PQR",
                "reversed": true,
                "reason": "We found the account under a second address.",
                "authority_name": "Office of the Attorney General of Virginia",
                "authority_url": "https://www.oag.state.va.us/consumer-protection/",
                "due_date": "10 January 2027",
            }),
            "message" => json!({ "message": "Thank you. Could you also send the order number?" }),
            "agent_received" => json!({ "agent_url": "https://privacy.example.com/agent/YWdlbnQ" }),
            other => panic!("no context for {other}: add one"),
        };
        if let (Some(c), Value::Object(e)) = (ctx.as_object_mut(), extra) {
            c.extend(e);
        }
        ctx
    }

    /// The completion context as the workflow builds it: per-table outcomes from real
    /// erasure evidence (every outcome a table can have), the art. 17(3) list derived
    /// from them, and the recipients the subject asked for.
    fn completed_context(kind: Kind) -> Value {
        let evidence = json!({"tables": [
            {"table": "customers", "action": "delete", "rows_affected": 1, "rows_kept": 0, "rows_left": 0},
            {"table": "addresses", "action": "delete", "rows_affected": 1, "rows_kept": 1, "rows_left": 0},
            {"table": "invoices", "action": "anonymize", "rows_affected": 2, "rows_kept": 0, "rows_left": 0, "retain_reason": "Invoices are kept for 10 years under tax law"},
            {"table": "consents", "action": "retain", "rows_affected": 1, "rows_kept": 0, "rows_left": 0, "retain_reason": "Proof of consent is kept (GDPR art. 7(1))"},
            {"table": "orders", "action": "delete", "rows_affected": 0, "rows_kept": 0, "rows_left": 0},
        ]});
        let now = chrono::Utc::now();
        let task = |connector: &str, op: &str, status: &str, ev: Value| crate::store::Task {
            id: format!("{connector}-{op}"),
            request_id: "r".into(),
            connector: connector.into(),
            operation: op.into(),
            status: status.into(),
            attempts: 1,
            error: (status == "skipped").then(|| "nothing is declared for this".into()),
            evidence: Some(ev.to_string()),
            result_ct: None,
            created_at: now,
            updated_at: now,
            finished_at: Some(now),
        };
        let op = crate::services::tasks::operation(kind);
        let ev = if op == "erase" {
            evidence
        } else {
            json!({"rows": 2, "tables": [{"table": "customers", "fields": ["name"], "rows_affected": 1, "rows_skipped": 0}], "restriction": {"rows_affected": 1}, "objection": {"rows_affected": 1}})
        };
        let tasks = vec![
            task("shop", op, "succeeded", ev),
            task("crm", op, "skipped", Value::Null),
            task("cache", op, "failed", Value::Null),
        ];
        let systems = crate::services::outcomes::summarise(kind, &tasks);
        let retained: Vec<Value> = systems
            .iter()
            .flat_map(|s| &s.tables)
            .filter(|t| matches!(t.outcome, "kept" | "anonymised"))
            .map(|t| json!({ "table": t.table, "reason": t.reason }))
            .collect();
        let told = crate::services::recipients::notifies(kind);
        json!({
            "download_url": matches!(kind, Kind::Access | Kind::Portability)
                .then_some("https://privacy.example.com/download/ZG93"),
            "retained": retained,
            "systems": systems,
            "recipients_asked": true,
            "register_provided": true,
            "recipients": [
                { "name": "Mailer Inc", "role": "processor", "purpose": "sending our emails", "transfer": "United States, EU standard contractual clauses", "told": told },
                { "name": "Hosting Ltd", "role": "", "purpose": "", "transfer": "", "told": false },
            ],
        })
    }

    /// Words a person would not write twice in a row, and phrases that show a label put
    /// in the wrong place ("your a copy …", "your your personal data …").
    fn wording_faults(text: &str) -> Vec<String> {
        let mut faults = Vec::new();
        // Words are compared within one phrase: punctuation and line breaks end it.
        for phrase in text.split(['(', ')', ',', '.', ':', ';', '"', '!', '?']) {
            let words: Vec<String> = phrase.split_whitespace().map(str::to_lowercase).collect();
            for pair in words.windows(2) {
                if pair[0] == pair[1] && pair[0].chars().all(char::is_alphabetic) {
                    faults.push(format!("doubled word {:?}", pair[0]));
                }
                if pair[0] == "your" && ["a", "an", "the", "my"].contains(&pair[1].as_str()) {
                    faults.push(format!("\"your {}\"", pair[1]));
                }
            }
        }
        for empty in [
            "()",
            "( )",
            "{{",
            "}}",
            "{%",
            "undefined",
            "none",
            "null",
            "<strong></strong>",
            "\"\"",
        ] {
            if text.to_lowercase().contains(empty) {
                faults.push(format!("empty placeholder {empty:?}"));
            }
        }
        faults
    }

    /// What a reader sees of an HTML body: no style sheet, no tags.
    fn visible_text(html: &str) -> String {
        let body = html.split("</style>").last().unwrap_or(html);
        let mut out = String::new();
        let mut in_tag = false;
        for c in body.chars() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => {
                    in_tag = false;
                    out.push(' ');
                }
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        out
    }

    #[test]
    fn every_email_reads_as_written_by_a_person_for_every_kind() {
        let templates = Templates::new(None).unwrap();
        for name in TEMPLATE_NAMES {
            for kind in Kind::ALL {
                let r = templates.render(name, &context(name, *kind)).unwrap();
                let html = visible_text(&r.html);
                for (part, text) in [("subject", &r.subject), ("text", &r.text), ("html", &html)] {
                    let faults = wording_faults(text);
                    assert!(
                        faults.is_empty(),
                        "{name}/{part} for {kind:?}: {faults:?}\n{text}"
                    );
                }
            }
        }
    }

    /// The completion email in each state of the recipients part (asked or not, register
    /// given or not, no recipients) reads right, and lists every table with its reason.
    #[test]
    fn completion_emails_read_right_in_every_recipient_state() {
        let templates = Templates::new(None).unwrap();
        for kind in Kind::ALL {
            for (asked, provided, none) in [
                (false, true, false),
                (true, false, true),
                (true, true, true),
                (true, true, false),
            ] {
                let mut ctx = context("completed", *kind);
                ctx["recipients_asked"] = asked.into();
                ctx["register_provided"] = provided.into();
                if none {
                    ctx["recipients"] = json!([]);
                }
                let r = templates.render("completed", &ctx).unwrap();
                let html = visible_text(&r.html);
                for text in [&r.text, &html] {
                    let faults = wording_faults(text);
                    assert!(
                        faults.is_empty(),
                        "{kind:?} {asked} {provided} {none}: {faults:?}\n{text}"
                    );
                    assert_eq!(text.contains("Mailer Inc"), asked && !none, "{text}");
                    if asked && none && !provided {
                        assert!(text.contains("not yet recorded in this service"), "{text}");
                    }
                    if asked && none && provided {
                        assert!(text.contains("names no one who received"), "{text}");
                    }
                }
                if *kind == Kind::Erasure {
                    for line in [
                        "    - customers: 1 record deleted",
                        "    - invoices: 2 records anonymised: what identifies you was removed, the rest kept. Why: Invoices are kept for 10 years under tax law",
                        "    - consents: 1 record kept. Why: Proof of consent is kept (GDPR art. 7(1))",
                        "    - orders: nothing about you was found",
                        "    - addresses: 1 record deleted, 1 record kept. Why:",
                    ] {
                        assert!(r.text.contains(line), "{line:?} missing:\n{}", r.text);
                    }
                    assert!(
                        r.text
                            .contains("Mailer Inc (processor), for sending our emails")
                            == (asked && !none),
                        "{}",
                        r.text
                    );
                }
            }
        }
    }

    #[test]
    fn the_fault_finder_finds_the_faults_once_seen() {
        assert!(
            !wording_faults("Please confirm your a copy of your personal data request").is_empty()
        );
        assert!(!wording_faults("your your personal data in a portable format request").is_empty());
        assert!(!wording_faults("Request: () due").is_empty());
        assert!(
            wording_faults("Please confirm your request for a copy of your personal data")
                .is_empty()
        );
    }

    #[test]
    fn refusals_name_the_configured_authority() {
        let mut config = crate::config::Config::default();
        assert_eq!(complaint_authority(&config), COMPLAINT_AUTHORITY);
        config.processing.supervisory_authority = "Autoriteit Persoonsgegevens".into();
        assert_eq!(complaint_authority(&config), "Autoriteit Persoonsgegevens");
    }
}
