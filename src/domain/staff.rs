//! Staff roles: what each kind of staff member may do.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Roles, weakest first: `site` (API tokens only: the company's own site forwarding
/// intake and opt-outs; it reads nothing), auditors read, agents also act on requests,
/// admins also manage tokens and users.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Site,
    Auditor,
    Agent,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Site => "site",
            Role::Auditor => "auditor",
            Role::Agent => "agent",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "site" => Ok(Role::Site),
            "auditor" => Ok(Role::Auditor),
            "agent" => Ok(Role::Agent),
            "admin" => Ok(Role::Admin),
            _ => Err(format!(
                "unknown role `{s}`; expected admin, agent, auditor or site"
            )),
        }
    }
}

impl Role {
    /// Whether a person may hold the role in the portal (`site` is for API tokens only).
    pub fn is_for_people(self) -> bool {
        self != Role::Site
    }
}

impl TryFrom<String> for Role {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}
