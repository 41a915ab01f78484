//! Rightsdesk: a data-subject rights service.
//!
//! Requests arrive from subjects (public intake) or staff, move through one state machine
//! (`domain::request`), are answered before a computed due date (`domain::deadline`), and
//! every privileged action lands in a hash-chained audit log (`audit`).

pub mod app;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod connectors;
pub mod crypto;
pub mod deadlines;
pub mod demo;
pub mod domain;
pub mod duplicates;
pub mod email;
pub mod error;
pub mod export;
pub mod fanout;
pub mod http;
pub mod intake;
pub mod jobs;
pub mod keys_rotate;
pub mod notify;
pub mod outcomes;
pub mod retention;
pub mod scheduler;
pub mod secret;
pub mod store;
pub mod suppression;
pub mod task_results;
pub mod telemetry;
pub mod verification;
pub mod workflow;
