//! An access task's result — the subject's rows, table by table — stored encrypted in
//! parts of at most [`PART_ROWS`] rows (and about [`PART_BYTES`] of JSON), so that the
//! export streams them into the package one part at a time instead of holding a
//! subject's whole data in memory.
//!
//! Writers: the `connector.run` job (after an access) through [`store`]. Readers: the
//! export through [`parts`] + [`PartReader`] (streaming), or [`load`] (everything at once,
//! for small consumers such as a connector that needs another connector's keys).

use serde_json::{Map, Value};

use crate::app::context::AppState;
use crate::connectors::{AccessResult, RowSink, SinkError, TableRows};
use crate::crypto::{Field, result_part_row};
use crate::store::{ResultPart, ResultPartInfo, StoreError};

/// Rows per part at most.
pub const PART_ROWS: usize = 2000;
/// Serialized JSON per part, roughly at most (a single larger row gets a part of its own).
pub const PART_BYTES: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ResultError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("a stored task result could not be decrypted or read")]
    Unreadable,
}

/// Split `result` into encrypted parts. Every table appears at least once (an empty
/// part records that it was searched and nothing was found). Each row is serialized
/// once: its JSON both measures the part and becomes part of it.
pub fn split(state: &AppState, task_id: &str, result: &AccessResult) -> Vec<ResultPart> {
    let mut parts = Vec::new();
    for t in &result.tables {
        let mut json = String::from("[");
        let mut columns: Vec<String> = Vec::new();
        let mut count = 0usize;
        for row in &t.rows {
            let text = serde_json::to_string(row).unwrap_or_else(|_| "{}".into());
            if count > 0 && (count == PART_ROWS || json.len() + text.len() > PART_BYTES) {
                parts.push(part(
                    state,
                    task_id,
                    parts.len() as i64,
                    &t.table,
                    columns,
                    count,
                    json,
                ));
                (json, columns, count) = (String::from("["), Vec::new(), 0);
            }
            if count > 0 {
                json.push(',');
            }
            json.push_str(&text);
            for k in row.keys() {
                if !columns.iter().any(|c| c == k) {
                    columns.push(k.clone());
                }
            }
            count += 1;
        }
        parts.push(part(
            state,
            task_id,
            parts.len() as i64,
            &t.table,
            columns,
            count,
            json,
        ));
    }
    parts
}

fn part(
    state: &AppState,
    task_id: &str,
    seq: i64,
    table: &str,
    columns: Vec<String>,
    count: usize,
    mut json: String,
) -> ResultPart {
    json.push(']');
    ResultPart {
        seq,
        table_name: table.to_string(),
        columns,
        row_count: count as i64,
        rows_ct: state
            .keys
            .seal_at(Field::result_part(&result_part_row(task_id, seq)), &json),
    }
}

/// Store `result` as the result of `task_id`, replacing any earlier one (a retried task).
pub async fn store(
    state: &AppState,
    task_id: &str,
    result: &AccessResult,
) -> Result<usize, ResultError> {
    let parts = split(state, task_id, result);
    state.store.replace_result_parts(task_id, &parts).await?;
    Ok(parts.len())
}

/// The parts an access task has just written, kept in memory while they weigh at most
/// [`PART_BYTES`] in all: the package built right after, in the same job, reads them from
/// here instead of reading them back from the store.
#[derive(Clone)]
pub struct Written {
    pub task_id: String,
    pub parts: Vec<ResultPart>,
}

impl Written {
    /// The parts without their rows, as the store's index gives them.
    pub fn index(&self) -> Vec<ResultPartInfo> {
        self.parts
            .iter()
            .map(|p| ResultPartInfo {
                seq: p.seq,
                table_name: p.table_name.clone(),
                columns: p.columns.clone(),
                row_count: p.row_count,
                stored_len: i64::try_from(p.rows_ct.len()).unwrap_or(i64::MAX),
            })
            .collect()
    }
}

/// A [`RowSink`] that writes an access task's rows into its result parts as they come:
/// finished parts wait until about [`PART_BYTES`] of them are ready and are then written
/// in one statement (a small result, one part per table, is one INSERT and one commit
/// instead of one per table), so memory stays about two parts whatever the subject's
/// data weighs. It
/// enforces `connectors.max_rows_per_subject` (the task fails, saying so). Call
/// [`PartWriter::finish`] after the access to write the last part.
pub struct PartWriter<'a> {
    state: &'a AppState,
    task_id: String,
    max_rows: u64,
    rows: u64,
    seq: i64,
    table: Option<String>,
    json: String,
    columns: Vec<String>,
    count: usize,
    /// Finished parts not written yet, and their sealed size.
    pending: Vec<ResultPart>,
    pending_bytes: usize,
    /// Every part written so far, until they weigh more than [`PART_BYTES`] (`None`).
    kept: Option<Vec<ResultPart>>,
    kept_bytes: usize,
}

impl<'a> PartWriter<'a> {
    /// Starts by removing any earlier result of the task (a retried task). `task` is the
    /// task as read before this attempt started it: with no attempt before (`attempts`
    /// 0), no part can have been written, so nothing is deleted.
    pub async fn begin(
        state: &'a AppState,
        task: &crate::store::Task,
    ) -> Result<Self, ResultError> {
        let task_id = task.id.as_str();
        if task.attempts > 0 {
            state.store.replace_result_parts(task_id, &[]).await?;
        }
        Ok(Self {
            state,
            task_id: task_id.to_string(),
            max_rows: state.config.connectors.max_rows_per_subject,
            rows: 0,
            seq: 0,
            table: None,
            json: String::from("["),
            columns: Vec::new(),
            count: 0,
            pending: Vec::new(),
            pending_bytes: 0,
            kept: Some(Vec::new()),
            kept_bytes: 0,
        })
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        let Some(table) = &self.table else {
            return Ok(());
        };
        let json = std::mem::replace(&mut self.json, String::from("["));
        let columns = std::mem::take(&mut self.columns);
        let p = part(
            self.state,
            &self.task_id,
            self.seq,
            table,
            columns,
            self.count,
            json,
        );
        self.count = 0;
        self.seq += 1;
        self.pending_bytes += p.rows_ct.len();
        self.pending.push(p);
        if self.pending_bytes >= PART_BYTES {
            self.write_pending().await?;
        }
        Ok(())
    }

    async fn write_pending(&mut self) -> Result<(), SinkError> {
        let parts = std::mem::take(&mut self.pending);
        self.kept_bytes += self.pending_bytes;
        self.pending_bytes = 0;
        self.state
            .store
            .append_result_parts(&self.task_id, &parts)
            .await
            .map_err(|e| SinkError::Store(e.to_string()))?;
        if self.kept_bytes > PART_BYTES {
            self.kept = None;
        } else if let Some(kept) = &mut self.kept {
            kept.extend(parts);
        }
        Ok(())
    }

    /// Write the last parts; the number of rows written.
    pub async fn finish(self) -> Result<u64, SinkError> {
        Ok(self.finish_kept().await?.0)
    }

    /// [`Self::finish`], and the parts written when they are small enough to keep.
    pub async fn finish_kept(mut self) -> Result<(u64, Option<Written>), SinkError> {
        self.flush().await?;
        self.write_pending().await?;
        let written = self.kept.take().map(|parts| Written {
            task_id: std::mem::take(&mut self.task_id),
            parts,
        });
        Ok((self.rows, written))
    }
}

#[async_trait::async_trait]
impl RowSink for PartWriter<'_> {
    async fn table(&mut self, table: &str) -> Result<(), SinkError> {
        // The previous table's last part (possibly empty: it was searched).
        self.flush().await?;
        self.table = Some(table.to_string());
        Ok(())
    }

    async fn row(&mut self, row: Map<String, Value>) -> Result<(), SinkError> {
        self.rows += 1;
        if self.rows > self.max_rows {
            return Err(SinkError::Full(format!(
                "the subject has more than {} rows in this connector (connectors.max_rows_per_subject); the access stopped instead of exhausting memory",
                self.max_rows
            )));
        }
        let text = serde_json::to_string(&row).unwrap_or_else(|_| "{}".into());
        if self.count > 0 && (self.count == PART_ROWS || self.json.len() + text.len() > PART_BYTES)
        {
            let table = self.table.clone();
            self.flush().await?;
            self.table = table;
        }
        if self.count > 0 {
            self.json.push(',');
        }
        self.json.push_str(&text);
        for k in row.keys() {
            if !self.columns.iter().any(|c| c == k) {
                self.columns.push(k.clone());
            }
        }
        self.count += 1;
        Ok(())
    }
}

/// The parts of a task's result, without rows. Tasks finished before results were
/// stored in parts keep theirs in `tasks.result_ct`; those are moved into parts here.
pub async fn parts(
    state: &AppState,
    task: &crate::store::Task,
) -> Result<Vec<ResultPartInfo>, ResultError> {
    let index = state.store.result_part_index(&task.id).await?;
    if !index.is_empty() {
        return Ok(index);
    }
    let Some(ct) = &task.result_ct else {
        return Ok(index);
    };
    let plain = state
        .keys
        .open_at(Field::task("result_ct", &task.id), ct)
        .map_err(|_| ResultError::Unreadable)?;
    let legacy: AccessResult = serde_json::from_str(&plain).map_err(|_| ResultError::Unreadable)?;
    store(state, &task.id, &legacy).await?;
    Ok(state.store.result_part_index(&task.id).await?)
}

/// The rows of one part.
pub async fn read_part(
    state: &AppState,
    task_id: &str,
    seq: i64,
) -> Result<Vec<Map<String, Value>>, ResultError> {
    let (_, ct) = state
        .store
        .result_part_rows(task_id, seq, seq)
        .await?
        .pop()
        .ok_or(ResultError::Unreadable)?;
    open_part(state, task_id, seq, &ct)
}

fn open_part(
    state: &AppState,
    task_id: &str,
    seq: i64,
    ct: &str,
) -> Result<Vec<Map<String, Value>>, ResultError> {
    let plain = state
        .keys
        .open_at(Field::result_part(&result_part_row(task_id, seq)), ct)
        .map_err(|_| ResultError::Unreadable)?;
    serde_json::from_str(&plain).map_err(|_| ResultError::Unreadable)
}

/// Reads the parts of one task's result in any order, fetching a part together with the
/// parts that follow it, up to about [`PART_BYTES`] of stored rows per statement: a
/// subject with many small tables costs one read instead of one per table, and no more
/// than about one part's worth of encrypted rows waits in memory (plus the part being
/// used, as before).
pub struct PartReader<'a> {
    state: &'a AppState,
    task_id: &'a str,
    index: &'a [ResultPartInfo],
    fetched: std::collections::HashMap<i64, String>,
    /// The parts as just written ([`Written`]), read from here and not the store.
    kept: &'a [ResultPart],
}

impl<'a> PartReader<'a> {
    pub fn new(state: &'a AppState, task_id: &'a str, index: &'a [ResultPartInfo]) -> Self {
        Self {
            state,
            task_id,
            index,
            fetched: std::collections::HashMap::new(),
            kept: &[],
        }
    }

    /// Read the parts in `kept` (the task's, as just written) from memory.
    pub fn with_kept(mut self, kept: &'a [ResultPart]) -> Self {
        self.kept = kept;
        self
    }

    /// The rows of part `seq` (one of the index's).
    pub async fn read(&mut self, seq: i64) -> Result<Vec<Map<String, Value>>, ResultError> {
        if let Some(p) = self.kept.iter().find(|p| p.seq == seq) {
            return open_part(self.state, self.task_id, seq, &p.rows_ct);
        }
        if !self.fetched.contains_key(&seq) {
            // Parts fetched ahead and not used yet are dropped: memory stays bounded
            // whatever order the caller reads in (they are fetched again if asked for).
            self.fetched.clear();
            let start = self
                .index
                .iter()
                .position(|p| p.seq == seq)
                .ok_or(ResultError::Unreadable)?;
            let budget = PART_BYTES as i64;
            let (mut last, mut held) = (seq, 0i64);
            for p in &self.index[start..] {
                if p.seq != seq && held + p.stored_len > budget {
                    break;
                }
                held += p.stored_len;
                last = p.seq;
            }
            self.fetched = self
                .state
                .store
                .result_part_rows(self.task_id, seq, last)
                .await?
                .into_iter()
                .collect();
        }
        let ct = self.fetched.remove(&seq).ok_or(ResultError::Unreadable)?;
        open_part(self.state, self.task_id, seq, &ct)
    }
}

/// A task's whole result in memory, tables in stored order.
pub async fn load(
    state: &AppState,
    task: &crate::store::Task,
) -> Result<AccessResult, ResultError> {
    let mut tables: Vec<TableRows> = Vec::new();
    let index = parts(state, task).await?;
    let mut reader = PartReader::new(state, &task.id, &index);
    for info in &index {
        let rows = reader.read(info.seq).await?;
        match tables.last_mut() {
            Some(t) if t.table == info.table_name => t.rows.extend(rows),
            _ => tables.push(TableRows {
                table: info.table_name.clone(),
                rows,
            }),
        }
    }
    Ok(AccessResult { tables })
}
