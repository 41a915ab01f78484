//! The email templates: built-ins from `email-templates/` compiled into the binary, each
//! part replaceable by a file in the configured override directory.

use std::path::{Path, PathBuf};

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, Error, Output, State, UndefinedBehavior};

use super::EmailError;
use crate::i18n::Localiser;

/// Every template the service sends. Each is a directory with `subject.txt`, `body.txt`
/// and `body.html`.
pub const TEMPLATE_NAMES: &[&str] = &[
    "verify",
    "received",
    "extended",
    "on_hold",
    "denied",
    "completed",
    "expired",
    "staff_new_request",
    "staff_deadline",
    "export_link",
    "manual_task",
    "restriction_lifted",
    "account_locked",
    "duplicate",
    "recipient_notice",
    "appeal_decided",
    "message",
    "agent_received",
];

/// The files of one template, in the order `BUILTIN` holds them.
const PARTS: [&str; 3] = ["subject.txt", "body.txt", "body.html"];

macro_rules! builtin {
    ($($name:literal),+ $(,)?) => {
        &[$((
            $name,
            [
                include_str!(concat!("../../email-templates/", $name, "/subject.txt")),
                include_str!(concat!("../../email-templates/", $name, "/body.txt")),
                include_str!(concat!("../../email-templates/", $name, "/body.html")),
            ],
        )),+]
    };
}

const BUILTIN: &[(&str, [&str; 3])] = builtin!(
    "verify",
    "received",
    "extended",
    "on_hold",
    "denied",
    "completed",
    "expired",
    "staff_new_request",
    "staff_deadline",
    "export_link",
    "manual_task",
    "restriction_lifted",
    "account_locked",
    "duplicate",
    "recipient_notice",
    "appeal_decided",
    "message",
    "agent_received",
);

/// One email, rendered and ready to send.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendered {
    /// One line, trimmed, without control characters.
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The bodies hold links that act as credentials (verification, download), so they stay
/// out of `Debug`.
impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rendered")
            .field("subject", &self.subject)
            .field("text", &format_args!("[{} bytes]", self.text.len()))
            .field("html", &format_args!("[{} bytes]", self.html.len()))
            .finish()
    }
}

/// The template environment. Undefined variables are errors, so a template and the code
/// that fills its context cannot drift apart silently.
pub struct Templates {
    env: Environment<'static>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").finish_non_exhaustive()
    }
}

impl Templates {
    /// The built-in templates; a file at `override_dir/<name>/<part>` replaces that part.
    /// Every template is compiled here, so a broken override fails at startup.
    pub fn new(override_dir: Option<&Path>) -> Result<Self, EmailError> {
        if let Some(dir) = override_dir
            && !dir.is_dir()
        {
            return Err(EmailError::TemplateDir(dir.to_path_buf()));
        }
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_formatter(format_value);
        crate::i18n::register(&mut env);
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .map_err(|e| EmailError::Template {
                name: "syntax".into(),
                source: e,
            })?;
        env.set_syntax(syntax);

        for (name, sources) in BUILTIN {
            for (part, builtin) in PARTS.iter().zip(sources) {
                let source = match override_dir {
                    Some(dir) => read_override(&dir.join(name).join(part))?
                        .unwrap_or_else(|| (*builtin).to_owned()),
                    None => (*builtin).to_owned(),
                };
                let key = format!("{name}/{part}");
                env.add_template_owned(key.clone(), source)
                    .map_err(|e| EmailError::Template {
                        name: key,
                        source: e,
                    })?;
            }
        }
        Ok(Self { env })
    }

    /// Render the three parts of template `name` with `ctx` (a JSON object), in English.
    pub fn render(&self, name: &str, ctx: &serde_json::Value) -> Result<Rendered, EmailError> {
        self.render_in(name, ctx, &Localiser::english())
    }

    /// Render the three parts of template `name` with `ctx` (a JSON object) in the
    /// language of `loc`: the templates' `t(..)` and `|date` read it.
    pub fn render_in(
        &self,
        name: &str,
        ctx: &serde_json::Value,
        loc: &Localiser,
    ) -> Result<Rendered, EmailError> {
        if !TEMPLATE_NAMES.contains(&name) {
            return Err(EmailError::UnknownTemplate(name.to_owned()));
        }
        let ctx = minijinja::context! {
            i18n => loc.value(),
            lang => loc.lang.tag(),
            ..Value::from(minijinja::value::Serde(ctx))
        };
        let render = |part: &str| {
            let key = format!("{name}/{part}");
            self.env
                .get_template(&key)
                .and_then(|t| t.render(ctx.clone()))
                .map_err(|e| EmailError::Template {
                    name: key,
                    source: e,
                })
        };
        Ok(Rendered {
            subject: clean_subject(&render(PARTS[0])?),
            text: render(PARTS[1])?,
            html: render(PARTS[2])?,
        })
    }
}

fn read_override(path: &Path) -> Result<Option<String>, EmailError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(EmailError::TemplateFile {
            path: PathBuf::from(path),
            source: e,
        }),
    }
}

/// One header line: control characters (CR, LF, tab, …) and Unicode line separators
/// become spaces, runs of spaces collapse, ends are trimmed. A subject can then never
/// start a new header line, whatever a template or its context contains.
pub(crate) fn clean_subject(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// minijinja's HTML escaping also turns `/` into `&#x2f;`, which makes every link in
/// the HTML part unreadable in source and trips some link scanners. Escaping `& < > " '`
/// is enough for text and quoted attribute values.
pub(crate) fn format_value(
    out: &mut Output,
    state: &mut State,
    value: &Value,
) -> Result<(), Error> {
    match (state.auto_escape(), value.as_str()) {
        (AutoEscape::Html, Some(s)) if !value.is_safe() => {
            let mut escaped = String::with_capacity(s.len());
            for c in s.chars() {
                match c {
                    '&' => escaped.push_str("&amp;"),
                    '<' => escaped.push_str("&lt;"),
                    '>' => escaped.push_str("&gt;"),
                    '"' => escaped.push_str("&quot;"),
                    '\'' => escaped.push_str("&#x27;"),
                    c => escaped.push(c),
                }
            }
            out.write_str(&escaped).map_err(Error::from)
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value as J, json};

    use super::*;

    /// A context with every variable `name` uses, optional ones filled.
    fn sample(name: &str) -> J {
        let mut ctx = json!({ "reference": "DSR-7KQ2-M9XD", "organisation": "Example Ltd" });
        let extra = match name {
            "verify" => json!({
                "kind_label": "a copy of your personal data",
                "verify_url": "https://privacy.example.com/verify/Zm9vYmFyYmF6cXV4",
                "expires_hours": 24,
            }),
            "received" => json!({
                "kind_label": "a copy of your personal data",
                "due_date": "10 November 2026",
                "status_url": "https://privacy.example.com/status/c3RhdHVzdG9rZW4",
            }),
            "extended" => json!({
                "reason": "Your account spans several products and we need to search each of them.",
                "new_due_date": "10 January 2027",
                "status_url": "https://privacy.example.com/status/c3RhdHVzdG9rZW4",
            }),
            "on_hold" => json!({
                "reason": "Please tell us which of your two accounts the request is about.",
                "status_url": "https://privacy.example.com/status/c3RhdHVzdG9rZW4",
            }),
            "denied" => json!({
                "reason_label": "We could not confirm that you are the person the data is about.",
                "note": "The address you gave does not match any account.\nYou may send a new request from the address on your account.",
                "status_url": "https://privacy.example.com/status/c3RhdHVzdG9rZW4",
                "complaint_authority": "your local data protection authority",
            }),
            "completed" => json!({
                "kind_label": "erasure of your personal data",
                "status_url": "https://privacy.example.com/status/c3RhdHVzdG9rZW4",
                "download_url": "https://privacy.example.com/download/ZG93bmxvYWQ",
                "retained": [
                    { "table": "invoices", "reason": "Tax law requires us to keep invoices for 10 years." },
                    { "table": "fraud_reports", "reason": "Needed to defend legal claims." },
                ],
                "systems": [
                    { "system": "shop", "outcome": "done", "text": "1 record deleted, 2 records anonymised; per table:", "tables": [
                        { "table": "customers", "outcome": "erased", "records": 1, "text": "1 record deleted", "reason": null },
                        { "table": "invoices", "outcome": "anonymised", "records": 2, "text": "2 records anonymised: what identifies you was removed, the rest kept", "reason": "Tax law requires us to keep invoices for 10 years." },
                        { "table": "newsletter", "outcome": "not_found", "records": 0, "text": "nothing about you was found", "reason": null },
                    ] },
                    { "system": "cache", "outcome": "not_done", "text": "not done: the operation did not complete in this system", "tables": [] },
                ],
                "recipients_asked": true,
                "register_provided": true,
                "recipients": [
                    { "name": "Mailer Inc", "role": "processor", "purpose": "sending our emails", "transfer": "United States, EU standard contractual clauses", "told": true },
                    { "name": "Hosting Ltd", "role": "processor", "purpose": "hosting", "transfer": "", "told": false },
                ],
            }),
            "expired" => json!({ "kind_label": "erasure of your personal data" }),
            "duplicate" => json!({
                "kind_label": "a copy of your personal data",
                "first_reference": "DSR-4HJK-2PQR",
                "status_url": "https://privacy.example.com/status/c3RhdHVzdG9rZW4",
            }),
            "restriction_lifted" => json!({
                "reason": "The accuracy of your address was checked and confirmed.",
                "complaint_authority": "your local data protection authority",
                "status_url": "https://privacy.example.com/status/c3RhdHVzdG9rZW4",
            }),
            "export_link" => json!({
                "kind_label": "a copy of your personal data",
                "download_url": "https://privacy.example.com/download/ZG93bmxvYWQ",
                "status_url": "https://privacy.example.com/status/c3RhdHVzdG9rZW4",
            }),
            "staff_new_request" => json!({
                "kind_label": "erasure",
                "due_date": "10 November 2026",
                "portal_url": "https://privacy.example.com/portal/requests/42",
            }),
            "staff_deadline" => json!({
                "kind_label": "erasure",
                "due_date": "2026-11-10",
                "headline": "Due in 3 days",
                "message": "This request must be answered by its due date.",
                "portal_url": "https://privacy.example.com/portal/requests/DSR-7KQ2-M9XD",
            }),
            "account_locked" => json!({
                "account": "carol@staff.example",
                "locked_until": "2026-11-10 09:15 UTC",
                "portal_url": "https://privacy.example.com/portal/login",
            }),
            "manual_task" => json!({
                "connector": "crm-vendor",
                "action": "erase the data you hold about this person",
                "subject_email": "jane.doe@example.org",
                "instructions": "Search the CRM by email.\nDelete the contact and its notes.",
                "corrections": [],
                "link": "https://privacy.example.com/tasks/dGFza3Rva2Vu",
                "expires": "24 November 2026",
            }),
            "recipient_notice" => json!({
                "recipient": "Mailer Inc",
                "request_words": "rectification (correction)",
                "article": "16",
                "action": "correct the personal data about this person that we disclosed to you, as listed below",
                "subject_email": "jane.doe@example.org",
                "corrections": [{ "field": "name", "value": "Jane Roe" }],
                "privacy_team": "privacy@example.com",
            }),
            "appeal_decided" => json!({
                "original_reference": "DSR-4HJK-2PQR",
                "kind_label": "a copy of your personal data",
                "reversed": false,
                "reason": "The account was closed in 2019 and its data deleted then.",
                "authority_name": "Office of the Attorney General of Virginia",
                "authority_url": "https://www.oag.state.va.us/consumer-protection/",
                "due_date": null,
                "status_url": "https://privacy.example.com/status/c3RhdHVzdG9rZW4",
            }),
            "message" => json!({
                "message": "Thank you. Could you also send us the order number\nof your last purchase?",
                "status_url": "https://privacy.example.com/status/c3RhdHVzdG9rZW4",
            }),
            "agent_received" => json!({
                "kind_label": "a copy of your personal data",
                "agent_url": "https://privacy.example.com/agent/YWdlbnR0b2tlbg",
            }),
            other => panic!("no sample for {other}"),
        };
        merge(&mut ctx, extra);
        ctx
    }

    fn merge(ctx: &mut J, extra: J) {
        if let (Some(c), J::Object(e)) = (ctx.as_object_mut(), extra) {
            c.extend(e);
        }
    }

    fn builtin() -> Templates {
        Templates::new(None).expect("built-in templates compile")
    }

    #[test]
    fn names_match_the_embedded_templates() {
        let embedded: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
        assert_eq!(embedded, TEMPLATE_NAMES);
    }

    #[test]
    fn every_template_renders() {
        let t = builtin();
        for name in TEMPLATE_NAMES {
            let r = t.render(name, &sample(name)).expect(name);
            assert!(!r.subject.is_empty(), "{name}");
            assert!(
                r.text.contains("DSR-7KQ2-M9XD"),
                "{name}: text lacks reference"
            );
            assert!(
                r.html.contains("DSR-7KQ2-M9XD"),
                "{name}: html lacks reference"
            );
            assert!(r.html.starts_with("<!DOCTYPE html>"), "{name}");
            for forbidden in ["<script", "<img", "<link", "src=", "@import"] {
                assert!(!r.html.contains(forbidden), "{name}: html has {forbidden}");
            }
            insta::assert_snapshot!(
                *name,
                format!("{}\n---\n{}\n---\n{}", r.subject, r.text, r.html)
            );
        }
    }

    #[test]
    fn optional_parts_may_be_absent_or_null() {
        let t = builtin();
        let mut ctx = sample("denied");
        ctx.as_object_mut().unwrap().remove("note");
        let r = t.render("denied", &ctx).unwrap();
        assert!(!r.text.contains("does not match"));
        assert!(!r.html.contains("class=\"note\""));
        assert!(r.text.contains("supervisory authority"));
        assert!(r.text.contains("judicial"));

        let mut ctx = sample("completed");
        merge(
            &mut ctx,
            json!({ "download_url": null, "retained": [], "systems": [], "recipients_asked": false }),
        );
        let r = t.render("completed", &ctx).unwrap();
        assert!(!r.text.contains("download"));
        assert!(!r.text.contains("17(3)"));
        assert!(!r.html.contains("<ul>"));

        let mut ctx = sample("completed");
        let obj = ctx.as_object_mut().unwrap();
        obj.remove("download_url");
        obj.remove("retained");
        obj.remove("systems");
        obj.remove("recipients_asked");
        obj.remove("recipients");
        obj.remove("register_provided");
        let r = t.render("completed", &ctx).unwrap();
        assert!(
            r.text
                .contains("We have completed your request for erasure of your personal data.")
        );
        assert!(
            !r.text.contains("\n\n\n"),
            "no empty paragraphs:\n{}",
            r.text
        );
    }

    #[test]
    fn completion_explains_only_what_was_not_done() {
        let t = builtin();
        let mut ctx = sample("completed");
        merge(
            &mut ctx,
            json!({ "systems": [{ "system": "shop", "outcome": "done", "text": "1 record deleted" }] }),
        );
        let r = t.render("completed", &ctx).unwrap();
        assert!(r.text.contains("- shop: 1 record deleted"), "{}", r.text);
        assert!(!r.text.contains("nothing was changed there"), "{}", r.text);
        assert!(!r.html.contains("nothing was changed there"));
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let t = builtin();
        let mut ctx = sample("on_hold");
        merge(
            &mut ctx,
            json!({ "reason": "<script>alert('x')</script> & more" }),
        );
        let r = t.render("on_hold", &ctx).unwrap();
        assert!(r.text.contains("<script>alert('x')</script> & more"));
        assert!(!r.html.contains("<script>"));
        assert!(
            r.html
                .contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more"),
            "{}",
            r.html
        );
    }

    #[test]
    fn links_stay_readable_in_html() {
        let r = builtin().render("verify", &sample("verify")).unwrap();
        assert!(
            r.html
                .contains("href=\"https://privacy.example.com/verify/Zm9vYmFyYmF6cXV4\"")
        );
    }

    #[test]
    fn subject_cannot_carry_a_header() {
        let t = builtin();
        let mut ctx = sample("expired");
        merge(
            &mut ctx,
            json!({ "kind_label": "access\r\nBcc: x@y", "reference": "R\n\tX-Evil: 1" }),
        );
        let r = t.render("expired", &ctx).unwrap();
        assert!(!r.subject.contains('\r') && !r.subject.contains('\n'));
        assert!(!r.subject.chars().any(char::is_control));
        assert_eq!(
            r.subject,
            "Your request for access Bcc: x@y was not confirmed (R X-Evil: 1)"
        );
        assert_eq!(clean_subject("  a\u{2028}b \u{7f} c\r\n"), "a b c");
    }

    #[test]
    fn a_missing_variable_is_an_error() {
        let t = builtin();
        for name in TEMPLATE_NAMES {
            let mut ctx = sample(name);
            ctx.as_object_mut().unwrap().remove("reference");
            let err = t.render(name, &ctx).expect_err(name);
            assert!(matches!(err, EmailError::Template { .. }), "{name}: {err}");
        }
        let mut ctx = sample("verify");
        ctx.as_object_mut().unwrap().remove("verify_url");
        assert!(t.render("verify", &ctx).is_err());
    }

    #[test]
    fn an_unknown_template_is_an_error() {
        let err = builtin().render("nope", &json!({})).unwrap_err();
        assert!(matches!(err, EmailError::UnknownTemplate(n) if n == "nope"));
    }

    #[test]
    fn staff_mail_never_names_the_subject() {
        let mut ctx = sample("staff_new_request");
        merge(
            &mut ctx,
            json!({
                "email": "jane.doe@example.org",
                "name": "Jane Doe",
                "subject": { "email": "jane.doe@example.org", "name": "Jane Doe" },
            }),
        );
        let r = builtin().render("staff_new_request", &ctx).unwrap();
        for part in [&r.subject, &r.text, &r.html] {
            assert!(!part.contains("jane.doe"), "{part}");
            assert!(!part.contains("Jane"), "{part}");
            assert!(!part.contains('@'), "{part}");
        }
        assert!(r.text.contains("DSR-7KQ2-M9XD"));
    }

    #[test]
    fn an_override_replaces_one_part() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("verify")).unwrap();
        std::fs::write(
            dir.path().join("verify/subject.txt"),
            "Confirm {{ reference }} for {{ organisation }}\n",
        )
        .unwrap();
        let t = Templates::new(Some(dir.path())).unwrap();
        let r = t.render("verify", &sample("verify")).unwrap();
        assert_eq!(r.subject, "Confirm DSR-7KQ2-M9XD for Example Ltd");
        let built_in = builtin().render("verify", &sample("verify")).unwrap();
        assert_eq!(r.text, built_in.text);
        assert_eq!(r.html, built_in.html);
    }

    #[test]
    fn a_broken_override_fails_at_startup() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("denied")).unwrap();
        std::fs::write(dir.path().join("denied/body.html"), "{% if %}").unwrap();
        let err = Templates::new(Some(dir.path())).unwrap_err();
        assert!(
            matches!(&err, EmailError::Template { name, .. } if name == "denied/body.html"),
            "{err}"
        );
        let missing = dir.path().join("nope");
        assert!(matches!(
            Templates::new(Some(&missing)),
            Err(EmailError::TemplateDir(_))
        ));
    }
}
