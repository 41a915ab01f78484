//! The audit log: an append-only, keyed hash chain. Each entry stores
//! `HMAC-SHA256(chain key, previous hash || canonical entry)`, so editing, inserting or
//! deleting any row breaks every hash after it, and nobody without the deployment key can
//! forge a chain that verifies. `verify` names the first entry that no longer fits.
//!
//! **Epochs.** The chain key is derived from the deployment key (`rightsdesk/v1/audit`).
//! Each entry records the epoch of the key that sealed it. `rightsdesk keys rotate` starts
//! a new epoch: the retired epoch's key is kept in `audit_keys`, encrypted under the new
//! deployment key, so entries written before the rotation still verify, and the first
//! entry of the new epoch seals the last hash of the old one. Rows written before the
//! chain was keyed have epoch 0 (plain SHA-256); they are accepted only up to the sequence
//! number migration 0017 recorded in `audit_chain` (0 on a new installation), so a chain
//! rewritten as unkeyed entries does not verify; the service marks the switch with an
//! `audit.chain_keyed` entry.
//!
//! **Checkpoints.** The sequence number and head hash are written to the log (and shown in
//! the metrics) every `audit.checkpoint_every` entries and by every verification, so a
//! copy outside the database can prove that entries were later removed or rewritten
//! (`rightsdesk audit verify --since-checkpoint SEQ:HASH`).

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::crypto::Keys;
use crate::store::{AuditEntry, NewAudit, Store, StoreError};

/// The "previous hash" of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The keys of every epoch of the chain, and how often to write a checkpoint.
#[derive(Clone)]
pub struct ChainKeys {
    current: i64,
    keys: BTreeMap<i64, [u8; 32]>,
    checkpoint_every: i64,
    /// Entries after this one must be keyed.
    unkeyed_until: i64,
}

impl std::fmt::Debug for ChainKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChainKeys(epoch {}, [redacted])", self.current)
    }
}

impl ChainKeys {
    pub fn new(current: i64, key: [u8; 32], checkpoint_every: u32) -> Self {
        let mut keys = BTreeMap::new();
        keys.insert(current, key);
        Self {
            current,
            keys,
            checkpoint_every: i64::from(checkpoint_every.max(1)),
            unkeyed_until: 0,
        }
    }

    /// The epoch new entries are sealed in.
    pub fn current_epoch(&self) -> i64 {
        self.current
    }

    /// Whether the entry with `seq` is the last one before a checkpoint boundary.
    pub fn is_checkpoint(&self, seq: i64) -> bool {
        seq > 0 && seq % self.checkpoint_every == 0
    }

    pub fn checkpoint_every(&self) -> i64 {
        self.checkpoint_every
    }
}

#[derive(Serialize)]
struct Canonical<'a> {
    seq: i64,
    at: String,
    actor: &'a str,
    action: &'a str,
    request_ref: Option<&'a str>,
    client_addr: Option<&'a str>,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_epoch: Option<i64>,
}

fn canonical_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The fields an entry's hash covers.
pub struct EntryFields<'a> {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: &'a str,
    pub action: &'a str,
    pub request_ref: Option<&'a str>,
    pub client_addr: Option<&'a str>,
    pub detail: &'a str,
    pub prev_hash: &'a str,
}

impl<'a> From<&'a AuditEntry> for EntryFields<'a> {
    fn from(e: &'a AuditEntry) -> Self {
        Self {
            seq: e.seq,
            at: e.at,
            actor: &e.actor,
            action: &e.action,
            request_ref: e.request_ref.as_deref(),
            client_addr: e.client_addr.as_deref(),
            detail: &e.detail,
            prev_hash: &e.prev_hash,
        }
    }
}

/// The hash an entry of `epoch` must carry: plain SHA-256 for epoch 0 (entries written
/// before the chain was keyed), HMAC-SHA256 under the epoch's key otherwise.
fn hash_of(f: &EntryFields<'_>, epoch: i64, key: Option<&[u8; 32]>) -> String {
    let canonical = Canonical {
        seq: f.seq,
        at: canonical_time(f.at),
        actor: f.actor,
        action: f.action,
        request_ref: f.request_ref,
        client_addr: f.client_addr,
        detail: f.detail,
        key_epoch: (epoch > 0).then_some(epoch),
    };
    let body = serde_json::to_vec(&canonical).unwrap_or_default();
    match key {
        Some(k) if epoch > 0 => {
            let mut mac =
                <Hmac<Sha256> as KeyInit>::new_from_slice(k).expect("HMAC takes any key length");
            mac.update(f.prev_hash.as_bytes());
            mac.update(&body);
            hex::encode(mac.finalize().into_bytes())
        }
        _ => {
            let mut h = Sha256::new();
            h.update(f.prev_hash.as_bytes());
            h.update(&body);
            hex::encode(h.finalize())
        }
    }
}

/// Make the row to insert for `f` (its sequence number and the previous entry's hash
/// included), sealed in the current epoch.
pub fn seal(f: &EntryFields<'_>, keys: &ChainKeys) -> AuditEntry {
    let epoch = keys.current;
    let hash = hash_of(f, epoch, keys.keys.get(&epoch));
    AuditEntry {
        seq: f.seq,
        at: f.at,
        actor: f.actor.to_string(),
        action: f.action.to_string(),
        request_ref: f.request_ref.map(str::to_string),
        client_addr: f.client_addr.map(str::to_string),
        detail: f.detail.to_string(),
        prev_hash: f.prev_hash.to_string(),
        hash,
        key_epoch: epoch,
    }
}

/// Write a checkpoint (sequence number and head hash) to the log; the metrics show the
/// newest one too. Kept outside the database, it anchors the chain.
pub fn checkpoint(seq: i64, hash: &str, reason: &'static str) {
    tracing::info!(
        target: "rightsdesk::store::audit_chain::checkpoint",
        audit_checkpoint_seq = seq,
        audit_checkpoint_hash = %hash,
        reason,
        "audit checkpoint"
    );
}

/// Load the chain's keys (the current epoch's from the deployment key, retired epochs'
/// from `audit_keys`) and hand them to the store, which seals every new entry with them.
/// A retired key that does not open under this deployment key is left out: entries of
/// its epoch then fail verification, they are never accepted unchecked.
pub async fn install(
    store: &dyn Store,
    keys: &Keys,
    checkpoint_every: u32,
) -> Result<ChainKeys, StoreError> {
    let rows = store.audit_key_rows().await?;
    let current = rows.iter().map(|(e, _)| *e).max().unwrap_or(0) + 1;
    let mut chain = ChainKeys::new(current, keys.audit_key(), checkpoint_every);
    chain.unkeyed_until = store.audit_unkeyed_until().await?;
    for (epoch, ct) in rows {
        let key = keys
            .open_at(retired_key_field(&epoch.to_string()), &ct)
            .ok()
            .and_then(|h| hex::decode(h.trim()).ok())
            .and_then(|b| <[u8; 32]>::try_from(b).ok());
        if let Some(k) = key {
            chain.keys.insert(epoch, k);
        }
    }
    store.set_chain_keys(chain.clone());
    Ok(chain)
}

/// On start: when the newest entry predates the keyed chain (epoch 0), append the entry
/// that marks where the keyed chain begins. Entries after it must all be keyed.
pub async fn mark_keyed_start(store: &dyn Store, at: DateTime<Utc>) -> Result<(), StoreError> {
    let Some(head) = store.audit_head().await? else {
        return Ok(());
    };
    if head.key_epoch != 0 {
        return Ok(());
    }
    store
        .append_audit(&NewAudit {
            at,
            actor: "system".into(),
            action: "audit.chain_keyed".into(),
            request_ref: None,
            client_addr: None,
            detail: serde_json::json!({ "unkeyed_entries": head.seq }),
        })
        .await?;
    Ok(())
}

/// Where a retired epoch's chain key is kept: bound to its row (`audit_keys`, by epoch),
/// so a key copied to another epoch's row does not open.
fn retired_key_field(epoch: &str) -> crate::crypto::Field<'_> {
    crate::crypto::Field::new("audit_keys", "key_ct", epoch)
}

/// For `keys rotate`: keep the retiring epoch's key (the old deployment key's chain key)
/// in `audit_keys`, encrypted under the new key, and start the next epoch. Run again
/// after an interruption, it finds the key already kept and does nothing.
pub async fn retire_epoch(
    store: &dyn Store,
    old: &Keys,
    new: &Keys,
    checkpoint_every: u32,
    now: DateTime<Utc>,
) -> Result<ChainKeys, StoreError> {
    let rows = store.audit_key_rows().await?;
    let old_key = old.audit_key();
    let kept = rows.iter().any(|(e, ct)| {
        [old, new].iter().any(|k| {
            k.open_at(retired_key_field(&e.to_string()), ct)
                .ok()
                .and_then(|h| hex::decode(h.trim()).ok())
                .is_some_and(|b| b == old_key)
        })
    });
    if !kept {
        // Entries still pending were written under the old key (a service that stopped
        // before chaining them): chain them with it, in its epoch, before it retires.
        install(store, old, checkpoint_every).await?;
        store.seal_all_audit().await?;
        let epoch = rows.iter().map(|(e, _)| *e).max().unwrap_or(0) + 1;
        // The old key must be the one that sealed the retiring epoch.
        if let Some(head) = store.audit_head().await?
            && head.key_epoch == epoch
            && hash_of(&EntryFields::from(&head), epoch, Some(&old_key)) != head.hash
        {
            return Err(StoreError::Corrupt(format!(
                "the old key did not seal audit entry {}: give the key the service ran with",
                head.seq
            )));
        }
        let sealed = new.seal_at(retired_key_field(&epoch.to_string()), &hex::encode(old_key));
        store.insert_audit_key(epoch, &sealed, now).await?;
    }
    install(store, new, checkpoint_every).await
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
    /// The newest entry checked and its hash (a checkpoint to keep outside the database).
    pub head_seq: i64,
    pub head_hash: String,
}

/// A checkpoint as written to the log: `SEQ:HASH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
}

impl std::str::FromStr for Checkpoint {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (seq, hash) = s
            .split_once(':')
            .ok_or_else(|| "a checkpoint is SEQ:HASH, as the log shows it".to_string())?;
        let seq: i64 = seq
            .trim()
            .parse()
            .map_err(|_| "the checkpoint's sequence number is not a number".to_string())?;
        let hash = hash.trim().to_ascii_lowercase();
        if seq < 1 || hash.len() != 64 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err("a checkpoint is SEQ:HASH with a 64-hex-digit hash".into());
        }
        Ok(Self { seq, hash })
    }
}

/// Walk the whole chain in pages (bounded memory); a checkpoint of the head is logged.
pub async fn verify(store: &dyn Store) -> Result<VerifyReport, StoreError> {
    walk(store, None).await
}

/// Verify from a checkpoint kept outside the database: entry `SEQ` must still be there
/// with that hash (a shorter or rewritten chain is reported), then every entry after it.
pub async fn verify_since(
    store: &dyn Store,
    from: &Checkpoint,
) -> Result<VerifyReport, StoreError> {
    walk(store, Some(from)).await
}

async fn walk(store: &dyn Store, from: Option<&Checkpoint>) -> Result<VerifyReport, StoreError> {
    const PAGE: i64 = 1000;
    let Some(keys) = store.chain_keys() else {
        return Err(StoreError::Corrupt(
            "the audit chain's keys are not loaded".into(),
        ));
    };
    let broken = |seq: i64, entries: i64, problem: String| VerifyReport {
        ok: false,
        entries,
        first_broken_seq: Some(seq),
        problem: Some(problem),
        head_seq: 0,
        head_hash: String::new(),
    };
    let unkeyed_until = store.audit_unkeyed_until().await?;
    let mut prev_hash = GENESIS.to_string();
    let mut expected_seq = 1;
    let mut entries = 0;
    // Epochs only move forward; unkeyed entries only before the first keyed one.
    let mut epoch = 0;
    if let Some(cp) = from {
        let at = store.audit_after(cp.seq - 1, 1).await?;
        match at.first() {
            Some(e) if e.seq == cp.seq && e.hash == cp.hash => {
                prev_hash = e.hash.clone();
                expected_seq = e.seq + 1;
                epoch = e.key_epoch;
            }
            Some(e) if e.seq == cp.seq => {
                return Ok(broken(
                    cp.seq,
                    0,
                    "the checkpoint's entry no longer has the checkpoint's hash: the chain was rewritten".into(),
                ));
            }
            _ => {
                return Ok(broken(
                    cp.seq,
                    0,
                    format!(
                        "entry {} of the checkpoint is missing: the audit log was truncated",
                        cp.seq
                    ),
                ));
            }
        }
    }
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
            if e.key_epoch == 0 && e.seq > unkeyed_until {
                return Ok(broken(
                    e.seq,
                    entries,
                    format!(
                        "an unkeyed entry after the chain became keyed (unkeyed entries end at {unkeyed_until})"
                    ),
                ));
            }
            if e.key_epoch < epoch {
                return Ok(broken(
                    e.seq,
                    entries,
                    if e.key_epoch == 0 {
                        "an unkeyed entry after the chain became keyed".into()
                    } else {
                        format!("sealed in epoch {} after epoch {epoch}", e.key_epoch)
                    },
                ));
            }
            if e.key_epoch > keys.current {
                return Ok(broken(
                    e.seq,
                    entries,
                    format!("sealed in an unknown epoch {}", e.key_epoch),
                ));
            }
            let key = keys.keys.get(&e.key_epoch);
            if e.key_epoch > 0 && key.is_none() {
                return Ok(broken(
                    e.seq,
                    entries,
                    format!(
                        "the key of epoch {} is missing or does not open under this deployment key",
                        e.key_epoch
                    ),
                ));
            }
            if hash_of(&EntryFields::from(e), e.key_epoch, key) != e.hash {
                return Ok(broken(
                    e.seq,
                    entries,
                    "content does not match its hash".into(),
                ));
            }
            epoch = e.key_epoch;
            prev_hash = e.hash.clone();
            expected_seq += 1;
        }
    }
    let head_seq = expected_seq - 1;
    if head_seq > 0 {
        checkpoint(head_seq, &prev_hash, "verify");
    }
    Ok(VerifyReport {
        ok: true,
        entries,
        first_broken_seq: None,
        problem: None,
        head_seq,
        head_hash: if head_seq > 0 {
            prev_hash
        } else {
            String::new()
        },
    })
}

/// Whether entry `e` fits after `prev_hash` under `keys` (for the incremental check of
/// the metrics); `prev_epoch` is the epoch of the entry before it.
pub fn entry_fits(keys: &ChainKeys, e: &AuditEntry, prev_hash: &str, prev_epoch: i64) -> bool {
    if e.prev_hash != prev_hash
        || e.key_epoch < prev_epoch
        || e.key_epoch > keys.current
        || (e.key_epoch == 0 && e.seq > keys.unkeyed_until)
    {
        return false;
    }
    let key = keys.keys.get(&e.key_epoch);
    if e.key_epoch > 0 && key.is_none() {
        return false;
    }
    hash_of(&EntryFields::from(e), e.key_epoch, key) == e.hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(keys: &ChainKeys, seq: i64, prev: &str) -> AuditEntry {
        let detail = serde_json::json!({"n": seq}).to_string();
        seal(
            &EntryFields {
                seq,
                at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
                actor: "a",
                action: "x",
                request_ref: None,
                client_addr: None,
                detail: &detail,
                prev_hash: prev,
            },
            keys,
        )
    }

    #[test]
    fn keyed_hashes_depend_on_the_key_and_the_epoch() {
        let a = ChainKeys::new(1, [1; 32], 10);
        let b = ChainKeys::new(1, [2; 32], 10);
        let e = entry(&a, 1, GENESIS);
        assert!(entry_fits(&a, &e, GENESIS, 0));
        assert!(!entry_fits(&b, &e, GENESIS, 0), "another key");
        // Rewritten as an unkeyed entry (recomputable by anyone): not accepted after a
        // keyed one.
        let mut forged = e.clone();
        forged.key_epoch = 0;
        forged.hash = hash_of(&EntryFields::from(&forged), 0, None);
        assert!(!entry_fits(&a, &forged, GENESIS, 1));
        assert!(a.is_checkpoint(10) && !a.is_checkpoint(11));
    }

    #[test]
    fn checkpoints_parse() {
        let h = "ab".repeat(32);
        let cp: Checkpoint = format!("12:{h}").parse().unwrap();
        assert_eq!((cp.seq, cp.hash.as_str()), (12, h.as_str()));
        assert!("12".parse::<Checkpoint>().is_err());
        assert!("x:ab".parse::<Checkpoint>().is_err());
        assert!(format!("0:{h}").parse::<Checkpoint>().is_err());
    }
}
