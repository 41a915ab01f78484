//! Rightsdesk: a data-subject rights service.
//!
//! Requests arrive from subjects (public intake) or staff, move through one state machine
//! (`domain::request`), are answered before a computed due date (`domain::deadline`), and
//! every privileged action lands in a hash-chained audit log (`store::audit_chain`).
//! The layers and the path of one request through the files: `docs/ARCHITECTURE.md`.

pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod connectors;
pub mod crypto;
pub mod domain;

pub mod email;
pub mod error;
pub mod http;
pub mod i18n;
pub mod jobs;
pub mod secret;
pub mod services;
pub mod store;
pub mod telemetry;
