//! SQLite backend: the embedded default (one file, WAL mode).

use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::Result;

pub struct SqliteStore {
    pool: SqlitePool,
    chain: std::sync::RwLock<Option<crate::store::audit_chain::ChainKeys>>,
    /// Woken after an audit entry is written (see `AuditStore::audit_written`).
    audit_written: std::sync::Arc<tokio::sync::Notify>,
    /// Told each request this process changed (see `RequestStore::request_changes`).
    request_changed: crate::store::RequestChanged,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        if let Some(dir) = opts.get_filename().parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
        }
        create_private(opts.get_filename()).map_err(sqlx::Error::Io)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(opts)
            .await?;
        Ok(Self {
            pool,
            chain: Default::default(),
            audit_written: Default::default(),
            request_changed: crate::store::request_changed(),
        })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Create the database file readable by its owner only, before SQLite would create it
/// with the process umask (often world-readable). SQLite gives its `-wal` and `-shm`
/// files the database file's mode. An existing file, or an in-memory database, is left
/// as it is.
fn create_private(path: &std::path::Path) -> std::io::Result<()> {
    let name = path.as_os_str();
    if name.is_empty() || name == ":memory:" || path.exists() {
        return Ok(());
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(_) => Ok(()),
        // Another process created it first.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

store_impl!(
    store = SqliteStore,
    db = sqlx::Sqlite,
    migrator = super::migrations::sqlite(),
    // Take the write lock up front: a deferred transaction that reads and then writes
    // fails at once under WAL when another writer committed in between.
    begin_write = "BEGIN IMMEDIATE",
    audit_lock = "",
    claim_sql = "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = $1, \
                 lease_expires_at = $3, updated_at = $2 \
                 WHERE id = (SELECT id FROM jobs \
                     WHERE (status = 'queued' AND run_at <= $2) OR (status = 'running' AND lease_expires_at < $2) \
                     ORDER BY run_at, id LIMIT 1)",
);
