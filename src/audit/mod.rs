//! The audit log: an append-only hash chain. Each entry stores
//! `sha256(previous hash || canonical entry)`, so editing or deleting any row breaks
//! every hash after it, and `verify` names the first entry that no longer fits.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::store::{AuditEntry, NewAudit, Store, StoreError};

/// The "previous hash" of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Serialize)]
struct Canonical<'a> {
    seq: i64,
    at: String,
    actor: &'a str,
    action: &'a str,
    request_ref: Option<&'a str>,
    client_addr: Option<&'a str>,
    detail: &'a str,
}

fn canonical_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The hash an entry must carry.
#[allow(clippy::too_many_arguments)]
pub fn entry_hash(
    seq: i64,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    request_ref: Option<&str>,
    client_addr: Option<&str>,
    detail: &str,
    prev_hash: &str,
) -> String {
    let canonical = Canonical {
        seq,
        at: canonical_time(at),
        actor,
        action,
        request_ref,
        client_addr,
        detail,
    };
    let body = serde_json::to_vec(&canonical).unwrap_or_default();
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(&body);
    hex::encode(h.finalize())
}

/// Make the row to insert as entry `seq` after `prev_hash`.
pub fn seal(seq: i64, e: &NewAudit, prev_hash: &str) -> AuditEntry {
    let detail = e.detail.to_string();
    let hash = entry_hash(
        seq,
        e.at,
        &e.actor,
        &e.action,
        e.request_ref.as_deref(),
        e.client_addr.as_deref(),
        &detail,
        prev_hash,
    );
    AuditEntry {
        seq,
        at: e.at,
        actor: e.actor.clone(),
        action: e.action.clone(),
        request_ref: e.request_ref.clone(),
        client_addr: e.client_addr.clone(),
        detail,
        prev_hash: prev_hash.to_string(),
        hash,
    }
}

/// The outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VerifyReport {
    /// True when every entry fits its predecessor.
    pub ok: bool,
    /// Entries checked.
    pub entries: i64,
    /// The first entry that does not fit, when the chain is broken.
    pub first_broken_seq: Option<i64>,
    pub problem: Option<String>,
}

/// Walk the whole chain in pages (bounded memory).
pub async fn verify(store: &dyn Store) -> Result<VerifyReport, StoreError> {
    const PAGE: i64 = 1000;
    let mut prev_hash = GENESIS.to_string();
    let mut expected_seq = 1;
    let mut entries = 0;
    let broken = |seq: i64, entries: i64, problem: String| VerifyReport {
        ok: false,
        entries,
        first_broken_seq: Some(seq),
        problem: Some(problem),
    };
    loop {
        let page = store.audit_after(expected_seq - 1, PAGE).await?;
        if page.is_empty() {
            break;
        }
        for e in &page {
            entries += 1;
            if e.seq != expected_seq {
                return Ok(broken(
                    expected_seq,
                    entries,
                    format!("entry {expected_seq} is missing (next is {})", e.seq),
                ));
            }
            if e.prev_hash != prev_hash {
                return Ok(broken(
                    e.seq,
                    entries,
                    "previous-hash link does not match".into(),
                ));
            }
            let want = entry_hash(
                e.seq,
                e.at,
                &e.actor,
                &e.action,
                e.request_ref.as_deref(),
                e.client_addr.as_deref(),
                &e.detail,
                &e.prev_hash,
            );
            if want != e.hash {
                return Ok(broken(
                    e.seq,
                    entries,
                    "content does not match its hash".into(),
                ));
            }
            prev_hash = e.hash.clone();
            expected_seq += 1;
        }
    }
    Ok(VerifyReport {
        ok: true,
        entries,
        first_broken_seq: None,
        problem: None,
    })
}
