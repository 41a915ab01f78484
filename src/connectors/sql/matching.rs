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
use super::value::SqlValue;
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
    /// PostgreSQL, a column whose collation orders by code point (`C`, `POSIX`,
    /// `C.UTF-8`, `ucs_basic`) and that has a plain btree index but no `lower(col)` one.
    /// Case variants do not sort together there, so the column's own index is *walked*
    /// for each subject ([`Matching::resolve`]): the search becomes `col IN (the stored
    /// variants found)`. Unresolved, it is the one range per spelling that holds every
    /// variant (correct, but wide).
    Ranges,
    /// A `Ranges` column resolved for one subject.
    Walked(Walked),
}

/// What walking a column's index found for one subject: the stored values that are case
/// variants of a spelling, the ranges not walked to the end (searched as ranges), and the
/// spellings that cannot be walked (searched with `lower()`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Walked {
    values: BTreeSet<String>,
    ranges: Vec<(String, String)>,
    lower: Vec<String>,
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

const PG_INDEXES: &str = "SELECT c.relname::text, pg_get_indexdef(i.indexrelid, 1, true), \
     am.amname::text \
     FROM pg_catalog.pg_index i \
     JOIN pg_catalog.pg_class c ON c.oid = i.indrelid \
     JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid \
     JOIN pg_catalog.pg_am am ON am.oid = ic.relam \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = current_schema() AND i.indpred IS NULL";
/// Per column of the schema: its collation's name, provider and `LC_COLLATE` (empty for
/// the database's default, then given by [`PG_DATABASE_COLLATION`]), and its type.
const PG_COLUMN_COLLATIONS: &str = "SELECT c.relname::text, a.attname::text, \
     COALESCE(co.collname::text, ''), COALESCE(co.collprovider::text, ''), \
     COALESCE(co.collcollate, ''), a.atttypid::regtype::text \
     FROM pg_catalog.pg_attribute a \
     JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation \
     WHERE n.nspname = current_schema() AND a.attnum > 0 AND NOT a.attisdropped";
/// The database's default collation: provider (`datlocprovider` exists from PostgreSQL
/// 15 on; read through `to_jsonb` so older servers answer too) and `LC_COLLATE`.
const PG_DATABASE_COLLATION: &str = "SELECT COALESCE(to_jsonb(d) ->> 'datlocprovider', 'c'), \
     d.datcollate::text FROM pg_catalog.pg_database d WHERE d.datname = current_database()";

/// Whether a PostgreSQL collation (provider, name, `LC_COLLATE`) compares text by code
/// point: the byte order of UTF-8, in which the ranges of [`ranges`] are exact.
fn code_point_order(provider: &str, name: &str, collate: &str) -> bool {
    if matches!(name, "C" | "POSIX" | "ucs_basic" | "pg_c_utf8") {
        return true;
    }
    matches!(provider, "c" | "b")
        && (matches!(collate, "C" | "POSIX")
            || collate.eq_ignore_ascii_case("C.UTF-8")
            || collate.eq_ignore_ascii_case("C.utf8"))
}
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
                let collations = conn.fetch_text(PG_COLUMN_COLLATIONS).await?;
                let database = conn.fetch_text(PG_DATABASE_COLLATION).await?;
                let (db_provider, db_collate) = match database.first().map(Vec::as_slice) {
                    Some([p, c, ..]) => (p.as_str(), c.as_str()),
                    _ => ("", ""),
                };
                for (table, column) in identity_columns {
                    let index_on = |want: &str| {
                        defs.iter()
                            .any(|r| r[0] == table && r.get(1).is_some_and(|d| squash(d) == want))
                    };
                    let lower_indexed = index_on(&format!("lower{}", squash(&column)));
                    let plain_btree = defs.iter().any(|r| {
                        r[0] == table
                            && r.get(1).is_some_and(|d| squash(d) == squash(&column))
                            && r.get(2).is_some_and(|am| am == "btree")
                    });
                    let by_code_point = collations
                        .iter()
                        .find(|r| r[0] == table && r[1] == column)
                        .is_some_and(|r| match r.as_slice() {
                            // Only `text` and `varchar` compare and sort by their
                            // collation alone (`citext` sorts case-blind, `char(n)`
                            // ignores trailing blanks): the walk needs both to agree.
                            [.., ty] if ty != "text" && ty != "character varying" => false,
                            [_, _, name, _, _, _] if name.is_empty() || name == "default" => {
                                code_point_order(db_provider, "", db_collate)
                            }
                            [_, _, name, provider, collate, _] => {
                                code_point_order(provider, name, collate)
                            }
                            _ => false,
                        });
                    let m = if !lower_indexed && plain_btree && by_code_point {
                        ColumnMatch {
                            search: Search::Ranges,
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

    /// Whether some column is searched by walking its index.
    pub(crate) fn walks(&self) -> bool {
        self.columns.values().any(|m| m.search == Search::Ranges)
    }

    /// This matching with every `Ranges` column resolved for one subject, by walking
    /// the column's index from the smallest case variant of each spelling upwards: a
    /// probe (`SELECT col … WHERE col >= $lo ORDER BY col LIMIT 1`, an index seek) finds
    /// the next stored value; a variant is kept, and either way the walk jumps to the
    /// smallest variant above it. Every variant stored lies on the way, so the search
    /// `col IN (found)` holds all of them (and is checked by the rule as always). One
    /// statement per round probes every walk; a few rounds end them all (2-4 per search
    /// on the peer workload), and
    /// after [`MAX_WALK_ROUNDS`] what is left is searched as a range.
    pub(crate) async fn resolve(
        &self,
        conn: &mut Conn<'_>,
        spellings: &[String],
    ) -> Result<Self, sqlx::Error> {
        struct Walk {
            key: (String, String),
            cands: Vec<Vec<char>>,
            lo: Option<String>,
        }
        fn walked<'m>(out: &'m mut Matching, key: &(String, String)) -> &'m mut Walked {
            match out.columns.get_mut(key).map(|m| &mut m.search) {
                Some(Search::Walked(w)) => w,
                _ => unreachable!("every walk's column is set before it starts"),
            }
        }
        let mut out = self.clone();
        let mut walks = Vec::new();
        for (key, m) in &self.columns {
            if m.search != Search::Ranges {
                continue;
            }
            let mut walked = Walked::default();
            for spelling in spellings {
                match candidates(spelling) {
                    Some(cands) => walks.push(Walk {
                        key: key.clone(),
                        lo: Some(cands.iter().map(|c| c[0]).collect()),
                        cands,
                    }),
                    None => walked.lower.push(spelling.clone()),
                }
            }
            out.columns.insert(
                key.clone(),
                ColumnMatch {
                    search: Search::Walked(walked),
                    indexed: true,
                },
            );
        }
        for _round in 0..MAX_WALK_ROUNDS {
            let active: Vec<usize> = (0..walks.len())
                .filter(|&i| walks[i].lo.is_some())
                .collect();
            if active.is_empty() {
                break;
            }
            // One arm per column, its walks' lower bounds a `VALUES` list: the statement
            // is planned once per column, however many subjects walk it (an arm per
            // walk made planning, not the probes, the cost of a walk for many subjects).
            let mut s = Stmt::new(conn.dialect());
            let mut columns: Vec<&(String, String)> = Vec::new();
            for &i in &active {
                if !columns.contains(&&walks[i].key) {
                    columns.push(&walks[i].key);
                }
            }
            for (a, key) in columns.into_iter().enumerate() {
                let col = s.dialect().quote(&key.1);
                if a > 0 {
                    s.push(" UNION ALL ");
                }
                s.push(&format!(
                    "SELECT rd_w.n AS rd_walk, (SELECT {col}::text FROM "
                ))
                .ident(&key.0)
                .push(&format!(
                    " WHERE {col} >= rd_w.lo ORDER BY {col} LIMIT 1) AS rd_next FROM (VALUES "
                ));
                let mut first = true;
                for (n, &i) in active.iter().enumerate() {
                    let w = &walks[i];
                    if w.key != *key {
                        continue;
                    }
                    if !std::mem::take(&mut first) {
                        s.push(", ");
                    }
                    s.push(&format!("({n}, CAST("))
                        .text(w.lo.clone().unwrap_or_default())
                        .push(" AS text))");
                }
                s.push(") AS rd_w (n, lo)");
            }
            for row in conn.fetch(s).await? {
                let (Some(SqlValue::Int(n)), Some(next)) = (row.first(), row.get(1)) else {
                    continue;
                };
                let Some(&i) = usize::try_from(*n).ok().and_then(|n| active.get(n)) else {
                    continue;
                };
                let w = &mut walks[i];
                w.lo = match next {
                    SqlValue::Text(v) if is_variant(&w.cands, v) => {
                        walked(&mut out, &w.key).values.insert(v.clone());
                        next_variant(&w.cands, v, true)
                    }
                    SqlValue::Text(v) => next_variant(&w.cands, v, false),
                    _ => None,
                };
            }
        }
        for w in walks {
            if let Some(lo) = w.lo {
                let hi = w.cands.iter().map(|c| c[c.len() - 1]).collect();
                walked(&mut out, &w.key).ranges.push((lo, hi));
            }
        }
        Ok(out)
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
    let walked;
    let w = match &m.search {
        Search::Walked(w) => w,
        Search::Ranges => {
            walked = unwalked(spellings);
            &walked
        }
        _ => return push_compare(s, dialect, column, m, spellings),
    };
    s.push("(");
    let or = |s: &mut Stmt| {
        if !s.sql.ends_with('(') {
            s.push(" OR ");
        }
    };
    if !w.values.is_empty() {
        s.push(&q).push(" IN (");
        for (i, v) in w.values.iter().enumerate() {
            if i > 0 {
                s.push(", ");
            }
            s.text(v.clone());
        }
        s.push(")");
    }
    for (lo, hi) in &w.ranges {
        or(s);
        s.push(&q)
            .push(" BETWEEN ")
            .text(lo.clone())
            .push(" AND ")
            .text(hi.clone());
    }
    if !w.lower.is_empty() {
        or(s);
        let lower = ColumnMatch {
            search: Search::Lower,
            indexed: false,
        };
        push_compare(s, dialect, column, &lower, &w.lower);
    }
    if s.sql.ends_with('(') {
        // Nothing stored is a variant: a search that finds nothing.
        s.push("1 = 0");
    }
    s.push(")");
}

/// The searches that compare the column (or `lower()` of it) with the spellings.
fn push_compare(
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
        Search::Ranges | Search::Walked(_) => unreachable!("handled by push_search"),
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

/// Rounds of index probes per search (one statement each, for every walked column at
/// once) before what is left of a walk is searched as a range.
const MAX_WALK_ROUNDS: usize = 8;

/// Every character whose (full Unicode) lower case is exactly one *other* character,
/// by that lower case: `a` -> `A`, `k` -> `K` and the Kelvin sign, `å` -> `Å` and the
/// Ångström sign. And the lower cases longer than one character (`İ` -> `i̇`).
struct Folds {
    into: HashMap<char, Vec<char>>,
    long: Vec<String>,
}

fn folds() -> &'static Folds {
    static FOLDS: std::sync::OnceLock<Folds> = std::sync::OnceLock::new();
    FOLDS.get_or_init(|| {
        let mut into: HashMap<char, Vec<char>> = HashMap::new();
        let mut long = Vec::new();
        for c in (0..=0x10FFFF_u32).filter_map(char::from_u32) {
            let mut lower = c.to_lowercase();
            match (lower.next(), lower.next()) {
                (Some(l), None) if l != c => into.entry(l).or_default().push(c),
                (Some(a), Some(b)) => {
                    let mut s = String::from(a);
                    s.push(b);
                    s.extend(lower);
                    long.push(s);
                }
                _ => {}
            }
        }
        Folds { into, long }
    })
}

/// Per character of `spelling`, the characters a stored value may hold there (those
/// whose lower case it is, and itself), sorted by code point. `None` when the spelling
/// holds a multi-character lower case (`i̇`, from `İ`): a stored value's characters would
/// not line up with the spelling's, and `lower()` searches it.
fn candidates(spelling: &str) -> Option<Vec<Vec<char>>> {
    let folds = folds();
    if folds.long.iter().any(|l| spelling.contains(l.as_str())) {
        return None;
    }
    Some(
        spelling
            .chars()
            .map(|c| {
                let mut v = vec![c];
                if let Some(more) = folds.into.get(&c) {
                    v.extend(more);
                }
                v.sort_unstable();
                v
            })
            .collect(),
    )
}

/// Whether `stored` is one of the strings `cands` describes (a case variant).
fn is_variant(cands: &[Vec<char>], stored: &str) -> bool {
    let mut chars = stored.chars();
    cands
        .iter()
        .all(|c| chars.next().is_some_and(|x| c.contains(&x)))
        && chars.next().is_none()
}

/// The smallest variant `>= x` (`> x` when `strict`), in code-point order, or `None`
/// when every variant is smaller.
fn next_variant(cands: &[Vec<char>], x: &str, strict: bool) -> Option<String> {
    let x: Vec<char> = x.chars().collect();
    let n = cands.len();
    let build = |j: usize, c: char| -> String {
        let mut w: String = x[..j].iter().collect();
        w.push(c);
        w.extend(cands[j + 1..].iter().map(|c| c[0]));
        w
    };
    // The longest prefix of `x` that a variant may start with.
    let mut p = 0;
    while p < n && p < x.len() && cands[p].contains(&x[p]) {
        p += 1;
    }
    if p == n {
        if x.len() == n && !strict {
            return Some(x.iter().collect());
        }
    } else if p == x.len() {
        // `x` is a proper prefix of variants: the smallest of them is greater than it.
        let mut w: String = x.iter().collect();
        w.extend(cands[p..].iter().map(|c| c[0]));
        return Some(w);
    } else if let Some(&c) = cands[p].iter().find(|&&c| c > x[p]) {
        return Some(build(p, c));
    }
    (0..p.min(n))
        .rev()
        .find_map(|j| cands[j].iter().find(|&&c| c > x[j]).map(|&c| build(j, c)))
}

/// The search of a column nobody walked: per spelling, the one range holding all its
/// variants (smallest to largest candidate at every position).
fn unwalked(spellings: &[String]) -> Walked {
    let mut w = Walked::default();
    for spelling in spellings {
        match candidates(spelling) {
            Some(c) => w.ranges.push((
                c.iter().map(|c| c[0]).collect(),
                c.iter().map(|c| c[c.len() - 1]).collect(),
            )),
            None => w.lower.push(spelling.clone()),
        }
    }
    w
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
    use crate::domain::identity::matches_stored;

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
        let mut s = Stmt::new(Dialect::Postgres);
        let m = ColumnMatch {
            search: Search::Ranges,
            indexed: true,
        };
        push_search(&mut s, Dialect::Postgres, "email", &m, &["ab@c.de".into()]);
        assert_eq!(s.sql, "(\"email\" BETWEEN $1 AND $2)");
        let mut s = Stmt::new(Dialect::Postgres);
        let m = ColumnMatch {
            search: Search::Walked(Walked::default()),
            indexed: true,
        };
        push_search(&mut s, Dialect::Postgres, "email", &m, &["ab@c.de".into()]);
        assert_eq!(s.sql, "(1 = 0)", "no variant stored: nothing matches");
    }

    /// Walk a sorted column as [`Matching::resolve`] does: the variants met, and the
    /// number of probes.
    fn walk(column: &[&str], spelling: &str) -> (Vec<String>, usize) {
        let mut column = column.to_vec();
        column.sort_unstable();
        let cands = candidates(spelling).unwrap();
        let mut found = Vec::new();
        let mut probes = 0;
        let mut lo = Some(cands.iter().map(|c| c[0]).collect::<String>());
        while let Some(l) = lo {
            probes += 1;
            lo = match column.iter().find(|v| **v >= l.as_str()) {
                Some(v) if is_variant(&cands, v) => {
                    found.push(v.to_string());
                    next_variant(&cands, v, true)
                }
                Some(v) => next_variant(&cands, v, false),
                None => None,
            };
        }
        (found, probes)
    }

    /// Walking a sorted column from the smallest variant, jumping with `next_variant`,
    /// meets every case variant stored and nothing else, in few probes.
    #[test]
    fn walking_finds_every_variant() {
        let spelling = "kate.o@exämple.com";
        let mut variants = vec![
            "KATE.O@EXÄMPLE.COM",
            "Kate.O@Exämple.Com",
            "kAtE.o@exÄmple.cOm",
            "kate.o@exämple.com",
            "\u{212A}ate.o@exämple.com",
        ];
        for v in &variants {
            assert!(matches_stored(v, &[spelling.into()]), "{v}");
        }
        let others = [
            "aaron@example.com",
            "kate.o@example.com",
            "kate.o@exämple.co",
            "kate.o@exämple.comm",
            "kate.p@exämple.com",
            "KATE.O@EXAMPLE.COM",
            "zed@example.com",
            "\u{212A}",
        ];
        let column: Vec<&str> = variants.iter().chain(&others).copied().collect();
        let (found, probes) = walk(&column, spelling);
        variants.sort_unstable();
        assert_eq!(found, variants);
        assert!(probes <= 14, "{probes} probes");
        let cands = candidates(spelling).unwrap();
        assert_eq!(next_variant(&cands, "\u{212B}", false), None);
        assert!(
            next_variant(&cands, "zzz", false)
                .unwrap()
                .starts_with('\u{212A}')
        );
        assert_eq!(
            next_variant(&cands, "", false).unwrap(),
            "KATE.O@EXÄMPLE.COM"
        );
        assert!(candidates("i\u{307}x@example.com").is_none());
        // Lower-case data holding the address: three probes.
        let column = [
            "aaron@example.com",
            "customer-01@example.com",
            "customer-12@example.com",
            "customer-13@example.com",
        ];
        let (found, probes) = walk(&column, "customer-12@example.com");
        assert_eq!(found, ["customer-12@example.com"]);
        assert_eq!(probes, 3);
        let (found, _) = walk(&column, "customer-99@example.com");
        assert!(found.is_empty());
    }
}
