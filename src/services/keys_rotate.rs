//! Key rotation (`rightsdesk keys rotate`): every value encrypted under the deployment
//! key is re-encrypted under the new one and every blind index recomputed, table by
//! table in batches on the primary key. A value the new key already opens is left as it
//! is, so running the command again after an interruption finishes the job. The audit
//! log records the rotation with its counts (never values).

use std::path::Path;

use serde::Serialize;
use serde_json::json;

use crate::app::context::AppState;
use crate::crypto::{Field, Keys};
use crate::store::{NewAudit, RotatedRow, RotatedTable, SharedStore, StoreError};

/// Rows read and written per transaction.
pub const BATCH: i64 = 200;

/// A table, its columns under the key, and which columns are blind indexes of which
/// decrypted column (`(index column, source column)`, positions in `columns`).
struct Spec {
    table: RotatedTable,
    indexes: &'static [(usize, usize)],
    /// Its values are bound to table, column and row (`Keys::seal_at`).
    bound: bool,
}

/// Every column that holds a value under the deployment key. A new encrypted column
/// belongs here (the rotation test decrypts every one of them with the new key).
const TABLES: &[Spec] = &[
    Spec {
        table: RotatedTable {
            name: "requests",
            key: &[("id", false)],
            columns: &[
                "email_ct",
                "name_ct",
                "details_ct",
                "corrections_ct",
                "verification_note_ct",
                "email_index",
            ],
        },
        indexes: &[(5, 0)],
        bound: true,
    },
    Spec {
        table: RotatedTable {
            name: "legal_holds",
            key: &[("id", false)],
            columns: &["email_ct", "reason_ct", "email_index"],
        },
        indexes: &[(2, 0)],
        bound: true,
    },
    Spec {
        table: RotatedTable {
            name: "erasure_ledger",
            // Keyed on its task id: the row id its identity is bound to.
            key: &[("task_id", false)],
            columns: &["identity_ct", "identity_hmac"],
        },
        indexes: &[(1, 0)],
        bound: true,
    },
    Spec {
        table: RotatedTable {
            name: "users",
            key: &[("id", false)],
            columns: &["totp_secret_ct"],
        },
        indexes: &[],
        bound: true,
    },
    Spec {
        table: RotatedTable {
            name: "outbox",
            key: &[("id", false)],
            columns: &["to_ct", "context_ct"],
        },
        indexes: &[],
        bound: true,
    },
    Spec {
        table: RotatedTable {
            name: "tasks",
            key: &[("id", false)],
            columns: &["result_ct", "values_ct"],
        },
        indexes: &[],
        bound: true,
    },
    Spec {
        table: RotatedTable {
            name: "task_result_parts",
            key: &[("task_id", false), ("seq", true)],
            columns: &["rows_ct"],
        },
        indexes: &[],
        bound: true,
    },
    Spec {
        table: RotatedTable {
            name: "identity_checks",
            key: &[("request_id", false)],
            columns: &["proof_ct", "note_ct"],
        },
        indexes: &[],
        bound: true,
    },
    Spec {
        table: RotatedTable {
            name: "exports",
            key: &[("id", false)],
            columns: &["token_ct"],
        },
        indexes: &[],
        bound: true,
    },
    // The identity claims of Data Rights Protocol requests (issue 22).
    Spec {
        table: RotatedTable {
            name: "drp_requests",
            key: &[("id", false)],
            columns: &["claims_ct"],
        },
        indexes: &[],
        bound: true,
    },
    // The signing secrets of outgoing webhook endpoints (issue 23).
    Spec {
        table: RotatedTable {
            name: "webhook_endpoints",
            key: &[("id", false)],
            columns: &["secret_ct"],
        },
        indexes: &[],
        bound: true,
    },
    // The privacy inbox's triage items and their attachments (issue 23).
    Spec {
        table: RotatedTable {
            name: "inbox_items",
            key: &[("id", false)],
            columns: &["from_ct", "subject_ct", "body_ct"],
        },
        indexes: &[],
        bound: true,
    },
    Spec {
        table: RotatedTable {
            name: "inbox_attachments",
            key: &[("id", false)],
            columns: &["name_ct", "data_ct"],
        },
        indexes: &[],
        bound: true,
    },
    Spec {
        table: RotatedTable {
            name: "audit_keys",
            key: &[("epoch", true)],
            columns: &["key_ct"],
        },
        indexes: &[],
        bound: true,
    },
    // The suppression list's own key: re-sealed, never changed, so the list's hashes
    // (whose addresses are gone) stay valid across a rotation.
    Spec {
        table: RotatedTable {
            name: "suppression_keys",
            key: &[("id", false)],
            columns: &["key_ct"],
        },
        indexes: &[],
        bound: true,
    },
];

/// Whether the values of `table` are bound to table, column and row (`Keys::seal_at`).
pub fn is_bound(table: &str) -> bool {
    TABLES.iter().any(|s| s.bound && s.table.name == table)
}

/// The tables and columns a rotation rewrites.
pub fn rotated_tables() -> impl Iterator<Item = (&'static RotatedTable, &'static [(usize, usize)])>
{
    TABLES.iter().map(|s| (&s.table, s.indexes))
}

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error("the old and the new key are the same key; set RIGHTSDESK_SECRET_KEY to the new key")]
    SameKey,
    #[error(
        "{table}.{column} of row {key} opens with neither the old nor the new key; nothing in that row was changed"
    )]
    Undecryptable {
        table: &'static str,
        column: &'static str,
        key: String,
    },
    #[error("export file {id}: {message}")]
    Export { id: String, message: String },
    #[error("database: {0}")]
    Store(#[from] StoreError),
}

/// What one table's pass did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TableReport {
    pub table: &'static str,
    /// Rows read.
    pub rows: u64,
    /// Rows written (the others were already under the new key).
    pub rotated: u64,
    /// Rows whose blind index could not be recomputed (no encrypted source kept).
    pub index_kept: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub tables: Vec<TableReport>,
    /// Export files re-sealed.
    pub export_files: u64,
    /// Resend-cap records forgotten (their indexes cannot be recomputed).
    pub verification_sends_cleared: u64,
}

/// Rotate everything the service holds from `old` to the service's current key.
pub async fn rotate(state: &AppState, old: &Keys) -> Result<Report, RotateError> {
    let (store, new) = (&state.store, state.keys.as_ref());
    if old.blind_index("rightsdesk/rotation-probe") == new.blind_index("rightsdesk/rotation-probe")
    {
        return Err(RotateError::SameKey);
    }
    let mut report = Report::default();
    for spec in TABLES {
        let t = rewrite_table(store, spec, |row| rotate_row(spec, row, old, new)).await?;
        tracing::info!(
            table = t.table,
            rows = t.rows,
            rotated = t.rotated,
            "key rotation: table done"
        );
        report.tables.push(t);
    }
    // The audit chain survives the rotation: the old chain key is kept (under the new
    // key) for the entries it sealed, and the entries from now on start a new epoch.
    // After the tables, so that an old key that opens nothing has been refused first.
    crate::store::audit_chain::retire_epoch(
        store.as_ref(),
        old,
        new,
        state.config.audit.checkpoint_every,
        state.clock.now(),
    )
    .await?;
    report.export_files = reseal_exports(state, old).await?;
    report.verification_sends_cleared = store.rotation_clear_verification_sends().await?;
    store
        .append_audit(&NewAudit {
            at: state.clock.now(),
            actor: "cli".into(),
            action: "keys.rotate".into(),
            request_ref: None,
            client_addr: None,
            detail: json!(report),
        })
        .await?;
    Ok(report)
}

/// Rewrite every row of `spec`'s table in primary-key batches: `next` gives a row's new
/// values and whether an index had to be kept as it was; changed rows are written back
/// batch by batch, so an interrupted run resumes where it stopped.
async fn rewrite_table(
    store: &SharedStore,
    spec: &Spec,
    mut next: impl FnMut(&RotatedRow) -> Result<(RotatedRow, bool), RotateError>,
) -> Result<TableReport, RotateError> {
    let mut report = TableReport {
        table: spec.table.name,
        ..TableReport::default()
    };
    let mut after: Option<Vec<String>> = None;
    loop {
        let rows = store
            .rotation_rows(&spec.table, after.as_deref(), BATCH)
            .await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.key.clone());
        let full = rows.len() as i64 == BATCH;
        let mut changed = Vec::new();
        for row in rows {
            report.rows += 1;
            let (row_next, kept) = next(&row)?;
            if kept {
                report.index_kept += 1;
            }
            if row_next != row {
                changed.push(row_next);
            }
        }
        report.rotated += changed.len() as u64;
        if !changed.is_empty() {
            store.rotation_write(&spec.table, &changed).await?;
        }
        if !full {
            break;
        }
    }
    Ok(report)
}

/// The row under the new key, and whether an index had to be kept as it was.
fn rotate_row(
    spec: &Spec,
    row: &RotatedRow,
    old: &Keys,
    new: &Keys,
) -> Result<(RotatedRow, bool), RotateError> {
    let columns = spec.table.columns;
    let is_index = |i: usize| spec.indexes.iter().any(|(ix, _)| *ix == i);
    let mut out = row.clone();
    let mut plain: Vec<Option<String>> = vec![None; columns.len()];
    let row_id = row.key.join(":");
    for (i, value) in row.values.iter().enumerate() {
        let Some(ct) = value else { continue };
        if is_index(i) {
            continue;
        }
        let at = Field {
            table: spec.table.name,
            column: columns[i],
            row: &row_id,
        };
        let (open_new, open_old) = if spec.bound {
            (new.open_at(at, ct), old.open_at(at, ct))
        } else {
            (new.decrypt(ct), old.decrypt(ct))
        };
        if let Ok(p) = open_new {
            plain[i] = Some(p);
        } else if let Ok(p) = open_old {
            out.values[i] = Some(if spec.bound {
                new.seal_at(at, &p)
            } else {
                new.encrypt(&p)
            });
            plain[i] = Some(p);
        } else {
            return Err(RotateError::Undecryptable {
                table: spec.table.name,
                column: columns[i],
                key: row.key.join(":"),
            });
        }
    }
    let mut kept = false;
    for (ix, src) in spec.indexes {
        match &plain[*src] {
            Some(p) => out.values[*ix] = Some(new.blind_index(p)),
            None if row.values[*ix].is_some() => kept = true,
            None => {}
        }
    }
    Ok((out, kept))
}

async fn reseal_exports(state: &AppState, old: &Keys) -> Result<u64, RotateError> {
    const IDS: RotatedTable = RotatedTable {
        name: "exports",
        key: &[("id", false)],
        columns: &[],
    };
    let mut count = 0;
    let mut after: Option<Vec<String>> = None;
    loop {
        let rows = state
            .store
            .rotation_rows(&IDS, after.as_deref(), BATCH)
            .await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.key.clone());
        let full = rows.len() as i64 == BATCH;
        for row in rows {
            let id = row.key[0].clone();
            let path = crate::services::export::file_path(state, &id);
            if !path.exists() {
                // Expired and purged, or never written.
                continue;
            }
            let (old, new) = (old.clone(), state.keys.as_ref().clone());
            let done = tokio::task::spawn_blocking({
                let id = id.clone();
                move || crate::services::export::reseal_file(&old, &new, &id, &path)
            })
            .await
            .map_err(|e| RotateError::Export {
                id: id.clone(),
                message: e.to_string(),
            })?
            .map_err(|e| RotateError::Export {
                id: id.clone(),
                message: e.to_string(),
            })?;
            if done {
                count += 1;
            }
        }
        if !full {
            break;
        }
    }
    Ok(count)
}

/// What `keys reseal` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ResealReport {
    pub tables: Vec<TableReport>,
}

/// Re-seal the values written before they were bound to their table, column and row
/// (`v1`) as bound values (`v2`), table by table in primary-key batches, under the current
/// key. A value already bound is checked (a bound value that does not open where it is
/// stops the command with the table, column and row), so the command can be run again
/// after an interruption and finishes what is left.
pub async fn reseal(state: &AppState) -> Result<ResealReport, RotateError> {
    let (store, keys) = (&state.store, state.keys.as_ref());
    let mut report = ResealReport::default();
    for spec in TABLES.iter().filter(|s| s.bound) {
        let t = rewrite_table(store, spec, |row| {
            let row_id = row.key.join(":");
            let mut next = row.clone();
            for (i, value) in row.values.iter().enumerate() {
                let Some(ct) = value else { continue };
                if spec.indexes.iter().any(|(ix, _)| *ix == i) {
                    continue;
                }
                let at = Field {
                    table: spec.table.name,
                    column: spec.table.columns[i],
                    row: &row_id,
                };
                let undecryptable = || RotateError::Undecryptable {
                    table: spec.table.name,
                    column: spec.table.columns[i],
                    key: row_id.clone(),
                };
                if ct.starts_with("v2.") {
                    keys.open_at(at, ct).map_err(|_| undecryptable())?;
                } else {
                    let p = keys.decrypt(ct).map_err(|_| undecryptable())?;
                    next.values[i] = Some(keys.seal_at(at, &p));
                }
            }
            Ok((next, false))
        })
        .await?;
        report.tables.push(t);
    }
    store
        .append_audit(&NewAudit {
            at: state.clock.now(),
            actor: "cli".into(),
            action: "keys.reseal".into(),
            request_ref: None,
            client_addr: None,
            detail: json!(report),
        })
        .await?;
    Ok(report)
}

/// The old key for the command: `--old-key-file`, else `RIGHTSDESK_OLD_SECRET_KEY`.
pub fn old_key(file: Option<&Path>) -> Result<Keys, String> {
    let text = match file {
        Some(f) => std::fs::read_to_string(f)
            .map_err(|e| format!("cannot read the old key file {}: {e}", f.display()))?,
        None => std::env::var("RIGHTSDESK_OLD_SECRET_KEY").map_err(|_| {
            "give the old key with --old-key-file FILE or RIGHTSDESK_OLD_SECRET_KEY".to_string()
        })?,
    };
    Keys::from_hex(&text).map_err(|_| "the old key must be 64 hex characters (32 bytes)".into())
}
