//! The index advisor behind `rightsdesk check` and the portal's connectors page: every
//! column a traversal or a retention purge filters on, checked against the product
//! database's own indexes; for each one that no index serves, the statement that creates
//! one and the table's row estimate.
//!
//! What the engine filters on (see `traverse_with`, `mark_shared` and `purge`):
//! - **identity** columns, searched the way [`super::matching`] decides: `lower(col)`, the
//!   column itself under a case-blind collation, or MySQL/MariaDB's generated column;
//! - **via** columns: `child.col IN (parent values)`, in traversals and in purges;
//! - **reference-count** columns: for a `via` edge that reaches a row by its own key
//!   through a parent's column, `SELECT col, COUNT(*) FROM parent WHERE col IN (..)`;
//! - **retention age** columns: `age < cutoff ... ORDER BY key LIMIT n`.
//!
//! An index serves a plain column when its *first* column is that column and it is not
//! partial (a primary key counts, and so does SQLite's `INTEGER PRIMARY KEY` rowid). On
//! PostgreSQL the access method must fit the comparison: B-tree for everything, hash for
//! equality only, BRIN for the age range. On SQLite a date-typed age column is compared
//! through an expression that reads all three of SQLite's date forms, which no index on
//! the column serves: it is not advised (an integer age column, Unix seconds, is).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::backend::Conn;
use super::catalog::Catalog;
use super::matching::{Matching, Search};
use super::statement::{Dialect, Stmt};
use super::value::{ColumnInfo, SqlValue};
use super::{SqlConnector, is_reverse};
use crate::connectors::ConnectorError;
use crate::connectors::datamap::{ConnectorDecl, IdentityType};

/// Why a column is filtered on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterUse {
    Identity,
    Via,
    ReferenceCount,
    RetentionAge,
}

impl FilterUse {
    fn label(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Via => "via",
            Self::ReferenceCount => "reference-count",
            Self::RetentionAge => "retention age",
        }
    }

    /// Whether the queries of this use compare by equality (`IN`), not by range.
    fn equality(self) -> bool {
        !matches!(self, Self::RetentionAge)
    }
}

/// One column (or expression of it) that the engine filters on and no index serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexAdvice {
    pub table: String,
    pub column: String,
    /// What the queries compare, as SQL: the column, `lower(column)`, or (MySQL/MariaDB)
    /// the generated column that holds `LOWER(column)`.
    pub compares: String,
    pub uses: Vec<FilterUse>,
    /// The table's row estimate (PostgreSQL `reltuples`, MySQL/MariaDB `TABLE_ROWS`,
    /// SQLite `sqlite_stat1` or a count); `None` when the database has none yet (a
    /// PostgreSQL table never analysed).
    pub rows: Option<u64>,
    /// The statement that creates a serving index.
    pub statement: String,
}

impl fmt::Display for IndexAdvice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let uses: Vec<&str> = self.uses.iter().map(|u| u.label()).collect();
        let what = if self.compares == self.column {
            "its searches"
        } else {
            "its case-insensitive match"
        };
        let size = match self.rows {
            Some(n) => format!("about {n} rows"),
            None => "size not yet estimated".to_string(),
        };
        write!(
            f,
            "{} column \"{}.{}\" has no index {what} can use (each such query reads the whole table, {size}); create one with: {}",
            uses.join(" and "),
            self.table,
            self.column,
            self.statement
        )
    }
}

/// What the engine compares for one need.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Compare {
    Plain,
    Lower,
    Generated(String),
}

// The first column of every usable (not partial) index, per table.
const PG_FIRST_COLUMNS: &str = "SELECT c.relname::text, a.attname::text, am.amname::text \
     FROM pg_catalog.pg_index i \
     JOIN pg_catalog.pg_class c ON c.oid = i.indrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid \
     JOIN pg_catalog.pg_am am ON am.oid = ic.relam \
     JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0] \
     WHERE n.nspname = current_schema() AND i.indpred IS NULL AND i.indisvalid";
const MYSQL_FIRST_COLUMNS: &str = "SELECT TABLE_NAME, COALESCE(COLUMN_NAME, ''), INDEX_TYPE \
     FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND SEQ_IN_INDEX = 1";
const SQLITE_FIRST_COLUMNS: &str = "SELECT m.name, COALESCE(x.name, ''), 'btree' \
     FROM sqlite_master m JOIN pragma_index_list(m.name) l JOIN pragma_index_xinfo(l.name) x \
     WHERE m.type = 'table' AND x.seqno = 0 AND l.partial = 0 \
     UNION ALL \
     SELECT m.name, p.name, 'rowid' FROM sqlite_master m JOIN pragma_table_info(m.name) p \
     WHERE m.type = 'table' AND p.pk = 1 AND upper(p.type) = 'INTEGER' \
     AND (SELECT COUNT(*) FROM pragma_table_info(m.name) q WHERE q.pk > 0) = 1";

// Names an index may not take (PostgreSQL: any relation of the schema; MySQL: per table,
// taken here schema-wide to stay simple; SQLite: any object).
const PG_NAMES: &str = "SELECT c.relname::text FROM pg_catalog.pg_class c \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()";
const MYSQL_NAMES: &str =
    "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()";
const SQLITE_NAMES: &str = "SELECT name FROM sqlite_master";

// Row estimates.
const PG_ROWS: &str = "SELECT c.relname::text, c.reltuples::bigint::text \
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'm')";
const MYSQL_ROWS: &str = "SELECT TABLE_NAME, COALESCE(CAST(TABLE_ROWS AS CHAR), '') \
     FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()";
const SQLITE_HAS_STAT1: &str =
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'";
const SQLITE_STAT1: &str = "SELECT tbl, stat FROM sqlite_stat1";

/// Longest index name: PostgreSQL truncates at 63 bytes, MySQL refuses more than 64.
const MAX_NAME: usize = 63;

/// The indexes of the connection's schema that matter to the advisor.
struct Indexes {
    /// `(table, first column)` -> access methods of the indexes that start with it.
    first: HashMap<(String, String), Vec<String>>,
    names: HashSet<String>,
}

impl Indexes {
    async fn load(conn: &mut Conn<'_>) -> Result<Self, sqlx::Error> {
        let (first_sql, names_sql) = match conn.dialect() {
            Dialect::Postgres => (PG_FIRST_COLUMNS, PG_NAMES),
            Dialect::MySql => (MYSQL_FIRST_COLUMNS, MYSQL_NAMES),
            Dialect::Sqlite => (SQLITE_FIRST_COLUMNS, SQLITE_NAMES),
        };
        let mut first: HashMap<(String, String), Vec<String>> = HashMap::new();
        for row in conn.fetch_text(first_sql).await? {
            if let [table, column, method, ..] = row.as_slice()
                && !column.is_empty()
            {
                first
                    .entry((table.clone(), column.clone()))
                    .or_default()
                    .push(method.to_ascii_lowercase());
            }
        }
        let names = conn
            .fetch_text(names_sql)
            .await?
            .into_iter()
            .filter_map(|r| r.into_iter().next())
            .map(|n| n.to_ascii_lowercase())
            .collect();
        Ok(Self { first, names })
    }

    /// Whether an index serves `column` for every one of `uses`.
    fn serves(&self, table: &str, column: &str, uses: &BTreeSet<FilterUse>) -> bool {
        let Some(methods) = self.first.get(&(table.to_string(), column.to_string())) else {
            return false;
        };
        methods.iter().any(|m| {
            uses.iter().all(|u| match m.as_str() {
                // MySQL/MariaDB: BTREE, HASH (MEMORY tables); FULLTEXT and SPATIAL serve
                // neither `IN` nor `<`.
                "btree" | "rowid" => true,
                "hash" => u.equality(),
                "brin" => !u.equality(),
                _ => false,
            })
        })
    }

    /// A free index name from `base`, at most [`MAX_NAME`] bytes, remembered as taken.
    fn claim(&mut self, base: &str) -> String {
        let fit = |s: &str, suffix: &str| {
            let mut cut = MAX_NAME.saturating_sub(suffix.len()).min(s.len());
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("{}{suffix}", &s[..cut])
        };
        let mut name = fit(base, "");
        let mut n = 2;
        while self.names.contains(&name.to_ascii_lowercase()) {
            name = fit(base, &format!("_{n}"));
            n += 1;
        }
        self.names.insert(name.to_ascii_lowercase());
        name
    }
}

/// Every `(table, column)` the engine filters on, and why.
pub(crate) fn filtered_columns(
    decl: &ConnectorDecl,
) -> BTreeMap<(String, String), BTreeSet<FilterUse>> {
    let mut out: BTreeMap<(String, String), BTreeSet<FilterUse>> = BTreeMap::new();
    let mut add = |t: &str, c: &str, u: FilterUse| {
        out.entry((t.to_string(), c.to_string()))
            .or_default()
            .insert(u);
    };
    let tables = decl.tables();
    for t in tables {
        for (IdentityType::Email, c) in &t.identities {
            add(&t.name, c, FilterUse::Identity);
        }
        for via in &t.via {
            add(&t.name, &via.column, FilterUse::Via);
        }
    }
    for e in decl.edges() {
        if is_reverse(tables, e) {
            add(
                &tables[e.parent].name,
                &e.parent_column,
                FilterUse::ReferenceCount,
            );
        }
    }
    for r in decl.retention() {
        add(&r.table, &r.age_column, FilterUse::RetentionAge);
    }
    out
}

/// One index to advise before its name and row estimate are known.
struct Need {
    table: String,
    column: String,
    compare: Compare,
    uses: BTreeSet<FilterUse>,
}

fn needs(
    decl: &ConnectorDecl,
    dialect: Dialect,
    catalog: &Catalog,
    matching: &Matching,
    indexes: &Indexes,
) -> Vec<Need> {
    let mut grouped: BTreeMap<(String, String, Compare), BTreeSet<FilterUse>> = BTreeMap::new();
    for ((table, column), uses) in filtered_columns(decl) {
        let mut plain = BTreeSet::new();
        for u in uses {
            match u {
                FilterUse::Identity => {
                    let m = matching.column(&table, &column);
                    if m.indexed {
                        continue;
                    }
                    match m.search {
                        Search::Column { .. } | Search::Ranges | Search::Walked(_) => {
                            plain.insert(u);
                        }
                        Search::Lower => {
                            grouped
                                .entry((table.clone(), column.clone(), Compare::Lower))
                                .or_default()
                                .insert(u);
                        }
                        Search::Generated(g) => {
                            grouped
                                .entry((table.clone(), column.clone(), Compare::Generated(g)))
                                .or_default()
                                .insert(u);
                        }
                    }
                }
                FilterUse::RetentionAge
                    if dialect == Dialect::Sqlite
                        && catalog
                            .column(&table, &column)
                            .is_some_and(|c| c.class.is_date()) => {}
                _ => {
                    plain.insert(u);
                }
            }
        }
        if !plain.is_empty() && !indexes.serves(&table, &column, &plain) {
            grouped
                .entry((table.clone(), column.clone(), Compare::Plain))
                .or_default()
                .extend(plain);
        }
    }
    grouped
        .into_iter()
        .map(|((table, column, compare), uses)| Need {
            table,
            column,
            compare,
            uses,
        })
        .collect()
}

/// The statement that creates an index serving `need`.
fn statement(
    dialect: Dialect,
    need: &Need,
    info: Option<&ColumnInfo>,
    catalog: &Catalog,
    indexes: &mut Indexes,
) -> String {
    let q = |s: &str| dialect.quote(s);
    let (t, c) = (need.table.as_str(), need.column.as_str());
    // MySQL indexes TEXT and BLOB columns only by a prefix (enough for `IN`).
    let mysql_key = |column: &str, ty: &str| {
        let ty = ty.to_ascii_lowercase();
        if ty.contains("text") || ty.contains("blob") {
            format!("{}(255)", q(column))
        } else {
            q(column)
        }
    };
    let ty = info.map(|i| i.sql_type.clone()).unwrap_or_default();
    match (&need.compare, dialect) {
        (Compare::Plain, Dialect::Postgres) => {
            let name = indexes.claim(&format!("{t}_{c}_idx"));
            format!(
                "CREATE INDEX CONCURRENTLY {} ON {} ({});",
                q(&name),
                q(t),
                q(c)
            )
        }
        (Compare::Plain, Dialect::MySql) => {
            let name = indexes.claim(&format!("{t}_{c}_idx"));
            format!(
                "CREATE INDEX {} ON {} ({});",
                q(&name),
                q(t),
                mysql_key(c, &ty)
            )
        }
        (Compare::Plain, Dialect::Sqlite) => {
            let name = indexes.claim(&format!("{t}_{c}_idx"));
            format!(
                "CREATE INDEX IF NOT EXISTS {} ON {} ({});",
                q(&name),
                q(t),
                q(c)
            )
        }
        (Compare::Lower, Dialect::Postgres) => {
            let name = indexes.claim(&format!("{t}_{c}_lower_idx"));
            format!(
                "CREATE INDEX CONCURRENTLY {} ON {} (lower({}));",
                q(&name),
                q(t),
                q(c)
            )
        }
        (Compare::Lower, Dialect::Sqlite) => {
            let name = indexes.claim(&format!("{t}_{c}_lower_idx"));
            format!(
                "CREATE INDEX IF NOT EXISTS {} ON {} (lower({}));",
                q(&name),
                q(t),
                q(c)
            )
        }
        (Compare::Lower, Dialect::MySql) => {
            // MariaDB and MySQL 5.7 index no expression: a virtual generated column holds
            // LOWER(col), and the engine searches it once it exists (see `matching`).
            let ty = if ty.is_empty() {
                "varchar(255)".into()
            } else {
                ty
            };
            let mut generated = format!("{c}_lower");
            let mut n = 2;
            while catalog.column(t, &generated).is_some() {
                generated = format!("{c}_lower_{n}");
                n += 1;
            }
            let name = indexes.claim(&format!("{t}_{c}_lower_idx"));
            format!(
                "ALTER TABLE {} ADD COLUMN {} {ty} AS (LOWER({})) VIRTUAL, ADD INDEX {} ({});",
                q(t),
                q(&generated),
                q(c),
                q(&name),
                mysql_key(&generated, &ty)
            )
        }
        (Compare::Generated(g), _) => {
            let gty = catalog
                .column(t, g)
                .map(|i| i.sql_type.clone())
                .unwrap_or_default();
            let name = indexes.claim(&format!("{t}_{c}_lower_idx"));
            format!(
                "ALTER TABLE {} ADD INDEX {} ({});",
                q(t),
                q(&name),
                mysql_key(g, &gty)
            )
        }
    }
}

/// Row estimates of `tables` (absent: unknown).
async fn row_estimates(
    conn: &mut Conn<'_>,
    tables: &BTreeSet<String>,
) -> Result<HashMap<String, u64>, sqlx::Error> {
    let mut out = HashMap::new();
    if tables.is_empty() {
        return Ok(out);
    }
    let parse = |rows: Vec<Vec<String>>, out: &mut HashMap<String, u64>| {
        for row in rows {
            if let [t, n, ..] = row.as_slice()
                && tables.contains(t)
                // PostgreSQL's -1: never vacuumed or analysed, no estimate yet.
                && let Ok(n) = n.trim().parse::<i64>()
                && n >= 0
            {
                out.insert(t.clone(), n as u64);
            }
        }
    };
    match conn.dialect() {
        Dialect::Postgres => parse(conn.fetch_text(PG_ROWS).await?, &mut out),
        Dialect::MySql => parse(conn.fetch_text(MYSQL_ROWS).await?, &mut out),
        Dialect::Sqlite => {
            if !conn.fetch_text(SQLITE_HAS_STAT1).await?.is_empty() {
                // `stat` starts with the table's row count (ANALYZE's figure).
                let rows = conn
                    .fetch_text(SQLITE_STAT1)
                    .await?
                    .into_iter()
                    .map(|r| {
                        let n = r
                            .get(1)
                            .and_then(|s| s.split_whitespace().next())
                            .unwrap_or("")
                            .to_string();
                        vec![r.first().cloned().unwrap_or_default(), n]
                    })
                    .collect();
                parse(rows, &mut out);
            }
            let uncounted: Vec<&String> = tables.iter().filter(|t| !out.contains_key(*t)).collect();
            for t in uncounted {
                let mut s = Stmt::new(Dialect::Sqlite);
                s.push("SELECT COUNT(*) FROM ").ident(t);
                if let Some(row) = conn.fetch(s).await?.into_iter().next()
                    && let Some(SqlValue::Int(n)) = row.into_iter().next()
                {
                    out.insert(t.clone(), n.max(0) as u64);
                }
            }
        }
    }
    Ok(out)
}

impl SqlConnector {
    /// Every column this connector's traversals and purges filter on that no index
    /// serves, with the statement that creates one and the table's row estimate (see
    /// the module documentation). Read fresh from the database: a running service picks
    /// a new index up on restart.
    pub async fn index_advisor(&self) -> Result<Vec<IndexAdvice>, ConnectorError> {
        let mut held = self
            .pool
            .acquire()
            .await
            .map_err(self.db_err("connecting"))?;
        let mut conn = held.conn();
        let dialect = conn.dialect();
        let catalog = Catalog::load_for(&mut conn, &self.decl)
            .await
            .map_err(self.db_err("reading the catalogue"))?;
        let matching = Matching::load(&mut conn, &self.decl)
            .await
            .map_err(self.db_err("reading the indexes of identity columns"))?;
        let mut indexes = Indexes::load(&mut conn)
            .await
            .map_err(self.db_err("reading the indexes"))?;
        let needs = needs(&self.decl, dialect, &catalog, &matching, &indexes);
        let tables: BTreeSet<String> = needs.iter().map(|n| n.table.clone()).collect();
        let rows = row_estimates(&mut conn, &tables)
            .await
            .map_err(self.db_err("reading row estimates"))?;
        Ok(needs
            .into_iter()
            .map(|need| {
                let info = catalog.column(&need.table, &need.column);
                let statement = statement(dialect, &need, info, &catalog, &mut indexes);
                let compares = match &need.compare {
                    Compare::Plain => need.column.clone(),
                    Compare::Lower => format!("lower({})", need.column),
                    Compare::Generated(g) => g.clone(),
                };
                IndexAdvice {
                    rows: rows.get(&need.table).copied(),
                    table: need.table,
                    column: need.column,
                    compares,
                    uses: need.uses.into_iter().collect(),
                    statement,
                }
            })
            .collect())
    }

    /// Identity columns whose match no index serves (the identity part of
    /// [`Self::index_advisor`]), one line per column with the statement that creates it.
    pub async fn index_advice(&self) -> Result<Vec<String>, ConnectorError> {
        Ok(self
            .index_advisor()
            .await?
            .into_iter()
            .filter(|a| a.uses.contains(&FilterUse::Identity))
            .map(|a| a.to_string())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indexes(names: &[&str]) -> Indexes {
        Indexes {
            first: HashMap::new(),
            names: names.iter().map(|n| n.to_string()).collect(),
        }
    }

    #[test]
    fn index_names_are_free_and_short_enough() {
        let mut ix = indexes(&["orders_customer_id_idx"]);
        assert_eq!(
            ix.claim("orders_customer_id_idx"),
            "orders_customer_id_idx_2"
        );
        assert_eq!(
            ix.claim("orders_customer_id_idx"),
            "orders_customer_id_idx_3"
        );
        let long = "t".repeat(80);
        let a = ix.claim(&long);
        let b = ix.claim(&long);
        assert_eq!(a.len(), MAX_NAME);
        assert_eq!(b.len(), MAX_NAME);
        assert_ne!(a, b);
    }

    #[test]
    fn access_methods_fit_the_comparison() {
        let mut ix = indexes(&[]);
        ix.first
            .insert(("t".into(), "h".into()), vec!["hash".into()]);
        ix.first
            .insert(("t".into(), "b".into()), vec!["brin".into()]);
        ix.first
            .insert(("t".into(), "g".into()), vec!["gin".into()]);
        let via = BTreeSet::from([FilterUse::Via]);
        let age = BTreeSet::from([FilterUse::RetentionAge]);
        assert!(ix.serves("t", "h", &via));
        assert!(!ix.serves("t", "h", &age));
        assert!(ix.serves("t", "b", &age));
        assert!(!ix.serves("t", "b", &via));
        assert!(!ix.serves("t", "g", &via));
        assert!(!ix.serves("t", "x", &via));
    }
}
