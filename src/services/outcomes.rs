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
            let (outcome, text) = match t.status.as_str() {
                "succeeded" => ("done", done_text(operation, evidence(t).as_ref())),
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
        "erase" => erase_text(e),
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

fn erase_text(e: &Value) -> String {
    let Some(tables) = e.get("tables").and_then(Value::as_array) else {
        return "erased".into();
    };
    let mut parts = Vec::new();
    for t in tables {
        let table = t.get("table").and_then(Value::as_str).unwrap_or("?");
        let affected = u(t, "rows_affected");
        let kept = u(t, "rows_kept");
        match t.get("action").and_then(Value::as_str) {
            Some("retain") if affected + kept > 0 => parts.push(format!(
                "{table}: {} kept{}",
                records(affected.max(kept)),
                t.get("retain_reason")
                    .and_then(Value::as_str)
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            )),
            Some("anonymize") if affected > 0 => {
                parts.push(format!("{table}: {} anonymised", records(affected)))
            }
            Some(_) if affected > 0 => {
                parts.push(format!("{table}: {} deleted", records(affected)))
            }
            _ => {}
        }
    }
    if parts.is_empty() {
        "searched; nothing about you was found to erase".into()
    } else {
        parts.join("; ")
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
        assert_eq!(
            erase_text(&e),
            "customers: 1 record deleted; invoices: 2 records anonymised; consents: 1 record kept (proof)"
        );
    }
}
