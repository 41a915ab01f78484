//! Pure types and rules: request kinds and statuses, the state machine, deadlines,
//! references and subject identity. Nothing here touches I/O.
//!
//! Layer rule (tests/architecture.rs): the domain uses nothing of ours but itself.

pub mod appeal;
pub mod client;
pub mod deadline;
pub mod drp_directory;
pub mod identity;
pub mod inbox;
pub mod language;
pub mod objection;
pub mod optout;
pub mod reference;
pub mod regime;
pub mod request;
pub mod schedule;
pub mod staff;
pub mod upload;
pub mod webhook;
