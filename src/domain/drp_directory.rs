//! The agents directory (`agents.json` of the DRP service directory): which agents exist
//! and the Ed25519 key each signs with. Validated as a whole before anything is loaded.

use base64::Engine;
use serde::Deserialize;

/// One agent as the directory lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryAgent {
    pub id: String,
    pub name: String,
    /// The 32-byte Ed25519 verify key.
    pub verify_key: [u8; 32],
    pub web_url: Option<String>,
    pub technical_contact: Option<String>,
}

#[derive(Deserialize)]
struct Entry {
    id: Option<String>,
    name: Option<String>,
    verify_key: Option<String>,
    web_url: Option<String>,
    technical_contact: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum File {
    List(Vec<Entry>),
    Wrapped { agents: Vec<Entry> },
}

/// An agent id: what the directory's ids look like (`CR_AA_DRP_ID_001`), no more.
pub fn valid_agent_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// A verify key: base64 of 32 bytes (spec 0.9.1 on), or 64 hex digits (older entries).
pub fn parse_verify_key(text: &str) -> Option<[u8; 32]> {
    let t = text.trim();
    for engine in [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        if let Ok(bytes) = engine.decode(t)
            && let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice())
        {
            return valid_point(key);
        }
    }
    if t.len() == 64
        && let Ok(bytes) = hex::decode(t)
        && let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice())
    {
        return valid_point(key);
    }
    None
}

fn valid_point(key: [u8; 32]) -> Option<[u8; 32]> {
    ed25519_dalek::VerifyingKey::from_bytes(&key)
        .ok()
        .filter(|k| !k.is_weak())
        .map(|_| key)
}

/// Parse and check a directory file; every problem is named with the entry it is in.
pub fn parse(text: &str) -> Result<Vec<DirectoryAgent>, Vec<String>> {
    let entries = match serde_json::from_str::<File>(text) {
        Ok(File::List(e)) | Ok(File::Wrapped { agents: e }) => e,
        Err(e) => {
            return Err(vec![format!(
                "not a DRP agents directory (a JSON list of agents): {e}"
            )]);
        }
    };
    let mut problems = Vec::new();
    let mut agents: Vec<DirectoryAgent> = Vec::new();
    for (i, e) in entries.into_iter().enumerate() {
        let at = format!("entry {}", i + 1);
        let Some(id) = e.id.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) else {
            problems.push(format!("{at}: `id` is missing"));
            continue;
        };
        if !valid_agent_id(&id) {
            problems.push(format!(
                "{at}: id `{id}` may hold only letters, digits, `_`, `-` and `.`"
            ));
            continue;
        }
        let Some(key) = e.verify_key.as_deref().and_then(parse_verify_key) else {
            problems.push(format!(
                "{at} ({id}): `verify_key` is not a base64 Ed25519 public key"
            ));
            continue;
        };
        if agents.iter().any(|a| a.id == id) {
            problems.push(format!("{at}: id `{id}` is listed twice"));
            continue;
        }
        agents.push(DirectoryAgent {
            name: e
                .name
                .map(|n| crate::domain::identity::clean_line(&n))
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| id.clone()),
            id,
            verify_key: key,
            web_url: e.web_url,
            technical_contact: e.technical_contact,
        });
    }
    if problems.is_empty() {
        Ok(agents)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_entries_are_checked() {
        let key = base64::engine::general_purpose::STANDARD.encode(
            ed25519_dalek::SigningKey::from_bytes(&[7u8; 32])
                .verifying_key()
                .to_bytes(),
        );
        let ok = format!(r#"[{{"id":"CR_AA_1","name":"Agent","verify_key":"{key}"}}]"#);
        let agents = parse(&ok).expect("valid");
        assert_eq!(agents[0].id, "CR_AA_1");
        let bad = r#"[{"id":"A"},{"verify_key":"x"},{"id":"B c","verify_key":"AAAA"}]"#;
        assert_eq!(parse(bad).expect_err("invalid").len(), 3);
        assert!(parse("{").is_err());
        let twice =
            format!(r#"[{{"id":"A","verify_key":"{key}"}},{{"id":"A","verify_key":"{key}"}}]"#);
        assert!(parse(&twice).is_err());
    }
}
