//! What the live database declares: the columns (and their types) of every table in the
//! connection's schema, and the foreign keys between tables; and the data map checked
//! against it.

use std::collections::HashMap;

use super::backend::Conn;
use super::statement::Dialect;
use super::value::{ColumnClass, ColumnInfo};
use crate::connectors::datamap::{ConnectorDecl, DatamapProblem, EraseAction, FieldType, Mask};

/// A foreign key: rows of `table` reference rows of `referenced`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ForeignKey {
    pub table: String,
    pub referenced: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Catalog {
    pub dialect: Dialect,
    tables: HashMap<String, Vec<ColumnInfo>>,
    pub foreign_keys: Vec<ForeignKey>,
    /// PostgreSQL: each table's size in pages as the server last estimated it
    /// (`pg_class.relpages`, set by VACUUM and ANALYZE); used only to split a large scan
    /// into parts (`references::plan_parts`).
    pages: HashMap<String, i64>,
}

// Tables are looked up in the connection's own schema: PostgreSQL's `current_schema()`
// (first of the search path), MySQL's `DATABASE()`, SQLite's `main`.
const PG_COLUMNS: &str = "SELECT table_name::text, column_name::text, udt_schema::text, udt_name::text, \
     is_nullable::text FROM information_schema.columns WHERE table_schema = current_schema() \
     ORDER BY table_name, ordinal_position";
const PG_FOREIGN_KEYS: &str = "SELECT src.relname::text, dst.relname::text \
     FROM pg_catalog.pg_constraint c \
     JOIN pg_catalog.pg_class src ON src.oid = c.conrelid \
     JOIN pg_catalog.pg_class dst ON dst.oid = c.confrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = src.relnamespace \
     WHERE c.contype = 'f' AND n.nspname = current_schema()";
const PG_PAGES: &str = "SELECT c.relname::text, c.relpages::text FROM pg_catalog.pg_class c \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind = 'r' AND n.nspname = current_schema()";
const MYSQL_COLUMNS: &str = "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, \
     IS_NULLABLE, COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
     ORDER BY TABLE_NAME, ORDINAL_POSITION";
const MYSQL_FOREIGN_KEYS: &str = "SELECT TABLE_NAME, REFERENCED_TABLE_NAME \
     FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()";
const SQLITE_COLUMNS: &str = "SELECT m.name, p.name, p.type, \
     CASE WHEN p.\"notnull\" = 0 THEN 'YES' ELSE 'NO' END \
     FROM sqlite_master m JOIN pragma_table_info(m.name) p \
     WHERE m.type IN ('table', 'view') ORDER BY m.name, p.cid";
const SQLITE_FOREIGN_KEYS: &str = "SELECT m.name, f.\"table\" \
     FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table'";

impl Catalog {
    pub(crate) async fn load(conn: &mut Conn<'_>) -> Result<Self, sqlx::Error> {
        let dialect = conn.dialect();
        let (columns_sql, fks_sql) = match dialect {
            Dialect::Postgres => (PG_COLUMNS, PG_FOREIGN_KEYS),
            Dialect::MySql => (MYSQL_COLUMNS, MYSQL_FOREIGN_KEYS),
            Dialect::Sqlite => (SQLITE_COLUMNS, SQLITE_FOREIGN_KEYS),
        };
        let mut tables: HashMap<String, Vec<ColumnInfo>> = HashMap::new();
        for row in conn.fetch_text(columns_sql).await? {
            let get = |i: usize| row.get(i).map(String::as_str).unwrap_or("");
            let mut info = match dialect {
                Dialect::Postgres => pg_column(get(1), get(2), get(3)),
                Dialect::MySql => mysql_column(get(1), get(2), get(3), get(5)),
                Dialect::Sqlite => sqlite_column(get(1), get(2)),
            };
            info.nullable = match dialect {
                Dialect::Postgres | Dialect::MySql => get(4).eq_ignore_ascii_case("YES"),
                Dialect::Sqlite => get(3) == "YES",
            };
            tables.entry(get(0).to_string()).or_default().push(info);
        }
        let foreign_keys = conn
            .fetch_text(fks_sql)
            .await?
            .into_iter()
            .filter_map(|row| match row.as_slice() {
                [table, referenced, ..] => Some(ForeignKey {
                    table: table.clone(),
                    referenced: referenced.clone(),
                }),
                _ => None,
            })
            .collect();
        let mut pages = HashMap::new();
        if dialect == Dialect::Postgres {
            for row in conn.fetch_text(PG_PAGES).await? {
                if let [table, n, ..] = row.as_slice()
                    && let Ok(n) = n.parse::<i64>()
                {
                    pages.insert(table.clone(), n);
                }
            }
        }
        Ok(Self {
            dialect,
            tables,
            foreign_keys,
            pages,
        })
    }

    /// The catalogue with the data map's `type = "timestamp" | "date"` applied: on
    /// SQLite, where columns have no date type, the field is read as a date. On other
    /// backends the column's own type stands (`check` reports a mismatch).
    pub(crate) async fn load_for(
        conn: &mut Conn<'_>,
        decl: &ConnectorDecl,
    ) -> Result<Self, sqlx::Error> {
        let mut catalog = Self::load(conn).await?;
        if catalog.dialect == Dialect::Sqlite {
            for t in decl.tables() {
                for (column, field) in &t.fields {
                    let Some(ty) = field.value_type else { continue };
                    if let Some(info) = catalog
                        .tables
                        .get_mut(&t.name)
                        .and_then(|cols| cols.iter_mut().find(|c| c.name == *column))
                    {
                        info.class = match ty {
                            FieldType::Timestamp => ColumnClass::Timestamp,
                            FieldType::Date => ColumnClass::Date,
                        };
                    }
                }
            }
        }
        Ok(catalog)
    }

    /// The size of `table` in pages as last estimated: 0 when unknown.
    pub(crate) fn pages(&self, table: &str) -> i64 {
        self.pages.get(table).copied().unwrap_or(0).max(0)
    }

    pub(crate) fn columns(&self, table: &str) -> Option<&[ColumnInfo]> {
        self.tables.get(table).map(Vec::as_slice)
    }

    pub(crate) fn column(&self, table: &str, column: &str) -> Option<&ColumnInfo> {
        self.columns(table)?.iter().find(|c| c.name == column)
    }
}

fn pg_column(name: &str, udt_schema: &str, udt_name: &str) -> ColumnInfo {
    let native = match udt_name {
        "bool" => Some(ColumnClass::Bool),
        "int2" | "int4" | "int8" => Some(ColumnClass::Int),
        "float4" | "float8" => Some(ColumnClass::Float),
        "text" | "varchar" | "bpchar" | "name" => Some(ColumnClass::Text),
        "timestamp" => Some(ColumnClass::Timestamp),
        "timestamptz" => Some(ColumnClass::TimestampTz),
        "date" => Some(ColumnClass::Date),
        "time" => Some(ColumnClass::Time),
        "bytea" => Some(ColumnClass::Binary),
        "json" | "jsonb" => Some(ColumnClass::Json),
        _ => None,
    };
    let quoted = format!(
        "{}.{}",
        Dialect::Postgres.quote(udt_schema),
        Dialect::Postgres.quote(udt_name)
    );
    match native {
        Some(class) => ColumnInfo {
            name: name.to_string(),
            sql_type: udt_name.to_string(),
            class,
            cast: None,
            nullable: true,
        },
        // Read as text, written back through a cast: numeric, uuid, citext, enums, arrays.
        None => ColumnInfo {
            name: name.to_string(),
            sql_type: udt_name.to_string(),
            class: if udt_name == "citext" {
                ColumnClass::Text
            } else {
                ColumnClass::Other
            },
            cast: Some(quoted),
            nullable: true,
        },
    }
}

fn mysql_column(name: &str, data_type: &str, column_type: &str, collation: &str) -> ColumnInfo {
    let data_type = data_type.to_ascii_lowercase();
    let column_type = column_type.to_ascii_lowercase();
    let class = match data_type.as_str() {
        // BOOLEAN is TINYINT(1) in MySQL and MariaDB.
        "tinyint" if column_type.starts_with("tinyint(1)") => ColumnClass::Bool,
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "year" => {
            ColumnClass::Int
        }
        "float" | "double" | "real" => ColumnClass::Float,
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set" => {
            ColumnClass::Text
        }
        "date" => ColumnClass::Date,
        "datetime" => ColumnClass::Timestamp,
        "timestamp" => ColumnClass::TimestampTz,
        "time" => ColumnClass::Time,
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
            ColumnClass::Binary
        }
        "json" => ColumnClass::Json,
        _ => ColumnClass::Other,
    };
    // Text with a binary collation (`utf8mb4_bin`, `VARCHAR(..) BINARY`) is text: the
    // server flags it binary on the wire, so it is selected through `CAST(.. AS CHAR)`
    // and arrives as a string. A `binary`-charset column is BINARY/VARBINARY/BLOB.
    let binary_text =
        class == ColumnClass::Text && collation.to_ascii_lowercase().ends_with("_bin");
    ColumnInfo {
        name: name.to_string(),
        sql_type: if binary_text {
            format!("{column_type} collate {}", collation.to_ascii_lowercase())
        } else {
            column_type
        },
        class,
        // MySQL converts text to the column's type by itself; DECIMAL arrives as text.
        cast: binary_text.then(|| "CHAR".to_string()),
        nullable: true,
    }
}

/// SQLite declares types loosely; classify the way SQLite's affinity rules (and sqlx) do.
fn sqlite_column(name: &str, declared: &str) -> ColumnInfo {
    let t = declared.to_ascii_uppercase();
    let class = if t.contains("BOOL") {
        ColumnClass::Bool
    } else if t.starts_with("DATETIME") || t.starts_with("TIMESTAMP") {
        ColumnClass::Timestamp
    } else if t == "DATE" {
        ColumnClass::Date
    } else if t == "TIME" {
        ColumnClass::Time
    } else if t.contains("INT") {
        ColumnClass::Int
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        ColumnClass::Text
    } else if t.contains("BLOB") {
        ColumnClass::Binary
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        ColumnClass::Float
    } else if t.contains("JSON") {
        ColumnClass::Json
    } else {
        ColumnClass::Other
    };
    ColumnInfo {
        name: name.to_string(),
        sql_type: declared.to_string(),
        class,
        cast: None,
        nullable: true,
    }
}

/// Every declared table and column that the database does not have, and masks that
/// cannot work on their column's type, as data-map problems.
pub(crate) fn check(decl: &ConnectorDecl, catalog: &Catalog) -> Vec<DatamapProblem> {
    let file = decl.file();
    let mut problems = Vec::new();
    let mut missing_column = |key: String, table: &str, column: &str| {
        if catalog.columns(table).is_some() && catalog.column(table, column).is_none() {
            problems.push(DatamapProblem::new(
                file,
                key,
                format!("column \"{column}\" not found in table \"{table}\" of the database"),
            ));
        }
    };
    for (i, t) in decl.tables().iter().enumerate() {
        let at = format!("tables[{i}]");
        for c in &t.primary_key {
            missing_column(format!("{at}.primary_key"), &t.name, c);
        }
        for col in t.identities.values() {
            missing_column(format!("{at}.identities.email"), &t.name, col);
        }
        for via in &t.via {
            let key = format!("{at}.via.{}", via.column);
            missing_column(key.clone(), &t.name, &via.column);
            for parent in &via.parents {
                missing_column(key.clone(), &parent.table, &parent.column);
            }
        }
        for col in t.fields.keys() {
            missing_column(format!("{at}.fields.{col}"), &t.name, col);
        }
    }
    for (section, set) in [
        ("restriction", decl.restriction()),
        ("objection", decl.objection()),
        ("optout", decl.optout()),
        ("limit_sensitive", decl.limit_sensitive()),
    ] {
        if let Some(set) = set {
            for (col, _) in &set.set {
                missing_column(format!("{section}.set.{col}"), &set.table, col);
            }
        }
    }
    for (i, r) in decl.retention().iter().enumerate() {
        missing_column(
            format!("retention[{i}].age_column"),
            &r.table,
            &r.age_column,
        );
        for (col, _) in &r.filter {
            missing_column(format!("retention[{i}].filter.{col}"), &r.table, col);
        }
    }

    for (i, t) in decl.tables().iter().enumerate() {
        if catalog.columns(&t.name).is_none() {
            problems.push(DatamapProblem::new(
                file,
                format!("tables[{i}].name"),
                format!("table \"{}\" not found in the database", t.name),
            ));
            continue;
        }
        for (col, mask) in t.masks() {
            let Some(info) = catalog.column(&t.name, col) else {
                continue;
            };
            if info.class == ColumnClass::Binary && mask != Mask::Null {
                problems.push(DatamapProblem::new(
                    file,
                    format!("tables[{i}].fields.{col}.mask"),
                    format!(
                        "\"{}.{col}\" is a binary column ({}): it can only be nulled (mask = \"null\") \
                         or its rows deleted, not given mask = \"{}\"",
                        t.name,
                        info.sql_type,
                        mask_name(mask)
                    ),
                ));
            } else if mask == Mask::Hash && info.class != ColumnClass::Text {
                problems.push(DatamapProblem::new(
                    file,
                    format!("tables[{i}].fields.{col}.mask"),
                    format!(
                        "mask \"hash\" needs a text column, but \"{}.{col}\" is {}",
                        t.name, info.sql_type
                    ),
                ));
            }
        }
        for (col, field) in &t.fields {
            if let (Some(ty), Some(info)) = (field.value_type, catalog.column(&t.name, col))
                && catalog.dialect != Dialect::Sqlite
                && !info.class.is_date()
            {
                problems.push(DatamapProblem::new(
                    file,
                    format!("tables[{i}].fields.{col}.type"),
                    format!(
                        "type = \"{}\" is for SQLite columns that store dates as text or numbers; \
                         \"{}.{col}\" is {} (use a date or timestamp column type)",
                        type_name(ty),
                        t.name,
                        info.sql_type
                    ),
                ));
            }
        }
    }
    for implied in super::implied_nulls(decl) {
        let t = &decl.tables()[implied.table];
        if let Some(info) = catalog.column(&t.name, &implied.column)
            && !info.nullable
        {
            problems.push(DatamapProblem::new(
                file,
                format!("tables[{}].via.{}", implied.table, implied.column),
                implied.not_null_message(decl),
            ));
        }
    }
    problems
}

/// What `check` tells without failing: the `via` references an erasure will null.
pub(crate) fn notes(decl: &ConnectorDecl, catalog: &Catalog) -> Vec<String> {
    super::implied_nulls(decl)
        .into_iter()
        .filter(|n| {
            catalog
                .column(&decl.tables()[n.table].name, &n.column)
                .is_some_and(|c| c.nullable)
        })
        .map(|n| {
            let (t, parent) = (&decl.tables()[n.table], &decl.tables()[n.parent]);
            format!(
                "table \"{}\" (erase = \"{}\") references table \"{}\" (erase = \"delete\") through \
                 \"{}\": an erasure sets \"{}.{}\" to NULL (an implied mask = \"null\"; declare it in \
                 [tables.fields] to make it explicit)",
                t.name,
                erase_name(t.erase),
                parent.name,
                n.column,
                t.name,
                n.column
            )
        })
        .collect()
}

pub(crate) fn erase_name(a: EraseAction) -> &'static str {
    match a {
        EraseAction::Delete => "delete",
        EraseAction::Anonymize => "anonymize",
        EraseAction::Retain => "retain",
    }
}

fn mask_name(m: Mask) -> &'static str {
    match m {
        Mask::Null => "null",
        Mask::Redact => "redact",
        Mask::Hash => "hash",
    }
}

fn type_name(t: FieldType) -> &'static str {
    match t {
        FieldType::Timestamp => "timestamp",
        FieldType::Date => "date",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(pg_column("a", "pg_catalog", "int4").class, ColumnClass::Int);
        let n = pg_column("a", "pg_catalog", "numeric");
        assert_eq!(n.class, ColumnClass::Other);
        assert_eq!(n.cast.as_deref(), Some("\"pg_catalog\".\"numeric\""));
        assert_eq!(
            mysql_column("a", "tinyint", "tinyint(1)", "").class,
            ColumnClass::Bool
        );
        assert_eq!(
            mysql_column("a", "bigint", "bigint(20) unsigned", "").class,
            ColumnClass::Int
        );
        assert_eq!(sqlite_column("a", "VARCHAR(254)").class, ColumnClass::Text);
        assert_eq!(sqlite_column("a", "BOOLEAN").class, ColumnClass::Bool);
        assert_eq!(
            sqlite_column("a", "TIMESTAMP").class,
            ColumnClass::Timestamp
        );
        assert_eq!(sqlite_column("a", "").class, ColumnClass::Other);
        // Binary collations are still text (read through a cast); binary types are not.
        let bin = mysql_column("a", "varchar", "varchar(254)", "utf8mb4_bin");
        assert_eq!(bin.class, ColumnClass::Text);
        assert_eq!(bin.cast.as_deref(), Some("CHAR"));
        let text = mysql_column("a", "text", "text", "utf8mb4_bin");
        assert_eq!(text.class, ColumnClass::Text);
        assert_eq!(
            mysql_column("a", "varbinary", "varbinary(16)", "").class,
            ColumnClass::Binary
        );
        assert!(
            mysql_column("a", "varchar", "varchar(9)", "utf8mb4_general_ci")
                .cast
                .is_none()
        );
    }
}
