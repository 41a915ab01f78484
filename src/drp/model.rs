//! What the store keeps for the Data Rights Protocol.

use chrono::{DateTime, Utc};

/// An agent from the directory, with its pairing and suspension.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DrpAgent {
    pub id: String,
    pub name: String,
    /// base64 of the 32-byte Ed25519 verify key.
    pub verify_key: String,
    pub web_url: Option<String>,
    pub in_directory: bool,
    pub token_hash: Option<String>,
    pub paired_at: Option<DateTime<Utc>>,
    pub suspended_at: Option<DateTime<Utc>>,
    pub suspended_by: Option<String>,
    pub loaded_at: DateTime<Utc>,
}

impl DrpAgent {
    pub fn key(&self) -> Option<[u8; 32]> {
        crate::drp::directory::parse_verify_key(&self.verify_key)
    }
}

/// A DRP exercise request and the Rightsdesk request carrying it out.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DrpRequest {
    pub id: String,
    pub agent_id: String,
    pub request_id: String,
    pub request_ref: String,
    pub exercise: String,
    pub agent_request_id: Option<String>,
    pub drp_version: Option<String>,
    pub status_callback: Option<String>,
    /// Encrypted identity claims; `NULL` once the request's personal data is wiped.
    pub claims_ct: Option<String>,
    pub callback_digest: Option<String>,
    pub callback_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// What loading a directory file changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectoryLoad {
    pub added: u64,
    pub updated: u64,
    /// Agents no longer listed: they may not sign any more.
    pub dropped: u64,
}

/// An agent with how many requests it filed.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentWithCounts {
    pub agent: DrpAgent,
    pub requests: i64,
    pub open_requests: i64,
}

/// The job that tells an agent of a status change.
pub const CALLBACK_JOB: &str = "drp.callback";
