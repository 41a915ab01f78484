//! What the subject is told was done, per system (connector): from the request's current
//! tasks, in plain words, for the completion email and the status page. Only what the
//! task's evidence shows is said: a skipped task says it was skipped and why, a failed one
//! that it was not done; nothing is ever reported as done that the evidence does not show.

use serde::Serialize;
use serde_json::Value;

use crate::app::context::AppState;
use crate::domain::request::Kind;
use crate::error::AppError;
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

/// The outcome per system of `req`'s current tasks for its kind's operation.
pub async fn for_request(state: &AppState, req: &Request) -> Result<Vec<SystemOutcome>, AppError> {
    let tasks = state.store.tasks_for_request(&req.id).await?;
    Ok(summarise(req.kind, &tasks))
}

/// [`for_request`] from tasks already read.
pub fn summarise(kind: Kind, tasks: &[Task]) -> Vec<SystemOutcome> {
    let operation = crate::services::tasks::operation(kind);
    crate::services::tasks::current_tasks(tasks)
        .into_iter()
        .filter(|t| t.operation == operation)
        .map(|t| {
            let ev = evidence(t);
            let tables = match (t.status.as_str(), operation, ev.as_ref()) {
                ("succeeded", "erase", Some(e)) => erase_tables(e),
                _ => Vec::new(),
            };
            let (outcome, text) = match t.status.as_str() {
                "succeeded" if !tables.is_empty() => ("done", erase_summary(&tables)),
                "succeeded" => ("done", done_text(operation, ev.as_ref())),
                "skipped" => (
                    "skipped",
                    format!(
                        "skipped, nothing was changed: {}",
                        t.error.as_deref().unwrap_or("nothing is declared for this")
                    ),
                ),
                "failed" => (
                    "not_done",
                    "not done: the operation did not complete in this system".to_string(),
                ),
                _ => ("in_progress", "still in progress".to_string()),
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

fn records(n: u64) -> String {
    if n == 1 {
        "1 record".into()
    } else {
        format!("{n} records")
    }
}

/// A sentence for a succeeded task, from its evidence (counts only).
fn done_text(operation: &str, evidence: Option<&Value>) -> String {
    let Some(e) = evidence else {
        return "done".into();
    };
    // A person confirmed through their completion link (manual connectors).
    if e.get("confirmed").is_some() {
        return "done, confirmed by the person responsible for this system".into();
    }
    match operation {
        "access" => match e.get("rows").and_then(Value::as_u64) {
            Some(0) => "searched; nothing about you was found".into(),
            Some(n) => format!("searched; {} about you found and included", records(n)),
            None => "searched".into(),
        },
        // Erasures with table evidence are listed per table; this is the rest.
        "erase" if e.get("tables").is_some() => {
            "searched; nothing about you was found to erase".into()
        }
        "erase" => "erased".into(),
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
                    format!(
                        "{} corrected in {} ({})",
                        fields.join(", "),
                        t.get("table").and_then(Value::as_str).unwrap_or("?"),
                        records(u(t, "rows_affected"))
                    )
                })
                .collect();
            if parts.is_empty() && tables.is_some() {
                "no record about you was found to correct".into()
            } else if parts.is_empty() {
                "corrected".into()
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
            let what = match operation {
                "restrict" => "processing restricted",
                "object" => "your objection recorded",
                _ => "restriction lifted",
            };
            match n {
                Some(0) => format!("no record about you was found here ({what} on none)"),
                Some(n) => format!("{what} ({} marked)", records(n)),
                None => what.into(),
            }
        }
        "opt_out" | "limit_sensitive" | "opt_in" => {
            let n = e
                .get("optout")
                .map(|r| u(r, "rows_affected"))
                .or_else(|| e.get("rows_affected").and_then(Value::as_u64));
            let what = match operation {
                "opt_out" => "your opt-out of sale and sharing recorded",
                "limit_sensitive" => "the limit on the use of your sensitive data recorded",
                _ => "your opt-out taken back",
            };
            match n {
                Some(0) => format!("no record about you was found here ({what} on none)"),
                Some(n) => format!("{what} ({} marked)", records(n)),
                None => what.into(),
            }
        }
        _ => "done".into(),
    }
}

/// Every table of an erasure's evidence, in the order the system declares them, with
/// its outcome and reason in the subject's words.
fn erase_tables(e: &Value) -> Vec<TableOutcome> {
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
            let table = t.get("table").and_then(Value::as_str).unwrap_or("?").to_string();
            let affected = u(t, "rows_affected");
            let kept = u(t, "rows_kept");
            let left = u(t, "rows_left");
            let retain_reason = text_of(t, "retain_reason");
            let (outcome, records, text, reason) = match t.get("action").and_then(Value::as_str) {
                _ if left > 0 => (
                    "not_erased",
                    left,
                    format!("{} still found after the erasure", records(left)),
                    Some("the check after the erasure still found them; we are looking into it".to_string()),
                ),
                Some("retain") if affected + kept > 0 => (
                    "kept",
                    affected.max(kept),
                    format!("{} kept", records(affected.max(kept))),
                    Some(retain_reason.unwrap_or_else(|| "no reason was recorded".into())),
                ),
                Some("anonymize") if affected > 0 => (
                    "anonymised",
                    affected,
                    format!(
                        "{} anonymised: what identifies you was removed, the rest kept",
                        records(affected)
                    ),
                    Some(retain_reason.unwrap_or_else(|| {
                        "the records are needed without the details that identify you".into()
                    })),
                ),
                Some("anonymize") if kept > 0 => (
                    "kept",
                    kept,
                    format!("{} kept unchanged", records(kept)),
                    Some("they are shared with records of other people".into()),
                ),
                Some(_) if affected > 0 && kept > 0 => (
                    "erased",
                    affected,
                    format!("{} deleted, {} kept", records(affected), records(kept)),
                    Some("the kept records are shared with other people's records or with records we must keep".into()),
                ),
                Some(_) if affected > 0 => (
                    "erased",
                    affected,
                    format!("{} deleted", records(affected)),
                    None,
                ),
                Some(_) if kept > 0 => (
                    "kept",
                    kept,
                    format!("{} kept", records(kept)),
                    Some("they are shared with other people's records or with records we must keep".into()),
                ),
                _ => ("not_found", 0, "nothing about you was found".to_string(), None),
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
fn erase_summary(tables: &[TableOutcome]) -> String {
    let count = |o: &str| {
        tables
            .iter()
            .filter(|t| t.outcome == o)
            .map(|t| t.records)
            .sum::<u64>()
    };
    let mut parts = Vec::new();
    for (o, word) in [
        ("erased", "deleted"),
        ("anonymised", "anonymised"),
        ("kept", "kept"),
        ("not_erased", "still found"),
    ] {
        let n = count(o);
        if n > 0 {
            parts.push(format!("{} {word}", records(n)));
        }
    }
    if parts.is_empty() {
        "searched; nothing about you was found to erase".into()
    } else {
        format!("{}; per table:", parts.join(", "))
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
        let tables = erase_tables(&e);
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
            erase_summary(&tables),
            "1 record deleted, 2 records anonymised, 1 record kept; per table:"
        );
        let out = summarise(
            Kind::Erasure,
            &[task("3", "shop", "erase", "succeeded", None, e)],
        );
        assert_eq!(out[0].tables, tables, "every table is listed");
    }
}
