//! Test databases on the shared PostgreSQL and MariaDB servers, each owned by a guard that
//! drops it when the guard goes away: at the end of the test, and also when the test
//! panics (the drop runs during unwinding).

use sqlx::Connection;

/// Which server a test database lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Postgres,
    MySql,
}

/// A database created for one test; dropped (with every connection to it closed by
/// force) when this guard is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    server: Server,
    /// URL of the server's own database (where `CREATE` and `DROP` run).
    admin_url: String,
    name: String,
    /// URL of the test database (the admin URL's query string kept).
    pub url: String,
}

impl TestDatabase {
    /// Create `{prefix}_{uuid}` on the server of `admin_url`; panics when the server does
    /// not answer (the caller already knows it is configured).
    pub async fn create(server: Server, admin_url: &str, prefix: &str) -> Self {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let create = match server {
            Server::Postgres => format!("CREATE DATABASE {name}"),
            Server::MySql => format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"),
        };
        let sql = sqlx::AssertSqlSafe(create);
        match server {
            Server::Postgres => {
                let mut c = sqlx::PgConnection::connect(admin_url)
                    .await
                    .expect("connect to test PostgreSQL");
                sqlx::query(sql)
                    .execute(&mut c)
                    .await
                    .expect("create test database");
                let _ = c.close().await;
            }
            Server::MySql => {
                let mut c = sqlx::MySqlConnection::connect(admin_url)
                    .await
                    .expect("connect to test MariaDB");
                sqlx::query(sql)
                    .execute(&mut c)
                    .await
                    .expect("create test database");
                let _ = c.close().await;
            }
        }
        // A ledger of the databases created, for proving afterwards that none is left.
        if let Ok(path) = std::env::var("RIGHTSDESK_TEST_DATABASE_LOG") {
            use std::io::Write;
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                let _ = writeln!(f, "{server:?} {name}");
            }
        }
        Self {
            server,
            url: super::with_database(admin_url, &name),
            admin_url: admin_url.to_string(),
            name,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn server(&self) -> Server {
        self.server
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop may run inside a runtime (a test body, or its unwinding) or outside one:
        // the statements run on a thread of their own with its own small runtime.
        let (server, admin, name) = (self.server, self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(drop_database(server, &admin, &name))
        })
        .join()
        .unwrap_or_else(|_| Err("the dropping thread panicked".into()));
        if let Err(e) = dropped {
            let message = format!("test database {} was not dropped: {e}", self.name);
            // A second panic while unwinding would abort the test binary.
            if std::thread::panicking() {
                eprintln!("{message}");
            } else {
                panic!("{message}");
            }
        }
    }
}

/// `DROP DATABASE`, first closing every connection still open to it (a pool the
/// failing test never closed, a replica still running).
pub async fn drop_database(server: Server, admin_url: &str, name: &str) -> Result<(), String> {
    let e = |e: sqlx::Error| e.to_string();
    match server {
        Server::Postgres => {
            let mut c = sqlx::PgConnection::connect(admin_url).await.map_err(e)?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut c)
            .await
            .map_err(e)?;
            let _ = c.close().await;
        }
        Server::MySql => {
            let mut c = sqlx::MySqlConnection::connect(admin_url).await.map_err(e)?;
            // MariaDB has no FORCE: end the sessions using the database, so an open
            // transaction's metadata lock cannot hold the DROP.
            let ids: Vec<i64> = sqlx::query_scalar(
                "SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST \
                 WHERE DB = ? AND ID <> CONNECTION_ID()",
            )
            .bind(name)
            .fetch_all(&mut c)
            .await
            .map_err(e)?;
            for id in ids {
                // The session may have ended on its own meanwhile.
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!("KILL CONNECTION {id}")))
                    .execute(&mut c)
                    .await;
            }
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name}"
            )))
            .execute(&mut c)
            .await
            .map_err(e)?;
            let _ = c.close().await;
        }
    }
    Ok(())
}

/// Whether a database named `name` exists on the server of `admin_url`.
pub async fn database_exists(server: Server, admin_url: &str, name: &str) -> bool {
    match server {
        Server::Postgres => {
            let mut c = sqlx::PgConnection::connect(admin_url)
                .await
                .expect("connect to test PostgreSQL");
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_database WHERE datname = $1")
                .bind(name)
                .fetch_one(&mut c)
                .await
                .expect("list databases");
            n > 0
        }
        Server::MySql => {
            let mut c = sqlx::MySqlConnection::connect(admin_url)
                .await
                .expect("connect to test MariaDB");
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            )
            .bind(name)
            .fetch_one(&mut c)
            .await
            .expect("list databases");
            n > 0
        }
    }
}
