//! The shared handles every use case needs: configuration, our store, the keys, the
//! clock, the job queue, the mailer and the declared connectors. Built once by
//! [`crate::app`]; the web layer, the jobs and the CLI hand it to the services.

use std::sync::Arc;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::crypto::Keys;
use crate::jobs::Queue;
use crate::store::SharedStore;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: SharedStore,
    pub keys: Arc<Keys>,
    pub clock: SharedClock,
    pub queue: Queue,
    pub mailer: Arc<crate::email::Mailer>,
    /// The subject's languages: built-in messages and the company's replacements.
    pub i18n: Arc<crate::i18n::Catalog>,
    pub connectors: Arc<crate::connectors::Connectors>,
    /// Turns for password hashing (bounded memory under a burst of sign-ins).
    pub hashing: Arc<crate::services::hashing::HashGate>,
    /// The suppression list's HMAC key once read from the store: its bytes never change
    /// (a key rotation seals the same key under the new deployment key), so a completed
    /// erasure's entry needs no read of it.
    pub suppression_key: Arc<tokio::sync::OnceCell<crate::secret::Secret<[u8; 32]>>>,
}
