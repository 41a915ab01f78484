//! The JSON API under `/api/v1`, documented as OpenAPI 3.1 from the handlers themselves.

use axum::Json;
use axum::http::Uri;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::error::AppError;

pub mod appeals;
pub mod audit;
pub mod callbacks;
pub mod connectors;
pub mod conversation;
pub mod exports;
pub mod identity;
pub mod intake;
pub mod jobs;
pub mod optouts;
pub mod reports;
pub mod requests;
pub mod retention;
pub mod suppressions;
pub mod tokens;

#[derive(OpenApi)]
#[openapi(
    info(title = "Rightsdesk API", description = "Data-subject rights requests, deadlines and audit."),
    modifiers(&BearerAuth),
    tags(
        (name = "intake", description = "Public: submit and confirm a request"),
        (name = "requests", description = "Staff work on requests"),
        (name = "audit", description = "The hash-chained audit log"),
        (name = "admin", description = "Tokens and the job queue"),
        (name = "connectors", description = "Product data stores declared in the data map"),
        (name = "reports", description = "Deadline performance"),
        (name = "retention", description = "Retention purges of product data, and legal holds"),
        (name = "suppressions", description = "The suppression list: completed objections and erasures, as keyed hashes"),
        (name = "meta", description = "This document")
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Every API route, registered together with its OpenAPI description.
pub fn router() -> OpenApiRouter<AppState> {
    let v1 = OpenApiRouter::new()
        .routes(routes!(intake::submit))
        .routes(routes!(intake::verify))
        .routes(routes!(optouts::create))
        .routes(routes!(requests::list, requests::create))
        .routes(routes!(requests::get_one))
        .routes(routes!(requests::state_of))
        .routes(routes!(requests::start))
        .routes(routes!(requests::deny))
        .routes(routes!(requests::extend))
        .routes(routes!(requests::hold))
        .routes(routes!(requests::resume))
        .routes(routes!(requests::complete))
        .routes(routes!(requests::withdraw))
        .routes(routes!(requests::assign))
        .routes(routes!(requests::lift))
        .routes(routes!(requests::rerun))
        .routes(routes!(requests::edit_corrections))
        .routes(routes!(requests::note))
        .routes(routes!(requests::unlink))
        .routes(routes!(requests::merge))
        .routes(routes!(appeals::change_regime))
        .routes(routes!(appeals::decide))
        .routes(routes!(conversation::ask))
        .routes(routes!(conversation::message))
        .routes(routes!(conversation::get))
        .routes(routes!(conversation::file))
        .routes(routes!(conversation::agent_consent))
        .routes(routes!(conversation::agent_accept))
        .routes(routes!(identity::get_check, identity::confirm))
        .routes(routes!(exports::list, exports::rebuild))
        .routes(routes!(exports::reissue))
        .routes(routes!(connectors::preview))
        .routes(routes!(connectors::retry_task))
        .routes(routes!(connectors::list))
        .routes(routes!(connectors::test))
        .routes(routes!(callbacks::callback))
        .routes(routes!(reports::sla))
        .routes(routes!(retention::list))
        .routes(routes!(retention::runs))
        .routes(routes!(retention::run))
        .routes(routes!(retention::list_holds, retention::create_hold))
        .routes(routes!(retention::release_hold))
        .routes(routes!(audit::list))
        .routes(routes!(audit::verify))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
        .routes(routes!(jobs::list))
        .routes(routes!(jobs::retry))
        .routes(routes!(crate::http::drp::agents))
        .routes(routes!(crate::http::drp::suspend))
        .routes(routes!(crate::http::drp::reinstate))
        .routes(routes!(suppressions::export))
        .routes(routes!(suppressions::key))
        .routes(routes!(openapi_json))
        // A check carries up to 10,000 addresses: more than the usual body limit.
        .merge(
            OpenApiRouter::new()
                .routes(routes!(suppressions::check))
                .layer(axum::extract::DefaultBodyLimit::max(
                    suppressions::CHECK_BODY_LIMIT,
                )),
        );
    OpenApiRouter::with_openapi(ApiDoc::openapi()).nest("/api/v1", v1)
}

/// The OpenAPI document of this API.
#[utoipa::path(get, path = "/openapi.json", tag = "meta", responses((status = 200, description = "OpenAPI 3.1 document")))]
pub async fn openapi_json(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Json<utoipa::openapi::OpenApi> {
    static DOC: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    let mut doc = DOC.get_or_init(|| router().split_for_parts().1).clone();
    crate::http::drp::document(&state, &mut doc);
    Json(doc)
}

/// Unknown paths answer problem+json too.
pub async fn not_found(uri: Uri) -> AppError {
    AppError::NotFound(format!("nothing at {}", uri.path()))
}

/// A known path with another method answers problem+json too.
pub async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}

/// Pagination parameters shared by list endpoints.
pub fn page(
    page: Option<u32>,
    per_page: Option<u32>,
) -> Result<crate::store::PageRequest, AppError> {
    let page = page.unwrap_or(1);
    let per_page = per_page.unwrap_or(25);
    if page == 0 || page > 1_000_000 {
        return Err(AppError::field("page", "must be 1 or more"));
    }
    if per_page == 0 || per_page > 100 {
        return Err(AppError::field("per_page", "must be 1 to 100"));
    }
    Ok(crate::store::PageRequest { page, per_page })
}
