//! Reading a request's connector tasks: which operation a kind asks for, which tasks are
//! current (a retried or re-run task replaces the earlier one), which have finished.

use std::collections::BTreeMap;

use crate::domain::request::Kind;
use crate::store::Task;

/// What a request kind asks of each connector.
pub fn operation(kind: Kind) -> &'static str {
    match kind {
        Kind::Access | Kind::Portability => "access",
        Kind::Erasure => "erase",
        Kind::Rectification => "rectify",
        Kind::Restriction => "restrict",
        Kind::Objection => "object",
        Kind::OptOutSale => "opt_out",
        Kind::LimitSensitive => "limit_sensitive",
        Kind::OptIn => "opt_in",
        // An appeal is decided by staff; it never reaches a connector.
        Kind::Appeal => "appeal",
    }
}

/// A task status after which the task does nothing more.
pub fn is_finished(status: &str) -> bool {
    matches!(status, "succeeded" | "failed" | "skipped")
}

/// "2 succeeded, 1 skipped" for the timeline.
pub fn status_counts(tasks: &[&Task]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for t in tasks {
        *counts.entry(t.status.as_str()).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(status, n)| format!("{n} {status}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The request's current tasks: the newest per connector and operation (a rectification
/// run again keeps its earlier tasks as history).
pub fn current_tasks(tasks: &[Task]) -> Vec<&Task> {
    let mut newest: BTreeMap<(&str, &str), &Task> = BTreeMap::new();
    for t in tasks {
        let slot = newest
            .entry((t.connector.as_str(), t.operation.as_str()))
            .or_insert(t);
        if t.id > slot.id {
            *slot = t;
        }
    }
    let mut out: Vec<&Task> = newest.into_values().collect();
    out.sort_by(|a, b| (&a.connector, &a.id).cmp(&(&b.connector, &b.id)));
    out
}
