//! Authorized agents (issue 21 item 6; CCPA regulations § 7063): a person or
//! organisation asks for someone else, with a signed permission document or a power of
//! attorney statement. The subject is emailed to confirm the request directly (the
//! ordinary verification link goes to the subject's address, never to the agent); staff
//! may accept a power of attorney instead. The agent follows progress through its own
//! link, which shows no personal data of the subject beyond what the agent gave;
//! packages go to the subject only, unless staff record the subject's consent to share
//! them with the agent.

use serde::Serialize;
use serde_json::json;

use crate::app::context::AppState;
use crate::crypto::{Field, new_token, token_hash};
use crate::domain::client::ClientAddr;
use crate::domain::identity::{SubjectEmail, clean_line, clean_text};
use crate::domain::request::Status;
use crate::error::{AppError, FieldError};
use crate::services::conversation::{self, FilePurpose, Upload};
use crate::services::notify::{self, kind_label};
use crate::services::workflow::{self, Actor};
use crate::store::{
    AgentRecord, Changes, Event, NewAudit, Request, RequestToken, StoreError, TokenPurpose,
};

/// What an agent gave about itself.
#[derive(Debug, Clone, Default)]
pub struct AgentInput {
    pub name: String,
    pub email: String,
    pub organisation: Option<String>,
    /// A power of attorney statement (the document's own words or its particulars).
    pub power_of_attorney: Option<String>,
}

/// An agent, checked.
#[derive(Debug, Clone)]
pub struct Agent {
    name: String,
    email: SubjectEmail,
    organisation: Option<String>,
    power_of_attorney: Option<String>,
    document: Option<Upload>,
}

impl Agent {
    /// What the subject's verification email says about who asked.
    pub fn verify_context(&self) -> serde_json::Value {
        json!({ "name": self.name, "organisation": self.organisation })
    }
}

/// Check an agent: a name, an address that is not the subject's, and (when
/// `authority_required`, as on the form) a permission document or a power of attorney
/// statement. Problems are named by field (`agent.name`, `agent.email`, ...).
pub fn parse(
    input: AgentInput,
    document: Option<Upload>,
    subject_email: &str,
    authority_required: bool,
    errors: &mut Vec<FieldError>,
) -> Option<Agent> {
    let name = clean_line(&input.name);
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new(
            "agent.name",
            "give the agent's name (at most 200 characters)",
        ));
    }
    let email = match SubjectEmail::parse(&input.email) {
        Ok(e) => Some(e),
        Err(e) => {
            errors.push(FieldError::new("agent.email", e.to_string()));
            None
        }
    };
    if let (Some(e), Ok(s)) = (&email, SubjectEmail::parse(subject_email))
        && e.expose() == s.expose()
    {
        errors.push(FieldError::new(
            "agent.email",
            "the agent's address must not be the address of the person the request is for",
        ));
    }
    let organisation = input
        .organisation
        .as_deref()
        .map(clean_line)
        .filter(|o| !o.is_empty());
    if organisation
        .as_ref()
        .is_some_and(|o| o.chars().count() > 200)
    {
        errors.push(FieldError::new(
            "agent.organisation",
            "must be at most 200 characters",
        ));
    }
    let power_of_attorney = input
        .power_of_attorney
        .as_deref()
        .map(clean_text)
        .filter(|p| !p.is_empty());
    if power_of_attorney
        .as_ref()
        .is_some_and(|p| p.chars().count() > 4000)
    {
        errors.push(FieldError::new(
            "agent.power_of_attorney",
            "must be at most 4000 characters",
        ));
    }
    if let Some(d) = &document
        && let Err(e) = crate::domain::upload::check(&d.name, &d.bytes)
    {
        errors.push(FieldError::new("agent.document", e.to_string()));
    }
    if authority_required && document.is_none() && power_of_attorney.is_none() {
        errors.push(FieldError::new(
            "agent.document",
            "add the signed permission of the person you act for, or a power of attorney statement",
        ));
    }
    Some(Agent {
        name,
        email: email?,
        organisation,
        power_of_attorney,
        document,
    })
}

/// Record the agent of a request the agent just submitted: its permission document,
/// its own status link, and the email that carries that link to the agent.
pub async fn attach(
    state: &AppState,
    client: &ClientAddr,
    req: &Request,
    agent: Agent,
) -> Result<(), AppError> {
    let now = state.clock.now();
    let authority = if agent.document.is_some() {
        "document"
    } else if agent.power_of_attorney.is_some() {
        "power_of_attorney"
    } else {
        "none"
    };
    let files = conversation::seal_files(
        state,
        &req.id,
        FilePurpose::AgentPermission,
        None,
        agent.document.into_iter().collect(),
    )?;
    let seal = |column: &str, v: &str| {
        state
            .keys
            .seal_at(Field::new("request_agents", column, &req.id), v)
    };
    let record = AgentRecord {
        request_id: req.id.clone(),
        name_ct: Some(seal("name_ct", &agent.name)),
        email_ct: Some(seal("email_ct", agent.email.expose())),
        organisation_ct: agent
            .organisation
            .as_deref()
            .map(|o| seal("organisation_ct", o)),
        authority: authority.into(),
        statement_ct: agent
            .power_of_attorney
            .as_deref()
            .map(|p| seal("statement_ct", p)),
        poa_accepted_at: None,
        poa_accepted_by: None,
        consent_at: None,
        consent_by: None,
        created_at: now,
    };
    let token = new_token();
    let mut changes = Changes {
        now: Some(now),
        tokens: vec![RequestToken {
            token_hash: token_hash(&token),
            request_id: req.id.clone(),
            purpose: TokenPurpose::Agent,
            expires_at: None,
            created_at: now,
        }],
        ..Default::default()
    };
    notify::queue(
        state,
        &mut changes,
        Some(&req.id),
        "agent_received",
        agent.email.expose(),
        json!({
            "reference": req.reference,
            "kind_label": kind_label(req.kind),
            "agent_url": notify::link(state, &format!("/agent/{token}")),
        }),
    );
    let event = Event {
        at: now,
        actor: "agent".into(),
        action: "agent".into(),
        from_status: Some(req.status),
        to_status: req.status,
        note: Some(format!("submitted by an authorized agent ({authority})")),
    };
    let audit = NewAudit {
        at: now,
        actor: "agent".into(),
        action: "request.agent".into(),
        request_ref: Some(req.reference.clone()),
        client_addr: client.text(),
        detail: json!({
            "authority": authority,
            "files": files.iter().map(|f| &f.file.id).collect::<Vec<_>>(),
        }),
    };
    match state
        .store
        .insert_agent(&record, &files, &event, &audit, &changes)
        .await
    {
        Ok(()) => {
            state.queue.wake();
            tracing::info!(reference = %req.reference, authority, "authorized agent recorded");
            Ok(())
        }
        // The request already has an agent (a second submission for the same person and
        // kind while unverified): the first agent stays; nothing tells the caller.
        Err(StoreError::Duplicate) => {
            tracing::info!(reference = %req.reference, "request already has an agent; the new one is not recorded");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// The request behind an agent's link, while it lives (like the subject's status link).
pub async fn request_for_agent_link(state: &AppState, token: &str) -> Result<Request, AppError> {
    if token.len() > 100 {
        return Err(AppError::Gone);
    }
    let now = state.clock.now();
    let req = state
        .store
        .request_by_token(&token_hash(token), TokenPurpose::Agent, now)
        .await?
        .ok_or(AppError::Gone)?;
    if req.email_ct.is_none()
        || crate::services::intake::status_link_end(state, &req).is_some_and(|end| end <= now)
    {
        return Err(AppError::Gone);
    }
    Ok(req)
}

/// The agent as staff see it on the case page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgentView {
    pub name: Option<String>,
    pub email: Option<String>,
    pub organisation: Option<String>,
    /// `document`, `power_of_attorney` or `none`.
    pub authority: String,
    pub power_of_attorney: Option<String>,
    pub documents: Vec<conversation::FileView>,
    pub power_of_attorney_accepted_at: Option<chrono::DateTime<chrono::Utc>>,
    pub power_of_attorney_accepted_by: Option<String>,
    pub consent_at: Option<chrono::DateTime<chrono::Utc>>,
    pub consent_by: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// The request's agent, if an agent submitted it.
pub async fn view(state: &AppState, req: &Request) -> Result<Option<AgentView>, AppError> {
    let Some(a) = state.store.agent(&req.id).await? else {
        return Ok(None);
    };
    let open = |column: &str, v: &Option<String>| {
        v.as_deref().and_then(|c| {
            state
                .keys
                .open_at(Field::new("request_agents", column, &req.id), c)
                .ok()
        })
    };
    let documents = state
        .store
        .request_files(&req.id)
        .await?
        .iter()
        .filter(|f| f.purpose == "agent_permission")
        .map(|f| conversation::file_view(state, f))
        .collect();
    Ok(Some(AgentView {
        name: open("name_ct", &a.name_ct),
        email: open("email_ct", &a.email_ct),
        organisation: open("organisation_ct", &a.organisation_ct),
        power_of_attorney: open("statement_ct", &a.statement_ct),
        authority: a.authority,
        documents,
        power_of_attorney_accepted_at: a.poa_accepted_at,
        power_of_attorney_accepted_by: a.poa_accepted_by,
        consent_at: a.consent_at,
        consent_by: a.consent_by,
        created_at: a.created_at,
    }))
}

/// Staff record that the subject agreed the agent may receive the outcome and package.
pub async fn record_consent(
    state: &AppState,
    actor: &Actor,
    reference: &str,
) -> Result<Request, AppError> {
    let req = workflow::load(state, reference).await?;
    let mut a = state
        .store
        .agent(&req.id)
        .await?
        .ok_or_else(|| AppError::Conflict {
            detail: "this request was not submitted by an agent".into(),
            current_status: Some(req.status.to_string()),
        })?;
    if a.consent_at.is_some() {
        return Err(AppError::Conflict {
            detail: "the subject's consent is already recorded".into(),
            current_status: Some(req.status.to_string()),
        });
    }
    let now = state.clock.now();
    a.consent_at = Some(now);
    a.consent_by = Some(actor.name.clone());
    let event = Event {
        at: now,
        actor: actor.name.clone(),
        action: "agent_consent".into(),
        from_status: Some(req.status),
        to_status: req.status,
        note: Some("the subject agreed that the agent receives the outcome".into()),
    };
    let audit = NewAudit {
        at: now,
        actor: actor.name.clone(),
        action: "request.agent_consent".into(),
        request_ref: Some(req.reference.clone()),
        client_addr: actor.client_addr.clone(),
        detail: json!({}),
    };
    state.store.update_agent(&a, &event, &audit).await?;
    Ok(req)
}

/// Staff accept the agent's power of attorney: the request opens without the subject's
/// confirmation (their unused verification link stops working), its clock starts.
pub async fn accept_power_of_attorney(
    state: &AppState,
    actor: &Actor,
    reference: &str,
) -> Result<Request, AppError> {
    let req = workflow::load(state, reference).await?;
    let conflict = |detail: &str| AppError::Conflict {
        detail: detail.into(),
        current_status: Some(req.status.to_string()),
    };
    let mut a = state
        .store
        .agent(&req.id)
        .await?
        .ok_or_else(|| conflict("this request was not submitted by an agent"))?;
    if a.statement_ct.is_none() {
        return Err(conflict("the agent gave no power of attorney"));
    }
    if req.status != Status::AwaitingVerification {
        return Err(conflict("the request is not waiting for confirmation"));
    }
    let now = state.clock.now();
    a.poa_accepted_at = Some(now);
    a.poa_accepted_by = Some(actor.name.clone());
    let event = Event {
        at: now,
        actor: actor.name.clone(),
        action: "agent_poa_accepted".into(),
        from_status: Some(req.status),
        to_status: req.status,
        note: Some("the agent's power of attorney was accepted".into()),
    };
    let audit = NewAudit {
        at: now,
        actor: actor.name.clone(),
        action: "request.agent_poa_accepted".into(),
        request_ref: Some(req.reference.clone()),
        client_addr: actor.client_addr.clone(),
        detail: json!({}),
    };
    state.store.update_agent(&a, &event, &audit).await?;
    crate::services::intake::confirm_by_staff(
        state,
        actor,
        req,
        "verified on the agent's power of attorney, accepted by staff",
    )
    .await
}

/// What the agent's page shows: progress only.
pub async fn agent_page(state: &AppState, req: &Request) -> Result<serde_json::Value, AppError> {
    let agent = state.store.agent(&req.id).await?;
    let consent = agent.as_ref().is_some_and(|a| a.consent_at.is_some());
    Ok(json!({
        "confirmed": req.verified_at.is_some(),
        "awaiting_confirmation": req.status == Status::AwaitingVerification,
        "consent": consent,
    }))
}
