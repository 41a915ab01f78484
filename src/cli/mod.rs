//! The command line: `serve`, `migrate`, `check`, `token …`, `user add`, `audit verify`,
//! `keys rotate`, `purge`, `demo`. Commands call `services`.
//!
//! Layer rule (tests/architecture.rs): nothing but the binary uses the CLI; the CLI does
//! not use `http`.

pub mod demo;
pub mod drp;
pub mod retention;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::app::{self, App};
use crate::clock::SystemClock;
use crate::config::{Config, Problem};
use crate::domain::staff::Role;

#[derive(Debug, Parser)]
#[command(name = "rightsdesk", version, about = "Data-subject rights service")]
pub struct Cli {
    /// Configuration file (default: ./rightsdesk.toml when present).
    #[arg(long, global = true, env = "RIGHTSDESK_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service and job workers.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Create a sample product database, its data map, fourteen requests in every status
    /// and a staff token, then print what to try next. Safe to run twice.
    Demo,
    /// Validate the configuration and test the database connection.
    Check {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Staff API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The erasure ledger.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Staff portal users.
    #[command(subcommand)]
    User(UserCommand),
    /// The deployment key.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Data Rights Protocol agents (docs/drp.md).
    #[command(subcommand)]
    Drp(crate::cli::drp::DrpCommand),
    /// Run the data map's retention policies now (all, or one).
    Purge {
        /// Count what each policy would purge now, changing nothing.
        #[arg(long)]
        dry_run: bool,
        /// Only this policy (its name, or connector:name).
        #[arg(long)]
        policy: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Re-encrypt all identity data and recompute the blind indexes under the current key
    /// (RIGHTSDESK_SECRET_KEY or the key file), reading it with the old key given once.
    /// Stop the service first. Safe to run again after an interruption.
    Rotate {
        /// File holding the old key (64 hex characters); else RIGHTSDESK_OLD_SECRET_KEY.
        #[arg(long)]
        old_key_file: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Bind every stored identity value (requests, outbox, holds, identity checks, export
    /// links) to its table, column and row: values written before this release are
    /// re-sealed. Safe to run again after an interruption.
    Reseal {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a portal user; prints only the generated password on stdout (shown once).
    Add {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: Role,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; prints only the token on stdout.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: Role,
    },
    /// List tokens (never the secrets).
    List,
    /// Revoke a token by id.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Re-apply every erasure recorded since a time (RFC 3339 or a date), e.g. after a
    /// product database was restored from a backup. Safe to run twice.
    Replay {
        #[arg(long)]
        since: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain; exits non-zero when it is broken. Writes a checkpoint
    /// (sequence number and head hash) to the log.
    Verify {
        #[arg(long)]
        json: bool,
        /// A checkpoint kept outside the database (`SEQ:HASH`, from the log or the
        /// metrics): the entry must still be there with that hash, and every entry after
        /// it must verify. Detects a truncated or rewritten log.
        #[arg(long, value_name = "SEQ:HASH")]
        since_checkpoint: Option<crate::store::audit_chain::Checkpoint>,
    },
}

fn load_config(path: Option<&std::path::Path>) -> Result<Config, ExitCode> {
    Config::load(path).map_err(|p| {
        eprintln!("error: {p}");
        ExitCode::from(2)
    })
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::FAILURE
}

pub async fn run(cli: Cli) -> ExitCode {
    let config = match load_config(cli.config.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    crate::telemetry::init(&config.log_format, &config.log_level);
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Migrate => match app::open(&config, Arc::new(SystemClock)).await {
            Ok(_) => {
                eprintln!("migrations applied");
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        Command::Check { json } => check(config, json).await,
        Command::Demo => match crate::cli::demo::run(
            &config,
            cli.config.is_some() || std::env::var_os("RIGHTSDESK_CONFIG").is_some(),
        )
        .await
        {
            Ok(outcome) => {
                println!("{}", crate::cli::demo::next_steps(&outcome));
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        Command::Token(cmd) => token(config, cmd).await,
        Command::Drp(cmd) => crate::cli::drp::run(config, cmd).await,
        Command::Audit(AuditCommand::Verify {
            json,
            since_checkpoint,
        }) => audit_verify(config, json, since_checkpoint).await,
        Command::Ledger(LedgerCommand::Replay { since, json }) => {
            ledger_replay(config, &since, json).await
        }
        Command::User(UserCommand::Add { email, role }) => user_add(config, &email, role).await,
        Command::Keys(KeysCommand::Rotate { old_key_file, json }) => {
            keys_rotate(config, old_key_file.as_deref(), json).await
        }
        Command::Keys(KeysCommand::Reseal { json }) => keys_reseal(config, json).await,
        Command::Purge {
            dry_run,
            policy,
            json,
        } => crate::cli::retention::purge(config, dry_run, policy.as_deref(), json).await,
    }
}

async fn serve(config: Config) -> ExitCode {
    let app = match App::build(config.clone()).await {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    let addr = app.local_addr();
    tracing::info!(%addr, public_url = %config.public_url, "Rightsdesk is listening");
    if let Some(metrics) = app.metrics_addr() {
        tracing::info!(addr = %metrics, "metrics are served on their own listener at /metrics");
    }
    if config.log_format != "json" {
        // JSON logs stay one object per line; the event above says the same.
        eprintln!("Rightsdesk is listening on http://{addr}");
    }
    match app.run_until_stopped(app::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

async fn check(config: Config, json: bool) -> ExitCode {
    let mut problems: Vec<Problem> = config.problems();
    let warnings: Vec<Problem> = config.warnings();
    if problems.is_empty() {
        match crate::store::connect(config.database_url.expose()).await {
            Ok(store) => {
                if let Err(e) = store.ready().await {
                    // A fresh database has no migrations table yet; that is fine for check.
                    if !e.to_string().contains("_sqlx_migrations") {
                        problems.push(Problem {
                            key: "database_url".into(),
                            message: format!("database does not answer: {e}"),
                        });
                    }
                }
            }
            Err(e) => problems.push(Problem {
                key: "database_url".into(),
                message: format!("cannot connect: {e}"),
            }),
        }
    }
    // The data map, each connector's connection and (SQL) the live catalogue.
    let connectors = if problems.is_empty() {
        Some(crate::connectors::check::run(&config.datamap_dir, &config.connectors.env_allow).await)
    } else {
        None
    };
    let connectors_ok = connectors.as_ref().is_none_or(|c| c.ok());
    if json {
        let out = serde_json::json!({
            "ok": problems.is_empty() && connectors_ok,
            "problems": problems,
            "warnings": warnings,
            "datamap": connectors.as_ref().map(|c| &c.datamap),
            "connectors": connectors.as_ref().map(|c| &c.connectors),
        });
        println!("{out:#}");
        if !connectors_ok {
            return ExitCode::FAILURE;
        }
    } else if problems.is_empty() {
        println!("configuration OK; database reachable");
        for w in &warnings {
            println!("warning: {}: {}", w.key, w.message);
        }
        if let Some(c) = &connectors {
            print!("{c}");
        }
        if !connectors_ok {
            return ExitCode::FAILURE;
        }
    } else {
        let width = problems
            .iter()
            .map(|p| p.key.len())
            .max()
            .unwrap_or(3)
            .max(3);
        println!("{:width$}  PROBLEM", "KEY");
        for p in &problems {
            println!("{:width$}  {}", p.key, p.message);
        }
    }
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn token(config: Config, cmd: TokenCommand) -> ExitCode {
    let state = match app::open(&config, Arc::new(SystemClock)).await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    match cmd {
        TokenCommand::Create { name, role } => {
            match crate::services::staff::issue(&state, &name, role, "cli", None).await {
                Ok(t) => {
                    eprintln!(
                        "created token {} ({}, role {}); it is shown once:",
                        t.id,
                        t.name,
                        t.role.as_str()
                    );
                    println!("{}", t.token);
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        TokenCommand::List => match state.store.list_tokens().await {
            Ok(tokens) => {
                println!("{:36}  {:8}  {:10}  NAME", "ID", "ROLE", "STATE");
                for t in tokens {
                    let st = if t.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    };
                    println!("{:36}  {:8}  {:10}  {}", t.id, t.role.as_str(), st, t.name);
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        TokenCommand::Revoke { id } => match state.store.revoke_token(&id, state.clock.now()).await
        {
            Ok(true) => {
                eprintln!("revoked");
                ExitCode::SUCCESS
            }
            Ok(false) => fail("no active token with that id"),
            Err(e) => fail(e),
        },
    }
}

async fn audit_verify(
    config: Config,
    json: bool,
    since: Option<crate::store::audit_chain::Checkpoint>,
) -> ExitCode {
    let state = match app::open(&config, Arc::new(SystemClock)).await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let report = match &since {
        Some(cp) => crate::store::audit_chain::verify_since(state.store.as_ref(), cp).await,
        None => crate::store::audit_chain::verify(state.store.as_ref()).await,
    };
    match report {
        Ok(report) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                );
            } else if report.ok {
                println!(
                    "audit chain intact: {} entries{}; checkpoint {}:{}",
                    report.entries,
                    since
                        .as_ref()
                        .map(|c| format!(" after checkpoint {}", c.seq))
                        .unwrap_or_default(),
                    report.head_seq,
                    report.head_hash
                );
            } else {
                println!(
                    "audit chain BROKEN at entry {}: {}",
                    report.first_broken_seq.unwrap_or_default(),
                    report.problem.as_deref().unwrap_or("")
                );
            }
            if report.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => fail(e),
    }
}

async fn user_add(config: Config, email: &str, role: Role) -> ExitCode {
    let state = match app::open(&config, Arc::new(SystemClock)).await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    match crate::services::staff::create_user(&state, email, role).await {
        Ok((user, password)) => {
            eprintln!(
                "created portal user {} (role {}); the password is shown once:",
                user.id,
                role.as_str()
            );
            println!("{password}");
            ExitCode::SUCCESS
        }
        Err(crate::error::AppError::Validation(fields)) => fail(
            fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Err(e) => fail(e),
    }
}

fn parse_since(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        })
}

async fn ledger_replay(config: Config, since: &str, json: bool) -> ExitCode {
    let Some(since) = parse_since(since) else {
        return fail("--since must be a date (2026-11-01) or an RFC 3339 time");
    };
    let state = match app::open(&config, Arc::new(SystemClock)).await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let entries = match state.store.ledger_since(since).await {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    let keys = state.keys.clone();
    let hasher = move |v: &str| hex::encode(keys.sign(v.as_bytes()));
    let mut rows = Vec::new();
    let mut failed = false;
    for e in &entries {
        // Bound to its entry: an identity copied in from another entry does not open.
        let who = e.identity_ct.as_deref().map(|c| {
            state
                .keys
                .open_at(crate::crypto::Field::ledger_identity(&e.task_id), c)
        });
        let engine = state.connectors.get(&e.connector);
        let outcome = match (who, engine) {
            (None, _) => Err("identity no longer held in the ledger".to_string()),
            (Some(Err(_)), _) => Err(
                "the identity in this ledger entry does not open here (moved from another entry or altered); nothing was erased"
                    .to_string(),
            ),
            (_, None) => Err("connector no longer declared".to_string()),
            (Some(Ok(email)), Some(engine)) => engine
                .erase(&crate::connectors::Identity::from_email(&email), &hasher)
                .await
                .map(|ev| ev.tables.iter().map(|t| t.rows_affected).sum::<u64>())
                .map_err(|err| err.to_string()),
        };
        failed |= outcome.is_err();
        rows.push(serde_json::json!({
            "request": e.request_ref,
            "connector": e.connector,
            "erased_at": e.at,
            "rows_changed": outcome.as_ref().ok(),
            "error": outcome.as_ref().err(),
        }));
    }
    if json {
        println!("{}", serde_json::Value::Array(rows));
    } else {
        println!(
            "{:15}  {:16}  {:>12}  ERROR",
            "REQUEST", "CONNECTOR", "ROWS CHANGED"
        );
        for r in &rows {
            println!(
                "{:15}  {:16}  {:>12}  {}",
                r["request"].as_str().unwrap_or(""),
                r["connector"].as_str().unwrap_or(""),
                r["rows_changed"]
                    .as_u64()
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "-".into()),
                r["error"].as_str().unwrap_or("")
            );
        }
        eprintln!("{} erasure(s) replayed since {since}", rows.len());
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

async fn keys_reseal(config: Config, json: bool) -> ExitCode {
    let state = match app::open(&config, Arc::new(SystemClock)).await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    match crate::services::keys_rotate::reseal(&state).await {
        Ok(report) if json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Ok(report) => {
            println!("{:<20} {:>8} {:>8}", "table", "rows", "resealed");
            for t in &report.tables {
                println!("{:<20} {:>8} {:>8}", t.table, t.rows, t.rotated);
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

async fn keys_rotate(
    config: Config,
    old_key_file: Option<&std::path::Path>,
    json: bool,
) -> ExitCode {
    let old = match crate::services::keys_rotate::old_key(old_key_file) {
        Ok(k) => k,
        Err(e) => return fail(e),
    };
    let state = match app::open(&config, Arc::new(SystemClock)).await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    match crate::services::keys_rotate::rotate(&state, &old).await {
        Ok(report) if json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Ok(report) => {
            println!("{:<20} {:>8} {:>8}", "table", "rows", "rotated");
            for t in &report.tables {
                println!("{:<20} {:>8} {:>8}", t.table, t.rows, t.rotated);
            }
            println!("export files re-sealed: {}", report.export_files);
            eprintln!("key rotation done; the old key is no longer needed");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}
