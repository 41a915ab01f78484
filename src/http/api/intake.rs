//! Public intake API: the JSON twin of the request form, and link verification.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::request::{Kind, Status};
use crate::error::AppError;
use crate::http::extract::ApiJson;
use crate::http::{AppState, ClientAddr};
use crate::services::intake::{self, IntakeInput};
use crate::services::workflow::Correction;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntakeBody {
    pub kind: Kind,
    pub email: String,
    pub name: Option<String>,
    /// At most 5000 characters.
    pub details: Option<String>,
    /// Only for rectification: at most 50.
    pub corrections: Option<Vec<Correction>>,
    /// The value the product knows (e.g. a customer number), for the kinds that need it
    /// (`[verification]` with `account_field`); otherwise ignored. At most 200 characters.
    pub account_value: Option<String>,
    /// Where the subject lives: ISO 3166-1 alpha-2 (`DE`) or, for the US, ISO 3166-2
    /// (`US-VA`). Chooses the request's regime through `[deadlines.jurisdictions]`.
    pub residence: Option<String>,
    /// Only for an objection: what it objects to. `marketing` (direct marketing: never
    /// refused, completed as soon as every connector confirms), `profiling`, or
    /// `processing` with the processing named in `processing`.
    #[schema(example = "marketing")]
    pub scope: Option<String>,
    /// With `scope = "processing"`: the processing objected to (at most 200 characters).
    pub processing: Option<String>,
    /// `true`: the subject wants to be told who received their data (GDPR art. 19); the
    /// completion email lists the recipients.
    #[serde(default)]
    pub recipients_requested: bool,
    /// Sent by an authorized agent for the subject whose `email` this is: the subject is
    /// emailed to confirm the request directly, the agent gets its own status link, and
    /// whatever the request yields goes to the subject only.
    pub agent: Option<IntakeAgent>,
    /// The language the subject is written to in: `en` (the default), `de`, `fr`, `es`
    /// or `pt-BR`. Every email about the request uses it.
    #[schema(example = "de")]
    pub language: Option<String>,
}

/// The authorized agent of an intake request. A signed permission document is uploaded
/// with the request form; through the API the agent may give a power of attorney
/// statement, and the subject's direct confirmation is the proof either way (until staff
/// accept the power of attorney).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntakeAgent {
    pub name: String,
    pub email: String,
    pub organisation: Option<String>,
    /// A power of attorney statement: who granted it to whom, when, and for what.
    pub power_of_attorney: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IntakeAccepted {
    pub reference: String,
    pub status: Status,
}

/// Submit a request; a confirmation link is emailed to the address. The answer is the
/// same whether or not the address is known, already has a request waiting (a new
/// reference each time; the email carries the real one), or reached its per-address
/// limits (then no email is sent). 429 only for the caller's own address limit.
#[utoipa::path(post, path = "/intake", tag = "intake", request_body = IntakeBody,
    responses((status = 202, body = IntakeAccepted), (status = 422, body = crate::error::Problem),
        (status = 429, body = crate::error::Problem)))]
pub async fn submit(
    State(state): State<AppState>,
    client: ClientAddr,
    ApiJson(body): ApiJson<IntakeBody>,
) -> Result<(StatusCode, Json<IntakeAccepted>), AppError> {
    intake::limit_client(&state, &client).await?;
    let mut agent_errors = Vec::new();
    let language = match body.language.as_deref().map(str::trim) {
        None | Some("") => crate::domain::language::Language::En,
        Some(tag) => match crate::domain::language::Language::parse(tag) {
            Some(l) => l,
            None => {
                agent_errors.push(crate::error::FieldError::new(
                    "language",
                    "must be one of en, de, fr, es, pt-BR",
                ));
                crate::domain::language::Language::En
            }
        },
    };
    let agent = body.agent.and_then(|a| {
        crate::services::agents::parse(
            crate::services::agents::AgentInput {
                name: a.name,
                email: a.email,
                organisation: a.organisation,
                power_of_attorney: a.power_of_attorney,
            },
            None,
            &body.email,
            false,
            &mut agent_errors,
        )
    });
    let submission = match intake::parse(IntakeInput {
        kind: body.kind,
        email: body.email,
        name: body.name,
        details: body.details,
        corrections: body.corrections,
        residence: body.residence,
        scope: body.scope,
        processing: body.processing,
        recipients_requested: body.recipients_requested,
    }) {
        Ok(s) if agent_errors.is_empty() => s,
        Ok(_) => return Err(AppError::Validation(agent_errors)),
        Err(AppError::Validation(mut fields)) => {
            fields.extend(agent_errors);
            return Err(AppError::Validation(fields));
        }
        Err(e) => return Err(e),
    };
    crate::services::verification::check_field(&state, body.kind, body.account_value.as_deref())?;
    let told = agent.as_ref().map(|a| a.verify_context());
    let answer =
        intake::submit_answer_for(&state, &client, submission, told.as_ref(), language).await?;
    if let Some(req) = &answer.request {
        crate::services::verification::record_intake(&state, req, body.account_value.as_deref())
            .await?;
        if let Some(agent) = agent {
            crate::services::agents::attach(&state, &client, req, agent).await?;
        }
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(IntakeAccepted {
            reference: answer.reference,
            status: answer.status,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    pub token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Verified {
    pub reference: String,
    pub status: Status,
    pub due_date: Option<NaiveDate>,
}

/// Confirm a request with the token from the emailed link. Unknown, used and expired
/// tokens all answer 410.
#[utoipa::path(post, path = "/intake/verify", tag = "intake", request_body = VerifyBody,
    responses((status = 200, body = Verified), (status = 410, body = crate::error::Problem)))]
pub async fn verify(
    State(state): State<AppState>,
    client: ClientAddr,
    ApiJson(body): ApiJson<VerifyBody>,
) -> Result<Json<Verified>, AppError> {
    let req = intake::verify(&state, &client, body.token.trim()).await?;
    Ok(Json(Verified {
        reference: req.reference,
        status: req.status,
        due_date: req.due_date,
    }))
}
