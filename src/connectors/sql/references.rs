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
