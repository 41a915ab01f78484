//! PostgreSQL backend: for production and any number of replicas on one database.

use std::str::FromStr;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::Result;

pub struct PgStore {
    pool: PgPool,
    chain: std::sync::RwLock<Option<crate::store::audit_chain::ChainKeys>>,
    /// Woken after an audit entry is written (see `AuditStore::audit_written`).
    audit_written: std::sync::Arc<tokio::sync::Notify>,
    /// Told each request this process changed (see `RequestStore::request_changes`).
    request_changed: crate::store::RequestChanged,
}

impl PgStore {
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_sized(url, 16).await
    }

    /// Connect with a pool of at most `max_connections` (config `database_pool_size`).
    pub async fn connect_sized(url: &str, max_connections: u32) -> Result<Self> {
        let opts = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await?;
        Ok(Self {
            pool,
            chain: Default::default(),
            audit_written: Default::default(),
            request_changed: crate::store::request_changed(),
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

store_impl!(
    store = PgStore,
    db = sqlx::Postgres,
    migrator = super::migrations::postgres(),
    begin_write = "BEGIN",
    // One appender at a time, across every replica, so the chain never forks.
    audit_lock = "SELECT pg_advisory_xact_lock(7261001)",
    // `rd_async`: the claim commits without waiting for the WAL flush (see
    // `store::jobs::ASYNC_COMMIT`).
    claim_sql = "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = $1, \
                 lease_expires_at = $3, updated_at = $2 \
                 FROM (SELECT set_config('synchronous_commit', 'off', true)) AS rd_async \
                 WHERE id = (SELECT id FROM jobs \
                     WHERE (status = 'queued' AND run_at <= $2) OR (status = 'running' AND lease_expires_at < $2) \
                     ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)",
);
