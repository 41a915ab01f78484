//! What the subject is told was done, per system (connector): from the request's current
//! tasks, in plain words, for the completion email and the status page. Only what the
//! task's evidence shows is said: a skipped task says it was skipped and why, a failed one
//! that it was not done; nothing is ever reported as done that the evidence does not show.

use serde::Serialize;
use serde_json::Value;

use fluent_bundle::FluentValue;

use crate::app::context::AppState;
use crate::domain::request::Kind;
use crate::error::AppError;
use crate::i18n::Localiser;
use crate::store::{Request, Task};

/// One system's part of the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SystemOutcome {
    /// The connector's name.
    pub system: String,
    /// `done`, `skipped`, `not_done` or `in_progress`.
    pub outcome: &'static str,
    /// One sentence for the subject.
    pub text: String,
    /// For an erasure that ran: every table the system declares, with what happened to
    /// the subject's records there and why (GDPR art. 17(3)); empty otherwise.
    pub tables: Vec<TableOutcome>,
}

/// One table's part of an erasure, as the subject is told it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableOutcome {
    pub table: String,
    /// `erased`, `anonymised`, `kept`, `not_found` or `not_erased`.
    pub outcome: &'static str,
    /// The subject's records the outcome is about.
    pub records: u64,
    /// What was done, in words ("2 records deleted").
    pub text: String,
    /// Why records were kept or only anonymised; `None` when nothing was kept.
    pub reason: Option<String>,
}

/// The outcome per system of `req`'s current tasks for its kind's operation, in English.
pub async fn for_request(state: &AppState, req: &Request) -> Result<Vec<SystemOutcome>, AppError> {
    for_request_in(state, req, &Localiser::english()).await
}

/// [`for_request`] in the language of `loc`.
pub async fn for_request_in(
    state: &AppState,
    req: &Request,
    loc: &Localiser,
) -> Result<Vec<SystemOutcome>, AppError> {
    let tasks = state.store.tasks_for_request(&req.id).await?;
    Ok(summarise_in(req.kind, &tasks, loc))
}

/// [`for_request`] from tasks already read.
pub fn summarise(kind: Kind, tasks: &[Task]) -> Vec<SystemOutcome> {
    summarise_in(kind, tasks, &Localiser::english())
}

/// [`summarise`] in the language of `loc` (the words come from the translation files).
pub fn summarise_in(kind: Kind, tasks: &[Task], loc: &Localiser) -> Vec<SystemOutcome> {
    let operation = crate::services::tasks::operation(kind);
    crate::services::tasks::current_tasks(tasks)
        .into_iter()
        .filter(|t| t.operation == operation)
        .map(|t| {
            let ev = evidence(t);
            let tables = match (t.status.as_str(), operation, ev.as_ref()) {
                ("succeeded", "erase", Some(e)) => erase_tables(e, loc),
                _ => Vec::new(),
            };
            let (outcome, text) = match t.status.as_str() {
                "succeeded" if !tables.is_empty() => ("done", erase_summary(&tables, loc)),
                "succeeded" => ("done", done_text(operation, ev.as_ref(), loc)),
                "skipped" => {
                    let reason = match t.error.as_deref() {
                        Some(e) => e.to_string(),
                        None => loc.text("outcome-skipped-default"),
                    };
                    (
                        "skipped",
                        loc.text_with("outcome-skipped", &[("reason", reason.into())]),
                    )
                }
                "failed" => ("not_done", loc.text("outcome-not-done")),
                _ => ("in_progress", loc.text("outcome-in-progress")),
            };
            SystemOutcome {
                system: t.connector.clone(),
                outcome,
                text,
                tables,
            }
        })
        .collect()
}

fn evidence(t: &Task) -> Option<Value> {
    t.evidence
        .as_deref()
        .and_then(|e| serde_json::from_str(e).ok())
}

fn u(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// "1 record", "3 records", in the language.
fn records(n: u64, loc: &Localiser) -> String {
    loc.text_with("records", &[("count", FluentValue::from(n))])
}

/// A message whose one argument is a number of records.
fn with_records(loc: &Localiser, key: &str, n: u64) -> String {
    loc.text_with(key, &[("records", records(n, loc).into())])
}

/// A sentence for a succeeded task, from its evidence (counts only).
fn done_text(operation: &str, evidence: Option<&Value>, loc: &Localiser) -> String {
    let Some(e) = evidence else {
        return loc.text("outcome-done");
    };
    // A person confirmed through their completion link (manual connectors).
    if e.get("confirmed").is_some() {
        return loc.text("outcome-confirmed");
    }
    match operation {
        "access" => match e.get("rows").and_then(Value::as_u64) {
            Some(0) => loc.text("outcome-access-none"),
            Some(n) => with_records(loc, "outcome-access-found", n),
            None => loc.text("outcome-access"),
        },
        // Erasures with table evidence are listed per table; this is the rest.
        "erase" if e.get("tables").is_some() => loc.text("outcome-erase-none"),
        "erase" => loc.text("outcome-erased"),
        "rectify" => {
            let tables = e.get("tables").and_then(Value::as_array);
            let parts: Vec<String> = tables
                .into_iter()
                .flatten()
                .filter(|t| u(t, "rows_affected") > 0)
                .map(|t| {
                    let fields: Vec<&str> = t
                        .get("fields")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    loc.text_with(
                        "outcome-rectify-part",
                        &[
                            ("fields", fields.join(", ").into()),
                            (
                                "table",
                                t.get("table")
                                    .and_then(Value::as_str)
                                    .unwrap_or("?")
                                    .to_string()
                                    .into(),
                            ),
                            ("records", records(u(t, "rows_affected"), loc).into()),
                        ],
                    )
                })
                .collect();
            if parts.is_empty() && tables.is_some() {
                loc.text("outcome-rectify-none")
            } else if parts.is_empty() {
                loc.text("outcome-rectified")
            } else {
                parts.join("; ")
            }
        }
        "restrict" | "object" | "lift" => {
            let key = match operation {
                "restrict" => "restriction",
                "object" => "objection",
                _ => "restriction_lifted",
            };
            let n = e
                .get(key)
                .map(|r| u(r, "rows_affected"))
                .or_else(|| e.get("rows_affected").and_then(Value::as_u64));
            marked(operation, n, loc)
        }
        "opt_out" | "limit_sensitive" | "opt_in" => {
            let n = e
                .get("optout")
                .map(|r| u(r, "rows_affected"))
                .or_else(|| e.get("rows_affected").and_then(Value::as_u64));
            marked(operation, n, loc)
        }
        _ => loc.text("outcome-done"),
    }
}

/// What a marking operation did: "processing restricted (2 records marked)".
fn marked(operation: &str, n: Option<u64>, loc: &Localiser) -> String {
    let what = loc.text(&format!("outcome-what-{operation}"));
    match n {
        Some(0) => loc.text_with("outcome-marked-none", &[("what", what.into())]),
        Some(n) => loc.text_with(
            "outcome-marked",
            &[("what", what.into()), ("records", records(n, loc).into())],
        ),
        None => what,
    }
}

/// Every table of an erasure's evidence, in the order the system declares them, with
/// its outcome and reason in the subject's words.
fn erase_tables(e: &Value, loc: &Localiser) -> Vec<TableOutcome> {
    let Some(tables) = e.get("tables").and_then(Value::as_array) else {
        return Vec::new();
    };
    let text_of = |t: &Value, key: &str| {
        t.get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    tables
        .iter()
        .map(|t| {
            let table = t
                .get("table")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string();
            let affected = u(t, "rows_affected");
            let kept = u(t, "rows_kept");
            let left = u(t, "rows_left");
            let retain_reason = text_of(t, "retain_reason");
            let reason = |key: &str| Some(loc.text(key));
            let (outcome, records, text, reason) = match t.get("action").and_then(Value::as_str) {
                _ if left > 0 => (
                    "not_erased",
                    left,
                    with_records(loc, "table-still-found", left),
                    reason("reason-still-found"),
                ),
                Some("retain") if affected + kept > 0 => (
                    "kept",
                    affected.max(kept),
                    with_records(loc, "table-kept", affected.max(kept)),
                    retain_reason.or_else(|| reason("reason-none-recorded")),
                ),
                Some("anonymize") if affected > 0 => (
                    "anonymised",
                    affected,
                    with_records(loc, "table-anonymised", affected),
                    retain_reason.or_else(|| reason("reason-anonymised")),
                ),
                Some("anonymize") if kept > 0 => (
                    "kept",
                    kept,
                    with_records(loc, "table-kept-unchanged", kept),
                    reason("reason-shared"),
                ),
                Some(_) if affected > 0 && kept > 0 => (
                    "erased",
                    affected,
                    loc.text_with(
                        "table-deleted-kept",
                        &[
                            ("deleted", self::records(affected, loc).into()),
                            ("kept", self::records(kept, loc).into()),
                        ],
                    ),
                    reason("reason-partly-kept"),
                ),
                Some(_) if affected > 0 => (
                    "erased",
                    affected,
                    with_records(loc, "table-deleted", affected),
                    None,
                ),
                Some(_) if kept > 0 => (
                    "kept",
                    kept,
                    with_records(loc, "table-kept", kept),
                    reason("reason-kept"),
                ),
                _ => ("not_found", 0, loc.text("table-not-found"), None),
            };
            TableOutcome {
                table,
                outcome,
                records,
                text,
                reason,
            }
        })
        .collect()
}

/// One line for a system whose tables are listed under it.
fn erase_summary(tables: &[TableOutcome], loc: &Localiser) -> String {
    let count = |o: &str| {
        tables
            .iter()
            .filter(|t| t.outcome == o)
            .map(|t| t.records)
            .sum::<u64>()
    };
    let mut parts = Vec::new();
    for (o, key) in [
        ("erased", "summary-deleted"),
        ("anonymised", "summary-anonymised"),
        ("kept", "summary-kept"),
        ("not_erased", "summary-still-found"),
    ] {
        let n = count(o);
        if n > 0 {
            parts.push(with_records(loc, key, n));
        }
    }
    if parts.is_empty() {
        loc.text("outcome-erase-none")
    } else {
        loc.text_with("summary-per-table", &[("parts", parts.join(", ").into())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn task(
        id: &str,
        connector: &str,
        op: &str,
        status: &str,
        error: Option<&str>,
        ev: Value,
    ) -> Task {
        Task {
            id: id.into(),
            request_id: "r".into(),
            connector: connector.into(),
            operation: op.into(),
            status: status.into(),
            attempts: 1,
            error: error.map(str::to_string),
            evidence: Some(ev.to_string()),
            result_ct: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            finished_at: None,
        }
    }

    #[test]
    fn outcomes_are_told_in_the_subjects_language() {
        let loc = Localiser::new(
            crate::i18n::Catalog::builtin(),
            crate::domain::language::Language::De,
        );
        let e = serde_json::json!({"tables": [
            {"table": "customers", "action": "delete", "rows_affected": 2, "rows_kept": 0, "rows_left": 0},
            {"table": "invoices", "action": "anonymize", "rows_affected": 1, "rows_kept": 0, "rows_left": 0},
        ]});
        let out = summarise_in(
            Kind::Erasure,
            &[
                task("1", "shop", "erase", "succeeded", None, e),
                task("2", "crm", "erase", "failed", None, serde_json::json!({})),
            ],
            &loc,
        );
        let shop = out.iter().find(|s| s.system == "shop").unwrap();
        let crm = out.iter().find(|s| s.system == "crm").unwrap();
        assert_eq!(
            shop.text,
            "2 Datensätze gelöscht, 1 Datensatz anonymisiert; je Tabelle:"
        );
        assert_eq!(shop.tables[0].text, "2 Datensätze gelöscht");
        assert_eq!(
            shop.tables[1].reason.as_deref(),
            Some("die Datensätze werden ohne die Angaben benötigt, die Sie identifizieren")
        );
        assert_eq!(
            crm.text,
            "nicht erledigt: der Vorgang wurde in diesem System nicht abgeschlossen"
        );
    }

    #[test]
    fn each_system_says_what_was_done_or_skipped_and_why() {
        let tasks = vec![
            task(
                "1",
                "shop",
                "object",
                "succeeded",
                None,
                serde_json::json!({"objection": {"table": "customers", "columns": ["x"], "rows_affected": 1}}),
            ),
            task(
                "2",
                "crm",
                "object",
                "skipped",
                Some("no [objection] declared for this connector"),
                Value::Null,
            ),
            task(
                "3",
                "cache",
                "object",
                "failed",
                Some("connector \"cache\": boom"),
                Value::Null,
            ),
        ];
        let out = summarise(Kind::Objection, &tasks);
        assert_eq!(out.len(), 3);
        let by = |s: &str| out.iter().find(|o| o.system == s).unwrap();
        assert_eq!(by("shop").outcome, "done");
        assert_eq!(by("shop").text, "your objection recorded (1 record marked)");
        assert_eq!(by("crm").outcome, "skipped");
        assert!(by("crm").text.contains("no [objection] declared"));
        assert_eq!(by("cache").outcome, "not_done");
        assert!(!by("cache").text.contains("boom"), "errors stay with staff");
    }

    #[test]
    fn the_newest_task_per_system_counts_and_erasures_list_tables() {
        let tasks = vec![
            task("1", "shop", "rectify", "skipped", Some("none"), Value::Null),
            task(
                "2",
                "shop",
                "rectify",
                "succeeded",
                None,
                serde_json::json!({"tables": [{"table": "customers", "fields": ["name"], "rows_affected": 1, "rows_skipped": 0}]}),
            ),
        ];
        let out = summarise(Kind::Rectification, &tasks);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].text, "name corrected in customers (1 record)");

        let e = serde_json::json!({"tables": [
            {"table": "customers", "action": "delete", "rows_affected": 1, "rows_kept": 0, "rows_left": 0},
            {"table": "invoices", "action": "anonymize", "rows_affected": 2, "rows_kept": 0, "rows_left": 0},
            {"table": "consents", "action": "retain", "rows_affected": 1, "rows_kept": 0, "rows_left": 0, "retain_reason": "proof"},
            {"table": "orders", "action": "delete", "rows_affected": 0, "rows_kept": 0, "rows_left": 0},
        ]});
        let tables = erase_tables(&e, &Localiser::english());
        let line = |t: &TableOutcome| {
            format!(
                "{}: {} {}{}",
                t.table,
                t.outcome,
                t.text,
                t.reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            )
        };
        let lines: Vec<String> = tables.iter().map(line).collect();
        assert_eq!(
            lines,
            [
                "customers: erased 1 record deleted",
                "invoices: anonymised 2 records anonymised: what identifies you was removed, the rest kept (the records are needed without the details that identify you)",
                "consents: kept 1 record kept (proof)",
                "orders: not_found nothing about you was found",
            ]
        );
        assert_eq!(
            erase_summary(&tables, &Localiser::english()),
            "1 record deleted, 2 records anonymised, 1 record kept; per table:"
        );
        let out = summarise(
            Kind::Erasure,
            &[task("3", "shop", "erase", "succeeded", None, e)],
        );
        assert_eq!(out[0].tables, tables, "every table is listed");
    }
}
