//! The use cases: everything the service does for a request, a staff member or an
//! operator, one file (or folder) each. The web layer (`http`), the jobs and the CLI call
//! these; these call the store (our database), the connectors (the product's data), the
//! mailer and the job queue, through the shared [`crate::app::context::AppState`].
//!
//! May use: `domain`, `store`, `connectors`, `jobs` (the queue and the handler trait),
//! `app::context` and the foundation modules (`config`, `crypto`, `clock`, `email`,
//! `error`, `secret`). Must not use: `http`, `cli`.

pub mod agents;
pub mod appeals;
pub mod audit_sealer;
pub mod bulk;
pub mod conversation;
pub mod deadlines;
pub mod drp;
pub mod duplicates;
pub mod export;
pub mod fanout;
pub mod hashing;
pub mod inbox;
pub mod intake;
pub mod keys_rotate;
pub mod notify;
pub mod offers;
pub mod optout;
pub mod outcomes;
pub mod recipients;
pub mod regime_change;
pub mod retention;
pub mod staff;
pub mod suppression;
pub mod task_results;
pub mod tasks;
pub mod verification;
pub mod webhooks;
pub mod workflow;
