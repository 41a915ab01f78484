//! `rightsdesk`: parse the command line and dispatch.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    rightsdesk::cli::run(rightsdesk::cli::Cli::parse()).await
}
