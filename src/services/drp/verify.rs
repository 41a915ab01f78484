//! Signed DRP messages: base64 of a libsodium "combined mode" Ed25519 signature (64 bytes)
//! followed by the JSON it signs. Checked in exactly the order of the spec's section 3.07;
//! the first failure is the answer.

use base64::Engine;
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use ed25519_dalek::{Signature, VerifyingKey};
use serde_json::{Map, Value};

/// A failed DRP call: the spec's error object `{code, message, fatal}` with its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrpError {
    pub status: u16,
    pub message: String,
    /// The request moved (or would move) to `denied`; not worth retrying.
    pub fatal: bool,
    /// The pairing endpoint answers its failures with an empty 403 (spec 2.05.1).
    pub empty_body: bool,
}

impl DrpError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            fatal: false,
            empty_body: false,
        }
    }
    pub fn fatal(mut self) -> Self {
        self.fatal = true;
        self
    }
    pub fn bad(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, message)
    }
}

/// What the checks need besides the message.
pub struct Expect<'a> {
    /// The agent the message must come from (bearer token's agent, or the path's).
    pub agent_id: &'a str,
    pub verify_key: &'a [u8; 32],
    pub business_id: &'a str,
    pub now: DateTime<Utc>,
    pub skew: TimeDelta,
    pub max_window: TimeDelta,
}

/// A message that passed every check.
#[derive(Debug, Clone)]
pub struct Verified {
    pub claims: Map<String, Value>,
    pub issued_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// SHA-256 (hex) of the signed JSON: the replay key.
    pub digest: String,
}

/// An ISO 8601 time: RFC 3339, or without an offset (taken as UTC).
pub fn parse_time(v: &Value) -> Option<DateTime<Utc>> {
    let s = v.as_str()?.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc());
        }
    }
    None
}

/// Steps 1 and 2: base64, then the signature against the agent's directory key.
/// Returns the signed bytes.
pub fn open(body: &[u8], verify_key: &[u8; 32]) -> Result<Vec<u8>, DrpError> {
    let text =
        std::str::from_utf8(body).map_err(|_| DrpError::bad("the body is not base64 text"))?;
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(compact.as_bytes()))
        .map_err(|_| DrpError::bad("the body is not base64"))?;
    if raw.len() < 64 {
        return Err(DrpError::forbidden(
            "the message is shorter than an Ed25519 signature",
        ));
    }
    let (sig, message) = raw.split_at(64);
    let key = VerifyingKey::from_bytes(verify_key)
        .map_err(|_| DrpError::forbidden("the agent's directory key is unusable"))?;
    let sig = Signature::from_slice(sig)
        .map_err(|_| DrpError::forbidden("the signature is malformed"))?;
    key.verify_strict(message, &sig).map_err(|_| {
        DrpError::forbidden("the signature does not verify with the agent's directory key")
    })?;
    Ok(message.to_vec())
}

/// The whole chain for an exercise or pairing message, in the spec's order: base64,
/// signature, `agent-id`, `business-id`, `issued-at` not in the future, `expires-at` not
/// passed (and within the window). The claims must be there.
pub fn verify(body: &[u8], e: &Expect<'_>) -> Result<Verified, DrpError> {
    verify_with(body, e, true)
}

/// The chain for a revoke message: the spec shows only `reason` in it, so the envelope
/// claims are checked when present.
pub fn verify_revoke(body: &[u8], e: &Expect<'_>) -> Result<Verified, DrpError> {
    verify_with(body, e, false)
}

fn verify_with(body: &[u8], e: &Expect<'_>, envelope: bool) -> Result<Verified, DrpError> {
    let message = open(body, e.verify_key)?;
    let claims = match serde_json::from_slice::<Value>(&message) {
        Ok(Value::Object(m)) => m,
        _ => return Err(DrpError::bad("the signed message is not a JSON object")),
    };
    let text = |k: &str| claims.get(k).and_then(Value::as_str);
    match text("agent-id") {
        Some(a) if a == e.agent_id => {}
        None if !envelope && !claims.contains_key("agent-id") => {}
        _ => {
            return Err(DrpError::forbidden(
                "`agent-id` does not name the agent this token or path belongs to",
            ));
        }
    }
    match text("business-id") {
        Some(b) if b == e.business_id => {}
        None if !envelope && !claims.contains_key("business-id") => {}
        _ => {
            return Err(DrpError::forbidden(
                "`business-id` does not name this covered business",
            ));
        }
    }
    let issued_at = match claims.get("issued-at") {
        Some(v) => Some(
            parse_time(v).ok_or_else(|| DrpError::bad("`issued-at` is not an ISO 8601 time"))?,
        ),
        None if envelope => return Err(DrpError::bad("`issued-at` is missing")),
        None => None,
    };
    if let Some(i) = issued_at
        && i > e.now + e.skew
    {
        return Err(DrpError::forbidden(
            "`issued-at` is in the future; check the agent's clock",
        ));
    }
    let expires_at = match claims.get("expires-at") {
        Some(v) => Some(
            parse_time(v).ok_or_else(|| DrpError::bad("`expires-at` is not an ISO 8601 time"))?,
        ),
        None if envelope => return Err(DrpError::bad("`expires-at` is missing")),
        None => None,
    };
    if let Some(x) = expires_at {
        if x <= e.now {
            return Err(DrpError::forbidden("the message has expired (`expires-at`)").fatal());
        }
        if let Some(i) = issued_at
            && x - i > e.max_window
        {
            return Err(DrpError::forbidden(format!(
                "`expires-at` is more than {} minutes after `issued-at`",
                e.max_window.num_minutes()
            )));
        }
    }
    Ok(Verified {
        claims,
        issued_at,
        expires_at,
        digest: crate::crypto::sha256_hex(&message),
    })
}

/// Sign `message` the way libsodium's combined mode does, base64-encoded (for tests and
/// the docs' example agent).
pub fn sign(key: &ed25519_dalek::SigningKey, message: &[u8]) -> String {
    use ed25519_dalek::Signer;
    let sig = key.sign(message);
    let mut out = sig.to_bytes().to_vec();
    out.extend_from_slice(message);
    base64::engine::general_purpose::STANDARD.encode(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn the_chain_runs_in_the_spec_order() {
        let sk = ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]);
        let other = ed25519_dalek::SigningKey::from_bytes(&[4u8; 32]);
        let vk = sk.verifying_key().to_bytes();
        let e = Expect {
            agent_id: "AA",
            verify_key: &vk,
            business_id: "CB",
            now: at("2026-10-10T09:00:00Z"),
            skew: TimeDelta::seconds(60),
            max_window: TimeDelta::minutes(10),
        };
        let msg = |v: Value| v.to_string().into_bytes();
        let good = json!({"agent-id":"AA","business-id":"CB",
            "issued-at":"2026-10-10T08:59:00Z","expires-at":"2026-10-10T09:05:00Z"});
        assert!(verify(sign(&sk, &msg(good.clone())).as_bytes(), &e).is_ok());
        assert_eq!(verify(b"%%%", &e).expect_err("b64").status, 400);
        // Signed by someone else *and* naming the wrong business: the signature is reported.
        let mut wrong = good.clone();
        wrong["business-id"] = "XX".into();
        let r = verify(sign(&other, &msg(wrong.clone())).as_bytes(), &e).expect_err("sig");
        assert!(r.message.contains("signature"), "{r:?}");
        let r = verify(sign(&sk, &msg(wrong)).as_bytes(), &e).expect_err("business");
        assert!(r.message.contains("business-id"), "{r:?}");
        let mut exp = good.clone();
        exp["expires-at"] = "2026-10-10T08:59:30Z".into();
        assert!(
            verify(sign(&sk, &msg(exp)).as_bytes(), &e)
                .expect_err("exp")
                .fatal
        );
        let mut fut = good.clone();
        fut["issued-at"] = "2026-10-10T09:02:00Z".into();
        fut["expires-at"] = "2026-10-10T09:08:00Z".into();
        assert!(
            verify(sign(&sk, &msg(fut)).as_bytes(), &e)
                .expect_err("future")
                .message
                .contains("future")
        );
        let mut long = good;
        long["expires-at"] = "2026-10-10T09:30:00Z".into();
        assert!(verify(sign(&sk, &msg(long)).as_bytes(), &e).is_err());
    }
}
