//! `rightsdesk`: parse the command line and dispatch.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    rightsdesk::services::hashing::return_large_blocks_to_the_os();
    let _ = rustls::crypto::ring::default_provider().install_default();
    rightsdesk::cli::run(rightsdesk::cli::Cli::parse()).await
}
