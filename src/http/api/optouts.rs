//! Opt-outs forwarded by the company's site (`site` token, or staff): a Global Privacy
//! Control signal, or an opt-out its signed-in user chose, becomes or joins one request
//! per identity.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::request::{Kind, Status};
use crate::error::AppError;
use crate::http::auth::SiteOrAgent;
use crate::http::extract::ApiJson;
use crate::http::{AppState, ClientAddr};
use crate::services::optout::{self, Signal};
use crate::services::workflow::Actor;

/// The subject's identifiers (only `email` is known to Rightsdesk).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Identifiers {
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptOutBody {
    /// The subject's address (or give it as `identifiers.email`).
    pub email: Option<String>,
    pub identifiers: Option<Identifiers>,
    /// `gpc`: the browser sent `Sec-GPC: 1`; `site`: the user chose the opt-out on the site.
    #[schema(example = "gpc")]
    pub source: String,
    /// `opt_out_sale` (the default: sale, sharing, targeted advertising) or
    /// `limit_sensitive`.
    pub kind: Option<Kind>,
    /// Where the subject lives (`US-CA`): chooses the regime and so the deadline.
    pub residence: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OptOutAccepted {
    /// The request that carries the opt-out (the same one for every signal of the same
    /// identity while it is open or in force).
    pub reference: String,
    pub kind: Kind,
    pub status: Status,
    /// Whether the signal joined a request that already covered the identity.
    pub joined: bool,
}

/// Forward an opt-out for a signed-in user of the company's site. The site vouches for
/// the identity: no email link; the request is carried out at once. Every signal of the
/// same identity joins the open request (or the completed one still in force). `site`
/// tokens, agents and admins; the answer says nothing more about the request.
#[utoipa::path(post, path = "/optouts", tag = "intake", request_body = OptOutBody,
    security(("bearer" = [])),
    responses((status = 202, body = OptOutAccepted), (status = 403, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    SiteOrAgent(caller): SiteOrAgent,
    client: ClientAddr,
    ApiJson(body): ApiJson<OptOutBody>,
) -> Result<(StatusCode, Json<OptOutAccepted>), AppError> {
    let signal = Signal::parse(
        body.kind,
        body.email.as_deref(),
        body.identifiers.as_ref().map(|i| i.email.as_str()),
        &body.source,
        body.residence.as_deref(),
    )?;
    let actor = Actor {
        name: caller.actor(),
        client_addr: client.text(),
    };
    let done = optout::forward(&state, &actor, signal).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(OptOutAccepted {
            reference: done.request.reference,
            kind: done.request.kind,
            status: done.request.status,
            joined: done.joined,
        }),
    ))
}
