//! Identity matching in SQL (DESIGN "Identity matching"): a stored value matches when,
//! lower-cased, it equals one of the identity's spellings byte for byte, whatever the
//! column's collation.
//!
//! No engine can say exactly that in an index-friendly way, so each identity column gets
//! a *search* that is a superset of the rule and uses an index where the database has
//! one, and every row it returns is checked against the rule itself
//! ([`crate::connectors::Identity::matches`]) before it counts as the subject's. A
//! case-insensitive collation (MySQL/MariaDB `*_ci`, also the accent-insensitive
//! `*_ai_ci`) lets `col IN (..)` use the column's own index: it finds every case variant,
//! and the accent variants it finds too are dropped by the check. Elsewhere the search is
//! `lower(col) IN (..)`, which an expression index (PostgreSQL, SQLite) or an indexed
//! generated column (MySQL/MariaDB) serves; `rightsdesk check` prints the statement that
//! creates it when it is missing.
//!
//! **Non-ASCII letters.** SQLite's `lower()` and `NOCASE`, and PostgreSQL's `lower()`
//! under the `C` collation, fold ASCII letters only. So the search lists, beside each
//! spelling, its variants with the non-ASCII letters in upper case too (`exÄmple` for
//! `exämple`); folding engines simply find nothing more with them. Up to
//! [`MAX_VARIANT_LETTERS`] such letters are expanded; an address with more is searched
//! with `LIKE` and a `_` for each of them (no index), then checked by the rule as always.

use std::collections::{BTreeSet, HashMap};

use super::backend::Conn;
use super::statement::{Dialect, Stmt};
use crate::connectors::datamap::{ConnectorDecl, IdentityType};

/// Non-ASCII cased letters per spelling expanded into upper/lower variants (2^6 = 64).
const MAX_VARIANT_LETTERS: usize = 6;

/// How one identity column is searched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Search {
    /// `col IN (..)` (with `COLLATE NOCASE` on SQLite): the comparison is case-blind.
    Column { nocase: bool },
    /// `lower(col) IN (..)`.
    Lower,
    /// MySQL/MariaDB: `gen IN (..)`, a generated column declared `AS (LOWER(col))`.
    Generated(String),
}

/// The search for one identity column and whether an index serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ColumnMatch {
    pub search: Search,
    pub indexed: bool,
}

/// Per `(table, column)` of every declared identity column.
#[derive(Debug, Clone, Default)]
pub(crate) struct Matching {
    columns: HashMap<(String, String), ColumnMatch>,
}

const PG_INDEXES: &str = "SELECT c.relname::text, pg_get_indexdef(i.indexrelid, 1, true) \
     FROM pg_catalog.pg_index i \
     JOIN pg_catalog.pg_class c ON c.oid = i.indrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = current_schema() AND i.indpred IS NULL";
const MYSQL_COLUMNS: &str = "SELECT TABLE_NAME, COLUMN_NAME, COALESCE(COLLATION_NAME, ''), \
     COALESCE(GENERATION_EXPRESSION, '') \
     FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()";
const MYSQL_INDEXES: &str = "SELECT TABLE_NAME, COALESCE(COLUMN_NAME, '') \
     FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND SEQ_IN_INDEX = 1";
const SQLITE_INDEXES: &str = "SELECT m.name, COALESCE(x.name, ''), COALESCE(x.coll, ''), \
     COALESCE(s.sql, '') \
     FROM sqlite_master m JOIN pragma_index_list(m.name) l JOIN pragma_index_xinfo(l.name) x \
     LEFT JOIN sqlite_master s ON s.type = 'index' AND s.name = l.name \
     WHERE m.type = 'table' AND x.seqno = 0 AND l.partial = 0";

/// An index definition or generated-column expression reduced to letters, digits and
/// underscores, lower case: `lower((email)::text)`, `lower("email")` and
/// ``lcase(`email`)`` all become `loweremail`.
fn squash(s: &str) -> String {
    s.to_lowercase()
        .replace("::text", "")
        .replace("::character varying", "")
        .replace("::citext", "")
        .replace("lcase", "lower")
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

impl Matching {
    pub(crate) async fn load(
        conn: &mut Conn<'_>,
        decl: &ConnectorDecl,
    ) -> Result<Self, sqlx::Error> {
        let identity_columns: Vec<(String, String)> = decl
            .tables()
            .iter()
            .flat_map(|t| {
                t.identities
                    .iter()
                    .map(|(IdentityType::Email, c)| (t.name.clone(), c.clone()))
            })
            .collect();
        let mut columns = HashMap::new();
        if identity_columns.is_empty() {
            return Ok(Self { columns });
        }
        match conn.dialect() {
            Dialect::Postgres => {
                let defs = conn.fetch_text(PG_INDEXES).await?;
                for (table, column) in identity_columns {
                    let lower = format!("lower{}", squash(&column));
                    let indexed = defs
                        .iter()
                        .any(|r| r[0] == table && r.get(1).is_some_and(|d| squash(d) == lower));
                    columns.insert(
                        (table, column),
                        ColumnMatch {
                            search: Search::Lower,
                            indexed,
                        },
                    );
                }
            }
            Dialect::MySql => {
                let cols = conn.fetch_text(MYSQL_COLUMNS).await?;
                let indexes: BTreeSet<(String, String)> = conn
                    .fetch_text(MYSQL_INDEXES)
                    .await?
                    .into_iter()
                    .filter_map(|r| match r.as_slice() {
                        [t, c, ..] => Some((t.clone(), c.clone())),
                        _ => None,
                    })
                    .collect();
                for (table, column) in identity_columns {
                    let collation = cols
                        .iter()
                        .find(|r| r[0] == table && r[1] == column)
                        .map(|r| r[2].to_ascii_lowercase())
                        .unwrap_or_default();
                    let lower = format!("lower{}", squash(&column));
                    let generated = cols
                        .iter()
                        .find(|r| r[0] == table && squash(&r[3]) == lower)
                        .map(|r| r[1].clone());
                    let m = if collation.ends_with("_ci") {
                        ColumnMatch {
                            indexed: indexes.contains(&(table.clone(), column.clone())),
                            search: Search::Column { nocase: false },
                        }
                    } else if let Some(g) = generated {
                        ColumnMatch {
                            indexed: indexes.contains(&(table.clone(), g.clone())),
                            search: Search::Generated(g),
                        }
                    } else {
                        ColumnMatch {
                            search: Search::Lower,
                            indexed: false,
                        }
                    };
                    columns.insert((table, column), m);
                }
            }
            Dialect::Sqlite => {
                let idx = conn.fetch_text(SQLITE_INDEXES).await?;
                for (table, column) in identity_columns {
                    let on_table = |r: &&Vec<String>| r[0] == table;
                    let nocase = idx
                        .iter()
                        .filter(on_table)
                        .any(|r| r[1] == column && r[2].eq_ignore_ascii_case("nocase"));
                    let lower = format!("on{}lower{}", squash(&table), squash(&column));
                    let lower_indexed = idx
                        .iter()
                        .filter(on_table)
                        .any(|r| r[1].is_empty() && squash(&r[3]).contains(&lower));
                    let m = if nocase && !lower_indexed {
                        ColumnMatch {
                            search: Search::Column { nocase: true },
                            indexed: true,
                        }
                    } else {
                        ColumnMatch {
                            search: Search::Lower,
                            indexed: lower_indexed,
                        }
                    };
                    columns.insert((table, column), m);
                }
            }
        }
        Ok(Self { columns })
    }

    pub(crate) fn column(&self, table: &str, column: &str) -> ColumnMatch {
        self.columns
            .get(&(table.to_string(), column.to_string()))
            .cloned()
            .unwrap_or(ColumnMatch {
                search: Search::Lower,
                indexed: false,
            })
    }
}

/// Write the search for `column` (already known to be an identity column) into `s`.
pub(crate) fn push_search(
    s: &mut Stmt,
    dialect: Dialect,
    column: &str,
    m: &ColumnMatch,
    spellings: &[String],
) {
    let q = dialect.quote(column);
    let lhs = match &m.search {
        Search::Column { nocase: true } => format!("{q} COLLATE NOCASE"),
        Search::Column { nocase: false } => q,
        Search::Lower => format!("lower({q})"),
        Search::Generated(g) => dialect.quote(g),
    };
    // A case-blind MySQL collation folds every letter itself.
    let expand = !matches!(m.search, Search::Column { nocase: false });
    let mut values = BTreeSet::new();
    let mut patterns = BTreeSet::new();
    for spelling in spellings {
        if !expand {
            values.insert(spelling.clone());
            continue;
        }
        match case_variants(spelling) {
            Some(v) => values.extend(v),
            None => {
                patterns.insert(like_pattern(spelling));
            }
        }
    }
    s.push("(");
    let mut first = true;
    if !values.is_empty() {
        first = false;
        s.push(&lhs).push(" IN (");
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                s.push(", ");
            }
            s.text(v);
        }
        s.push(")");
    }
    for p in patterns {
        if !std::mem::take(&mut first) {
            s.push(" OR ");
        }
        s.push(&lhs).push(" LIKE ").text(p).push(" ESCAPE '!'");
    }
    s.push(")");
}

/// The spelling with every non-ASCII cased letter in both cases (ASCII letters are folded
/// by every engine's `lower()`); `None` when there are too many such letters.
fn case_variants(spelling: &str) -> Option<Vec<String>> {
    let chars: Vec<char> = spelling.chars().collect();
    let mut flexible = Vec::new();
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii() {
            continue;
        }
        let mut upper = c.to_uppercase();
        if let (Some(u), None) = (upper.next(), upper.next())
            && u != *c
            && u.to_lowercase().eq(std::iter::once(*c))
        {
            flexible.push((i, u));
        }
    }
    if flexible.len() > MAX_VARIANT_LETTERS {
        return None;
    }
    let mut out = Vec::with_capacity(1 << flexible.len());
    for mask in 0u32..(1 << flexible.len()) {
        let mut v = chars.clone();
        for (bit, &(i, u)) in flexible.iter().enumerate() {
            if mask & (1 << bit) != 0 {
                v[i] = u;
            }
        }
        out.push(v.into_iter().collect());
    }
    Some(out)
}

/// `LIKE` pattern for a spelling with many non-ASCII letters: `!` escapes, and each
/// non-ASCII letter becomes `_` (any one character).
fn like_pattern(spelling: &str) -> String {
    let mut p = String::with_capacity(spelling.len());
    for c in spelling.chars() {
        match c {
            '%' | '_' | '!' => {
                p.push('!');
                p.push(c);
            }
            c if !c.is_ascii() => p.push('_'),
            c => p.push(c),
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_squash_to_one_form() {
        assert_eq!(squash("lower((email)::text)"), "loweremail");
        assert_eq!(squash("lower(\"Email\")"), "loweremail");
        assert_eq!(squash("lcase(`email`)"), "loweremail");
        assert_eq!(squash("email"), "email");
    }

    #[test]
    fn variants_cover_non_ascii_case() {
        let v = case_variants("alice@exämple.com").unwrap();
        assert_eq!(v, ["alice@exämple.com", "alice@exÄmple.com"]);
        assert_eq!(case_variants("a@b.c").unwrap(), ["a@b.c"]);
        assert!(case_variants("äöüéèà@ñ.com").is_none());
        assert_eq!(like_pattern("a_%!ä@x.com"), "a!_!%!!_@x.com");
    }

    #[test]
    fn searches_per_form() {
        let spellings = vec!["alice@exämple.com".to_string()];
        let mut s = Stmt::new(Dialect::Sqlite);
        let m = ColumnMatch {
            search: Search::Lower,
            indexed: true,
        };
        push_search(&mut s, Dialect::Sqlite, "email", &m, &spellings);
        assert_eq!(s.sql, "(lower(\"email\") IN (?, ?))");
        assert_eq!(s.binds.len(), 2);
        let mut s = Stmt::new(Dialect::MySql);
        let m = ColumnMatch {
            search: Search::Column { nocase: false },
            indexed: true,
        };
        push_search(&mut s, Dialect::MySql, "email", &m, &spellings);
        assert_eq!(s.sql, "(`email` IN (?))");
    }
}
