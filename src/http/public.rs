//! Pages for data subjects: the request form, the confirm page of a verification link,
//! the status page, and the download of an export package. They work without JavaScript and load nothing from elsewhere.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::pages::{page_in, stylesheet};
use super::{AppState, ClientAddr};
use crate::domain::language::Language;
use crate::domain::request::Kind;
use crate::error::AppError;
use crate::i18n::Localiser;
use crate::services::intake::{self, IntakeInput};
use crate::services::notify::kind_label_in;
use crate::services::workflow::Correction;

/// What a visitor's request says about their language: `?lang=` (a language we have)
/// and the best of `Accept-Language`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Asked {
    explicit: Option<Language>,
    accepted: Option<Language>,
}

impl Asked {
    /// `?lang=` wins, then the language remembered on the request, then the browser's;
    /// anything else is English.
    pub fn pick(&self, remembered: Option<Language>) -> Language {
        self.explicit
            .or(remembered)
            .or(self.accepted)
            .unwrap_or_default()
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Asked {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let explicit = parts.uri.query().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "lang")
                .and_then(|(_, v)| Language::parse(&v))
        });
        let accepted = parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Language::negotiate);
        Ok(Asked { explicit, accepted })
    }
}

/// The language a page is shown in, and the path its language switcher leads to.
struct Ui {
    loc: Localiser,
    here: String,
}

impl Ui {
    fn new(state: &AppState, lang: Language, here: impl Into<String>) -> Self {
        Ui {
            loc: Localiser::new(state.i18n.clone(), lang),
            here: here.into(),
        }
    }

    fn t(&self, key: &str) -> String {
        self.loc.text(key)
    }

    fn date(&self, d: chrono::NaiveDate) -> String {
        self.loc.date(d)
    }

    fn page(&self, status: StatusCode, name: &str, ctx: serde_json::Value) -> Response {
        page_in(&self.loc, Some(&self.here), status, name, ctx)
    }
}

/// The body limit of the pages that take files: three files of 10 MiB and the form.
pub const UPLOAD_BODY_LIMIT: usize =
    crate::domain::upload::MAX_FILES * crate::domain::upload::MAX_FILE_BYTES + 1024 * 1024;

pub fn router() -> Router<AppState> {
    // Only the routes that take files get the larger limit.
    let uploads = Router::new()
        .route("/requests", axum::routing::post(submit))
        .route("/status/{token}/reply", axum::routing::post(reply))
        .layer(axum::extract::DefaultBodyLimit::max(UPLOAD_BODY_LIMIT));
    Router::new()
        .merge(uploads)
        .route("/", get(form))
        .route("/agent/{token}", get(agent_status))
        .route("/verify/{token}", get(confirm_page).post(confirm))
        .route("/status/{token}", get(status))
        .route("/status/{token}/link", axum::routing::post(email_link))
        .route(
            "/status/{token}/withdraw-objection",
            axum::routing::post(withdraw_objection),
        )
        .route("/status/{token}/opt-in", axum::routing::post(opt_in))
        .route("/status/{token}/appeal", axum::routing::post(appeal))
        .route("/download/{token}", get(download))
        .route("/static/site.css", get(stylesheet))
}

fn kinds(ui: &Ui) -> Vec<serde_json::Value> {
    // Taking an opt-out back starts from the opt-out's status link, not from the form.
    Kind::ALL
        .iter()
        // An appeal is made from the status page of the refused request.
        .filter(|k| !matches!(k, Kind::OptIn | Kind::Appeal))
        .map(|k| {
            let label = ui.t(&format!("kind-choice-{}", k.as_str()));
            json!({ "value": k.as_str(), "label": label })
        })
        .collect()
}

#[derive(Debug, Default, Deserialize, serde::Serialize)]
struct FormValues {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    details: String,
    #[serde(default)]
    corrections: String,
    /// For the kinds that need it (`[verification]` with `account_field`).
    #[serde(default)]
    account_value: String,
    /// Where the subject lives (`DE`, `US-VA`); optional.
    #[serde(default)]
    residence: String,
    /// For an objection: `marketing`, `profiling` or `processing`.
    #[serde(default)]
    scope: String,
    /// For an objection to a named processing: its name.
    #[serde(default)]
    processing: String,
    /// The "Tell me who received my data" box (GDPR art. 19): present when ticked.
    #[serde(default)]
    recipients_requested: String,
    /// `1` when the form was shown to a browser that sent a Global Privacy Control signal.
    #[serde(default)]
    gpc: String,
    /// "I am asking for someone else" (checkbox): the agent's fields below apply.
    #[serde(default)]
    for_someone_else: String,
    #[serde(default)]
    agent_name: String,
    #[serde(default)]
    agent_email: String,
    #[serde(default)]
    agent_organisation: String,
    /// A power of attorney statement, instead of a signed permission document.
    #[serde(default)]
    agent_statement: String,
    /// The language the form was shown in (a hidden field): the request remembers it.
    #[serde(default)]
    language: String,
}

/// Whether the browser sends a Global Privacy Control signal (`Sec-GPC: 1`).
fn gpc_signal(headers: &HeaderMap) -> bool {
    headers
        .get("sec-gpc")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "1")
}

impl FormValues {
    fn from_fields(f: &BTreeMap<String, String>) -> Self {
        let get = |k: &str| f.get(k).cloned().unwrap_or_default();
        FormValues {
            kind: get("kind"),
            email: get("email"),
            name: get("name"),
            details: get("details"),
            corrections: get("corrections"),
            account_value: get("account_value"),
            residence: get("residence"),
            scope: get("scope"),
            processing: get("processing"),
            for_someone_else: get("for_someone_else"),
            agent_name: get("agent_name"),
            agent_email: get("agent_email"),
            agent_organisation: get("agent_organisation"),
            agent_statement: get("agent_statement"),
            recipients_requested: get("recipients_requested"),
            gpc: get("gpc"),
            language: get("language"),
        }
    }
}

/// A multipart form as read: its text fields and its files (empty file inputs dropped).
struct MultipartForm {
    fields: BTreeMap<String, String>,
    files: Vec<(String, crate::services::conversation::Upload)>,
}

/// Why a multipart form was refused before its content was looked at.
enum FormProblem {
    Unreadable,
    Upload(crate::domain::upload::UploadError),
    TooLarge,
}

impl FormProblem {
    fn text(&self, ui: &Ui) -> String {
        match self {
            FormProblem::Unreadable => ui.t("form-error-unreadable"),
            FormProblem::Upload(e) => sentence(&e.to_string()),
            FormProblem::TooLarge => ui.t("form-error-too-large"),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            FormProblem::Unreadable => StatusCode::BAD_REQUEST,
            FormProblem::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            FormProblem::Upload(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

/// Read a multipart form: text fields up to 64 KiB in all, at most three files of at
/// most 10 MiB each (stopping as soon as a limit is passed).
async fn read_multipart(mut mp: axum::extract::Multipart) -> Result<MultipartForm, FormProblem> {
    use crate::domain::upload::{MAX_FILE_BYTES, MAX_FILES, UploadError, clean_name};
    let mut form = MultipartForm {
        fields: BTreeMap::new(),
        files: Vec::new(),
    };
    let mut text_bytes = 0usize;
    let failed = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            FormProblem::TooLarge
        } else {
            FormProblem::Unreadable
        }
    };
    while let Some(mut field) = mp.next_field().await.map_err(failed)? {
        let name = field.name().unwrap_or_default().to_string();
        match field.file_name().map(str::to_string) {
            Some(file_name) => {
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(failed)? {
                    if bytes.len() + chunk.len() > MAX_FILE_BYTES {
                        return Err(FormProblem::Upload(UploadError::TooLarge(clean_name(
                            &file_name,
                        ))));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                // A file input left empty still sends a part, with no name and no bytes.
                if file_name.is_empty() && bytes.is_empty() {
                    continue;
                }
                if form.files.len() == MAX_FILES {
                    return Err(FormProblem::Upload(UploadError::TooMany));
                }
                form.files.push((
                    name,
                    crate::services::conversation::Upload {
                        name: file_name,
                        bytes,
                    },
                ));
            }
            None => {
                let text = field.text().await.map_err(failed)?;
                text_bytes += text.len();
                if text_bytes > crate::http::BODY_LIMIT {
                    return Err(FormProblem::TooLarge);
                }
                form.fields.insert(name, text);
            }
        }
    }
    Ok(form)
}

/// The extra field of `[verification]` with `account_field`: its label and the kinds
/// that need it; `null` when no kind does.
fn account_field(state: &AppState, ui: &Ui) -> serde_json::Value {
    let v = &state.config.verification;
    if v.method != crate::config::VerificationMethod::AccountField || v.extra_for.is_empty() {
        return serde_json::Value::Null;
    }
    let kinds: Vec<String> = v
        .extra_for
        .iter()
        .map(|k| kind_label_in(&ui.loc, *k))
        .collect();
    let label = if v.field_label.is_empty() {
        ui.t("form-account-default-label")
    } else {
        v.field_label.clone()
    };
    json!({ "label": label, "kinds": kinds.join(", ") })
}

fn form_page(
    state: &AppState,
    ui: &Ui,
    status: StatusCode,
    values: &FormValues,
    errors: &BTreeMap<String, String>,
) -> Response {
    ui.page(
        status,
        "form.html",
        json!({
            "organisation": state.config.organisation,
            "policy_days": if state.config.deadlines.policy_days > 0 { state.config.deadlines.policy_days } else { 30 },
            "kinds": kinds(ui),
            "values": values,
            "errors": errors,
            "account_field": account_field(state, ui),
            "gpc": values.gpc == "1",
        }),
    )
}

/// The form; a browser that sends Global Privacy Control is told the signal was received
/// and finds the opt-out of sale and sharing chosen.
async fn form(State(state): State<AppState>, asked: Asked, headers: HeaderMap) -> Response {
    let ui = Ui::new(&state, asked.pick(None), "/");
    let values = if gpc_signal(&headers) {
        FormValues {
            kind: Kind::OptOutSale.as_str().into(),
            gpc: "1".into(),
            ..FormValues::default()
        }
    } else {
        FormValues::default()
    };
    form_page(&state, &ui, StatusCode::OK, &values, &BTreeMap::new())
}

/// A short answer: the title and text are message names of the language files.
fn message(state: &AppState, ui: &Ui, status: StatusCode, title: &str, text: &str) -> Response {
    message_text(state, ui, status, title, &ui.t(text))
}

/// [`message`] whose text is already written.
fn message_text(
    state: &AppState,
    ui: &Ui,
    status: StatusCode,
    title: &str,
    text: &str,
) -> Response {
    ui.page(
        status,
        "message.html",
        json!({ "organisation": state.config.organisation, "title": ui.t(title), "message": text, "back": true }),
    )
}

fn gone(state: &AppState, ui: &Ui) -> Response {
    ui.page(
        StatusCode::GONE,
        "gone.html",
        json!({ "organisation": state.config.organisation }),
    )
}

/// `field: value` lines of the corrections box.
pub(crate) fn parse_corrections(text: &str) -> Result<Option<Vec<Correction>>, String> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((field, value)) = line.split_once(':') else {
            return Err(format!(
                "write each correction as `field: correct value` (line “{}”)",
                line.chars().take(40).collect::<String>()
            ));
        };
        out.push(Correction {
            field: field.trim().to_string(),
            value: value.trim().to_string(),
        });
    }
    Ok((!out.is_empty()).then_some(out))
}

async fn submit(
    State(state): State<AppState>,
    client: ClientAddr,
    asked: Asked,
    request: axum::extract::Request,
) -> Response {
    use axum::extract::FromRequest;
    let gpc = gpc_signal(request.headers());
    // Until the form is read: the browser's language.
    let mut ui = Ui::new(&state, asked.pick(None), "/");
    let ct = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut errors = BTreeMap::new();
    let mut document = None;
    let mut values: FormValues = if ct.starts_with("multipart/form-data") {
        let form = match axum::extract::Multipart::from_request(request, &state).await {
            Ok(mp) => read_multipart(mp).await,
            Err(_) => Err(FormProblem::Unreadable),
        };
        match form {
            Ok(form) => {
                let mut files = form.files;
                if files.iter().any(|(n, _)| n != "agent_document") || files.len() > 1 {
                    errors.insert("agent_document".to_string(), ui.t("form-error-one-file"));
                }
                document = files.pop().map(|(_, u)| u);
                FormValues::from_fields(&form.fields)
            }
            Err(p) => {
                let values = FormValues {
                    for_someone_else: "on".into(),
                    ..FormValues::default()
                };
                errors.insert("agent_document".to_string(), p.text(&ui));
                return form_page(&state, &ui, p.status(), &values, &errors);
            }
        }
    } else if ct.starts_with("application/x-www-form-urlencoded") {
        let body = match Bytes::from_request(request, &state).await {
            Ok(b) if b.len() <= crate::http::BODY_LIMIT => b,
            _ => {
                return message(
                    &state,
                    &ui,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "message-too-much-text",
                    "message-too-much-text-text",
                );
            }
        };
        serde_urlencoded::from_bytes(&body).unwrap_or_else(|_| {
            errors.insert("form".to_string(), ui.t("form-error-unreadable"));
            FormValues::default()
        })
    } else {
        errors.insert("form".to_string(), ui.t("form-error-unreadable"));
        FormValues::default()
    };
    // The form says which language it was shown in; the request remembers it.
    let language = Language::parse(&values.language).unwrap_or(ui.loc.lang);
    if language != ui.loc.lang {
        ui = Ui::new(&state, language, "/");
        if let Some(e) = errors.get_mut("form") {
            *e = ui.t("form-error-unreadable");
        }
    }
    values.language = language.tag().to_string();
    if gpc {
        values.gpc = "1".into();
    }
    if !errors.is_empty() {
        return form_page(&state, &ui, StatusCode::BAD_REQUEST, &values, &errors);
    }
    if let Err(e) = intake::limit_client(&state, &client).await {
        return error_page(&state, &ui, e, &values);
    }
    let kind = values.kind.parse::<Kind>();
    if kind.is_err() {
        errors.insert("kind".into(), ui.t("form-error-kind"));
    }
    let corrections = match parse_corrections(&values.corrections) {
        Ok(c) => c,
        Err(_) => {
            // The line that is not `field: value`, in the form's language.
            let line: String = values
                .corrections
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.contains(':'))
                .unwrap_or_default()
                .chars()
                .take(40)
                .collect();
            errors.insert(
                "corrections".into(),
                ui.loc
                    .text_with("form-error-corrections", &[("line", line.into())]),
            );
            None
        }
    };
    let parsed = kind.ok().map(|kind| {
        intake::parse(IntakeInput {
            kind,
            email: values.email.clone(),
            name: Some(values.name.clone()),
            details: Some(values.details.clone()),
            corrections,
            residence: Some(values.residence.clone()),
            scope: (kind == Kind::Objection)
                .then(|| values.scope.clone())
                .filter(|s| !s.is_empty()),
            processing: (kind == Kind::Objection && values.scope == "processing")
                .then(|| values.processing.clone()),
            recipients_requested: !values.recipients_requested.is_empty(),
        })
    });
    if let Ok(kind) = values.kind.parse::<Kind>()
        && let Err(AppError::Validation(fields)) = crate::services::verification::check_field(
            &state,
            kind,
            Some(values.account_value.as_str()),
        )
    {
        for f in fields {
            errors.insert(f.field.clone(), sentence(&f.message));
        }
    }
    // "I am asking for someone else": the agent's name, address, organisation, and a
    // signed permission or a power of attorney statement.
    let agent = if values.for_someone_else.is_empty() {
        None
    } else {
        let mut fields = Vec::new();
        let agent = crate::services::agents::parse(
            crate::services::agents::AgentInput {
                name: values.agent_name.clone(),
                email: values.agent_email.clone(),
                organisation: Some(values.agent_organisation.clone()),
                power_of_attorney: Some(values.agent_statement.clone()),
            },
            document.take(),
            &values.email,
            true,
            &mut fields,
        );
        for f in fields {
            let key = f
                .field
                .replace("agent.power_of_attorney", "agent_statement")
                .replace('.', "_");
            errors.entry(key).or_insert_with(|| sentence(&f.message));
        }
        agent
    };
    let submission = match parsed {
        Some(Ok(s)) if errors.is_empty() => s,
        Some(Err(AppError::Validation(fields))) => {
            for f in fields {
                let key = f
                    .field
                    .split(['[', '.'])
                    .next()
                    .unwrap_or("form")
                    .to_string();
                errors.entry(key).or_insert_with(|| sentence(&f.message));
            }
            return form_page(
                &state,
                &ui,
                StatusCode::UNPROCESSABLE_ENTITY,
                &values,
                &errors,
            );
        }
        _ => {
            return form_page(
                &state,
                &ui,
                StatusCode::UNPROCESSABLE_ENTITY,
                &values,
                &errors,
            );
        }
    };
    let told = agent.as_ref().map(|a| a.verify_context());
    let submitted =
        match intake::submit_answer_for(&state, &client, submission, told.as_ref(), language).await
        {
            Ok(answer) => match &answer.request {
                Some(req) => {
                    let recorded = crate::services::verification::record_intake(
                        &state,
                        req,
                        Some(values.account_value.as_str()).filter(|v| !v.trim().is_empty()),
                    )
                    .await;
                    match (recorded, agent) {
                        (Ok(()), Some(agent)) => {
                            crate::services::agents::attach(&state, &client, req, agent).await
                        }
                        (r, _) => r,
                    }
                    .map(|()| answer)
                }
                None => Ok(answer),
            },
            Err(e) => Err(e),
        };
    // A Global Privacy Control opt-out is noted on its request (audit, reference only).
    if let Ok(answer) = &submitted
        && let Some(req) = &answer.request
        && values.gpc == "1"
        && req.kind == Kind::OptOutSale
    {
        let audit = crate::store::NewAudit {
            at: state.clock.now(),
            actor: "subject".into(),
            action: "optout.gpc".into(),
            request_ref: Some(req.reference.clone()),
            client_addr: client.text(),
            detail: json!({ "source": "gpc" }),
        };
        if let Err(e) = state.store.append_audit(&audit).await {
            return error_page(&state, &ui, e.into(), &values);
        }
    }
    match submitted {
        Ok(req) => ui.page(
            StatusCode::ACCEPTED,
            "submitted.html",
            json!({
                "organisation": state.config.organisation,
                "reference": req.reference,
                "agent": !values.for_someone_else.is_empty(),
                "expires_hours": state.config.deadlines.verification_expires.0.as_secs().div_ceil(3600),
            }),
        ),
        Err(e) => error_page(&state, &ui, e, &values),
    }
}

/// "must be at most 200 characters" -> "Must be at most 200 characters."
fn sentence(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => format!(
            "{}{}{}",
            f.to_uppercase(),
            c.as_str(),
            if s.ends_with('.') { "" } else { "." }
        ),
        None => String::new(),
    }
}

fn error_page(state: &AppState, ui: &Ui, e: AppError, values: &FormValues) -> Response {
    match e {
        AppError::TooManyRequests { retry_after_secs } => {
            let mut resp = message(
                state,
                ui,
                StatusCode::TOO_MANY_REQUESTS,
                "message-wait",
                "message-wait-intake",
            );
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
        AppError::Gone => gone(state, ui),
        AppError::Validation(_) => form_page(
            state,
            ui,
            StatusCode::UNPROCESSABLE_ENTITY,
            values,
            &BTreeMap::new(),
        ),
        other => {
            let status = other.status();
            if status.is_server_error() {
                tracing::error!(error = %other, "public page failed");
            }
            message(state, ui, status, "message-error", "message-error-intake")
        }
    }
}

/// Shows what the link confirms and changes nothing: mail scanners fetch links.
async fn confirm_page(
    State(state): State<AppState>,
    asked: Asked,
    Path(token): Path<String>,
) -> Response {
    let here = format!("/verify/{token}");
    match intake::pending_for_link(&state, &token).await {
        Ok(req) => {
            let ui = Ui::new(&state, asked.pick(Some(req.language)), here);
            ui.page(
                StatusCode::OK,
                "verify_confirm.html",
                json!({
                    "organisation": state.config.organisation,
                    "token": token,
                    "reference": req.reference,
                    "kind_label": kind_label_in(&ui.loc, req.kind),
                }),
            )
        }
        Err(AppError::Gone) => gone(&state, &Ui::new(&state, asked.pick(None), "/")),
        Err(e) => error_page(
            &state,
            &Ui::new(&state, asked.pick(None), "/"),
            e,
            &FormValues::default(),
        ),
    }
}

/// The confirm page's form posts here with the page's `?lang=`.
async fn confirm(
    State(state): State<AppState>,
    client: ClientAddr,
    asked: Asked,
    Path(token): Path<String>,
) -> Response {
    match intake::verify(&state, &client, &token).await {
        Ok(req) => {
            let ui = Ui::new(&state, asked.pick(Some(req.language)), "/");
            ui.page(
                StatusCode::OK,
                "verified.html",
                json!({
                    "organisation": state.config.organisation,
                    "reference": req.reference,
                    "due_date": req.due_date.map(|d| ui.date(d)),
                }),
            )
        }
        Err(e) => error_page(
            &state,
            &Ui::new(&state, asked.pick(None), "/"),
            e,
            &FormValues::default(),
        ),
    }
}

/// What happened, in the subject's words; an action without words of its own is "updated".
fn history_text(ui: &Ui, action: &str) -> String {
    const KNOWN: &[&str] = &[
        "submit",
        "verify",
        "start",
        "tasks_done",
        "hold",
        "resume",
        "extend",
        "complete",
        "deny",
        "withdraw",
        "export_link",
        "corrections",
        "rerun",
        "own_copies_deleted",
        "lift_restriction",
        "expire",
        "recipients_notified",
        "appealed",
        "decide",
        "reopen",
        "regime",
        "objection_withdrawn",
        "opted_in",
        "question",
        "message",
        "subject_reply",
        "agent",
        "agent_consent",
        "agent_poa_accepted",
    ];
    let action = if action == "create" { "submit" } else { action };
    if KNOWN.contains(&action) {
        ui.t(&format!("history-{action}"))
    } else {
        ui.t("history-other")
    }
}

/// What happened, for the agent: the subject is "the person you act for".
fn agent_history_text(ui: &Ui, action: &str) -> String {
    const KNOWN: &[&str] = &[
        "submit",
        "agent",
        "verify",
        "start",
        "tasks_done",
        "hold",
        "resume",
        "extend",
        "complete",
        "deny",
        "withdraw",
        "expire",
        "agent_consent",
        "agent_poa_accepted",
    ];
    let action = if action == "create" { "submit" } else { action };
    if KNOWN.contains(&action) {
        ui.t(&format!("agent-history-{action}"))
    } else {
        ui.t("agent-history-other")
    }
}

async fn status(
    State(state): State<AppState>,
    asked: Asked,
    Path(token): Path<String>,
) -> Response {
    let here = format!("/status/{token}");
    let req = match intake::request_for_status_link(&state, &token).await {
        Ok(r) => r,
        Err(AppError::Gone) => return gone(&state, &Ui::new(&state, asked.pick(None), "/")),
        Err(e) => {
            return error_page(
                &state,
                &Ui::new(&state, asked.pick(None), "/"),
                e,
                &FormValues::default(),
            );
        }
    };
    // Switching language here is remembered: every later email is written in it.
    let lang = asked.pick(Some(req.language));
    let ui = Ui::new(&state, lang, here);
    if lang != req.language
        && let Err(e) = state.store.set_request_language(&req.id, lang).await
    {
        return error_page(&state, &ui, e.into(), &FormValues::default());
    }
    let events = match state.store.events(&req.id).await {
        Ok(e) => e,
        Err(e) => return error_page(&state, &ui, e.into(), &FormValues::default()),
    };
    let tz = state.config.deadlines.timezone.0;
    let date = |t: chrono::DateTime<chrono::Utc>| ui.date(t.with_timezone(&tz).date_naive());
    // The page never shows the download link: anyone holding an old status email could
    // use it. The subject asks for it by email instead (`email_link`).
    let export = match crate::services::export::newest(&state, &req.id).await {
        Ok(e) => e.map(|(st, expires)| {
            json!({
                "state": st,
                "token": token,
                "expires": t_minutes(&ui, expires.with_timezone(&tz)),
            })
        }),
        Err(e) => {
            tracing::error!(reference = %req.reference, error = %e, "export state unavailable");
            None
        }
    };
    // Once answered, what was done in each system and table (and what was skipped, and
    // why), and who received the data when the subject asked (issue 20 item 2).
    let (systems, recipients) = if req.status == crate::domain::request::Status::Completed {
        let told = async {
            Ok::<_, AppError>((
                crate::services::outcomes::for_request_in(&state, &req, &ui.loc).await?,
                crate::services::recipients::subject_context(&state, &req).await?,
            ))
        };
        match told.await {
            Ok(s) => s,
            Err(e) => return error_page(&state, &ui, e, &FormValues::default()),
        }
    } else {
        (Vec::new(), serde_json::Value::Null)
    };
    // Internal notes are the staff's; the subject sees what happened, not what was said.
    let history: Vec<_> = events
        .iter()
        .filter(|e| e.action != "note")
        .map(|e| json!({ "date": date(e.at), "text": history_text(&ui, &e.action) }))
        .collect();
    // The conversation with us, and the answer form while the request takes answers.
    let conversation = match crate::services::conversation::view(&state, &req, false).await {
        Ok(c) => c
            .into_iter()
            .map(|m| {
                json!({
                    "date": t_minutes(&ui, m.at.with_timezone(&tz)),
                    "from_us": m.author == "staff",
                    "question": m.purpose == "question",
                    "text": m.text,
                    "files": m.files.iter().map(|f| json!({"name": f.name, "size": size_text(&ui, f.size_bytes)})).collect::<Vec<_>>(),
                })
            })
            .collect::<Vec<_>>(),
        Err(e) => return error_page(&state, &ui, e, &FormValues::default()),
    };
    let reply = crate::services::conversation::may_reply(&req).then(|| {
        json!({
            "token": token,
            "asked": req.status == crate::domain::request::Status::OnHold
                && req.hold_reason == Some(crate::domain::request::HoldReason::AwaitingSubject),
        })
    });
    let withdraw_objection = match crate::services::suppression::can_withdraw(&state, &req).await {
        Ok(w) => w.then(|| token.clone()),
        Err(e) => return error_page(&state, &ui, e, &FormValues::default()),
    };
    let opt_in = match crate::services::optout::can_opt_in(&state, &req).await {
        Ok(w) => w.then(|| token.clone()),
        Err(e) => return error_page(&state, &ui, e, &FormValues::default()),
    };
    let appeal = match crate::services::appeals::offer(&state, &req).await {
        Ok(o) => o.map(|o| {
            json!({
                "token": token,
                "until": ui.date(o.until),
                "answer_within": ui.loc.period(&o.answer_within.to_string()).unwrap_or_else(|| o.answer_within.to_string()),
            })
        }),
        Err(e) => return error_page(&state, &ui, e, &FormValues::default()),
    };
    ui.page(
        StatusCode::OK,
        "status.html",
        json!({
            "opt_in": opt_in,
            "appeal": appeal,
            "withdraw_objection": withdraw_objection,
            "objection_completed": req.status == crate::domain::request::Status::Completed,
            "organisation": state.config.organisation,
            "reference": req.reference,
            "kind_label": kind_label_in(&ui.loc, req.kind),
            "status": ui.t(&format!("status-{}", req.status.as_str())),
            "received": date(req.received_at),
            // A closed request is answered: no "We will answer by" any more.
            "due_date": req
                .due_date
                .filter(|_| !req.status.is_final())
                .map(|d| ui.date(d)),
            "history": history,
            "export": export,
            "systems": systems,
            "recipients": recipients,
            "conversation": conversation,
            "reply": reply,
        }),
    )
}

/// "2.4 MB", "830 KB", "12 bytes" (the decimal mark as the language writes it).
fn size_text(ui: &Ui, bytes: i64) -> String {
    let (key, size) = match bytes {
        b if b >= 1024 * 1024 => ("size-mb", format!("{:.1}", b as f64 / (1024.0 * 1024.0))),
        b if b >= 1024 => ("size-kb", (b / 1024).to_string()),
        b => ("size-bytes", b.to_string()),
    };
    let size = if ui.loc.lang == Language::En {
        size
    } else {
        size.replace('.', ",")
    };
    ui.loc.text_with(key, &[("size", size.into())])
}

/// The subject answers us on the status page: text and up to three files. Refused files
/// get a readable page saying which and why; nothing is stored then.
async fn reply(
    State(state): State<AppState>,
    client: ClientAddr,
    asked: Asked,
    Path(token): Path<String>,
    request: axum::extract::Request,
) -> Response {
    use axum::extract::FromRequest;
    let ui = status_ui(&state, asked, &token).await;
    let back = |status: StatusCode, text: &str| {
        ui.page(
            status,
            "message.html",
            json!({ "organisation": state.config.organisation, "title": ui.t("message-answer-not-sent"),
                    "message": ui.loc.text_with("message-go-back", &[("problem", text.to_string().into())]), "back": false }),
        )
    };
    // The link first: a dead link answers the same whatever was sent with it.
    match intake::request_for_status_link(&state, &token).await {
        Ok(_) => {}
        Err(AppError::Gone) => return gone(&state, &ui),
        Err(e) => return error_page(&state, &ui, e, &FormValues::default()),
    }
    let ct = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    // A form without files may come urlencoded.
    let form = if ct.starts_with("application/x-www-form-urlencoded") {
        match Bytes::from_request(request, &state).await {
            Ok(b) if b.len() <= crate::http::BODY_LIMIT => {
                serde_urlencoded::from_bytes::<BTreeMap<String, String>>(&b)
                    .map(|fields| MultipartForm {
                        fields,
                        files: Vec::new(),
                    })
                    .map_err(|_| FormProblem::Unreadable)
            }
            _ => Err(FormProblem::TooLarge),
        }
    } else {
        match axum::extract::Multipart::from_request(request, &state).await {
            Ok(mp) => read_multipart(mp).await,
            Err(_) => Err(FormProblem::Unreadable),
        }
    };
    let form = match form {
        Ok(f) => f,
        Err(p) => return back(p.status(), &p.text(&ui)),
    };
    let text = form.fields.get("text").cloned().unwrap_or_default();
    let files: Vec<_> = form.files.into_iter().map(|(_, u)| u).collect();
    if text.trim().is_empty() && files.is_empty() {
        return message(
            &state,
            &ui,
            StatusCode::OK,
            "message-nothing-sent",
            "message-nothing-sent-text",
        );
    }
    match crate::services::conversation::reply(&state, &client, &token, &text, files).await {
        Ok(_) => ui.page(
            StatusCode::OK,
            "message.html",
            json!({ "organisation": state.config.organisation, "title": ui.t("message-thanks"),
                    "message": ui.t("message-answer-received"),
                    "back": false }),
        ),
        Err(AppError::Gone) => gone(&state, &ui),
        Err(AppError::Validation(fields)) => back(
            StatusCode::UNPROCESSABLE_ENTITY,
            &fields
                .iter()
                .map(|f| sentence(&f.message))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Err(AppError::Conflict { .. }) => back(StatusCode::CONFLICT, &ui.t("message-no-answers")),
        Err(e) => error_page(&state, &ui, e, &FormValues::default()),
    }
}

/// The authorized agent's page: the progress of the request it sent, and nothing of the
/// subject's data beyond what the agent gave (no conversation, no package).
async fn agent_status(
    State(state): State<AppState>,
    asked: Asked,
    Path(token): Path<String>,
) -> Response {
    let req = match crate::services::agents::request_for_agent_link(&state, &token).await {
        Ok(r) => r,
        Err(AppError::Gone) => return gone(&state, &Ui::new(&state, asked.pick(None), "/")),
        Err(e) => {
            return error_page(
                &state,
                &Ui::new(&state, asked.pick(None), "/"),
                e,
                &FormValues::default(),
            );
        }
    };
    let ui = Ui::new(
        &state,
        asked.pick(Some(req.language)),
        format!("/agent/{token}"),
    );
    let (events, agent) = match (
        state.store.events(&req.id).await,
        crate::services::agents::agent_page(&state, &req).await,
    ) {
        (Ok(e), Ok(a)) => (e, a),
        (Err(e), _) => return error_page(&state, &ui, e.into(), &FormValues::default()),
        (_, Err(e)) => return error_page(&state, &ui, e, &FormValues::default()),
    };
    let tz = state.config.deadlines.timezone.0;
    let date = |t: chrono::DateTime<chrono::Utc>| ui.date(t.with_timezone(&tz).date_naive());
    // What happened, in the subject-neutral words of the status page; the conversation
    // with the subject and internal notes stay out.
    let history: Vec<_> = events
        .iter()
        .filter(|e| {
            !matches!(
                e.action.as_str(),
                "note" | "message" | "question" | "subject_reply" | "export_link"
            )
        })
        .map(|e| json!({ "date": date(e.at), "text": agent_history_text(&ui, &e.action) }))
        .collect();
    ui.page(
        StatusCode::OK,
        "agent_status.html",
        json!({
            "organisation": state.config.organisation,
            "reference": req.reference,
            "kind_label": kind_label_in(&ui.loc, req.kind),
            "status": if req.status == crate::domain::request::Status::AwaitingVerification {
                ui.t("status-agent-awaiting")
            } else {
                ui.t(&format!("status-{}", req.status.as_str()))
            },
            "received": date(req.received_at),
            "due_date": req
                .due_date
                .filter(|_| !req.status.is_final())
                .map(|d| ui.date(d)),
            "agent": agent,
            "history": history,
        }),
    )
}

/// "Email me the download link": the link goes to the request's own address, never to
/// the page.
async fn email_link(
    State(state): State<AppState>,
    client: ClientAddr,
    asked: Asked,
    Path(token): Path<String>,
) -> Response {
    let ui = status_ui(&state, asked, &token).await;
    match intake::email_download_link(&state, &client, &token).await {
        Ok(intake::LinkEmail::Sent) => message(
            &state,
            &ui,
            StatusCode::OK,
            "message-link-sent",
            "message-link-sent-text",
        ),
        Ok(intake::LinkEmail::NoPackage) => message(
            &state,
            &ui,
            StatusCode::OK,
            "message-no-package",
            "message-no-package-text",
        ),
        Err(AppError::Gone) => gone(&state, &ui),
        Err(AppError::TooManyRequests { retry_after_secs }) => {
            let mut resp = message(
                &state,
                &ui,
                StatusCode::TOO_MANY_REQUESTS,
                "message-wait",
                "message-wait-link",
            );
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
        Err(e) => error_page(&state, &ui, e, &FormValues::default()),
    }
}

/// "Withdraw my objection": an open objection is withdrawn; a completed one leaves the
/// suppression list.
async fn withdraw_objection(
    State(state): State<AppState>,
    client: ClientAddr,
    asked: Asked,
    Path(token): Path<String>,
) -> Response {
    use crate::services::suppression::Withdrawal;
    let ui = status_ui(&state, asked, &token).await;
    match crate::services::suppression::withdraw_objection(&state, &client, &token).await {
        Ok(Withdrawal::Lifted) => message(
            &state,
            &ui,
            StatusCode::OK,
            "message-objection-withdrawn",
            "message-objection-lifted",
        ),
        Ok(Withdrawal::RequestWithdrawn) => message(
            &state,
            &ui,
            StatusCode::OK,
            "message-objection-withdrawn",
            "message-objection-stopped",
        ),
        Ok(Withdrawal::Nothing) => message(
            &state,
            &ui,
            StatusCode::OK,
            "message-nothing-to-withdraw",
            "message-nothing-to-withdraw-text",
        ),
        Err(AppError::Gone) => gone(&state, &ui),
        Err(e) => error_page(&state, &ui, e, &FormValues::default()),
    }
}

/// "Take back my opt-out": an opt-out still being worked on is withdrawn; a completed one
/// gets an opt-in that reverses it.
async fn opt_in(
    State(state): State<AppState>,
    client: ClientAddr,
    asked: Asked,
    Path(token): Path<String>,
) -> Response {
    use crate::services::optout::OptIn;
    let ui = status_ui(&state, asked, &token).await;
    match crate::services::optout::opt_in_from_status(&state, &client, &token).await {
        Ok(OptIn::Requested(reference)) => message_text(
            &state,
            &ui,
            StatusCode::OK,
            "message-opt-out-taken-back",
            &ui.loc.text_with(
                "message-opt-out-taken-back-text",
                &[("reference", reference.into())],
            ),
        ),
        Ok(OptIn::Withdrawn) => message(
            &state,
            &ui,
            StatusCode::OK,
            "message-opt-out-withdrawn",
            "message-opt-out-withdrawn-text",
        ),
        Ok(OptIn::Nothing) => message(
            &state,
            &ui,
            StatusCode::OK,
            "message-nothing-to-take-back",
            "message-nothing-to-take-back-text",
        ),
        Err(AppError::Gone) => gone(&state, &ui),
        Err(e) => error_page(&state, &ui, e, &FormValues::default()),
    }
}

#[derive(Debug, Default, Deserialize)]
struct AppealForm {
    #[serde(default)]
    reasons: String,
}

/// "Appeal this decision": the appeal becomes a request of its own, with its reference
/// and status link emailed to the subject.
async fn appeal(
    State(state): State<AppState>,
    client: ClientAddr,
    asked: Asked,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let ui = status_ui(&state, asked, &token).await;
    let form: AppealForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    match crate::services::appeals::file(&state, client.text(), &token, &form.reasons).await {
        Ok(req) => ui.page(
            StatusCode::OK,
            "message.html",
            json!({
                "organisation": state.config.organisation,
                "title": ui.t("message-appeal-received"),
                "message": ui.loc.text_with(
                    "message-appeal-received-text",
                    &[
                        ("reference", req.reference.clone().into()),
                        ("due_date", req.due_date.map(|d| ui.date(d)).unwrap_or_default().into()),
                    ],
                ),
                "back": false,
            }),
        ),
        Err(AppError::Gone) => gone(&state, &ui),
        // Like the other forms of a status page: a readable answer, not an error.
        Err(AppError::Conflict { .. }) => message(
            &state,
            &ui,
            StatusCode::OK,
            "message-appeal-refused",
            "message-appeal-refused-text",
        ),
        Err(AppError::Validation(_)) => message(
            &state,
            &ui,
            StatusCode::UNPROCESSABLE_ENTITY,
            "message-appeal-too-long",
            "message-appeal-too-long-text",
        ),
        Err(e) => error_page(&state, &ui, e, &FormValues::default()),
    }
}

/// The language of an answer to a form of the status page: `?lang=`, else the one the
/// request remembers (the status page's switcher changes it), else the browser's.
async fn status_ui(state: &AppState, asked: Asked, token: &str) -> Ui {
    let remembered = match asked.explicit {
        Some(_) => None,
        None => intake::request_for_status_link(state, token)
            .await
            .ok()
            .map(|r| r.language),
    };
    Ui::new(state, asked.pick(remembered), format!("/status/{token}"))
}

/// A date and time of day the way the language writes it.
fn t_minutes<Tz: chrono::TimeZone>(ui: &Ui, t: chrono::DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    ui.loc
        .catalog
        .date_time(ui.loc.lang, t.date_naive(), &t.format("%H:%M").to_string())
}

/// The subject's export package. Only a `GET` whose whole body was sent counts toward
/// the link's downloads (and is audited), so mail scanners that look at the link
/// (`HEAD`, or a `GET` they drop after the first bytes) do not use it up.
async fn download(
    State(state): State<AppState>,
    client: ClientAddr,
    asked: Asked,
    method: axum::http::Method,
    Path(token): Path<String>,
) -> Response {
    let ui = Ui::new(&state, asked.pick(None), "/");
    let failed = |state: &AppState, e: crate::services::export::ExportError| {
        tracing::error!(error = %e, "export download failed");
        message(
            state,
            &ui,
            StatusCode::INTERNAL_SERVER_ERROR,
            "message-error",
            "message-error-download",
        )
    };
    let export = match crate::services::export::live_download(&state, &token).await {
        Ok(Some(e)) => e,
        Ok(None) => return gone(&state, &ui),
        Err(e) => return failed(&state, e),
    };
    let body = if method == axum::http::Method::HEAD {
        axum::body::Body::empty()
    } else {
        let chunks = match crate::services::export::zip_chunks(&state, &export).await {
            Ok(c) => c,
            Err(e) => return failed(&state, e),
        };
        let (counting, counted) = (state.clone(), export.clone());
        axum::body::Body::from_stream(crate::services::export::OnComplete::new(
            chunks,
            async move {
                record_download(&counting, &counted, &client).await;
            },
        ))
    };
    let disposition = format!("attachment; filename=\"{}\"", export.file_name);
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// Count a complete download and audit it.
async fn record_download(state: &AppState, export: &crate::store::Export, client: &ClientAddr) {
    let downloads = match crate::services::export::count_download(state, export).await {
        Ok(Some(n)) => n,
        Ok(None) => {
            tracing::info!(export = %export.id, "download finished after the link was used up");
            return;
        }
        Err(e) => {
            tracing::error!(export = %export.id, error = %e, "could not count a download");
            return;
        }
    };
    let reference = export
        .file_name
        .strip_suffix(".zip")
        .unwrap_or(&export.file_name)
        .to_string();
    let audit = crate::store::NewAudit {
        at: state.clock.now(),
        actor: "subject".into(),
        action: "export.download".into(),
        request_ref: Some(reference),
        client_addr: client.text(),
        detail: json!({ "export_id": export.id, "download": downloads, "max_downloads": export.max_downloads }),
    };
    if let Err(e) = state.store.append_audit(&audit).await {
        tracing::error!(export = %export.id, error = %e, "could not audit a download");
    }
}
