//! Values read from and written to product databases: one enum for the three backends,
//! how each backend's columns decode into it, and its JSON form in exports.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};
use sqlx::mysql::MySqlRow;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, TypeInfo, ValueRef};

/// A value as the database holds it, kept in its native type so that it can be bound
/// back into a query (a key, a `via` value) and compare equal there.
#[derive(Clone)]
pub(crate) enum SqlValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
    TimestampTz(DateTime<Utc>),
    Timestamp(NaiveDateTime),
    Date(NaiveDate),
    Time(NaiveTime),
    Json(serde_json::Value),
}

/// Personal data: only the variant is printed.
impl std::fmt::Debug for SqlValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}([redacted])", self.variant_name())
    }
}

impl SqlValue {
    fn rank(&self) -> u8 {
        match self {
            Self::Null => 0,
            Self::Bool(_) => 1,
            Self::Int(_) => 2,
            Self::Float(_) => 3,
            Self::Text(_) => 4,
            Self::Bytes(_) => 5,
            Self::TimestampTz(_) => 6,
            Self::Timestamp(_) => 7,
            Self::Date(_) => 8,
            Self::Time(_) => 9,
            Self::Json(_) => 10,
        }
    }

    fn variant_name(&self) -> &'static str {
        match self {
            Self::Null => "Null",
            Self::Bool(_) => "Bool",
            Self::Int(_) => "Int",
            Self::Float(_) => "Float",
            Self::Text(_) => "Text",
            Self::Bytes(_) => "Bytes",
            Self::TimestampTz(_) => "TimestampTz",
            Self::Timestamp(_) => "Timestamp",
            Self::Date(_) => "Date",
            Self::Time(_) => "Time",
            Self::Json(_) => "Json",
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }
}

// Keys and `via` values are collected in sets, so values need a total order and a hash;
// floats compare by bits (a NaN key is a NaN key) and JSON by its text.
impl PartialEq for SqlValue {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SqlValue {}

impl PartialOrd for SqlValue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SqlValue {
    fn cmp(&self, other: &Self) -> Ordering {
        use SqlValue::*;
        match (self, other) {
            (Null, Null) => Ordering::Equal,
            (Bool(a), Bool(b)) => a.cmp(b),
            (Int(a), Int(b)) => a.cmp(b),
            (Float(a), Float(b)) => a.total_cmp(b),
            (Text(a), Text(b)) => a.cmp(b),
            (Bytes(a), Bytes(b)) => a.cmp(b),
            (TimestampTz(a), TimestampTz(b)) => a.cmp(b),
            (Timestamp(a), Timestamp(b)) => a.cmp(b),
            (Date(a), Date(b)) => a.cmp(b),
            (Time(a), Time(b)) => a.cmp(b),
            (Json(a), Json(b)) => a.to_string().cmp(&b.to_string()),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl Hash for SqlValue {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.rank().hash(state);
        match self {
            Self::Null => {}
            Self::Bool(v) => v.hash(state),
            Self::Int(v) => v.hash(state),
            Self::Float(v) => v.to_bits().hash(state),
            Self::Text(v) => v.hash(state),
            Self::Bytes(v) => v.hash(state),
            Self::TimestampTz(v) => v.hash(state),
            Self::Timestamp(v) => v.hash(state),
            Self::Date(v) => v.hash(state),
            Self::Time(v) => v.hash(state),
            Self::Json(v) => v.to_string().hash(state),
        }
    }
}

/// What a column holds, from the catalogue's declared type: decides the JSON form, the
/// `redact` value and how a correction's JSON value is converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnClass {
    Bool,
    Int,
    Float,
    Text,
    Timestamp,
    TimestampTz,
    Date,
    Time,
    Binary,
    Json,
    /// Anything else (numeric, uuid, enums, arrays...): read and written as text.
    Other,
}

/// One column of a table, as the live database declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ColumnInfo {
    pub name: String,
    /// The catalogue's type name, for messages.
    pub sql_type: String,
    pub class: ColumnClass,
    /// PostgreSQL/MySQL types without a native decoder (and MySQL text with a binary
    /// collation): selected as text, and (on PostgreSQL) bound with `CAST($n AS type)`,
    /// this being the quoted type name.
    pub cast: Option<String>,
    /// Whether the column accepts NULL (an implied `null` mask needs it).
    pub nullable: bool,
}

/// The value `redact` writes into a column of this class (`Null` for types without a
/// neutral value).
pub(crate) fn redact_value(class: ColumnClass) -> SqlValue {
    match class {
        ColumnClass::Text => SqlValue::Text(REDACTED.to_string()),
        ColumnClass::Int => SqlValue::Int(0),
        ColumnClass::Float => SqlValue::Float(0.0),
        ColumnClass::Bool => SqlValue::Bool(false),
        _ => SqlValue::Null,
    }
}

pub(crate) const REDACTED: &str = "[erased]";

/// Whether a stored value already equals the `redact` value (SQLite and MySQL hand
/// booleans back as integers, so 0 counts as `false`).
pub(crate) fn is_redacted(value: &SqlValue, class: ColumnClass) -> bool {
    match (redact_value(class), value) {
        (SqlValue::Null, v) => v.is_null(),
        (SqlValue::Text(r), SqlValue::Text(v)) => r == *v,
        (SqlValue::Int(_) | SqlValue::Float(_) | SqlValue::Bool(_), v) => {
            matches!(v, SqlValue::Int(0) | SqlValue::Bool(false))
                || matches!(v, SqlValue::Float(f) if *f == 0.0)
        }
        _ => false,
    }
}

/// The export form: integers, floats, booleans and nulls as JSON, timestamps as RFC 3339
/// with an offset (naive ones taken as UTC), binary as base64.
pub(crate) fn to_json(value: &SqlValue, class: ColumnClass) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        SqlValue::Null => J::Null,
        SqlValue::Bool(b) => J::Bool(*b),
        SqlValue::Int(i) if class == ColumnClass::Bool => J::Bool(*i != 0),
        // SQLite dates stored as numbers (Unix seconds, Julian days) and as text.
        SqlValue::Int(_) | SqlValue::Float(_) | SqlValue::Text(_) if class.is_date() => {
            match (sqlite_instant(value), class) {
                (Some(t), ColumnClass::Date) => J::String(t.format("%Y-%m-%d").to_string()),
                (Some(t), _) => J::String(rfc3339(t)),
                (None, _) => match value {
                    SqlValue::Int(i) => J::from(*i),
                    SqlValue::Float(f) => float_json(*f),
                    SqlValue::Text(s) => J::String(s.clone()),
                    _ => J::Null,
                },
            }
        }
        SqlValue::Int(i) => J::from(*i),
        SqlValue::Float(f) => float_json(*f),
        SqlValue::Text(s) => match class {
            ColumnClass::Bool => match s.as_str() {
                "true" | "t" | "1" => J::Bool(true),
                "false" | "f" | "0" => J::Bool(false),
                _ => J::String(s.clone()),
            },
            ColumnClass::Json => serde_json::from_str(s).unwrap_or_else(|_| J::String(s.clone())),
            _ => J::String(s.clone()),
        },
        SqlValue::Bytes(b) => J::String(STANDARD.encode(b)),
        SqlValue::TimestampTz(t) => J::String(rfc3339(*t)),
        SqlValue::Timestamp(t) => J::String(rfc3339(t.and_utc())),
        SqlValue::Date(d) => J::String(d.format("%Y-%m-%d").to_string()),
        SqlValue::Time(t) => J::String(t.format("%H:%M:%S%.f").to_string()),
        SqlValue::Json(v) => v.clone(),
    }
}

fn float_json(f: f64) -> serde_json::Value {
    serde_json::Number::from_f64(f)
        .map(serde_json::Value::Number)
        .unwrap_or_else(|| serde_json::Value::String(f.to_string()))
}

impl ColumnClass {
    /// Dates and timestamps (of any backend).
    pub(crate) fn is_date(self) -> bool {
        matches!(self, Self::Timestamp | Self::TimestampTz | Self::Date)
    }
}

/// Julian day number of the Unix epoch (1970-01-01T00:00:00Z).
const UNIX_EPOCH_JULIAN_DAY: f64 = 2_440_587.5;
/// The range SQLite's date functions accept: Julian day 0 (4714 BC) to 9999-12-31.
pub(crate) const MAX_JULIAN_DAY: f64 = 5_373_484.5;
pub(crate) const MIN_UNIX_SECONDS: i64 = -210_866_760_000;
pub(crate) const MAX_UNIX_SECONDS: i64 = 253_402_300_799;
/// The largest integer that is also a Julian day in range. SQLite stores a whole REAL
/// (a Julian day at noon) written into a NUMERIC-affinity column (`DATETIME`) as an
/// INTEGER, so an integer up to this may be a Julian day as well as Unix seconds in the
/// first weeks of 1970: it is not taken as a date (reported, never purged by a guess).
pub(crate) const AMBIGUOUS_INTEGER: i64 = 5_373_484;

/// An instant as a Julian day (what SQLite's `julianday()` gives).
pub(crate) fn julian_day(t: DateTime<Utc>) -> f64 {
    t.timestamp() as f64 / 86_400.0
        + f64::from(t.timestamp_subsec_nanos()) / 86_400e9
        + UNIX_EPOCH_JULIAN_DAY
}

/// A date/time value as SQLite stores it: TEXT in ISO 8601 or `YYYY-MM-DD HH:MM:SS[.SSS]`
/// (naive taken as UTC), INTEGER Unix seconds, REAL Julian days (SQLite's own three
/// forms); `None` for anything else or out of SQLite's range.
pub(crate) fn sqlite_instant(value: &SqlValue) -> Option<DateTime<Utc>> {
    match value {
        SqlValue::Text(s) => parse_timestamp(s).or_else(|| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|n| n.and_utc())
        }),
        SqlValue::Int(i)
            if (MIN_UNIX_SECONDS..=MAX_UNIX_SECONDS).contains(i)
                && !(0..=AMBIGUOUS_INTEGER).contains(i) =>
        {
            DateTime::from_timestamp(*i, 0)
        }
        SqlValue::Float(f) if (0.0..=MAX_JULIAN_DAY).contains(f) => {
            let millis = ((f - UNIX_EPOCH_JULIAN_DAY) * 86_400_000.0).round() as i64;
            DateTime::from_timestamp_millis(millis)
        }
        _ => None,
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// RFC 3339 (also with a space for `T`, or minutes only, as SQLite writes with a zone), or
/// a naive `YYYY-MM-DD HH:MM[:SS[.f]]` / `YYYY-MM-DDTHH:MM[:SS[.f]]` taken as UTC.
pub(crate) fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M%:z",
        "%Y-%m-%dT%H:%M%:z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(s, f) {
            return Some(t.with_timezone(&Utc));
        }
    }
    let naive = s.strip_suffix(['Z', 'z']).unwrap_or(s);
    parse_naive_timestamp(naive).map(|n| n.and_utc())
}

fn parse_naive_timestamp(s: &str) -> Option<NaiveDateTime> {
    [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
}

/// A correction or a `set` value (JSON) as a value for a column of `class`, or `None` when
/// it does not fit. The expected form is given by [`expected_form`].
pub(crate) fn coerce(value: &serde_json::Value, class: ColumnClass) -> Option<SqlValue> {
    use serde_json::Value as J;
    if value.is_null() {
        return Some(SqlValue::Null);
    }
    let text = value.as_str();
    Some(match class {
        ColumnClass::Text | ColumnClass::Other => match value {
            J::String(s) => SqlValue::Text(s.clone()),
            J::Number(n) => SqlValue::Text(n.to_string()),
            J::Bool(b) => SqlValue::Text(b.to_string()),
            _ => return None,
        },
        ColumnClass::Int => match value {
            J::Number(n) => SqlValue::Int(n.as_i64()?),
            J::String(s) => SqlValue::Int(s.trim().parse().ok()?),
            _ => return None,
        },
        ColumnClass::Float => match value {
            J::Number(n) => SqlValue::Float(n.as_f64()?),
            J::String(s) => SqlValue::Float(s.trim().parse().ok()?),
            _ => return None,
        },
        ColumnClass::Bool => match value {
            J::Bool(b) => SqlValue::Bool(*b),
            J::Number(n) if n.as_i64() == Some(0) => SqlValue::Bool(false),
            J::Number(n) if n.as_i64() == Some(1) => SqlValue::Bool(true),
            J::String(s) if s == "true" => SqlValue::Bool(true),
            J::String(s) if s == "false" => SqlValue::Bool(false),
            _ => return None,
        },
        ColumnClass::Timestamp => SqlValue::Timestamp(parse_timestamp(text?)?.naive_utc()),
        ColumnClass::TimestampTz => SqlValue::TimestampTz(parse_timestamp(text?)?),
        ColumnClass::Date => SqlValue::Date(NaiveDate::parse_from_str(text?, "%Y-%m-%d").ok()?),
        ColumnClass::Time => {
            let t = text?;
            SqlValue::Time(
                NaiveTime::parse_from_str(t, "%H:%M:%S%.f")
                    .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M"))
                    .ok()?,
            )
        }
        ColumnClass::Binary => SqlValue::Bytes(STANDARD.decode(text?).ok()?),
        ColumnClass::Json => SqlValue::Json(value.clone()),
    })
}

pub(crate) fn expected_form(class: ColumnClass) -> &'static str {
    match class {
        ColumnClass::Bool => "a boolean",
        ColumnClass::Int => "an integer",
        ColumnClass::Float => "a number",
        ColumnClass::Text | ColumnClass::Other => "a string",
        ColumnClass::Timestamp | ColumnClass::TimestampTz => "an RFC 3339 timestamp",
        ColumnClass::Date => "a date YYYY-MM-DD",
        ColumnClass::Time => "a time HH:MM:SS",
        ColumnClass::Binary => "base64 text",
        ColumnClass::Json => "JSON",
    }
}

fn unsupported(type_name: &str) -> sqlx::Error {
    sqlx::Error::TypeNotFound {
        type_name: type_name.to_string(),
    }
}

/// Decode column `i` of a PostgreSQL row. Types without a decoder here were selected as
/// text (see [`ColumnInfo::cast`]), so they arrive as `TEXT`.
pub(crate) fn decode_pg(row: &PgRow, i: usize) -> Result<SqlValue, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(SqlValue::Null);
    }
    let ty = raw.type_info().name().to_string();
    Ok(match ty.as_str() {
        "BOOL" => SqlValue::Bool(row.try_get(i)?),
        "INT2" => SqlValue::Int(row.try_get::<i16, _>(i)?.into()),
        "INT4" => SqlValue::Int(row.try_get::<i32, _>(i)?.into()),
        "INT8" => SqlValue::Int(row.try_get(i)?),
        "OID" => SqlValue::Int(row.try_get::<sqlx::postgres::types::Oid, _>(i)?.0.into()),
        "FLOAT4" => SqlValue::Float(row.try_get::<f32, _>(i)?.into()),
        "FLOAT8" => SqlValue::Float(row.try_get(i)?),
        "TEXT" | "VARCHAR" | "CHAR" | "NAME" | "UNKNOWN" => {
            SqlValue::Text(row.try_get_unchecked(i)?)
        }
        "TIMESTAMPTZ" => SqlValue::TimestampTz(row.try_get(i)?),
        "TIMESTAMP" => SqlValue::Timestamp(row.try_get(i)?),
        "DATE" => SqlValue::Date(row.try_get(i)?),
        "TIME" => SqlValue::Time(row.try_get(i)?),
        "BYTEA" => SqlValue::Bytes(row.try_get(i)?),
        "JSON" | "JSONB" => SqlValue::Json(row.try_get(i)?),
        other => return Err(unsupported(other)),
    })
}

/// Decode column `i` of a MySQL/MariaDB row, by the column type the server reports.
pub(crate) fn decode_mysql(row: &MySqlRow, i: usize) -> Result<SqlValue, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(SqlValue::Null);
    }
    let ty = raw.type_info().name().to_string();
    Ok(match ty.as_str() {
        "BOOLEAN" | "TINYINT" | "SMALLINT" | "INT" | "MEDIUMINT" | "BIGINT" | "YEAR" => {
            SqlValue::Int(row.try_get_unchecked(i)?)
        }
        "TINYINT UNSIGNED" | "SMALLINT UNSIGNED" | "INT UNSIGNED" | "MEDIUMINT UNSIGNED"
        | "BIGINT UNSIGNED" => {
            let v: u64 = row.try_get_unchecked(i)?;
            // Above i64::MAX only as text; MySQL compares it numerically when bound back.
            i64::try_from(v).map_or_else(|_| SqlValue::Text(v.to_string()), SqlValue::Int)
        }
        "FLOAT" => SqlValue::Float(row.try_get_unchecked::<f32, _>(i)?.into()),
        "DOUBLE" => SqlValue::Float(row.try_get_unchecked(i)?),
        "DATE" => SqlValue::Date(row.try_get_unchecked(i)?),
        "TIME" => SqlValue::Time(row.try_get_unchecked(i)?),
        "DATETIME" => SqlValue::Timestamp(row.try_get_unchecked(i)?),
        // The connection's time zone is UTC (sqlx's default), so TIMESTAMP is UTC.
        "TIMESTAMP" => SqlValue::TimestampTz(row.try_get_unchecked(i)?),
        "JSON" => SqlValue::Json(row.try_get_unchecked(i)?),
        "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" | "BIT"
        | "GEOMETRY" => SqlValue::Bytes(row.try_get_unchecked(i)?),
        _ => SqlValue::Text(row.try_get_unchecked(i)?),
    })
}

/// Decode column `i` of a SQLite row by the value's storage class (SQLite types values,
/// not columns); the declared type only shapes the JSON form.
pub(crate) fn decode_sqlite(row: &SqliteRow, i: usize) -> Result<SqlValue, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(SqlValue::Null);
    }
    let ty = raw.type_info().name().to_string();
    Ok(match ty.as_str() {
        "INTEGER" => SqlValue::Int(row.try_get_unchecked(i)?),
        "REAL" => SqlValue::Float(row.try_get_unchecked(i)?),
        "BLOB" => SqlValue::Bytes(row.try_get_unchecked(i)?),
        _ => SqlValue::Text(row.try_get_unchecked(i)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_forms() {
        let ts = NaiveDate::from_ymd_opt(2024, 1, 2)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap();
        assert_eq!(
            to_json(&SqlValue::Timestamp(ts), ColumnClass::Timestamp),
            json!("2024-01-02T10:00:00Z")
        );
        assert_eq!(
            to_json(
                &SqlValue::Text("2024-01-02 10:00:00".into()),
                ColumnClass::Timestamp
            ),
            json!("2024-01-02T10:00:00Z")
        );
        assert_eq!(to_json(&SqlValue::Int(1), ColumnClass::Bool), json!(true));
        // SQLite's three date forms, in a column declared (or typed) as a timestamp.
        for (v, want) in [
            (
                SqlValue::Text("2024-01-02 10:00:00.250".into()),
                "2024-01-02T10:00:00.250Z",
            ),
            (
                SqlValue::Text("2024-01-02T12:00:00+02:00".into()),
                "2024-01-02T10:00:00Z",
            ),
            (
                SqlValue::Text("2024-01-02 10:00".into()),
                "2024-01-02T10:00:00Z",
            ),
            (SqlValue::Text("2024-01-02".into()), "2024-01-02T00:00:00Z"),
            (SqlValue::Int(1_704_189_600), "2024-01-02T10:00:00Z"),
            (
                SqlValue::Float(2_460_311.916_666_666_5),
                "2024-01-02T10:00:00Z",
            ),
        ] {
            assert_eq!(to_json(&v, ColumnClass::Timestamp), json!(want), "{v:?}");
        }
        assert_eq!(
            to_json(&SqlValue::Int(1_704_189_600), ColumnClass::Date),
            json!("2024-01-02")
        );
        // Not a date: exported as stored, never guessed.
        assert_eq!(
            to_json(&SqlValue::Text("soon".into()), ColumnClass::Timestamp),
            json!("soon")
        );
        assert_eq!(
            to_json(&SqlValue::Float(1.7e9), ColumnClass::Timestamp),
            json!(1.7e9)
        );
        assert_eq!(
            to_json(&SqlValue::Bytes(vec![1, 2, 255]), ColumnClass::Binary),
            json!("AQL/")
        );
        assert_eq!(
            to_json(&SqlValue::Float(12.5), ColumnClass::Float),
            json!(12.5)
        );
    }

    #[test]
    fn julian_days_round_trip() {
        let t: DateTime<Utc> = "2024-01-02T10:00:00Z".parse().unwrap();
        let jd = julian_day(t);
        assert!((jd - 2_460_311.916_666_667).abs() < 1e-6, "{jd}");
        assert_eq!(sqlite_instant(&SqlValue::Float(jd)), Some(t));
        assert_eq!(sqlite_instant(&SqlValue::Int(i64::MAX)), None);
        // A whole Julian day stored as an INTEGER is not read as January 1970.
        assert_eq!(sqlite_instant(&SqlValue::Int(2_458_850)), None);
    }

    #[test]
    fn redaction_is_recognised_across_storage_forms() {
        assert!(is_redacted(&SqlValue::Int(0), ColumnClass::Bool));
        assert!(is_redacted(&SqlValue::Bool(false), ColumnClass::Bool));
        assert!(!is_redacted(&SqlValue::Int(1), ColumnClass::Int));
        assert!(is_redacted(
            &SqlValue::Text(REDACTED.into()),
            ColumnClass::Text
        ));
        assert!(is_redacted(&SqlValue::Null, ColumnClass::Date));
        assert!(!is_redacted(&SqlValue::Text("x".into()), ColumnClass::Text));
    }

    #[test]
    fn coercion_follows_the_column_class() {
        assert_eq!(
            coerce(&json!("5"), ColumnClass::Int),
            Some(SqlValue::Int(5))
        );
        assert_eq!(coerce(&json!("x"), ColumnClass::Int), None);
        assert_eq!(
            coerce(&json!("2024-01-02"), ColumnClass::Date),
            NaiveDate::from_ymd_opt(2024, 1, 2).map(SqlValue::Date)
        );
        assert_eq!(
            coerce(&json!(true), ColumnClass::Bool),
            Some(SqlValue::Bool(true))
        );
        assert_eq!(
            coerce(&json!(null), ColumnClass::Text),
            Some(SqlValue::Null)
        );
    }

    #[test]
    fn debug_hides_the_value() {
        assert_eq!(
            format!("{:?}", SqlValue::Text("ada@example.com".into())),
            "Text([redacted])"
        );
    }
}
