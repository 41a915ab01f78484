//! `rightsdesk drp directory PATH`: validate an agents directory file and load it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum DrpCommand {
    /// Validate a copy of the DRP directory's agents.json and load its agents and keys.
    /// Agents no longer listed may not sign any more; a changed key ends that agent's
    /// pairing. Nothing is loaded when any entry is invalid.
    Directory {
        path: PathBuf,
        /// Only validate; load nothing.
        #[arg(long)]
        check: bool,
    },
}

pub async fn run(config: Config, cmd: DrpCommand) -> ExitCode {
    match cmd {
        DrpCommand::Directory { path, check } => {
            if check {
                let text = match std::fs::read_to_string(&path) {
                    Ok(t) => t,
                    Err(e) => {
                        eprintln!("error: cannot read {}: {e}", path.display());
                        return ExitCode::FAILURE;
                    }
                };
                return match crate::domain::drp_directory::parse(&text) {
                    Ok(a) => {
                        println!("{}: {} agent(s), all valid", path.display(), a.len());
                        ExitCode::SUCCESS
                    }
                    Err(problems) => {
                        for p in problems {
                            eprintln!("error: {p}");
                        }
                        ExitCode::FAILURE
                    }
                };
            }
            let state = match crate::app::open(&config, Arc::new(SystemClock)).await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match crate::services::drp::service::load_directory(
                state.store.as_ref(),
                &path,
                SystemClock.now(),
            )
            .await
            {
                Ok((n, load)) => {
                    println!(
                        "{}: {n} agent(s) loaded ({} new, {} updated, {} no longer listed)",
                        path.display(),
                        load.added,
                        load.updated,
                        load.dropped
                    );
                    if !config.drp.enabled {
                        eprintln!("note: [drp] enabled = false; the DRP routes are off");
                    }
                    ExitCode::SUCCESS
                }
                Err(problems) => {
                    for p in problems {
                        eprintln!("error: {p}");
                    }
                    ExitCode::FAILURE
                }
            }
        }
    }
}
