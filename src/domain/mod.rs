//! Pure types and rules: request kinds and statuses, the state machine, deadlines,
//! references and subject identity. Nothing here touches I/O.

pub mod deadline;
pub mod identity;
pub mod objection;
pub mod reference;
pub mod regime;
pub mod request;
