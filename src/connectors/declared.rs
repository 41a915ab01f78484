//! What a connector declares it can do for each operation, read from its data-map
//! declaration alone (no connection): a task whose connector declares nothing for its
//! operation ends `skipped` with the reason given here, never `succeeded` having changed
//! nothing.

use super::datamap::{ConnectorDecl, ConnectorKind};
use crate::domain::optout::OptOutScope;

/// The scope an `opt_in` takes back, from the `fields` of [`skip_reason`].
fn opt_in_scope(fields: &[&str]) -> OptOutScope {
    OptOutScope::of_opt_in(fields.first().copied())
}

/// Why `decl` has nothing to do for `operation` (`access`, `erase`, `rectify`,
/// `restrict`, `lift`, `object`, `opt_out`, `limit_sensitive`, `opt_in`), or `None` when
/// it has something to do. For `rectify`, `fields` are the fields the request's
/// corrections name (`column` or `table.column`); for `opt_in`, the scope taken back
/// (`sale`, the default, or `sensitive`).
///
/// HTTP endpoints and people (manual connectors) are asked for every operation: what
/// they can do is theirs to answer.
pub fn skip_reason(decl: &ConnectorDecl, operation: &str, fields: &[&str]) -> Option<String> {
    match decl.kind() {
        ConnectorKind::Http | ConnectorKind::Manual => None,
        ConnectorKind::Redis => match operation {
            "access" | "erase" => None,
            "rectify" => Some(
                "a redis connector holds copies under keys (sessions, caches), not fields that can be corrected"
                    .into(),
            ),
            "restrict" | "lift" => Some(
                "a redis connector holds copies under keys (sessions, caches); it has no flag to restrict processing"
                    .into(),
            ),
            "object" => Some(
                "a redis connector holds copies under keys (sessions, caches); it has no flag to record an objection"
                    .into(),
            ),
            "opt_out" | "limit_sensitive" | "opt_in" => Some(
                "a redis connector holds copies under keys (sessions, caches); it has no flag to record an opt-out"
                    .into(),
            ),
            other => Some(format!("a redis connector cannot {other}")),
        },
        ConnectorKind::Postgres | ConnectorKind::Mysql | ConnectorKind::Sqlite => match operation {
            "access" | "erase" => None,
            "restrict" if decl.restriction().is_none() => {
                Some("no [restriction] declared for this connector".into())
            }
            "lift" if decl.restriction().is_none() => Some(
                "no [restriction] declared for this connector, so there is no restriction to lift"
                    .into(),
            ),
            "object" if decl.objection().is_none() => {
                Some("no [objection] declared for this connector".into())
            }
            "opt_out" if decl.optout().is_none() => {
                Some("no [optout] declared for this connector".into())
            }
            "limit_sensitive" if decl.limit_sensitive().is_none() => {
                Some("no [limit_sensitive] declared for this connector".into())
            }
            "opt_in" => match opt_in_scope(fields) {
                OptOutScope::Sale if decl.optout().is_none() => Some(
                    "no [optout] declared for this connector, so there is no opt-out to take back"
                        .into(),
                ),
                OptOutScope::Sensitive if decl.limit_sensitive().is_none() => Some(
                    "no [limit_sensitive] declared for this connector, so there is no limit to take back"
                        .into(),
                ),
                _ => None,
            },
            "restrict" | "lift" | "object" | "opt_out" | "limit_sensitive" => None,
            "rectify" if fields.is_empty() => {
                Some("the request names no correction to make".into())
            }
            "rectify" if !fields.iter().any(|f| accepts_correction(decl, f)) => Some(
                "none of the corrections names a field declared rectify = true in this connector"
                    .into(),
            ),
            "rectify" => None,
            other => Some(format!("this connector cannot {other}")),
        },
    }
}

/// Whether `decl` can apply a correction of `field`: for SQL connectors, `column` (any
/// table declaring it `rectify = true`) or `table.column`; an endpoint or a person takes
/// any field; Redis none.
pub fn accepts_correction(decl: &ConnectorDecl, field: &str) -> bool {
    match decl.kind() {
        ConnectorKind::Http | ConnectorKind::Manual => true,
        ConnectorKind::Redis => false,
        ConnectorKind::Postgres | ConnectorKind::Mysql | ConnectorKind::Sqlite => {
            match field.split_once('.') {
                Some((table, column)) => decl
                    .table(table)
                    .is_some_and(|(_, t)| t.is_rectifiable(column)),
                None => decl.tables().iter().any(|t| t.is_rectifiable(field)),
            }
        }
    }
}

/// The fields no declared connector can correct (in the order given, without repeats):
/// a rectification naming any of them is not run but stops in review for staff.
pub fn unmatched_corrections<'a>(decls: &[ConnectorDecl], fields: &[&'a str]) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for f in fields {
        if !decls.iter().any(|d| accepts_correction(d, f)) && !out.contains(f) {
            out.push(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(toml: &str) -> ConnectorDecl {
        crate::connectors::parse_str("app.toml", toml).expect("valid data map")
    }

    const BARE: &str = r#"
name = "app"
kind = "sqlite"
url = "sqlite://app.db"
[[tables]]
name = "customers"
primary_key = "id"
identities = { email = "email" }
erase = "delete"
[tables.fields]
name = { rectify = true }
"#;

    #[test]
    fn sql_without_declarations_skips_with_the_reason() {
        let d = decl(BARE);
        assert_eq!(skip_reason(&d, "access", &[]), None);
        assert_eq!(skip_reason(&d, "erase", &[]), None);
        assert_eq!(
            skip_reason(&d, "object", &[]).as_deref(),
            Some("no [objection] declared for this connector")
        );
        assert_eq!(
            skip_reason(&d, "restrict", &[]).as_deref(),
            Some("no [restriction] declared for this connector")
        );
        assert!(
            skip_reason(&d, "lift", &[])
                .unwrap()
                .contains("no [restriction]")
        );
        assert_eq!(skip_reason(&d, "rectify", &["name"]), None);
        assert_eq!(skip_reason(&d, "rectify", &["customers.name"]), None);
        assert!(
            skip_reason(&d, "rectify", &["nickname"])
                .unwrap()
                .contains("rectify = true")
        );
        assert!(skip_reason(&d, "rectify", &[]).is_some());
    }

    #[test]
    fn declared_operations_run() {
        let d = decl(&format!(
            "{BARE}\n[restriction]\ntable = \"customers\"\nset = {{ restricted = true }}\n\
             [objection]\ntable = \"customers\"\nset = {{ opted_out = true }}\n"
        ));
        for op in ["restrict", "lift", "object"] {
            assert_eq!(skip_reason(&d, op, &[]), None, "{op}");
        }
    }

    #[test]
    fn opt_outs_run_where_declared() {
        let d = decl(BARE);
        assert_eq!(
            skip_reason(&d, "opt_out", &[]).as_deref(),
            Some("no [optout] declared for this connector")
        );
        assert!(
            skip_reason(&d, "limit_sensitive", &[])
                .unwrap()
                .contains("[limit_sensitive]")
        );
        let d = decl(&format!(
            "{BARE}\n[optout]\ntable = \"customers\"\nset = {{ sale_opt_out = true }}\n"
        ));
        assert_eq!(skip_reason(&d, "opt_out", &[]), None);
        assert_eq!(skip_reason(&d, "opt_in", &["sale"]), None);
        assert!(
            skip_reason(&d, "opt_in", &["sensitive"])
                .unwrap()
                .contains("[limit_sensitive]")
        );
        assert!(skip_reason(&d, "limit_sensitive", &[]).is_some());
    }

    #[test]
    fn redis_only_finds_and_erases() {
        let d = decl(
            "name = \"cache\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1:6379\"\n\
             [[keys]]\npattern = \"session:{email}\"\n",
        );
        assert_eq!(skip_reason(&d, "access", &[]), None);
        assert_eq!(skip_reason(&d, "erase", &[]), None);
        for op in ["restrict", "lift", "object", "rectify"] {
            assert!(
                skip_reason(&d, op, &["name"]).unwrap().contains("redis"),
                "{op}"
            );
        }
        assert!(!accepts_correction(&d, "name"));
    }

    #[test]
    fn unmatched_corrections_are_listed_once() {
        let d = decl(BARE);
        assert_eq!(
            unmatched_corrections(
                std::slice::from_ref(&d),
                &["name", "nickname", "customers.email", "nickname"]
            ),
            vec!["nickname", "customers.email"]
        );
        assert!(unmatched_corrections(&[d], &["customers.name"]).is_empty());
    }
}
