//! Several tables' searches in one round trip. An erasure's traversal reads its tables in
//! *waves*: a table whose `via` parents have all been read can be searched, so every
//! table of a wave (the identity tables first, then their children, ...) is read by one
//! statement, `SELECT <arm>, <slots> FROM (<search of table a>) UNION ALL SELECT …`.
//! Each arm is exactly the statement the table would have sent on its own (same
//! condition, same `FOR UPDATE`, inside a sub-select, where PostgreSQL allows the lock),
//! so what is found, locked and matched is unchanged; only the round trips are fewer.
//!
//! `UNION ALL` needs one type per output column: each table's columns go into *slots*,
//! a slot holding columns of one selected type (PostgreSQL; `NULL` padding is cast to it,
//! since PostgreSQL resolves the types of nested `UNION`s pairwise) or of any type
//! (SQLite, which types values, not columns). MySQL/MariaDB keep one statement per
//! search: their `UNION` merges column types and collations (and refuses some mixes),
//! which would change what is decoded.

use super::backend::Conn;
use super::statement::{Dialect, MAX_BINDS, Stmt};
use super::value::{ColumnInfo, SqlValue};

/// Most arms in one statement (SQLite allows 500 in a compound `SELECT`).
const MAX_ARMS: usize = 100;

/// One search to run: its table's name and columns, an estimate of the values it binds
/// (to keep a statement under [`MAX_BINDS`]), and what writes its condition.
pub(crate) struct Arm<'a> {
    pub table: &'a str,
    pub columns: &'a [ColumnInfo],
    pub binds: usize,
    pub lock: bool,
    /// At most this many rows (`LIMIT`).
    pub limit: Option<usize>,
    pub condition: Box<dyn Fn(&mut Stmt) + Send + Sync + 'a>,
}

/// Whether searches can share a statement on this dialect.
pub(crate) fn supported(dialect: Dialect) -> bool {
    matches!(dialect, Dialect::Postgres | Dialect::Sqlite)
}

/// The statement one arm sends on its own: `SELECT <columns> FROM t WHERE <condition>`,
/// with `FOR UPDATE` where the dialect has it.
pub(crate) fn single(dialect: Dialect, arm: &Arm<'_>) -> Stmt {
    let mut s = Stmt::new(dialect);
    push_search(&mut s, arm);
    s
}

fn push_search(s: &mut Stmt, arm: &Arm<'_>) {
    super::select_all(s, arm.columns, arm.table);
    (arm.condition)(s);
    if let Some(n) = arm.limit {
        s.push(&format!(" LIMIT {n}"));
    }
    if arm.lock && s.dialect() != Dialect::Sqlite {
        s.push(" FOR UPDATE");
    }
}

/// The type a column is read as (one slot holds one type); `None` on SQLite.
fn slot_type(dialect: Dialect, c: &ColumnInfo) -> Option<String> {
    match dialect {
        Dialect::Sqlite => None,
        _ if c.cast.is_some() => Some("text".to_string()),
        _ => Some(c.sql_type.clone()),
    }
}

/// The rows of every arm, in order, each row with its table's columns in catalogue
/// order. With `union` (and a dialect that [`supported`]), one statement per group of
/// arms (a single arm is sent as it is); otherwise one per arm.
pub(crate) async fn fetch_all(
    conn: &mut Conn<'_>,
    arms: &[Arm<'_>],
    union: bool,
) -> Result<Vec<Vec<Vec<SqlValue>>>, (usize, sqlx::Error)> {
    let dialect = conn.dialect();
    let mut out: Vec<Vec<Vec<SqlValue>>> = Vec::with_capacity(arms.len());
    let mut start = 0;
    while start < arms.len() {
        let mut end = start + 1;
        let mut binds = arms[start].binds;
        if union && supported(dialect) {
            while end < arms.len()
                && end - start < MAX_ARMS
                && binds + arms[end].binds <= MAX_BINDS / 2
            {
                binds += arms[end].binds;
                end += 1;
            }
        }
        let group = &arms[start..end];
        if let [arm] = group {
            out.push(
                conn.fetch(single(dialect, arm))
                    .await
                    .map_err(|e| (start, e))?,
            );
        } else {
            out.extend(fetch_union(conn, group).await.map_err(|e| (start, e))?);
        }
        start = end;
    }
    Ok(out)
}

async fn fetch_union(
    conn: &mut Conn<'_>,
    arms: &[Arm<'_>],
) -> Result<Vec<Vec<Vec<SqlValue>>>, sqlx::Error> {
    let dialect = conn.dialect();
    // Slots: (type, ...); per arm, column -> slot.
    let mut slots: Vec<Option<String>> = Vec::new();
    let mut maps: Vec<Vec<usize>> = Vec::with_capacity(arms.len());
    for arm in arms {
        let mut taken = vec![false; slots.len()];
        let mut map = Vec::with_capacity(arm.columns.len());
        for c in arm.columns {
            let ty = slot_type(dialect, c);
            let free = (0..slots.len()).find(|&j| !taken[j] && slots[j] == ty);
            let j = match free {
                Some(j) => j,
                None => {
                    slots.push(ty);
                    taken.push(false);
                    slots.len() - 1
                }
            };
            taken[j] = true;
            map.push(j);
        }
        maps.push(map);
    }
    let mut s = Stmt::new(dialect);
    for (a, (arm, map)) in arms.iter().zip(&maps).enumerate() {
        if a > 0 {
            s.push(" UNION ALL ");
        }
        s.push(&format!("SELECT {a} AS rd_arm"));
        let alias = format!("rd_{a}");
        for (j, ty) in slots.iter().enumerate() {
            s.push(", ");
            match map.iter().position(|&m| m == j) {
                Some(c) => {
                    s.push(&alias).push(".").ident(&arm.columns[c].name);
                }
                None => match ty {
                    Some(ty) => {
                        s.push(&format!("CAST(NULL AS {ty})"));
                    }
                    None => {
                        s.push("NULL");
                    }
                },
            }
        }
        s.push(" FROM (");
        push_search(&mut s, arm);
        s.push(") AS ").push(&alias);
    }
    let rows = conn.fetch(s).await?;
    let mut out: Vec<Vec<Vec<SqlValue>>> = vec![Vec::new(); arms.len()];
    for row in rows {
        let Some(SqlValue::Int(a)) = row.first() else {
            continue;
        };
        let Some(map) = usize::try_from(*a).ok().and_then(|a| maps.get(a)) else {
            continue;
        };
        let values = map.iter().map(|&j| row[1 + j].clone()).collect();
        out[*a as usize].push(values);
    }
    Ok(out)
}
