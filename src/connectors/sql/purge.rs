//! Retention purges on a product database (the engine side of `src/services/retention`): the due
//! rows of one table, read in primary-key order in batches of `batch_size`, each batch
//! one short transaction.
//!
//! - **Children first.** Rows reached from a purged row through declared `via` edges
//!   (the `customer_id` of `orders` pointing at `customers.id`) follow it: they are
//!   masked when their table is declared `erase = "anonymize"`, deleted when it is
//!   `delete`, and deletes run in foreign-key order (the same order as an erasure). A
//!   policy whose purge would reach a table declared `erase = "retain"` is refused
//!   before anything runs: deleting the parent would orphan rows that must be kept.
//!   Foreign keys from tables the data map does not declare are left to the database:
//!   the batch fails with the constraint's name and the run records it.
//! - **Legal holds.** A row is kept when it, or any row it would take with it, belongs
//!   to a held subject (found by the same traversal as an access request).
//! - **Resumable.** Committed batches stay done; the next run finds what is left.
//!   `anonymize` skips rows whose masked columns already hold their mask, so a second
//!   run changes nothing and the `hash` mask is never applied twice.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::catalog::Catalog;
use super::statement::{CHUNK, Dialect, Stmt};
use super::value::{
    AMBIGUOUS_INTEGER, ColumnClass, ColumnInfo, MAX_JULIAN_DAY, MAX_UNIX_SECONDS, MIN_UNIX_SECONDS,
    SqlValue, julian_day,
};
use super::{RowFound, SqlConnector, TableFound, TablePlan, is_masked, is_reverse};
use crate::connectors::datamap::{EraseAction, RetentionAction, RetentionDecl, ScalarValue};
use crate::connectors::{ConnectorError, Hasher, Identity};

/// Why a purge did not run or stopped. Messages name connectors, tables and columns,
/// never row values.
#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    #[error("connector \"{connector}\", retention \"{policy}\": {reason}")]
    Refused {
        connector: String,
        policy: String,
        reason: String,
    },
}

/// Primary keys of the rows of subjects under legal hold, per declared table.
#[derive(Default)]
pub struct HeldRows {
    tables: HashMap<usize, HashSet<Vec<SqlValue>>>,
}

impl HeldRows {
    fn contains(&self, table: usize, key: &[SqlValue]) -> bool {
        self.tables.get(&table).is_some_and(|s| s.contains(key))
    }

    /// Rows held, over all tables.
    pub fn len(&self) -> usize {
        self.tables.values().map(HashSet::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How far a run has read: the last primary key of the policy's table it looked at.
#[derive(Default)]
pub struct PurgeCursor {
    last: Option<Vec<SqlValue>>,
    done: bool,
}

impl PurgeCursor {
    /// No due rows are left after the cursor.
    pub fn is_done(&self) -> bool {
        self.done
    }
}

/// What one batch found and did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Due rows of the policy's table in this batch (not yet masked, for `anonymize`).
    pub matched: u64,
    /// Rows purged (deleted or masked); in a dry run, the rows a real run would purge.
    pub purged: u64,
    /// Due rows kept for a legal hold.
    pub held: u64,
    /// Rows of other tables that followed the purged rows (deleted or masked).
    pub cascaded: u64,
}

/// The rows of one batch in one table, with the batch rows (indices into the policy
/// table's rows) each of them depends on.
struct Level {
    table: usize,
    found: TableFound,
    roots: Vec<BTreeSet<usize>>,
}

impl SqlConnector {
    /// The rows of the given held subjects, table by table (one read-only traversal each).
    pub async fn held_rows(&self, subjects: &[Identity]) -> Result<HeldRows, ConnectorError> {
        let mut held = HeldRows::default();
        for who in subjects {
            let tr = self.read_only_traversal(who).await?;
            for (t, found) in tr.tables.iter().enumerate() {
                let set = held.tables.entry(t).or_default();
                for row in &found.rows {
                    set.insert(found.key_of(row));
                }
            }
        }
        Ok(held)
    }

    /// The tables a purge of `policy` reaches, in traversal order (parents first), with
    /// the edges that reach them; refuses a policy that would reach a retained table.
    fn purge_reach(&self, policy: &RetentionDecl) -> Result<(usize, Vec<usize>), PurgeError> {
        let refuse = |reason: String| PurgeError::Refused {
            connector: self.decl.name().to_string(),
            policy: policy.name.clone(),
            reason,
        };
        let (t, _) = self
            .decl
            .table(&policy.table)
            .ok_or_else(|| refuse(format!("table \"{}\" is not declared", policy.table)))?;
        if policy.action == RetentionAction::Anonymize {
            return Ok((t, Vec::new()));
        }
        let decls = self.decl.tables();
        let mut reach: HashSet<usize> = HashSet::from([t]);
        let mut order = Vec::new();
        for &x in self.decl.traversal_order() {
            if x == t {
                continue;
            }
            let reached = self
                .decl
                .edges()
                .iter()
                .any(|e| e.child == x && reach.contains(&e.parent) && !is_reverse(decls, e));
            if !reached {
                continue;
            }
            if decls[x].erase == EraseAction::Retain {
                return Err(refuse(format!(
                    "table \"{}\" is declared erase = \"retain\" and is reached through `via` from \
                     table \"{}\"; deleting those rows would orphan rows that must be kept \
                     (purge \"{}\" with its own policy, or use action = \"anonymize\")",
                    decls[x].name, decls[t].name, decls[x].name
                )));
            }
            reach.insert(x);
            order.push(x);
        }
        Ok((t, order))
    }

    fn refuse_age(&self, policy: &RetentionDecl, age: &ColumnInfo) -> PurgeError {
        let hint = if self.pool.dialect() == Dialect::Sqlite {
            format!(
                "; SQLite has no date type, so declare what the column holds: \
                 [tables.fields] {} = {{ type = \"timestamp\" }} (ISO 8601 text, Unix seconds \
                 or Julian days) on table \"{}\"",
                age.name, policy.table
            )
        } else {
            String::new()
        };
        PurgeError::Refused {
            connector: self.decl.name().to_string(),
            policy: policy.name.clone(),
            reason: format!(
                "age column \"{}.{}\" has type {}; a date, a timestamp or an integer (Unix seconds) is needed{hint}",
                policy.table,
                age.name,
                if age.sql_type.is_empty() {
                    "(none)"
                } else {
                    &age.sql_type
                }
            ),
        }
    }

    /// Rows of the policy's table whose age column holds a value that is not a date
    /// (SQLite only: other databases type their columns). Such rows are never due, so
    /// a run reports them instead of skipping them silently. `sample` limits the count
    /// to the first values read (`check`); `None` counts the whole table (a run).
    pub async fn unparseable_ages(
        &self,
        policy: &RetentionDecl,
        sample: Option<u32>,
    ) -> Result<u64, ConnectorError> {
        let mut held = self
            .pool
            .acquire()
            .await
            .map_err(self.db_err("connecting"))?;
        let catalog = self.catalog(&mut held.conn()).await?;
        let age = self.column_info(&catalog, &policy.table, &policy.age_column)?;
        self.count_unparseable(&mut held.conn(), &policy.table, &age, sample)
            .await
    }

    pub(super) async fn count_unparseable(
        &self,
        conn: &mut super::backend::Conn<'_>,
        table: &str,
        col: &ColumnInfo,
        sample: Option<u32>,
    ) -> Result<u64, ConnectorError> {
        if conn.dialect() != Dialect::Sqlite || !col.class.is_date() {
            return Ok(0);
        }
        let q = Dialect::Sqlite.quote(&col.name);
        let mut s = Stmt::new(Dialect::Sqlite);
        s.push("SELECT COUNT(*) FROM (SELECT ")
            .push(&q)
            .push(" FROM ")
            .ident(table)
            .push(" WHERE ")
            .push(&q)
            .push(" IS NOT NULL");
        if let Some(n) = sample {
            s.push(&format!(" LIMIT {n}"));
        }
        s.push(") WHERE ").push(&sqlite_julian(&q)).push(" IS NULL");
        let rows = conn.fetch(s).await.map_err(self.db_err(format!(
            "checking the dates of column \"{table}.{}\"",
            col.name
        )))?;
        Ok(match rows.first().and_then(|r| r.first()) {
            Some(SqlValue::Int(n)) => u64::try_from(*n).unwrap_or(0),
            _ => 0,
        })
    }

    /// One batch of a purge: the next due rows after `cursor` (at most `batch_size`),
    /// with the rows that follow them, in one transaction. In a dry run nothing is
    /// locked or changed and the counts say what a real run would do.
    pub async fn purge_batch(
        &self,
        policy: &RetentionDecl,
        cutoff: DateTime<Utc>,
        cursor: &mut PurgeCursor,
        held: &HeldRows,
        hasher: &Hasher,
        dry_run: bool,
    ) -> Result<BatchOutcome, PurgeError> {
        let (t, reach) = self.purge_reach(policy)?;
        let decls = self.decl.tables();
        let decl = &decls[t];
        let hash_len = hasher("").len();
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(self.db_err("starting a transaction"))?;
        let catalog = self.catalog(&mut tx.conn()).await?;
        let dialect = self.pool.dialect();
        let lock = !dry_run && dialect != Dialect::Sqlite;

        // The due rows of the policy's table, in key order after the cursor.
        let mut root = self.empty_found(&catalog, t)?;
        let age = self.column_info(&catalog, &decl.name, &policy.age_column)?;
        let cutoff =
            cutoff_value(&age, cutoff, dialect).ok_or_else(|| self.refuse_age(policy, &age))?;
        let mut s = Stmt::new(dialect);
        select_list(&mut s, &root.columns);
        s.push(" FROM ").ident(&decl.name).push(" WHERE ");
        if dialect == Dialect::Sqlite && age.class.is_date() {
            // A value that is not a date gives NULL here: never due, and counted by
            // `unparseable_ages` for the run's record.
            s.push(&sqlite_julian(&dialect.quote(&age.name)));
        } else {
            s.ident(&age.name);
        }
        s.push(" < ").value(cutoff, &age);
        for (column, value) in &policy.filter {
            let info = self.column_info(&catalog, &decl.name, column)?;
            let v = self.convert(&decl.name, &info, &scalar_json(value))?;
            s.push(" AND ").ident(&info.name);
            if v.is_null() {
                s.push(" IS NULL");
            } else {
                s.push(" = ").value(v, &info);
            }
        }
        let key_cols: Vec<ColumnInfo> = root.key_columns().into_iter().cloned().collect();
        if let Some(last) = &cursor.last {
            s.push(" AND ");
            key_after(&mut s, &key_cols, last);
        }
        s.push(" ORDER BY ");
        for (i, c) in key_cols.iter().enumerate() {
            if i > 0 {
                s.push(", ");
            }
            s.ident(&c.name);
        }
        s.push(&format!(" LIMIT {}", policy.batch_size));
        if lock {
            s.push(" FOR UPDATE");
        }
        let rows = tx
            .conn()
            .fetch(s)
            .await
            .map_err(self.db_err(format!("reading due rows of table \"{}\"", decl.name)))?;
        if rows.len() < policy.batch_size as usize {
            cursor.done = true;
        }
        for values in rows {
            push_row(&mut root, values);
        }
        if let Some(last) = root.rows.last() {
            cursor.last = Some(root.key_of(last));
        }

        let mut out = BatchOutcome::default();
        if policy.action == RetentionAction::Anonymize {
            let masks = self.masked_columns(decl, &root)?;
            let due: Vec<usize> = (0..root.rows.len())
                .filter(|&i| {
                    masks.iter().any(|&(c, m)| {
                        !is_masked(&root.rows[i].values[c], m, root.columns[c].class, hash_len)
                    })
                })
                .collect();
            out.matched = due.len() as u64;
            let targets: Vec<usize> = due
                .into_iter()
                .filter(|&i| !held.contains(t, &root.key_of(&root.rows[i])))
                .collect();
            out.held = out.matched - targets.len() as u64;
            out.purged = targets.len() as u64;
            if !dry_run && !targets.is_empty() {
                let plan = TablePlan {
                    table: t,
                    action: EraseAction::Anonymize,
                    targets,
                    kept: 0,
                };
                self.anonymize_one(&mut tx.conn(), &root, &plan, &masks, hasher, hash_len)
                    .await?;
            }
        } else {
            out = self
                .purge_delete(
                    &mut tx, &catalog, t, &reach, root, held, hasher, hash_len, lock, dry_run,
                )
                .await?;
        }
        if !dry_run {
            tx.commit()
                .await
                .map_err(self.db_err("committing a purge batch"))?;
        }
        Ok(out)
    }

    /// The `delete` action: follow the batch rows into the tables they reach, keep what
    /// a hold protects, then mask and delete children first.
    #[allow(clippy::too_many_arguments)]
    async fn purge_delete(
        &self,
        tx: &mut super::backend::SqlTx,
        catalog: &Catalog,
        t: usize,
        reach: &[usize],
        root: TableFound,
        held: &HeldRows,
        hasher: &Hasher,
        hash_len: usize,
        lock: bool,
        dry_run: bool,
    ) -> Result<BatchOutcome, PurgeError> {
        let decls = self.decl.tables();
        let dialect = self.pool.dialect();
        let n_roots = root.rows.len();
        let mut levels: Vec<Level> = vec![Level {
            table: t,
            roots: (0..n_roots).map(|i| BTreeSet::from([i])).collect(),
            found: root,
        }];
        for &x in reach {
            let mut found = self.empty_found(catalog, x)?;
            let mut roots: Vec<BTreeSet<usize>> = Vec::new();
            for e in self
                .decl
                .edges()
                .iter()
                .filter(|e| e.child == x && !is_reverse(decls, e))
            {
                let Some(parent) = levels.iter().find(|l| l.table == e.parent) else {
                    continue;
                };
                let pc = parent
                    .found
                    .column(&e.parent_column)
                    .ok_or_else(|| self.missing_column(&decls[e.parent].name, &e.parent_column))?;
                let ci = found
                    .column(&e.child_column)
                    .ok_or_else(|| self.missing_column(&decls[x].name, &e.child_column))?;
                // Parent value -> the batch rows behind it.
                let mut by_value: HashMap<SqlValue, BTreeSet<usize>> = HashMap::new();
                for (r, row) in parent.found.rows.iter().enumerate() {
                    let v = &row.values[pc];
                    if !v.is_null() {
                        by_value
                            .entry(v.clone())
                            .or_default()
                            .extend(parent.roots[r].iter().copied());
                    }
                }
                let values: Vec<SqlValue> = by_value.keys().cloned().collect();
                let col = found.columns[ci].clone();
                for chunk in values.chunks(CHUNK) {
                    let mut s = Stmt::new(dialect);
                    select_list(&mut s, &found.columns);
                    s.push(" FROM ")
                        .ident(&decls[x].name)
                        .push(" WHERE ")
                        .column_in(&col, chunk);
                    if lock {
                        s.push(" FOR UPDATE");
                    }
                    let rows = tx.conn().fetch(s).await.map_err(
                        self.db_err(format!("reading rows of table \"{}\"", decls[x].name)),
                    )?;
                    for values in rows {
                        let from = by_value.get(&values[ci]).cloned().unwrap_or_default();
                        let i = push_row(&mut found, values);
                        if i == roots.len() {
                            roots.push(from);
                        } else {
                            roots[i].extend(from);
                        }
                    }
                }
            }
            levels.push(Level {
                table: x,
                found,
                roots,
            });
        }

        // Batch rows kept for a hold: held themselves, or taking a held row with them;
        // a row shared by a kept and a purged batch row keeps both.
        let mut kept: BTreeSet<usize> = BTreeSet::new();
        for l in &levels {
            for (r, row) in l.found.rows.iter().enumerate() {
                if held.contains(l.table, &l.found.key_of(row)) {
                    kept.extend(l.roots[r].iter().copied());
                }
            }
        }
        loop {
            let before = kept.len();
            for l in &levels {
                for roots in &l.roots {
                    if roots.iter().any(|r| kept.contains(r)) {
                        kept.extend(roots.iter().copied());
                    }
                }
            }
            if kept.len() == before {
                break;
            }
        }

        let mut out = BatchOutcome {
            matched: n_roots as u64,
            held: kept.len() as u64,
            purged: (n_roots - kept.len()) as u64,
            cascaded: 0,
        };
        let mut plans: Vec<(usize, TablePlan)> = Vec::new();
        for (li, l) in levels.iter().enumerate() {
            let action = if li == 0 {
                EraseAction::Delete
            } else {
                decls[l.table].erase
            };
            let free: Vec<usize> = (0..l.found.rows.len())
                .filter(|&r| !l.roots[r].iter().any(|x| kept.contains(x)))
                .collect();
            let targets = if action == EraseAction::Anonymize {
                let masks = self.erase_masks(l.table, &l.found)?;
                free.into_iter()
                    .filter(|&r| {
                        masks.iter().any(|&(c, m)| {
                            !is_masked(
                                &l.found.rows[r].values[c],
                                m,
                                l.found.columns[c].class,
                                hash_len,
                            )
                        })
                    })
                    .collect()
            } else {
                free
            };
            if li > 0 {
                out.cascaded += targets.len() as u64;
            }
            if !targets.is_empty() {
                plans.push((
                    li,
                    TablePlan {
                        table: l.table,
                        action,
                        targets,
                        kept: 0,
                    },
                ));
            }
        }
        if dry_run {
            return Ok(out);
        }
        for (li, p) in plans
            .iter()
            .filter(|(_, p)| p.action == EraseAction::Anonymize)
        {
            let found = &levels[*li].found;
            let masks = self.erase_masks(p.table, found)?;
            self.anonymize_one(&mut tx.conn(), found, p, &masks, hasher, hash_len)
                .await?;
        }
        let deletes: Vec<&TablePlan> = plans
            .iter()
            .filter(|(_, p)| p.action == EraseAction::Delete)
            .map(|(_, p)| p)
            .collect();
        for p in self.delete_order(catalog, &deletes)? {
            let Some(l) = levels.iter().find(|l| l.table == p.table) else {
                continue;
            };
            self.delete(&mut tx.conn(), &l.found, p)
                .await
                .map_err(|e| self.name_referencing_tables(e, catalog, p.table))?;
        }
        Ok(out)
    }

    /// A table's found-rows holder with its catalogue columns and key, and no rows.
    fn empty_found(&self, catalog: &Catalog, t: usize) -> Result<TableFound, ConnectorError> {
        let decl = &self.decl.tables()[t];
        let columns = catalog
            .columns(&decl.name)
            .ok_or_else(|| ConnectorError::MissingTable {
                connector: self.decl.name().to_string(),
                table: decl.name.clone(),
            })?
            .to_vec();
        let key = decl
            .primary_key
            .iter()
            .map(|k| {
                columns
                    .iter()
                    .position(|c| c.name == *k)
                    .ok_or_else(|| self.missing_column(&decl.name, k))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TableFound {
            columns,
            key,
            rows: Vec::new(),
            index: HashMap::new(),
        })
    }
}

fn select_list(s: &mut Stmt, columns: &[ColumnInfo]) {
    s.push("SELECT ");
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            s.push(", ");
        }
        s.select_column(c);
    }
}

/// Add a row (deduplicated by key); its index.
fn push_row(found: &mut TableFound, values: Vec<SqlValue>) -> usize {
    let key: Vec<SqlValue> = found.key.iter().map(|&k| values[k].clone()).collect();
    if let Some(&i) = found.index.get(&key) {
        return i;
    }
    let i = found.rows.len();
    found.index.insert(key, i);
    found.rows.push(RowFound {
        values,
        by_identity: false,
        shared: false,
        still_referenced: false,
    });
    i
}

/// `key > last` in key order: `k > ?`, or a row-value comparison for composite keys
/// (PostgreSQL, MySQL/MariaDB and SQLite 3.15+ all compare row values left to right).
fn key_after(s: &mut Stmt, cols: &[ColumnInfo], last: &[SqlValue]) {
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

/// The cutoff as a value of the age column's type: timestamps as they are (naive ones
/// in UTC), dates by their UTC day, integers as Unix seconds; on SQLite, dates and
/// timestamps as a Julian day, compared with [`sqlite_julian`]; `None` for other types.
fn cutoff_value(col: &ColumnInfo, cutoff: DateTime<Utc>, dialect: Dialect) -> Option<SqlValue> {
    if dialect == Dialect::Sqlite && col.class.is_date() {
        let at = if col.class == ColumnClass::Date {
            cutoff.date_naive().and_hms_opt(0, 0, 0)?.and_utc()
        } else {
            cutoff
        };
        return Some(SqlValue::Float(julian_day(at)));
    }
    Some(match col.class {
        ColumnClass::TimestampTz => SqlValue::TimestampTz(cutoff),
        ColumnClass::Timestamp => SqlValue::Timestamp(cutoff.naive_utc()),
        ColumnClass::Date => SqlValue::Date(cutoff.date_naive()),
        ColumnClass::Int => SqlValue::Int(cutoff.timestamp()),
        _ => return None,
    })
}

/// A SQLite date/time column `q` (quoted) as a Julian day, whatever the value's storage
/// class: TEXT in ISO 8601 or `YYYY-MM-DD HH:MM:SS[.SSS]` (naive = UTC, `julianday()`),
/// INTEGER Unix seconds, REAL Julian days (SQLite's three date forms). NULL for a value
/// that is none of these, or outside SQLite's date range (years 4713 BC to 9999), and
/// for an integer that may be a Julian day as well as Unix seconds (see
/// [`AMBIGUOUS_INTEGER`]).
fn sqlite_julian(q: &str) -> String {
    format!(
        "(CASE typeof({q}) \
         WHEN 'integer' THEN CASE WHEN {q} BETWEEN {MIN_UNIX_SECONDS} AND {MAX_UNIX_SECONDS} \
         AND {q} NOT BETWEEN 0 AND {AMBIGUOUS_INTEGER} THEN {q} / 86400.0 + 2440587.5 END \
         WHEN 'real' THEN CASE WHEN {q} BETWEEN 0 AND {MAX_JULIAN_DAY:.1} THEN {q} END \
         WHEN 'text' THEN CASE WHEN {q} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*' \
         THEN julianday({q}) END END)"
    )
}

fn scalar_json(v: &ScalarValue) -> serde_json::Value {
    match v {
        ScalarValue::Bool(b) => serde_json::Value::Bool(*b),
        ScalarValue::Int(i) => serde_json::Value::from(*i),
        ScalarValue::Float(f) => serde_json::Value::from(*f),
        ScalarValue::Text(s) => serde_json::Value::String(s.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, class: ColumnClass) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            sql_type: "t".into(),
            class,
            cast: None,
            nullable: true,
        }
    }

    #[test]
    fn keyset_condition_per_key_shape() {
        let mut s = Stmt::new(Dialect::Postgres);
        key_after(&mut s, &[col("id", ColumnClass::Int)], &[SqlValue::Int(7)]);
        assert_eq!(s.sql, "\"id\" > $1");
        let mut s = Stmt::new(Dialect::MySql);
        key_after(
            &mut s,
            &[col("a", ColumnClass::Text), col("b", ColumnClass::Int)],
            &[SqlValue::Text("x".into()), SqlValue::Int(1)],
        );
        assert_eq!(s.sql, "(`a`, `b`) > (?, ?)");
    }

    #[test]
    fn cutoff_fits_the_age_column() {
        let t: DateTime<Utc> = "2026-01-31T10:00:00Z".parse().unwrap();
        assert!(matches!(
            cutoff_value(&col("t", ColumnClass::Timestamp), t, Dialect::Sqlite),
            Some(SqlValue::Float(jd)) if (jd - julian_day(t)).abs() < 1e-9
        ));
        assert!(matches!(
            cutoff_value(&col("d", ColumnClass::Date), t, Dialect::Postgres),
            Some(SqlValue::Date(d)) if d.to_string() == "2026-01-31"
        ));
        assert!(matches!(
            cutoff_value(&col("n", ColumnClass::Int), t, Dialect::Sqlite),
            Some(SqlValue::Int(n)) if n == t.timestamp()
        ));
        assert!(cutoff_value(&col("x", ColumnClass::Text), t, Dialect::Sqlite).is_none());
    }
}
