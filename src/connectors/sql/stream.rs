//! Access in bounded memory: the subject's rows are read table by table and handed to a
//! [`RowSink`] in pages of [`PAGE`] rows. A search whose rows need no question to the
//! database (no shared-row check: the table is not reached by its own key, or its rows
//! lead nowhere further, so whether one is shared changes nothing an access returns) is
//! one statement whose rows are decoded as they arrive; otherwise each page is its own statement (keyset pagination on the primary
//! key: `… AND key > last ORDER BY key LIMIT n`), so the check can run between pages.
//! (Keyset pages over millions of rows cost a sort per page when the database serves
//! the search from another index, hence the single statement where it can be used.)
//! Nothing holds a table's matches:
//! per table only the values that children's `via` edges read are kept (and, for an
//! edge that reaches a child by its own key, how many of the subject's rows hold each
//! value, for the shared-row check).
//!
//! A row can satisfy more than one of a table's searches (the identity and a `via`
//! column, or two `via` columns); each search is paginated on its own, so such a row is
//! passed on only by the first search that finds it: a `via` row that also passes the
//! identity rule was passed on by the identity search, and a row whose value of an
//! earlier `via` column is among that column's values was passed on by that search.
//! Within a paged search rows come in primary-key order.

use std::collections::{HashMap, HashSet};

use tokio_stream::StreamExt;

use super::backend::Conn;
use super::catalog::Catalog;
use super::references::Counted;
use super::statement::Stmt;
use super::value::{ColumnInfo, SqlValue, to_json};
use super::{SqlConnector, is_reverse, matched, matching, pack, select_all};
use crate::connectors::datamap::IdentityType;
use crate::connectors::{AccessCounts, ConnectorError, Identity, RowSink, SinkError, TableCount};

/// Rows per page read from the product database.
pub(crate) const PAGE: usize = 2000;

/// What a table's rows leave behind for the tables after it.
#[derive(Default)]
struct Kept {
    /// Column -> distinct values of the subject's non-shared rows (children's `via`).
    values: HashMap<String, HashSet<SqlValue>>,
    /// Column -> value -> how many of the subject's rows hold it (shared-row check).
    counts: HashMap<String, HashMap<SqlValue, i64>>,
}

/// One search of a table: the identity, or one chunk of one `via` column's values.
enum Search<'a> {
    Identity,
    Via {
        /// Position of this `via` condition among the table's (earlier ones dedupe).
        order: usize,
        column: usize,
        values: &'a [SqlValue],
    },
}

/// One table's layout and what its rows must leave behind, for handling a page.
struct TableCtx<'a> {
    connector: &'a str,
    decl: &'a crate::connectors::datamap::TableDecl,
    columns: &'a [ColumnInfo],
    identity_cols: &'a [usize],
    keep_values: &'a [(usize, String)],
    keep_counts: &'a [(usize, String)],
    via_sets: &'a [(usize, HashSet<SqlValue>)],
}

impl TableCtx<'_> {
    /// The page's rows that this search passes on (see the module documentation).
    fn filter(
        &self,
        rows: Vec<Vec<SqlValue>>,
        search: &Search<'_>,
        who: &Identity,
    ) -> Vec<Vec<SqlValue>> {
        rows.into_iter()
            .filter(|r| match search {
                Search::Identity => matched(r, self.identity_cols, who),
                Search::Via { order, .. } => {
                    !matched(r, self.identity_cols, who)
                        && !self.via_sets[..*order]
                            .iter()
                            .any(|(c, set)| set.contains(&r[*c]))
                }
            })
            .collect()
    }

    /// Keep what children need from the rows, and hand them to the sink; how many.
    async fn emit(
        &self,
        rows: Vec<Vec<SqlValue>>,
        shared: Vec<bool>,
        mine: &mut Kept,
        sink: &mut dyn RowSink,
    ) -> Result<u64, ConnectorError> {
        let mut n = 0;
        for (row, shared) in rows.into_iter().zip(shared) {
            for (c, name) in self.keep_counts {
                if !row[*c].is_null() {
                    *mine
                        .counts
                        .entry(name.clone())
                        .or_default()
                        .entry(row[*c].clone())
                        .or_default() += 1;
                }
            }
            if !shared {
                for (c, name) in self.keep_values {
                    if !row[*c].is_null() {
                        mine.values
                            .entry(name.clone())
                            .or_default()
                            .insert(row[*c].clone());
                    }
                }
            }
            let json = self
                .columns
                .iter()
                .zip(row)
                .filter(|(c, _)| self.decl.is_exported(&c.name))
                .map(|(c, v)| (c.name.clone(), to_json(&v, c.class)))
                .collect();
            sink.row(json)
                .await
                .map_err(|e| e.into_connector_error(self.connector))?;
            n += 1;
        }
        Ok(n)
    }
}

impl SqlConnector {
    /// The subject's rows for an access export, streamed into `sink` (see the module
    /// documentation), without fields declared `export = false`.
    pub async fn access_into(
        &self,
        who: &Identity,
        sink: &mut dyn RowSink,
    ) -> Result<AccessCounts, ConnectorError> {
        let mut held = self
            .pool
            .acquire()
            .await
            .map_err(self.db_err("connecting"))?;
        let mut conn = held.conn();
        let catalog = self.catalog(&mut conn).await?;
        let matching = self.matching_for(&mut conn, who).await?;
        let dialect = conn.dialect();
        let decls = self.decl.tables();
        let edges = self.decl.edges();
        let fail = |e: SinkError| e.into_connector_error(self.decl.name());

        let mut kept: Vec<Kept> = (0..decls.len()).map(|_| Kept::default()).collect();
        let mut counts: Vec<u64> = vec![0; decls.len()];
        // Tables are read, and announced to the sink, in traversal order (parents
        // first); the export names each table's file, so the order is free.
        for &t in self.decl.traversal_order() {
            let decl = &decls[t];
            let columns: Vec<ColumnInfo> = catalog
                .columns(&decl.name)
                .ok_or_else(|| ConnectorError::MissingTable {
                    connector: self.decl.name().to_string(),
                    table: decl.name.clone(),
                })?
                .to_vec();
            let position = |name: &str| columns.iter().position(|c| c.name == name);
            let key: Vec<usize> = decl
                .primary_key
                .iter()
                .map(|k| position(k).ok_or_else(|| self.missing_column(&decl.name, k)))
                .collect::<Result<_, _>>()?;
            let identity_cols: Vec<usize> = decl
                .identities
                .iter()
                .map(|(IdentityType::Email, c)| {
                    position(c).ok_or_else(|| self.missing_column(&decl.name, c))
                })
                .collect::<Result<_, _>>()?;
            // Each `via` column's values, from the parents' kept values.
            let mut via: Vec<(usize, Vec<SqlValue>)> = Vec::new();
            let mut via_sets: Vec<(usize, HashSet<SqlValue>)> = Vec::new();
            for v in &decl.via {
                let ci = position(&v.column)
                    .ok_or_else(|| self.missing_column(&decl.name, &v.column))?;
                let mut set = HashSet::new();
                for parent in &v.parents {
                    let (pi, _) = self.decl.table(&parent.table).ok_or_else(|| {
                        ConnectorError::MissingTable {
                            connector: self.decl.name().to_string(),
                            table: parent.table.clone(),
                        }
                    })?;
                    if let Some(values) = kept[pi].values.get(&parent.column) {
                        set.extend(values.iter().cloned());
                    }
                }
                if !set.is_empty() {
                    let mut list: Vec<SqlValue> = set.iter().cloned().collect();
                    list.sort();
                    via.push((ci, list));
                    via_sets.push((ci, set));
                }
            }
            // What this table must keep for the tables after it.
            let keep_values: Vec<(usize, String)> = edges
                .iter()
                .filter(|e| e.parent == t)
                .filter_map(|e| position(&e.parent_column).map(|c| (c, e.parent_column.clone())))
                .collect();
            let keep_counts: Vec<(usize, String)> = edges
                .iter()
                .filter(|e| e.parent == t && is_reverse(decls, e))
                .filter_map(|e| position(&e.parent_column).map(|c| (c, e.parent_column.clone())))
                .collect();
            // Edges that reach this table by its own key: rows found through them may be
            // shared with other subjects.
            let reverse: Vec<(usize, usize, &str)> = edges
                .iter()
                .filter(|e| e.child == t && is_reverse(decls, e))
                .filter_map(|e| {
                    position(&e.child_column).map(|c| (c, e.parent, e.parent_column.as_str()))
                })
                .collect();

            sink.table(&decl.name).await.map_err(fail)?;
            let mut searches: Vec<Search<'_>> = Vec::new();
            if !identity_cols.is_empty() {
                searches.push(Search::Identity);
            }
            for chunk in pack(&via) {
                for (column, values) in chunk.via {
                    let order = via.iter().position(|(c, _)| *c == column).unwrap_or(0);
                    searches.push(Search::Via {
                        order,
                        column,
                        values,
                    });
                }
            }
            let mut mine = Kept::default();
            let table = TableCtx {
                connector: self.decl.name(),
                decl,
                columns: &columns,
                identity_cols: &identity_cols,
                keep_values: &keep_values,
                keep_counts: &keep_counts,
                via_sets: &via_sets,
            };
            let key_cols: Vec<&ColumnInfo> = key.iter().map(|&k| &columns[k]).collect();
            for search in &searches {
                let statement = |after: Option<&[SqlValue]>| {
                    let mut s = Stmt::new(dialect);
                    select_all(&mut s, &columns, &decl.name);
                    s.push("(");
                    match search {
                        Search::Identity => {
                            for (i, &c) in identity_cols.iter().enumerate() {
                                if i > 0 {
                                    s.push(" OR ");
                                }
                                let name = &columns[c].name;
                                let m = matching.column(&decl.name, name);
                                matching::push_search(&mut s, dialect, name, &m, who.spellings());
                            }
                        }
                        Search::Via { column, values, .. } => {
                            s.column_in(&columns[*column], values);
                        }
                    }
                    s.push(")");
                    if let Some(last) = after {
                        s.push(" AND ");
                        key_after(&mut s, &key_cols, last);
                    }
                    s
                };
                // A shared row is exported like any other; the check matters only
                // where this table's rows lead on to other tables (access never pays
                // for it otherwise).
                if reverse.is_empty() || keep_values.is_empty() {
                    // Nothing to ask the database between pages: one statement whose
                    // rows are read as they arrive, handled a page at a time.
                    let mut stream = conn.fetch_stream(statement(None));
                    let mut page = Vec::with_capacity(PAGE);
                    loop {
                        let next = stream
                            .next()
                            .await
                            .transpose()
                            .map_err(self.db_err(format!("reading table \"{}\"", decl.name)))?;
                        let done = next.is_none();
                        page.extend(next);
                        if page.len() == PAGE || (done && !page.is_empty()) {
                            let rows = table.filter(std::mem::take(&mut page), search, who);
                            let shared = vec![false; rows.len()];
                            counts[t] += table.emit(rows, shared, &mut mine, sink).await?;
                        }
                        if done {
                            break;
                        }
                    }
                    continue;
                }
                // Rows found here may be shared: the check asks the database per page,
                // so pages are separate statements (keyset on the primary key).
                let mut last: Option<Vec<SqlValue>> = None;
                loop {
                    let mut s = statement(last.as_deref());
                    s.push(" ORDER BY ");
                    for (i, c) in key_cols.iter().enumerate() {
                        if i > 0 {
                            s.push(", ");
                        }
                        s.ident(&c.name);
                    }
                    s.push(&format!(" LIMIT {PAGE}"));
                    let rows = conn
                        .fetch(s)
                        .await
                        .map_err(self.db_err(format!("reading table \"{}\"", decl.name)))?;
                    let full = rows.len() == PAGE;
                    last = rows
                        .last()
                        .map(|r| key.iter().map(|&k| r[k].clone()).collect());
                    let rows = table.filter(rows, search, who);
                    let shared = match search {
                        Search::Identity => vec![false; rows.len()],
                        Search::Via { .. } => {
                            self.shared_rows(&mut conn, &catalog, &rows, &reverse, &kept)
                                .await?
                        }
                    };
                    counts[t] += table.emit(rows, shared, &mut mine, sink).await?;
                    if !full {
                        break;
                    }
                }
            }
            kept[t] = mine;
        }
        Ok(AccessCounts {
            tables: decls
                .iter()
                .zip(counts)
                .map(|(d, rows)| TableCount {
                    table: d.name.clone(),
                    rows,
                })
                .collect(),
        })
    }

    /// For rows found through `via` edges: whether each is shared, i.e. rows outside the
    /// subject's own reference it through an edge that reaches it by its own key.
    async fn shared_rows(
        &self,
        conn: &mut Conn<'_>,
        catalog: &Catalog,
        rows: &[Vec<SqlValue>],
        reverse: &[(usize, usize, &str)],
        kept: &[Kept],
    ) -> Result<Vec<bool>, ConnectorError> {
        let mut shared = vec![false; rows.len()];
        let decls = self.decl.tables();
        let mut columns = Vec::new();
        for &(_, parent, parent_column) in reverse {
            let pdecl = &decls[parent];
            columns.push(
                catalog
                    .column(&pdecl.name, parent_column)
                    .cloned()
                    .ok_or_else(|| self.missing_column(&pdecl.name, parent_column))?,
            );
        }
        let wanted: Vec<Counted<'_>> = reverse
            .iter()
            .zip(&columns)
            .map(|(&(ci, parent, _), column)| {
                let mut seen = HashSet::new();
                Counted {
                    table: &decls[parent].name,
                    column,
                    values: rows
                        .iter()
                        .map(|r| r[ci].clone())
                        .filter(|v| !v.is_null() && seen.insert(v.clone()))
                        .collect(),
                    blocks: (0, None),
                }
            })
            .collect();
        let totals = self.count_references(conn, &wanted).await?;
        for (&(ci, parent, parent_column), total) in reverse.iter().zip(totals) {
            let own = kept[parent].counts.get(parent_column);
            for (r, sh) in rows.iter().zip(shared.iter_mut()) {
                let t = total.get(&r[ci]).copied().unwrap_or(0);
                let m = own.and_then(|o| o.get(&r[ci])).copied().unwrap_or(0);
                if t > m {
                    *sh = true;
                }
            }
        }
        Ok(shared)
    }
}

/// `key > last` in key order: `k > ?`, or a row-value comparison for composite keys
/// (PostgreSQL, MySQL/MariaDB and SQLite 3.15+ compare row values left to right).
fn key_after(s: &mut Stmt, cols: &[&ColumnInfo], last: &[SqlValue]) {
    if let ([c], [v]) = (cols, last) {
        s.ident(&c.name).push(" > ").value(v.clone(), c);
        return;
    }
    s.push("(");
    for (i, c) in cols.iter().enumerate() {
        if i > 0 {
            s.push(", ");
        }
        s.ident(&c.name);
    }
    s.push(") > (");
    for (i, (c, v)) in cols.iter().zip(last).enumerate() {
        if i > 0 {
            s.push(", ");
        }
        s.value(v.clone(), c);
    }
    s.push(")");
}
