//! The HTTP connector: the product's own endpoint does the work. Rightsdesk POSTs a JSON
//! body signed with `Rightsdesk-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`
//! under the connector's `secret`; the endpoint answers `200` with the result, or `202`
//! and later calls back `POST /api/v1/callbacks/{task_token}` with the same result, signed
//! the same way.
//!
//! Outbound safety: no redirects, a timeout, a bounded answer, and targets that resolve to
//! private, loopback or link-local addresses are refused unless the connector sets
//! `allow_private = true`. The check is made on the resolved addresses, and the request
//! goes to exactly those addresses (no second lookup an attacker could change).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_trait::async_trait;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

use super::{
    AccessResult, Connector, ConnectorDecl, ConnectorError, EraseAction, ErasureEvidence,
    ErasureTable, Hasher, Identity, Preview, PreviewTable, RectifyReport, SetReport,
};
use crate::secret::Secret;

/// The signature header, on requests and on callbacks.
pub const SIGNATURE_HEADER: &str = "Rightsdesk-Signature";
/// How far a callback's signature time may be from ours.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;
/// Largest answer or callback body read.
pub const MAX_BODY: usize = 8 * 1024 * 1024;
/// How long a callback link stays usable.
pub const CALLBACK_DAYS: i64 = 14;
const DEFAULT_TIMEOUT_SECS: i64 = 30;

/// What an `http` data-map file declares besides name and url.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub secret: Secret<String>,
    pub timeout: Duration,
    pub allow_private: bool,
}

/// Read `secret` (interpolated, at least 16 characters), `timeout_secs` and
/// `allow_private`; problems are `(key path, message)`.
pub(crate) fn parse_settings(
    settings: &toml::Table,
    interpolate: &mut dyn FnMut(&str, &str) -> Option<String>,
    problems: &mut Vec<(String, String)>,
) -> Option<HttpSettings> {
    let mut secret = None;
    let mut timeout = DEFAULT_TIMEOUT_SECS;
    let mut allow_private = false;
    let mut ok = true;
    for (k, v) in settings {
        match (k.as_str(), v) {
            ("secret", toml::Value::String(s)) => match interpolate("secret", s) {
                // The value is a secret: the message says only what is wrong.
                Some(s) if s.len() >= 16 => secret = Some(Secret::new(s)),
                Some(_) => {
                    problems.push(("secret".into(), "must be at least 16 characters".into()));
                    ok = false;
                }
                None => ok = false,
            },
            ("timeout_secs", toml::Value::Integer(n)) if (1..=300).contains(n) => timeout = *n,
            ("allow_private", toml::Value::Boolean(b)) => allow_private = *b,
            ("secret", _) => {
                problems.push(("secret".into(), "must be a string (use \"${VAR}\")".into()));
                ok = false;
            }
            ("timeout_secs", _) => {
                problems.push((
                    "timeout_secs".into(),
                    "must be a number from 1 to 300".into(),
                ));
                ok = false;
            }
            ("allow_private", _) => {
                problems.push(("allow_private".into(), "must be true or false".into()));
                ok = false;
            }
            (other, _) => {
                problems.push((
                    other.to_string(),
                    format!(
                        "unknown field `{other}`, expected `secret`, `timeout_secs` or `allow_private`"
                    ),
                ));
                ok = false;
            }
        }
    }
    if secret.is_none() && !settings.contains_key("secret") {
        problems.push((
            "secret".into(),
            "missing key: an http connector needs a signing secret (secret = \"${VAR}\")".into(),
        ));
    }
    Some(HttpSettings {
        secret: secret?,
        timeout: Duration::from_secs(timeout as u64),
        allow_private,
    })
    .filter(|_| ok)
}

/// `t=<unix>,v1=<hex HMAC-SHA256 of "t.body">` under `secret`.
pub fn sign(secret: &str, unix: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(unix.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={unix},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `header` signs `body` under `secret` at a time within the tolerance of `now`.
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64) -> bool {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.push(v.to_string()),
            _ => {}
        }
    }
    let Some(t) = t else {
        return false;
    };
    if (now - t).abs() > SIGNATURE_TOLERANCE_SECS {
        return false;
    }
    let expected = sign(secret, t, body);
    let expected = expected.rsplit("v1=").next().unwrap_or_default();
    sigs.iter()
        .any(|s| crate::crypto::constant_time_eq(s.as_bytes(), expected.as_bytes()))
}

/// Whether an address is one the public internet can reach (not loopback, private,
/// link-local, unique-local, shared, documentation, multicast or unspecified).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10 shared
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24
                || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || (s[0] & 0xffc0) == 0xfec0 // site local (deprecated, still routed inside sites)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address that
                // may be private; IPv4-compatible (::/96) is the old form of the same.
                || (s[0] == 0x0064 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0])
                || s[0] == 0x2002
                || s[..6] == [0, 0, 0, 0, 0, 0])
        }
    }
}

/// What a finished operation left: evidence (counts only), and for access the rows.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub evidence: Value,
    pub access: Option<AccessResult>,
    /// Set when the operation ran but its evidence shows it is not complete.
    pub incomplete: Option<String>,
    /// Set when the endpoint answered that it has nothing to do for the operation
    /// (`{"skipped": "why"}`): the task ends `skipped` with this reason.
    pub skipped: Option<String>,
}

/// How a task run outside the database engines ended for now.
#[derive(Debug)]
pub enum External {
    Done(Outcome),
    /// Waiting for a callback or a completion link; the task is `waiting`.
    Waiting,
}

#[derive(Deserialize)]
struct ErasureAnswer {
    tables: Vec<ErasureAnswerTable>,
}

#[derive(Deserialize)]
struct ErasureAnswerTable {
    table: String,
    #[serde(default)]
    rows_found: Option<u64>,
    #[serde(default)]
    rows_affected: u64,
    #[serde(default)]
    rows_kept: u64,
    rows_left: u64,
    #[serde(default)]
    retain_reason: Option<String>,
}

#[derive(Deserialize)]
struct PreviewAnswer {
    tables: Vec<PreviewAnswerTable>,
}

#[derive(Deserialize)]
struct PreviewAnswerTable {
    table: String,
    rows: u64,
    #[serde(default)]
    kept: u64,
}

/// The endpoint's result for `operation` (in a `200` answer or a callback) as an
/// outcome; an answer of the wrong shape is an error naming what is missing.
pub fn outcome(connector: &str, operation: &str, answer: Value) -> Result<Outcome, ConnectorError> {
    let bad = |what: &str| ConnectorError::Failed {
        connector: connector.to_string(),
        reason: format!("the endpoint's answer to {operation} is not understood: {what}"),
    };
    match operation {
        "access" => {
            let found: AccessResult = serde_json::from_value(answer)
                .map_err(|_| bad("expected {\"tables\": [{\"table\": …, \"rows\": [{…}]}]}"))?;
            let tables: Vec<Value> = found
                .tables
                .iter()
                .map(|t| json!({ "table": t.table, "rows": t.rows.len() }))
                .collect();
            Ok(Outcome {
                evidence: json!({ "rows": found.row_count(), "tables": tables }),
                access: Some(found),
                incomplete: None,
                skipped: None,
            })
        }
        "erase" => {
            let a: ErasureAnswer = serde_json::from_value(answer).map_err(|_| {
                bad("expected {\"tables\": [{\"table\": …, \"rows_affected\": n, \"rows_left\": n}]}")
            })?;
            let evidence = ErasureEvidence {
                tables: a
                    .tables
                    .into_iter()
                    .map(|t| ErasureTable {
                        table: t.table,
                        action: if t.retain_reason.is_some() {
                            EraseAction::Retain
                        } else {
                            EraseAction::Delete
                        },
                        rows_found: t.rows_found,
                        rows_affected: t.rows_affected,
                        rows_kept: t.rows_kept,
                        kept_reason: None,
                        rows_left: t.rows_left,
                        implied_null: Vec::new(),
                        left_reason: (t.rows_left > 0)
                            .then(|| "the product reported rows left".to_string()),
                        retain_reason: t.retain_reason,
                    })
                    .collect(),
            };
            let left: u64 = evidence.tables.iter().map(|t| t.rows_left).sum();
            Ok(Outcome {
                incomplete: (!evidence.is_complete())
                    .then(|| format!("erasure incomplete: {left} row(s) still found afterwards")),
                evidence: serde_json::to_value(&evidence).unwrap_or(Value::Null),
                access: None,
                skipped: None,
            })
        }
        _ => {
            // Counts only: anything else the endpoint says is not kept (it may be personal),
            // apart from the short reason of an operation it has nothing to do for.
            let rows = answer.get("rows_affected").and_then(Value::as_u64);
            let skipped = answer.get("skipped").and_then(Value::as_str).map(|r| {
                let r: String = r.chars().filter(|c| !c.is_control()).take(300).collect();
                format!("the endpoint has nothing to do: {}", r.trim())
            });
            Ok(Outcome {
                evidence: json!({ "rows_affected": rows }),
                access: None,
                incomplete: None,
                skipped,
            })
        }
    }
}

/// A declared HTTP connector.
pub struct HttpConnector {
    name: String,
    url: Secret<String>,
    settings: HttpSettings,
}

/// The endpoint's answer: `200` with a body, or `202`.
pub enum Answer {
    Result(Value),
    Accepted,
}

impl HttpConnector {
    pub fn new(decl: &ConnectorDecl) -> Result<Self, ConnectorError> {
        let refuse = |reason: &str| ConnectorError::Connect {
            connector: decl.name().to_string(),
            reason: reason.into(),
        };
        Ok(Self {
            name: decl.name().to_string(),
            url: decl.url().cloned().ok_or_else(|| refuse("no url"))?,
            settings: decl
                .http_settings()
                .cloned()
                .ok_or_else(|| refuse("not an http connector"))?,
        })
    }

    pub fn secret(&self) -> &str {
        self.settings.secret.expose()
    }

    fn fail(&self, reason: impl Into<String>) -> ConnectorError {
        ConnectorError::Failed {
            connector: self.name.clone(),
            reason: reason.into(),
        }
    }

    fn unreachable(&self, reason: impl Into<String>) -> ConnectorError {
        ConnectorError::Connect {
            connector: self.name.clone(),
            reason: reason.into(),
        }
    }

    /// Resolve the endpoint's host and check every address it resolves to.
    async fn target(&self) -> Result<(reqwest::Url, String, Vec<SocketAddr>), ConnectorError> {
        let url = reqwest::Url::parse(self.url.expose())
            .map_err(|_| self.fail("the url is not a valid URL"))?;
        let host = url
            .host_str()
            .ok_or_else(|| self.fail("the url has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = url
            .port_or_known_default()
            .ok_or_else(|| self.fail("the url has no port"))?;
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| self.unreachable("the host name does not resolve"))?
            .collect();
        if addrs.is_empty() {
            return Err(self.unreachable("the host name does not resolve"));
        }
        if !self.settings.allow_private && addrs.iter().any(|a| !is_public(a.ip())) {
            return Err(self.fail(
                "the endpoint resolves to a private, loopback or link-local address; set allow_private = true to allow it",
            ));
        }
        Ok((url, host, addrs))
    }

    /// POST `body` signed; a 2xx answer gives its JSON (`null` when empty), `202` that a
    /// callback will follow.
    pub async fn post(&self, body: &Value) -> Result<Answer, ConnectorError> {
        let (url, host, addrs) = self.target().await?;
        // No proxy: `HTTP(S)_PROXY` in the environment would send the request (and its
        // signature) to another host than the address checked and pinned above.
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.settings.timeout)
            .connect_timeout(self.settings.timeout.min(Duration::from_secs(10)))
            .resolve_to_addrs(&host, &addrs)
            .build()
            .map_err(|_| self.fail("cannot build an HTTP client"))?;
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let now = chrono::Utc::now().timestamp();
        // reqwest errors quote the URL (it may hold a token): only their kind is kept.
        let mut resp = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, sign(self.secret(), now, &bytes))
            .body(bytes)
            .send()
            .await
            .map_err(|e| {
                self.unreachable(if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "cannot connect"
                } else {
                    "the request failed"
                })
            })?;
        let status = resp.status().as_u16();
        match status {
            202 => Ok(Answer::Accepted),
            200..=299 => {
                let mut buf = Vec::new();
                while let Some(chunk) = resp
                    .chunk()
                    .await
                    .map_err(|_| self.unreachable("the answer was cut off"))?
                {
                    if buf.len() + chunk.len() > MAX_BODY {
                        return Err(
                            self.fail(format!("the answer is larger than {MAX_BODY} bytes"))
                        );
                    }
                    buf.extend_from_slice(&chunk);
                }
                if buf.iter().all(u8::is_ascii_whitespace) {
                    return Ok(Answer::Result(Value::Null));
                }
                let value = serde_json::from_slice(&buf)
                    .map_err(|_| self.fail("the answer is not JSON"))?;
                Ok(Answer::Result(value))
            }
            300..=399 => Err(self.fail(format!(
                "the endpoint answered {status} (a redirect); redirects are not followed"
            ))),
            408 | 429 | 500..=599 => {
                Err(self.unreachable(format!("the endpoint answered {status}")))
            }
            _ => Err(self.fail(format!("the endpoint answered {status}"))),
        }
    }

    /// Send a fan-out task: the signed POST with the task's callback link (which the
    /// caller stored first: the endpoint may call back before it has even answered).
    /// `Waiting` means the endpoint answered `202` and will call back.
    pub async fn send_task(
        &self,
        operation: &str,
        reference: &str,
        task_id: &str,
        who: &Identity,
        callback_url: &str,
        extra: Value,
    ) -> Result<External, ConnectorError> {
        let body = task_body(operation, reference, task_id, who, callback_url, extra);
        match self.post(&body).await? {
            Answer::Result(v) => Ok(External::Done(outcome(&self.name, operation, v)?)),
            Answer::Accepted => Ok(External::Waiting),
        }
    }

    /// Run `operation` and wait for its answer (no callback possible).
    async fn call_now(
        &self,
        operation: &str,
        who: &Identity,
        extra: Value,
    ) -> Result<Outcome, ConnectorError> {
        let mut body = json!({ "action": operation, "identity": { "email": who.email() } });
        merge(&mut body, extra);
        match self.post(&body).await? {
            Answer::Result(v) => outcome(&self.name, operation, v),
            Answer::Accepted => Err(self.fail(format!(
                "the endpoint answered 202 to {operation}, which needs an immediate answer"
            ))),
        }
    }
}

fn merge(body: &mut Value, extra: Value) {
    if let (Some(b), Value::Object(e)) = (body.as_object_mut(), extra) {
        b.extend(e);
    }
}

/// The task's request to the endpoint: `action`, `request` (reference), `task`,
/// `identity`, `callback_url`, and per action `corrections` or `lift`.
pub fn task_body(
    operation: &str,
    reference: &str,
    task_id: &str,
    who: &Identity,
    callback_url: &str,
    extra: Value,
) -> Value {
    let mut body = json!({
        "action": operation,
        "request": reference,
        "task": task_id,
        "identity": { "email": who.email() },
        "callback_url": callback_url,
    });
    merge(&mut body, extra);
    body
}

#[async_trait]
impl Connector for HttpConnector {
    fn name(&self) -> &str {
        &self.name
    }

    /// A signed `{"action": "test"}`; any 2xx answer passes.
    async fn test(&self) -> Result<(), ConnectorError> {
        self.post(&json!({ "action": "test" })).await.map(|_| ())
    }

    async fn access(&self, who: &Identity) -> Result<AccessResult, ConnectorError> {
        let o = self.call_now("access", who, json!({})).await?;
        o.access.ok_or_else(|| self.fail("no rows in the answer"))
    }

    async fn preview_erasure(&self, who: &Identity) -> Result<Preview, ConnectorError> {
        let body = json!({ "action": "preview", "identity": { "email": who.email() } });
        let Answer::Result(v) = self.post(&body).await? else {
            return Err(
                self.fail("the endpoint answered 202 to preview, which needs an immediate answer")
            );
        };
        let a: PreviewAnswer = serde_json::from_value(v).map_err(|_| {
            self.fail("the preview answer is not understood: expected {\"tables\": [{\"table\": …, \"rows\": n}]}")
        })?;
        Ok(Preview {
            tables: a
                .tables
                .into_iter()
                .map(|t| PreviewTable {
                    table: t.table,
                    action: EraseAction::Delete,
                    rows: t.rows,
                    kept: t.kept,
                    keys: Vec::new(),
                    fields: Default::default(),
                    implied_null: Vec::new(),
                    retain_reason: None,
                })
                .collect(),
        })
    }

    async fn erase(
        &self,
        who: &Identity,
        _hasher: &Hasher,
    ) -> Result<ErasureEvidence, ConnectorError> {
        let o = self.call_now("erase", who, json!({})).await?;
        serde_json::from_value::<Value>(o.evidence.clone())
            .ok()
            .and_then(|v| {
                let tables = v.get("tables")?.as_array()?.clone();
                Some(ErasureEvidence {
                    tables: tables
                        .into_iter()
                        .filter_map(|t| {
                            Some(ErasureTable {
                                table: t.get("table")?.as_str()?.to_string(),
                                action: EraseAction::Delete,
                                rows_found: t.get("rows_found").and_then(Value::as_u64),
                                rows_affected: t.get("rows_affected")?.as_u64()?,
                                rows_kept: t.get("rows_kept")?.as_u64()?,
                                kept_reason: None,
                                rows_left: t.get("rows_left")?.as_u64()?,
                                implied_null: Vec::new(),
                                left_reason: None,
                                retain_reason: None,
                            })
                        })
                        .collect(),
                })
            })
            .ok_or_else(|| self.fail("the erasure answer is not understood"))
    }

    async fn rectify(
        &self,
        who: &Identity,
        corrections: &[(String, Value)],
    ) -> Result<RectifyReport, ConnectorError> {
        let list: Vec<Value> = corrections
            .iter()
            .map(|(f, v)| json!({ "field": f, "value": v }))
            .collect();
        self.call_now("rectify", who, json!({ "corrections": list }))
            .await?;
        Ok(RectifyReport { tables: Vec::new() })
    }

    async fn restrict(
        &self,
        who: &Identity,
        lift: bool,
    ) -> Result<Option<SetReport>, ConnectorError> {
        self.call_now("restrict", who, json!({ "lift": lift }))
            .await?;
        Ok(None)
    }

    async fn object(&self, who: &Identity) -> Result<Option<SetReport>, ConnectorError> {
        self.call_now("object", who, json!({})).await?;
        Ok(None)
    }

    async fn opt_out(
        &self,
        who: &Identity,
        scope: crate::domain::optout::OptOutScope,
        opt_in: bool,
    ) -> Result<Option<SetReport>, ConnectorError> {
        let operation = if opt_in { "opt_in" } else { "opt_out" };
        self.call_now(operation, who, json!({ "scope": scope.code() }))
            .await?;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_expire() {
        let h = sign("0123456789abcdef", 1_700_000_000, b"{}");
        assert!(verify("0123456789abcdef", &h, b"{}", 1_700_000_010));
        assert!(
            !verify("0123456789abcdef", &h, b"{ }", 1_700_000_010),
            "other body"
        );
        assert!(
            !verify("another-secret-xx", &h, b"{}", 1_700_000_010),
            "other secret"
        );
        assert!(
            !verify("0123456789abcdef", &h, b"{}", 1_700_001_000),
            "too old"
        );
        assert!(
            !verify("0123456789abcdef", "v1=00", b"{}", 1_700_000_000),
            "no time"
        );
    }

    #[test]
    fn private_addresses_are_not_public() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b::7f00:1",
            "2002:a00:1::1",
            "2002:c0a8:101::1",
            "::127.0.0.1",
            "::a00:1",
            "fec0::1",
            "feff::1",
        ] {
            assert!(!is_public(a.parse().unwrap()), "{a}");
        }
        for a in ["93.184.216.34", "2606:4700::1111"] {
            assert!(is_public(a.parse().unwrap()), "{a}");
        }
    }
}
