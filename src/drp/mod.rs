//! Data Rights Protocol 1.0, covered-business side (issue 22; docs/drp.md): agents from
//! the directory pair, file access and deletion requests signed with Ed25519, poll their
//! status and revoke them; status changes are pushed to their callback URL.

pub mod callback;
pub mod cli;
pub mod config;
pub mod directory;
pub mod http;
pub mod model;
pub mod portal;
pub mod service;
pub mod verify;
