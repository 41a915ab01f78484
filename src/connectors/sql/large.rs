//! Preview and erasure of a subject with more rows in one table than a page (a busy
//! account, a bot's visits), in bounded memory (issue 16 item 6).
//!
//! A table qualifies when nothing else depends on its rows: it is searched by identity
//! only (no `via`), no other table is reached through it, and it is deleted or
//! anonymised. The erasure's first read of such a table is limited to one page plus one
//! row; when more come back, the table is *large*: its rows are dropped from the
//! traversal and handled here instead, after the traversal and in the erasure's
//! transaction:
//!
//! 1. the same identity search, streamed (`FOR UPDATE`), each row checked against the
//!    matching rule as always; only the primary keys of the rows to change are kept
//!    (8 bytes a row for an integer key, in chunks of one statement's worth);
//! 2. per chunk of keys: `DELETE … WHERE key IN (…)`, or the rows read again by key and
//!    masked exactly as a small table's are (the `hash` mask needs the old value);
//! 3. after every write of the erasure (the search after it skips large tables), the
//!    identity search again, streamed, and every changed row read again by key, chunk
//!    by chunk: the evidence's rows left come from reads that would have found them.
//!
//! The preview streams the same search and counts; it lists the keys of the first
//! [`PREVIEW_KEYS`] rows only.

use std::collections::BTreeSet;

use tokio_stream::StreamExt;

use super::backend::Conn;
use super::statement::{Dialect, Stmt, rows_per_statement};
use super::value::{SqlValue, to_json};
use super::{
    SqlConnector, TableFound, TablePlan, is_masked, matched, matching, needs_mask, row_needs_mask,
};
use crate::connectors::datamap::{EraseAction, Mask};
use crate::connectors::{ConnectorError, Hasher, Identity};

/// Keys a preview lists for a large table (its row count is exact).
pub(crate) const PREVIEW_KEYS: usize = 1000;

/// Primary keys of a large table's rows, in chunks of one statement's worth: a single
/// integer column as `i64`s, anything else as values.
pub(crate) struct KeyLog {
    chunk: usize,
    ints: Vec<Vec<i64>>,
    keys: Vec<Vec<Vec<SqlValue>>>,
}

impl KeyLog {
    fn new(chunk: usize) -> Self {
        Self {
            chunk: chunk.max(1),
            ints: Vec::new(),
            keys: Vec::new(),
        }
    }

    fn push(&mut self, key: Vec<SqlValue>) {
        if let ([SqlValue::Int(i)], true) = (key.as_slice(), self.keys.is_empty()) {
            match self.ints.last_mut() {
                Some(c) if c.len() < self.chunk => c.push(*i),
                _ => {
                    let mut c = Vec::with_capacity(self.chunk);
                    c.push(*i);
                    self.ints.push(c);
                }
            }
        } else {
            if !self.ints.is_empty() {
                // A key that is not one integer: keep every key as values from now on.
                for c in std::mem::take(&mut self.ints) {
                    self.keys
                        .push(c.into_iter().map(|i| vec![SqlValue::Int(i)]).collect());
                }
            }
            match self.keys.last_mut() {
                Some(c) if c.len() < self.chunk => c.push(key),
                _ => {
                    let mut c = Vec::with_capacity(self.chunk);
                    c.push(key);
                    self.keys.push(c);
                }
            }
        }
    }

    /// The keys, a chunk at a time.
    fn chunks(&self) -> impl Iterator<Item = Vec<Vec<SqlValue>>> + '_ {
        self.ints
            .iter()
            .map(|c| c.iter().map(|&i| vec![SqlValue::Int(i)]).collect())
            .chain(self.keys.iter().cloned())
    }
}

/// What the erasure did to one large table.
pub(crate) struct LargeErased {
    pub found: u64,
    pub affected: u64,
    pub changed: KeyLog,
}

/// What the search after the erasure found of one large table.
pub(crate) struct LargeLeft {
    /// Changed rows that, read again by key, are not erased.
    pub stale: BTreeSet<Vec<SqlValue>>,
    /// Rows the identity search still finds that the erasure would change.
    pub found: BTreeSet<Vec<SqlValue>>,
}

/// What a preview reports for one large table.
pub(crate) struct LargePreview {
    pub targets: u64,
    pub keys: Vec<Vec<serde_json::Value>>,
}

impl SqlConnector {
    /// Whether table `t` can be handled as a large table (see the module documentation).
    pub(crate) fn may_be_large(&self, t: usize) -> bool {
        let decl = &self.decl.tables()[t];
        decl.erase != EraseAction::Retain
            && !decl.identities.is_empty()
            && decl.via.is_empty()
            && !self
                .decl
                .edges()
                .iter()
                .any(|e| e.parent == t || e.child == t)
    }

    /// The identity search of table `t`: `SELECT <columns> FROM t WHERE <search>`.
    async fn search_statement(
        &self,
        conn: &mut Conn<'_>,
        t: usize,
        found: &TableFound,
        who: &Identity,
        lock: bool,
    ) -> Result<Stmt, ConnectorError> {
        let dialect = conn.dialect();
        let matching = self.matching_for(conn, who).await?;
        let decl = &self.decl.tables()[t];
        let mut s = Stmt::new(dialect);
        super::select_all(&mut s, &found.columns, &decl.name);
        for (i, c) in self.identity_columns(decl, found)?.into_iter().enumerate() {
            if i > 0 {
                s.push(" OR ");
            }
            let name = &found.columns[c].name;
            let m = matching.column(&decl.name, name);
            matching::push_search(&mut s, dialect, name, &m, who.spellings());
        }
        if lock && dialect != Dialect::Sqlite {
            s.push(" FOR UPDATE");
        }
        Ok(s)
    }

    /// Stream the identity search of large table `t`, calling `each` with every row that
    /// passes the matching rule.
    async fn stream_matches(
        &self,
        conn: &mut Conn<'_>,
        t: usize,
        found: &TableFound,
        who: &Identity,
        lock: bool,
        mut each: impl FnMut(Vec<SqlValue>) -> Result<(), ConnectorError>,
    ) -> Result<(), ConnectorError> {
        let decl = &self.decl.tables()[t];
        let identity_cols = self.identity_columns(decl, found)?;
        let s = self.search_statement(conn, t, found, who, lock).await?;
        let mut stream = conn.fetch_stream(s);
        while let Some(row) = stream.next().await {
            let row = row.map_err(self.db_err(format!("reading table \"{}\"", decl.name)))?;
            if matched(&row, &identity_cols, who) {
                each(row)?;
            }
        }
        Ok(())
    }

    /// The rows of `keys`, read by primary key.
    async fn read_keys(
        &self,
        conn: &mut Conn<'_>,
        t: usize,
        found: &TableFound,
        keys: &[Vec<SqlValue>],
    ) -> Result<Vec<Vec<SqlValue>>, ConnectorError> {
        let decl = &self.decl.tables()[t];
        let mut s = Stmt::new(conn.dialect());
        super::select_all(&mut s, &found.columns, &decl.name);
        let refs: Vec<&[SqlValue]> = keys.iter().map(Vec::as_slice).collect();
        s.key_in(&found.key_columns(), &refs);
        conn.fetch(s)
            .await
            .map_err(self.db_err(format!("reading table \"{}\" again", decl.name)))
    }

    /// Erase the subject's rows of large table `t` (steps 1 and 2 of the module
    /// documentation). `rows` is the subject's row count so far in this connector,
    /// for `connectors.max_rows_per_subject`.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn erase_large(
        &self,
        conn: &mut Conn<'_>,
        t: usize,
        found: &TableFound,
        who: &Identity,
        hasher: &Hasher,
        hash_len: usize,
        rows: &mut u64,
    ) -> Result<LargeErased, ConnectorError> {
        let decl = &self.decl.tables()[t];
        let masks = self.erase_masks(t, found)?;
        let chunk = rows_per_statement(found.key.len() + 2 * masks.len(), 100);
        let mut changed = KeyLog::new(chunk);
        let mut count = 0u64;
        let max_rows = self.max_rows.load(std::sync::atomic::Ordering::Relaxed);
        let probe = row_probe(found);
        self.stream_matches(conn, t, found, who, true, |row| {
            count += 1;
            *rows += 1;
            if *rows > max_rows {
                return Err(self.too_many_rows());
            }
            let change = match decl.erase {
                EraseAction::Delete => true,
                _ => row_needs_mask(&row, &found.columns, &masks, hash_len),
            };
            if change {
                changed.push(found.key.iter().map(|&k| row[k].clone()).collect());
            }
            Ok(())
        })
        .await?;

        let mut affected = 0;
        for keys in changed.chunks() {
            match decl.erase {
                EraseAction::Delete => {
                    let refs: Vec<&[SqlValue]> = keys.iter().map(Vec::as_slice).collect();
                    let mut s = Stmt::new(conn.dialect());
                    s.push("DELETE FROM ")
                        .ident(&decl.name)
                        .push(" WHERE ")
                        .key_in(&found.key_columns(), &refs);
                    affected += conn.execute(s).await.map_err(
                        self.db_err(format!("deleting rows of table \"{}\"", decl.name)),
                    )?;
                }
                _ => {
                    let page = probe.with_rows(self.read_keys(conn, t, found, &keys).await?);
                    let plan = TablePlan {
                        table: t,
                        action: decl.erase,
                        targets: (0..page.rows.len())
                            .filter(|&i| needs_mask(&page, i, &masks, hash_len))
                            .collect(),
                        kept: 0,
                    };
                    affected += self
                        .anonymize_one(conn, &page, &plan, &masks, hasher, hash_len)
                        .await?;
                }
            }
        }
        Ok(LargeErased {
            found: count,
            affected,
            changed,
        })
    }

    /// The search after the erasure for large table `t` (step 3 of the module
    /// documentation).
    pub(super) async fn large_left(
        &self,
        conn: &mut Conn<'_>,
        t: usize,
        found: &TableFound,
        who: &Identity,
        erased: &LargeErased,
        hash_len: usize,
    ) -> Result<LargeLeft, ConnectorError> {
        let decl = &self.decl.tables()[t];
        let masks = self.erase_masks(t, found)?;
        let declared = match decl.erase {
            EraseAction::Anonymize => self.masked_columns(decl, found)?,
            _ => Vec::new(),
        };
        let mut left = LargeLeft {
            stale: BTreeSet::new(),
            found: BTreeSet::new(),
        };
        self.stream_matches(conn, t, found, who, false, |row| {
            let still = match decl.erase {
                EraseAction::Delete => true,
                _ => row_needs_mask(&row, &found.columns, &masks, hash_len),
            };
            if still {
                left.found
                    .insert(found.key.iter().map(|&k| row[k].clone()).collect());
            }
            Ok(())
        })
        .await?;
        for keys in erased.changed.chunks() {
            for row in self.read_keys(conn, t, found, &keys).await? {
                let erased = !declared.is_empty()
                    && declared.iter().all(|&(c, m): &(usize, Mask)| {
                        is_masked(&row[c], m, found.columns[c].class, hash_len)
                    });
                if !erased {
                    left.stale
                        .insert(found.key.iter().map(|&k| row[k].clone()).collect());
                }
            }
        }
        Ok(left)
    }

    /// What an erasure would change in large table `t`, counted while streaming.
    pub(super) async fn preview_large(
        &self,
        conn: &mut Conn<'_>,
        t: usize,
        found: &TableFound,
        who: &Identity,
    ) -> Result<LargePreview, ConnectorError> {
        let decl = &self.decl.tables()[t];
        let masks = self.erase_masks(t, found)?;
        let mut out = LargePreview {
            targets: 0,
            keys: Vec::new(),
        };
        self.stream_matches(conn, t, found, who, false, |row| {
            let change = match decl.erase {
                EraseAction::Delete => true,
                _ => row_needs_mask(&row, &found.columns, &masks, super::HASH_HEX_LEN),
            };
            if change {
                out.targets += 1;
                if out.keys.len() < PREVIEW_KEYS {
                    out.keys.push(
                        found
                            .key
                            .iter()
                            .map(|&k| to_json(&row[k], found.columns[k].class))
                            .collect(),
                    );
                }
            }
            Ok(())
        })
        .await?;
        Ok(out)
    }
}

/// A table's layout without rows, to handle rows one chunk at a time with the functions
/// written for [`TableFound`].
struct RowProbe<'a> {
    found: &'a TableFound,
}

fn row_probe(found: &TableFound) -> RowProbe<'_> {
    RowProbe { found }
}

impl RowProbe<'_> {
    fn with_rows(&self, rows: Vec<Vec<SqlValue>>) -> TableFound {
        TableFound {
            columns: self.found.columns.clone(),
            key: self.found.key.clone(),
            rows: rows
                .into_iter()
                .map(|values| super::RowFound {
                    values,
                    by_identity: true,
                    shared: false,
                    still_referenced: false,
                })
                .collect(),
            index: std::collections::HashMap::new(),
        }
    }
}
