//! Several subjects' erasures as one (PostgreSQL): one traversal for all of them, so that
//! each table and edge costs one search for the whole batch, and the shared-row check's
//! reference counts (sequential scans where the referencing column has no index) are
//! counted once per batch instead of once per subject.
//!
//! The traversal searches for every subject's spellings at once and follows every row
//! found (see [`SqlConnector::erase_together`]). Its rows are then split per subject in
//! memory, by the same rules the traversal applies in the database: a table's rows whose
//! identity column holds the subject's address, and rows whose `via` column holds a value
//! of the subject's own (not shared) parent rows, table by table in the data map's order;
//! then the shared-row check per subject, from the batch's counts. The subjects are taken
//! in order, each as if the ones before it were already erased, which is what erasing
//! them one after the other does: references that an earlier subject's erasure removes
//! (its rows deleted, or their referencing column masked) no longer count. An address
//! two subjects of the batch share is kept by the first (the second still lives there)
//! and erased by the second, as in two erasures in a row; if the second's erasure fails,
//! the batch is given up (below) and the first, erased alone, keeps it.
//!
//! The split never finds more than the database does (it only sorts the batch's rows),
//! and every row the batch found must belong to some subject: a row no subject claims
//! means the database compared values differently from the split (a collation, a type),
//! and the batch is given up for one erasure per subject. So is a batch where a table may
//! be large (see [`large`](super::large)), where two subjects would change the same row,
//! where a table's masks change fewer rows than the subjects' plans (a mask with nothing
//! left to write),
//! where two subjects reach the same row that references others (the counts above
//! would then be off), or where any statement fails: the transaction is rolled back and every subject is
//! erased alone, so a failure (a trigger refusing one subject's rows) stays that
//! subject's. One transaction for the batch rather than one per subject: the changes of
//! all subjects go in one statement, which savepoints could not split.

use std::collections::{HashMap, HashSet};

use super::statement::Dialect;
use super::value::SqlValue;
use super::{
    Read, SharedCheck, SharedEdge, SqlConnector, TableFound, TablePlan, Totals, Traversal,
    insert_row, is_reverse, matched,
};
use crate::connectors::datamap::EraseAction;
use crate::connectors::{AccessResult, ConnectorError, ErasureEvidence, Hasher, Identity};

impl SqlConnector {
    /// Erase each of `whos` (an answer per subject, in order): together when they can
    /// go together (see the module documentation), otherwise one after the other.
    pub async fn erase_many(
        &self,
        whos: &[Identity],
        hasher: &Hasher,
    ) -> Vec<Result<ErasureEvidence, ConnectorError>> {
        if whos.len() > 1 {
            match self.erase_together(whos, hasher).await {
                Ok(Some(all)) => return all.into_iter().map(Ok).collect(),
                Ok(None) => {}
                Err(e) => tracing::warn!(
                    connector = %self.decl.name(),
                    subjects = whos.len(),
                    error = %e,
                    "erasing subjects together failed; erasing each alone"
                ),
            }
        }
        let mut out = Vec::with_capacity(whos.len());
        for who in whos {
            out.push(self.erase(who, hasher).await);
        }
        out
    }

    /// Erase every subject of `whos` in one transaction, with one traversal before and
    /// one after for all of them. `None` (nothing changed) when the batch cannot go
    /// together: fewer than two subjects, a database other than PostgreSQL, a table
    /// that may be large, two subjects changing the same row, or a row the split per
    /// subject does not account for. An error rolls the whole batch back.
    pub async fn erase_together(
        &self,
        whos: &[Identity],
        hasher: &Hasher,
    ) -> Result<Option<Vec<ErasureEvidence>>, ConnectorError> {
        if whos.len() < 2 || self.pool.dialect() != Dialect::Postgres {
            return Ok(None);
        }
        let hash_len = hasher("").len();
        let decls = self.decl.tables();
        let all = Identity::all_of(whos);
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(self.db_err("starting a transaction"))?;
        let catalog = self.catalog(&mut tx.conn()).await?;
        let lock = self.erase_locks();
        let mut totals = Totals::new();
        let before = self
            .traverse_recording(
                &mut tx.conn(),
                &catalog,
                &all,
                &lock,
                SharedCheck::All,
                None,
                true,
                Some(&self.probes()),
                Some(&mut totals),
            )
            .await?;
        if before.large.iter().any(|&l| l) {
            return Ok(None);
        }

        // Each subject's own traversal and plan, and the rows each will change; each
        // subject's counts without the references the ones before it remove.
        let mut claimed = unclaimed(&before);
        let mut released = Totals::new();
        let mut referencing: HashMap<usize, HashSet<Vec<SqlValue>>> = HashMap::new();
        let mut subjects: Vec<(Traversal, Vec<TablePlan>)> = Vec::with_capacity(whos.len());
        for who in whos {
            let Some(tr) = self.split(
                &before,
                who,
                SharedCheck::All,
                (&totals, &released),
                None,
                &mut claimed,
            )?
            else {
                return Ok(None);
            };
            if !self.release(&tr, &mut released, &mut referencing) {
                return Ok(None);
            }
            let plans = self.plan(&tr, hash_len)?;
            subjects.push((tr, plans));
        }
        if claimed.iter().flatten().any(|c| !c) {
            return Ok(None);
        }
        let mut changed_by: Vec<HashMap<Vec<SqlValue>, usize>> = vec![HashMap::new(); decls.len()];
        let mut targets: Vec<Vec<HashSet<Vec<SqlValue>>>> =
            vec![vec![HashSet::new(); decls.len()]; whos.len()];
        for (s, (tr, plans)) in subjects.iter().enumerate() {
            for p in plans {
                let found = &tr.tables[p.table];
                for &i in &p.targets {
                    let key = found.key_of(&found.rows[i]);
                    if changed_by[p.table].insert(key.clone(), s).is_some() {
                        return Ok(None);
                    }
                    targets[s][p.table].insert(key);
                }
            }
        }

        // Every row changed, as one plan per table over the batch's traversal.
        let acted: Vec<TablePlan> = (0..decls.len())
            .map(|t| {
                let found = &before.tables[t];
                let mut rows: Vec<usize> = changed_by[t]
                    .keys()
                    .filter_map(|k| found.index.get(k).copied())
                    .collect();
                rows.sort_unstable();
                TablePlan {
                    table: t,
                    action: decls[t].erase,
                    targets: rows,
                    kept: 0,
                }
            })
            .collect();

        // Masks: every subject's rows of a table in one part (see `anonymize`; parts
        // per subject made the statement's planning its cost). A row is changed once,
        // so when a table's count is the sum of the subjects' rows, each subject's
        // count is its own rows.
        let masking = self.mask_work(&before, &acted)?;
        let counts = self
            .anonymize(&mut tx.conn(), &masking, hasher, hash_len)
            .await?;
        let mut affected: Vec<HashMap<usize, u64>> = vec![HashMap::new(); whos.len()];
        for (work, n) in masking.iter().zip(counts) {
            let t = work.1.table;
            let planned: u64 = subjects
                .iter()
                .map(|(_, plans)| plans[t].targets.len() as u64)
                .sum();
            if n != planned {
                return Ok(None);
            }
            for (s, (_, plans)) in subjects.iter().enumerate() {
                if !plans[t].targets.is_empty() {
                    affected[s].insert(t, plans[t].targets.len() as u64);
                }
            }
        }
        drop(masking);
        for (s, (tr, plans)) in subjects.iter().enumerate() {
            let to_delete: Vec<&TablePlan> = plans
                .iter()
                .filter(|p| p.action == EraseAction::Delete && !p.targets.is_empty())
                .collect();
            for p in self.delete_order(&catalog, &to_delete)? {
                let n = self
                    .delete(&mut tx.conn(), &tr.tables[p.table], p)
                    .await
                    .map_err(|e| self.name_referencing_tables(e, &catalog, p.table))?;
                affected[s].insert(p.table, n);
            }
        }

        // The search after, for all subjects, with every changed row read again.
        let no_lock = vec![false; decls.len()];
        let full = vec![Read::Full; decls.len()];
        let after = self
            .traverse_with(
                &mut tx.conn(),
                &catalog,
                &all,
                &no_lock,
                SharedCheck::Never,
                Some((&before, &acted)),
                true,
                Some(&full),
            )
            .await?;
        let mut claimed = unclaimed(&after);
        let mut evidence = Vec::with_capacity(whos.len());
        for (s, (tr, plans)) in subjects.iter().enumerate() {
            let Some(after) = self.split(
                &after,
                &whos[s],
                SharedCheck::Never,
                (&Totals::new(), &Totals::new()),
                Some(&targets[s]),
                &mut claimed,
            )?
            else {
                return Ok(None);
            };
            evidence.push(self.erasure_evidence(
                tr,
                plans,
                &after,
                &affected[s],
                &HashMap::new(),
                HashMap::new(),
                hash_len,
            )?);
        }
        if claimed.iter().flatten().any(|c| !c) {
            return Ok(None);
        }
        tx.commit()
            .await
            .map_err(self.db_err("committing the erasure"))?;
        Ok(Some(evidence))
    }

    /// Add to `released` the references the erasure of the subject of `tr` removes, per
    /// reverse edge and value (the rule of [`Self::apply_shared`]). `false` when a row
    /// holding such references was reached by an earlier subject too (its keys per
    /// table are in `referencing`), whose removal would then be counted twice.
    fn release(
        &self,
        tr: &Traversal,
        released: &mut Totals,
        referencing: &mut HashMap<usize, HashSet<Vec<SqlValue>>>,
    ) -> bool {
        let decls = self.decl.tables();
        let mut parents = HashSet::new();
        for (ei, e) in self.decl.edges().iter().enumerate() {
            if !is_reverse(decls, e) {
                continue;
            }
            parents.insert(e.parent);
            let parent_decl = &decls[e.parent];
            let parent = &tr.tables[e.parent];
            let Some(pc) = parent.column(&e.parent_column) else {
                return false;
            };
            for r in &parent.rows {
                let releases = match parent_decl.erase {
                    EraseAction::Delete => !r.still_referenced,
                    EraseAction::Anonymize => {
                        !r.shared && parent_decl.mask_of(&e.parent_column).is_some()
                    }
                    EraseAction::Retain => false,
                };
                if releases && !r.values[pc].is_null() {
                    *released
                        .entry(ei)
                        .or_default()
                        .entry(r.values[pc].clone())
                        .or_default() += 1;
                }
            }
        }
        for p in parents {
            let found = &tr.tables[p];
            let seen = referencing.entry(p).or_default();
            for r in &found.rows {
                if !seen.insert(found.key_of(r)) {
                    return false;
                }
            }
        }
        true
    }

    /// The access results of every subject of `whos` (in order) from one read-only
    /// traversal for all of them, split per subject (see the module documentation):
    /// nothing is changed, so each subject's shared rows are its own, as when read
    /// alone. `None` when they cannot be read together: fewer than two subjects, a
    /// database other than PostgreSQL, a table that may be large (read alone, such a
    /// subject streams), or a row the split does not account for.
    pub async fn access_together(
        &self,
        whos: &[Identity],
    ) -> Result<Option<Vec<AccessResult>>, ConnectorError> {
        if whos.len() < 2 || self.pool.dialect() != Dialect::Postgres {
            return Ok(None);
        }
        let all = Identity::all_of(whos);
        let mut held = self
            .pool
            .acquire()
            .await
            .map_err(self.db_err("connecting"))?;
        let catalog = self.catalog(&mut held.conn()).await?;
        let no_lock = vec![false; self.decl.tables().len()];
        let mut totals = Totals::new();
        let u = self
            .traverse_recording(
                &mut held.conn(),
                &catalog,
                &all,
                &no_lock,
                SharedCheck::WhereFollowed,
                None,
                true,
                Some(&self.probes()),
                Some(&mut totals),
            )
            .await?;
        drop(held);
        if u.large.iter().any(|&l| l) {
            return Ok(None);
        }
        let mut claimed = unclaimed(&u);
        let mut out = Vec::with_capacity(whos.len());
        for who in whos {
            let Some(tr) = self.split(
                &u,
                who,
                SharedCheck::WhereFollowed,
                (&totals, &Totals::new()),
                None,
                &mut claimed,
            )?
            else {
                return Ok(None);
            };
            out.push(self.access_result(&tr));
        }
        if claimed.iter().flatten().any(|c| !c) {
            return Ok(None);
        }
        Ok(Some(out))
    }

    /// One subject's part of a traversal `u` made for several (see the module
    /// documentation), with the shared-row check `check` from the counts the traversal
    /// kept less the references removed by the subjects before (`(totals, released)`).
    /// Every row of `u` taken is set in `claimed`. With `reread`, the
    /// rows `u` read again are kept for the subject when their key is in its set for the
    /// table. `None` when the split cannot be made exactly (a count it needs was not
    /// made, a table that is its own `via` parent, more rows than one subject may hold).
    fn split(
        &self,
        u: &Traversal,
        who: &Identity,
        check: SharedCheck,
        (totals, released): (&Totals, &Totals),
        reread: Option<&[HashSet<Vec<SqlValue>>]>,
        claimed: &mut [Vec<bool>],
    ) -> Result<Option<Traversal>, ConnectorError> {
        let decls = self.decl.tables();
        let max_rows = self.max_rows.load(std::sync::atomic::Ordering::Relaxed);
        let empty = |f: &TableFound| TableFound {
            columns: f.columns.clone(),
            key: f.key.clone(),
            rows: Vec::new(),
            index: HashMap::new(),
        };
        let mut tables: Vec<TableFound> = u.tables.iter().map(empty).collect();
        let mut total: u64 = 0;
        for &t in self.decl.traversal_order() {
            let decl = &decls[t];
            let mut found = empty(&u.tables[t]);
            let identity_cols = self.identity_columns(decl, &found)?;
            // The values of the subject's own parent rows each `via` column is searched
            // with (shared rows are not followed).
            let mut via: Vec<(usize, HashSet<&SqlValue>)> = Vec::new();
            for v in &decl.via {
                let ci = found
                    .column(&v.column)
                    .ok_or_else(|| self.missing_column(&decl.name, &v.column))?;
                let mut values = HashSet::new();
                for parent in &v.parents {
                    let Some((pi, _)) = self.decl.table(&parent.table) else {
                        return Ok(None);
                    };
                    if pi == t {
                        return Ok(None);
                    }
                    let prows = &tables[pi];
                    let pc = prows
                        .column(&parent.column)
                        .ok_or_else(|| self.missing_column(&parent.table, &parent.column))?;
                    values.extend(
                        prows
                            .rows
                            .iter()
                            .filter(|r| !r.shared && !r.values[pc].is_null())
                            .map(|r| &r.values[pc]),
                    );
                }
                via.push((ci, values));
            }
            for (i, row) in u.tables[t].rows.iter().enumerate() {
                let by_identity =
                    !identity_cols.is_empty() && matched(&row.values, &identity_cols, who);
                if by_identity || via.iter().any(|(c, vs)| vs.contains(&row.values[*c])) {
                    claimed[t][i] = true;
                    insert_row(&mut found, row.values.clone(), &identity_cols, who);
                }
            }
            drop(via);
            let checked = match check {
                SharedCheck::All => true,
                SharedCheck::WhereFollowed => self.decl.edges().iter().any(|e| e.parent == t),
                SharedCheck::Never => false,
            };
            if checked {
                let mut edges = Vec::new();
                let mut counts = Vec::new();
                for (ei, e) in self.decl.edges().iter().enumerate() {
                    if e.child != t || !is_reverse(decls, e) {
                        continue;
                    }
                    let ci = found
                        .column(&e.child_column)
                        .ok_or_else(|| self.missing_column(&decl.name, &e.child_column))?;
                    let pc = tables[e.parent].column(&e.parent_column).ok_or_else(|| {
                        self.missing_column(&decls[e.parent].name, &e.parent_column)
                    })?;
                    let needed = found
                        .rows
                        .iter()
                        .filter(|r| !r.by_identity && !r.values[ci].is_null())
                        .map(|r| &r.values[ci]);
                    let mut left: HashMap<SqlValue, i64> = HashMap::new();
                    for v in needed {
                        let Some(&n) = totals.get(&ei).and_then(|c| c.get(v)) else {
                            return Ok(None);
                        };
                        let gone = released.get(&ei).and_then(|r| r.get(v)).copied();
                        left.insert(v.clone(), n - gone.unwrap_or(0));
                    }
                    edges.push(SharedEdge {
                        edge: ei,
                        child_column: ci,
                        parent_column: pc,
                    });
                    counts.push(left);
                }
                let counts: Vec<&HashMap<SqlValue, i64>> = counts.iter().collect();
                self.apply_shared(&mut found, &tables, &edges, &counts);
            }
            total += found.rows.len() as u64;
            if total > max_rows {
                return Ok(None);
            }
            tables[t] = found;
        }
        let reread = match reread {
            Some(keys) => u
                .reread
                .iter()
                .enumerate()
                .map(|(t, rows)| {
                    let f = &u.tables[t];
                    rows.iter()
                        .filter(|values| {
                            let key: Vec<SqlValue> =
                                f.key.iter().map(|&k| values[k].clone()).collect();
                            keys[t].contains(&key)
                        })
                        .cloned()
                        .collect()
                })
                .collect(),
            None => vec![Vec::new(); decls.len()],
        };
        Ok(Some(Traversal {
            tables,
            reread,
            large: vec![false; decls.len()],
        }))
    }
}

/// Per table of `u`, a flag per row: not yet taken by any subject's split.
fn unclaimed(u: &Traversal) -> Vec<Vec<bool>> {
    u.tables.iter().map(|f| vec![false; f.rows.len()]).collect()
}
