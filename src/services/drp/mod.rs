//! Data Rights Protocol, covered-business side (issue 22; docs/drp.md): agents from the
//! directory pair, file access and deletion requests signed with Ed25519, poll their
//! status and revoke them; status changes are pushed to their callback URL. The routes
//! are `http::drp`, the staff page `http::portal::drp`, the records `store::drp`, the
//! directory's rules `domain::drp_directory`, the command `cli::drp`.

pub mod callback;
pub mod service;
pub mod verify;
