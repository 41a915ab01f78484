//! `rightsdesk purge [--dry-run] [--policy NAME] [--json]`: run the retention policies
//! now, one after the other, and print one line (or JSON object) per run.

use std::process::ExitCode;
use std::sync::Arc;

use serde_json::json;

use crate::clock::SystemClock;
use crate::config::Config;
use crate::services::retention::{self, DryRunCounts, Trigger};
use crate::store::RetentionRun;

pub async fn purge(config: Config, dry_run: bool, policy: Option<&str>, as_json: bool) -> ExitCode {
    let state = match crate::app::open(&config, Arc::new(SystemClock)).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let policies = match policy {
        Some(name) => match retention::find(&state, name) {
            Ok(p) => vec![p],
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => retention::policies(&state),
    };
    if policies.is_empty() {
        eprintln!("no retention policies are declared in the data map");
    }
    let mut runs: Vec<RetentionRun> = Vec::new();
    let mut failed = false;
    for p in policies {
        let key = p.key();
        match retention::run_now(&state, p, dry_run, Trigger::Cli, "cli", None).await {
            Ok(run) => {
                failed |= run.status == "failed";
                runs.push(run);
            }
            Err(e) => {
                failed = true;
                eprintln!("error: {key}: {e}");
            }
        }
    }
    if as_json {
        let items: Vec<serde_json::Value> = runs
            .iter()
            .map(|r| {
                if dry_run {
                    json!(DryRunCounts::from(r))
                } else {
                    json!(r)
                }
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "dry_run": dry_run, "items": items }))
                .unwrap_or_default()
        );
    } else {
        print!("{}", table(&runs, dry_run));
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// One line per run, columns aligned.
fn table(runs: &[RetentionRun], dry_run: bool) -> String {
    let last = if dry_run { "WOULD PURGE" } else { "PURGED" };
    let mut rows: Vec<[String; 7]> = vec![[
        "POLICY".into(),
        "CONNECTOR".into(),
        "STATUS".into(),
        "MATCHED".into(),
        "HELD".into(),
        "BATCHES".into(),
        last.into(),
    ]];
    for r in runs {
        let purged = if dry_run {
            r.rows_matched - r.rows_held
        } else {
            r.rows_purged
        };
        rows.push([
            r.policy.clone(),
            r.connector.clone(),
            r.status.clone(),
            r.rows_matched.to_string(),
            r.rows_held.to_string(),
            r.batches.to_string(),
            purged.to_string(),
        ]);
    }
    let mut widths = [0usize; 7];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    for r in runs.iter().filter(|r| r.error.is_some()) {
        out.push_str(&format!(
            "{}: {}\n",
            r.policy,
            r.error.as_deref().unwrap_or_default()
        ));
    }
    out
}
