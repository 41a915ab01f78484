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
    /// The blocks counted (see [`Part`]): `(0, None)` for the whole table.
    pub blocks: (i64, Option<i64>),
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
                        .column_among(w.column, values);
                    // PostgreSQL only (a table counted in parts): a TID range scan.
                    match w.blocks {
                        (0, None) => {}
                        (from, to) => {
                            s.push(&format!(" AND ctid >= '({from},0)'::tid"));
                            if let Some(to) = to {
                                s.push(&format!(" AND ctid < '({to},0)'::tid"));
                            }
                        }
                    }
                    s.push(" GROUP BY ").ident(&w.column.name);
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

/// Connections one shared-row check uses at most (its own and up to two free ones).
/// Four were measured slower than three on the peer workload on two cores: parts beyond
/// the database server's cores only take turns.
const SIDE_BY_SIDE: usize = 3;

/// A table is counted in parts (block ranges) only when each part keeps at least this
/// many pages (4 MiB of 8 KiB pages): below that a part's own round trip costs more than
/// the scan it saves.
const MIN_PART_PAGES: i64 = 512;

/// One scan of a shared-row check: a referencing table, whole or a range of its blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Part<'a> {
    pub table: &'a str,
    /// Its blocks (PostgreSQL `ctid` ranges): from this one, up to `to` (excluded) or the
    /// table's end. A table whole is `0..`.
    pub from: i64,
    pub to: Option<i64>,
    /// Pages it covers, as the catalogue last estimated them (0: unknown).
    pub pages: i64,
}

/// The scans of a check over `tables` (name, pages) for `slots` connections: each table
/// whole, then the largest part halved while there are more connections than parts and
/// the halves keep [`MIN_PART_PAGES`]. The last part of a table is open-ended, so rows in
/// blocks added since the estimate are counted too.
pub(crate) fn plan_parts<'a>(tables: &[(&'a str, i64)], slots: usize) -> Vec<Part<'a>> {
    let mut parts: Vec<Part<'a>> = tables
        .iter()
        .map(|&(table, pages)| Part {
            table,
            from: 0,
            to: None,
            pages: pages.max(0),
        })
        .collect();
    while parts.len() < slots {
        let Some((k, largest)) = parts.iter().enumerate().max_by_key(|(_, p)| p.pages) else {
            break;
        };
        let half = largest.pages / 2;
        if half < MIN_PART_PAGES {
            break;
        }
        let mid = largest.from + half;
        let (first, second) = (
            Part {
                to: Some(mid),
                pages: half,
                ..*largest
            },
            Part {
                from: mid,
                pages: largest.pages - half,
                ..*largest
            },
        );
        parts[k] = first;
        parts.insert(k + 1, second);
    }
    parts
}

/// `parts` spread over `slots` connections: each next largest part to the connection
/// with the fewest pages so far (the first slot is the caller's own connection).
fn spread<'a>(parts: &[Part<'a>], slots: usize) -> Vec<Vec<Part<'a>>> {
    let mut order: Vec<Part<'a>> = parts.to_vec();
    order.sort_by_key(|p| std::cmp::Reverse(p.pages));
    let mut out: Vec<(i64, Vec<Part<'a>>)> = (0..slots.max(1)).map(|_| (0, Vec::new())).collect();
    for p in order {
        if let Some(slot) = out.iter_mut().min_by_key(|(load, _)| *load) {
            slot.0 += p.pages.max(1);
            slot.1.push(p);
        }
    }
    out.into_iter()
        .map(|(_, parts)| parts)
        .filter(|parts| !parts.is_empty())
        .collect()
}

impl SqlConnector {
    /// [`Self::count_references`] with the referencing tables counted side by side: each
    /// on a connection of its own when the pool has one free at once, and a large table
    /// in block ranges ([`plan_parts`]) when connections are left over. Counts through
    /// columns without an index are sequential scans, which then run at the same time
    /// instead of one after the other. Never waits for the pool (the caller already holds
    /// one of its connections); when too few were free, the pool grows in the background
    /// for the next check. Used on PostgreSQL only, where a statement on another
    /// connection reads what one on `conn` would (see [`Coalescer`]).
    pub(crate) async fn count_references_side_by_side(
        &self,
        conn: &mut Conn<'_>,
        wanted: &[Counted<'_>],
    ) -> Result<Vec<HashMap<SqlValue, i64>>, ConnectorError> {
        let mut tables: Vec<(&str, i64)> = Vec::new();
        for w in wanted.iter().filter(|w| !w.values.is_empty()) {
            if !tables.iter().any(|(t, _)| *t == w.table) {
                tables.push((w.table, self.cached_pages(w.table)));
            }
        }
        let parts = plan_parts(&tables, SIDE_BY_SIDE);
        let mut extra = Vec::new();
        while extra.len() + 1 < parts.len() {
            match self.pool().try_acquire() {
                Some(held) => extra.push(held),
                None => break,
            }
        }
        let short = parts.len().saturating_sub(extra.len() + 1);
        if extra.is_empty() {
            let counted = self.count_references(conn, wanted).await;
            self.pool().warm(short, self.warming.clone());
            return counted;
        }
        // Fewer connections than parts: the parts for as many as there are.
        let slots = extra.len() + 1;
        let parts = if short > 0 {
            plan_parts(&tables, slots)
        } else {
            parts
        };
        let shares = spread(&parts, slots);
        // Per connection: the entries of `wanted` it counts (an entry of a table in parts
        // is counted on several, its totals summed).
        let share = |parts: &[Part<'_>]| -> (Vec<usize>, Vec<Counted<'_>>) {
            let mut entries = Vec::new();
            let mut counted = Vec::new();
            for part in parts {
                for (i, w) in wanted.iter().enumerate() {
                    if w.values.is_empty() || w.table != part.table {
                        continue;
                    }
                    entries.push(i);
                    counted.push(Counted {
                        table: w.table,
                        column: w.column,
                        values: w.values.clone(),
                        blocks: (part.from, part.to),
                    });
                }
            }
            (entries, counted)
        };
        let shares: Vec<(Vec<usize>, Vec<Counted<'_>>)> =
            shares.iter().map(|parts| share(parts)).collect();
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
        let results = futures_util::future::join_all(runs).await;
        drop(extra);
        if short > 0 {
            self.pool().warm(short, self.warming.clone());
        }
        for ((entries, _), counted) in shares.iter().zip(results) {
            for (&i, total) in entries.iter().zip(counted?) {
                for (v, n) in total {
                    *totals[i].entry(v).or_default() += n;
                }
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

    #[test]
    fn a_large_table_is_halved_while_connections_are_left() {
        let tables = [("orders", 2560), ("customer", 1137), ("payment_card", 1126)];
        let parts = plan_parts(&tables, 4);
        let orders: Vec<(i64, Option<i64>)> = parts
            .iter()
            .filter(|p| p.table == "orders")
            .map(|p| (p.from, p.to))
            .collect();
        assert_eq!(orders, vec![(0, Some(1280)), (1280, None)]);
        assert_eq!(parts.len(), 4);
        // One connection more: the largest part halved again (640 pages each).
        let parts = plan_parts(&tables, 5);
        assert_eq!(parts.len(), 5);
        assert_eq!(parts.iter().filter(|p| p.table == "orders").count(), 3);
        // Halves under 512 pages are not worth their round trip.
        assert_eq!(plan_parts(&tables, 10).len(), 8);
        // As many connections as tables: each whole.
        assert!(
            plan_parts(&tables, 3)
                .iter()
                .all(|p| p.from == 0 && p.to.is_none())
        );
        // Small or unknown tables are never split.
        assert_eq!(plan_parts(&[("t", 900), ("u", 0)], 4).len(), 2);
        // Spread: the largest parts first, each to the least loaded connection.
        let spread = spread(&plan_parts(&tables, 4), 3);
        assert_eq!(spread.len(), 3);
        let loads: Vec<i64> = spread
            .iter()
            .map(|s| s.iter().map(|p| p.pages).sum())
            .collect();
        assert!(loads.iter().all(|&l| l <= 2560), "{loads:?}");
    }
}
