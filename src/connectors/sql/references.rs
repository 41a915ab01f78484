//! The reference counts of the shared-row check: for each referencing column and each
//! value, how many rows of the referencing table hold it. The counts of every column
//! that a table's rows are reached through go to the database together, as one
//! `SELECT col, COUNT(*) … GROUP BY col UNION ALL …` per column type, rather than one
//! statement per column: a table reached through three columns (an address from
//! customers, orders and payment cards) costs one round trip, not three.

use std::collections::HashMap;

use super::SqlConnector;
use super::backend::Conn;
use super::statement::{CHUNK, Stmt};
use super::value::{ColumnInfo, SqlValue};
use crate::connectors::ConnectorError;

/// One referencing column whose counts are wanted, for the given values.
pub(crate) struct Counted<'a> {
    pub table: &'a str,
    pub column: &'a ColumnInfo,
    pub values: Vec<SqlValue>,
}

impl SqlConnector {
    /// Per entry of `wanted`, value -> rows of its table whose column holds the value
    /// (values no row holds are absent).
    pub(crate) async fn count_references(
        &self,
        conn: &mut Conn<'_>,
        wanted: &[Counted<'_>],
    ) -> Result<Vec<HashMap<SqlValue, i64>>, ConnectorError> {
        let mut totals: Vec<HashMap<SqlValue, i64>> = vec![HashMap::new(); wanted.len()];
        // UNION ALL needs one type per output column: columns of different types (or
        // read through different casts) go in different statements.
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (i, w) in wanted.iter().enumerate() {
            if w.values.is_empty() {
                continue;
            }
            let same = |j: &usize| {
                let c = wanted[*j].column;
                c.class == w.column.class
                    && c.sql_type == w.column.sql_type
                    && c.cast == w.column.cast
            };
            match groups.iter_mut().find(|g| g.first().is_some_and(same)) {
                Some(g) => g.push(i),
                None => groups.push(vec![i]),
            }
        }
        for group in groups {
            // Arms of at most CHUNK values; statements of at most CHUNK values in all
            // (and at least one arm).
            let mut arms: Vec<(usize, &[SqlValue])> = Vec::new();
            for &i in &group {
                for chunk in wanted[i].values.chunks(CHUNK) {
                    arms.push((i, chunk));
                }
            }
            let mut rest = arms.as_slice();
            while !rest.is_empty() {
                let mut take = 0;
                let mut size = 0;
                while take < rest.len() && (take == 0 || size + rest[take].1.len() <= CHUNK) {
                    size += rest[take].1.len();
                    take += 1;
                }
                let (now, later) = rest.split_at(take);
                rest = later;
                let mut s = Stmt::new(conn.dialect());
                for (n, (i, values)) in now.iter().enumerate() {
                    let w = &wanted[*i];
                    if n > 0 {
                        s.push(" UNION ALL ");
                    }
                    s.push(&format!("SELECT {i} AS rd_entry, "))
                        .select_column(w.column)
                        .push(", COUNT(*) FROM ")
                        .ident(w.table)
                        .push(" WHERE ")
                        .column_in(w.column, values)
                        .push(" GROUP BY ")
                        .ident(&w.column.name);
                }
                let names: Vec<&str> = now.iter().map(|(i, _)| wanted[*i].table).collect();
                let rows = conn.fetch(s).await.map_err(self.db_err(format!(
                    "counting references from table(s) \"{}\"",
                    names.join("\", \"")
                )))?;
                for row in rows {
                    if let [SqlValue::Int(i), v, SqlValue::Int(n)] = row.as_slice()
                        && let Some(total) =
                            usize::try_from(*i).ok().and_then(|i| totals.get_mut(i))
                    {
                        *total.entry(v.clone()).or_default() += *n;
                    }
                }
            }
        }
        Ok(totals)
    }
}

impl SqlConnector {
    /// [`Self::count_references`] with the referencing tables counted side by side:
    /// each on a connection of its own when the pool has one free at once, the rest on
    /// `conn`. Counts through columns without an index are sequential scans, which then
    /// run at the same time instead of one after the other. Never waits for the pool (the
    /// caller already holds one of its connections). Used on PostgreSQL only, where a
    /// statement on another connection reads what one on `conn` would (see
    /// [`Coalescer`]).
    pub(crate) async fn count_references_side_by_side(
        &self,
        conn: &mut Conn<'_>,
        wanted: &[Counted<'_>],
    ) -> Result<Vec<HashMap<SqlValue, i64>>, ConnectorError> {
        let mut tables: Vec<&str> = Vec::new();
        for w in wanted.iter().filter(|w| !w.values.is_empty()) {
            if !tables.contains(&w.table) {
                tables.push(w.table);
            }
        }
        let mut extra = Vec::new();
        while extra.len() + 1 < tables.len() {
            match self.pool().try_acquire() {
                Some(held) => extra.push(held),
                None => break,
            }
        }
        // Too few free connections this time: the pool grows in the background (once
        // the counts are sent) so that the next check finds them.
        let short = tables.len().saturating_sub(extra.len() + 1);
        let counted = self.count_references_on(conn, wanted, &tables, extra).await;
        if short > 0 {
            self.pool().warm(short, self.warming.clone());
        }
        counted
    }

    /// The counts of `wanted`, the first of `tables` (and any without a connection of
    /// its own) on `conn`, table k (k >= 1) on `extra[k - 1]`.
    async fn count_references_on(
        &self,
        conn: &mut Conn<'_>,
        wanted: &[Counted<'_>],
        tables: &[&str],
        mut extra: Vec<super::backend::Held>,
    ) -> Result<Vec<HashMap<SqlValue, i64>>, ConnectorError> {
        if extra.is_empty() {
            return self.count_references(conn, wanted).await;
        }
        // Table k (k >= 1) on extra connection k - 1 while there is one; the first table
        // and any left over on the caller's connection.
        let on = |table: &str| -> usize {
            let k = tables.iter().position(|t| *t == table).unwrap_or(0);
            if k >= 1 && k <= extra.len() { k } else { 0 }
        };
        let share = |slot: usize| -> (Vec<usize>, Vec<Counted<'_>>) {
            let entries: Vec<usize> = (0..wanted.len())
                .filter(|&i| !wanted[i].values.is_empty() && on(wanted[i].table) == slot)
                .collect();
            let counted = entries
                .iter()
                .map(|&i| Counted {
                    table: wanted[i].table,
                    column: wanted[i].column,
                    values: wanted[i].values.clone(),
                })
                .collect();
            (entries, counted)
        };
        let shares: Vec<(Vec<usize>, Vec<Counted<'_>>)> = (0..=extra.len()).map(share).collect();
        let mut runs = Vec::with_capacity(shares.len());
        let mut held = extra.iter_mut();
        let mut own = Some(conn);
        for (slot, (_, counted)) in shares.iter().enumerate() {
            let run: std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send + '_>> =
                if slot == 0 {
                    let c = own
                        .take()
                        .expect("the caller's connection runs the first share");
                    Box::pin(self.count_references(c, counted))
                } else {
                    let h = held.next().expect("one free connection per further share");
                    Box::pin(async move { self.count_references(&mut h.conn(), counted).await })
                };
            runs.push(run);
        }
        let mut totals: Vec<HashMap<SqlValue, i64>> = vec![HashMap::new(); wanted.len()];
        for ((entries, _), counted) in shares
            .iter()
            .zip(futures_util::future::join_all(runs).await)
        {
            for (&i, total) in entries.iter().zip(counted?) {
                totals[i] = total;
            }
        }
        Ok(totals)
    }
}

/// A [`Counted`] that owns its parts, to be merged with other subjects' asks.
#[derive(Debug, Clone)]
pub(crate) struct OwnedCounted {
    pub table: String,
    pub column: ColumnInfo,
    pub values: Vec<SqlValue>,
}

type Counts = Vec<HashMap<SqlValue, i64>>;

/// One subject's ask, waiting for whoever sends the next statement.
struct Asked {
    wanted: Vec<OwnedCounted>,
    reply: tokio::sync::oneshot::Sender<Option<Counts>>,
}

/// Reference counts asked for at the same time by several subjects (erasures of one
/// connector running side by side) go to the database as one statement, like a group
/// commit: whoever asks while no count is running sends at once, with its own
/// connection; asks that arrive meanwhile wait, and the first of them to get its turn
/// sends all of them together, values merged per column. A single erasure therefore
/// waits for nothing, and a batch of erasures whose counts are sequential scans (a
/// referencing column without an index) pays one scan per round instead of one per
/// subject. The counts are of every row holding a value, whoever asked, so merging
/// changes no answer. Used on PostgreSQL, where each statement reads what is committed
/// when it starts (the default isolation), so a count sent from another subject's
/// transaction — before any write of either — sees what the asker's own would have.
#[derive(Default)]
pub(crate) struct Coalescer {
    pending: std::sync::Mutex<Vec<Asked>>,
    turn: tokio::sync::Mutex<()>,
}

impl Coalescer {
    /// The counts for `wanted` (one map per entry, as [`SqlConnector::count_references`]
    /// returns them). `run` sends merged asks and is called only when this caller leads;
    /// `None` when the statement failed or its sender went away: the caller then counts
    /// alone (and meets the error itself, if there is one).
    pub(crate) async fn counts<F, Fut>(&self, wanted: Vec<OwnedCounted>, run: F) -> Option<Counts>
    where
        F: FnOnce(Vec<OwnedCounted>) -> Fut,
        Fut: std::future::Future<Output = Option<Counts>>,
    {
        let (reply, mut answer) = tokio::sync::oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Asked { wanted, reply });
        let turn = tokio::select! {
            biased;
            got = &mut answer => return got.ok().flatten(),
            turn = self.turn.lock() => turn,
        };
        let asks = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if !asks.is_empty() {
            // Merge per (table, column): the union of the values asked.
            let mut merged: Vec<OwnedCounted> = Vec::new();
            let mut seen: Vec<std::collections::HashSet<SqlValue>> = Vec::new();
            let mut slots: Vec<Vec<usize>> = Vec::with_capacity(asks.len());
            for ask in &asks {
                let mut slot = Vec::with_capacity(ask.wanted.len());
                for w in &ask.wanted {
                    let i = match merged
                        .iter()
                        .position(|m| m.table == w.table && m.column == w.column)
                    {
                        Some(i) => i,
                        None => {
                            merged.push(OwnedCounted {
                                table: w.table.clone(),
                                column: w.column.clone(),
                                values: Vec::new(),
                            });
                            seen.push(std::collections::HashSet::new());
                            merged.len() - 1
                        }
                    };
                    for v in &w.values {
                        if seen[i].insert(v.clone()) {
                            merged[i].values.push(v.clone());
                        }
                    }
                    slot.push(i);
                }
                slots.push(slot);
            }
            let totals = run(merged).await;
            for (ask, slot) in asks.into_iter().zip(slots) {
                let counts = totals.as_ref().map(|totals| {
                    ask.wanted
                        .iter()
                        .zip(slot)
                        .map(|(w, i)| {
                            w.values
                                .iter()
                                .filter_map(|v| totals[i].get(v).map(|n| (v.clone(), *n)))
                                .collect()
                        })
                        .collect()
                });
                // An asker that went away no longer needs its answer.
                let _ = ask.reply.send(counts);
            }
        }
        drop(turn);
        // Answered by this caller just now, or by the one that led before it.
        answer.await.ok().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::sql::value::ColumnClass;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn column() -> ColumnInfo {
        ColumnInfo {
            name: "address_id".into(),
            sql_type: "int4".into(),
            class: ColumnClass::Int,
            nullable: true,
            cast: None,
        }
    }

    fn ask(values: &[i64]) -> Vec<OwnedCounted> {
        vec![OwnedCounted {
            table: "customer".into(),
            column: column(),
            values: values.iter().map(|v| SqlValue::Int(*v)).collect(),
        }]
    }

    /// Every value is held by `value % 3 + 1` rows.
    fn count(merged: &[OwnedCounted]) -> Counts {
        merged
            .iter()
            .map(|m| {
                m.values
                    .iter()
                    .map(|v| match v {
                        SqlValue::Int(n) => (v.clone(), n % 3 + 1),
                        _ => unreachable!(),
                    })
                    .collect()
            })
            .collect()
    }

    /// While one count runs, the asks that arrive wait and then go as one statement with
    /// their values merged; each asker gets exactly its own values' counts.
    #[tokio::test]
    async fn asks_during_a_count_go_together() {
        let c = Arc::new(Coalescer::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(tokio::sync::Notify::new());
        let sizes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let spawn = |values: Vec<i64>| {
            let (c, runs, gate, sizes) = (c.clone(), runs.clone(), gate.clone(), sizes.clone());
            tokio::spawn(async move {
                c.counts(ask(&values), |merged| async move {
                    let first = runs.fetch_add(1, Ordering::SeqCst) == 0;
                    sizes.lock().unwrap().push(merged[0].values.len());
                    if first {
                        gate.notified().await;
                    }
                    Some(count(&merged))
                })
                .await
            })
        };
        let first = spawn(vec![1, 2]);
        while runs.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let others: Vec<_> = [vec![2, 3], vec![3, 4], vec![5]]
            .into_iter()
            .map(spawn)
            .collect();
        while c.pending.lock().unwrap().len() < 3 {
            tokio::task::yield_now().await;
        }
        gate.notify_one();
        let got = first.await.unwrap().unwrap();
        assert_eq!(got[0][&SqlValue::Int(1)], 2);
        assert_eq!(got[0][&SqlValue::Int(2)], 3);
        for (h, values) in others.into_iter().zip([vec![2, 3], vec![3, 4], vec![5]]) {
            let got = h.await.unwrap().unwrap();
            assert_eq!(got[0].len(), values.len(), "only its own values");
            for v in values {
                assert_eq!(got[0][&SqlValue::Int(v)], v % 3 + 1);
            }
        }
        assert_eq!(
            runs.load(Ordering::SeqCst),
            2,
            "one count, then one for the three"
        );
        assert_eq!(
            *sizes.lock().unwrap(),
            [2, 4],
            "values 2..=5 merged once each"
        );
    }

    /// A failed statement answers `None` to every asker (each then counts alone).
    #[tokio::test]
    async fn a_failed_count_answers_none() {
        let c = Coalescer::default();
        assert!(c.counts(ask(&[1]), |_| async { None }).await.is_none());
        let got = c
            .counts(ask(&[1]), |m| async move { Some(count(&m)) })
            .await;
        assert_eq!(got.unwrap()[0][&SqlValue::Int(1)], 2);
    }
}
