//! The Data Rights Protocol's records: agents from the directory (key, pairing,
//! suspension), the signed messages seen (replay refusal), and the DRP requests behind
//! our requests with their callback state.

use chrono::{DateTime, Utc};

use super::*;

/// An agent from the directory, with its pairing and suspension.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DrpAgent {
    pub id: String,
    pub name: String,
    /// base64 of the 32-byte Ed25519 verify key.
    pub verify_key: String,
    pub web_url: Option<String>,
    pub in_directory: bool,
    pub token_hash: Option<String>,
    pub paired_at: Option<DateTime<Utc>>,
    pub suspended_at: Option<DateTime<Utc>>,
    pub suspended_by: Option<String>,
    pub loaded_at: DateTime<Utc>,
}

impl DrpAgent {
    pub fn key(&self) -> Option<[u8; 32]> {
        crate::domain::drp_directory::parse_verify_key(&self.verify_key)
    }
}

/// A DRP exercise request and the Rightsdesk request carrying it out.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DrpRequest {
    pub id: String,
    pub agent_id: String,
    pub request_id: String,
    pub request_ref: String,
    pub exercise: String,
    pub agent_request_id: Option<String>,
    pub drp_version: Option<String>,
    pub status_callback: Option<String>,
    /// Encrypted identity claims; `NULL` once the request's personal data is wiped.
    pub claims_ct: Option<String>,
    pub callback_digest: Option<String>,
    pub callback_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// What loading a directory file changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectoryLoad {
    pub added: u64,
    pub updated: u64,
    /// Agents no longer listed: they may not sign any more.
    pub dropped: u64,
}

/// An agent with how many requests it filed.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentWithCounts {
    pub agent: DrpAgent,
    pub requests: i64,
    pub open_requests: i64,
}

/// The job that tells an agent of a status change.
pub const CALLBACK_JOB: &str = "drp.callback";

#[async_trait::async_trait]
pub trait DrpStore: Send + Sync {
    /// Load a directory: add or update each agent (key, name), and mark agents that are
    /// no longer listed as out of the directory (they may not sign any more).
    async fn drp_load_agents(
        &self,
        agents: &[crate::store::drp::DrpAgent],
        now: DateTime<Utc>,
    ) -> Result<crate::store::drp::DirectoryLoad>;
    async fn drp_agent(&self, id: &str) -> Result<Option<crate::store::drp::DrpAgent>>;
    async fn drp_agent_by_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<crate::store::drp::DrpAgent>>;
    /// Give the agent a new bearer token (hash), replacing any earlier one, with its audit entry.
    async fn drp_pair_agent(
        &self,
        id: &str,
        token_hash: &str,
        now: DateTime<Utc>,
        audit: &NewAudit,
    ) -> Result<bool>;
    /// Suspend (`Some(time)`) or reinstate (`None`) an agent, with its audit entry.
    async fn drp_suspend_agent(
        &self,
        id: &str,
        at: Option<DateTime<Utc>>,
        by: Option<&str>,
        audit: &NewAudit,
    ) -> Result<bool>;
    /// Every agent with its request counts (all, and not final).
    async fn drp_agents(&self) -> Result<Vec<crate::store::drp::AgentWithCounts>>;
    /// Remember an accepted signed message until it expires; `false` when it was seen
    /// already (a replay). Forgets expired ones on the way.
    async fn drp_remember_message(
        &self,
        digest: &str,
        agent_id: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Take a remembered message back (what it asked for could not be stored).
    async fn drp_forget_message(&self, digest: &str) -> Result<()>;
    async fn drp_insert_request(&self, r: &crate::store::drp::DrpRequest) -> Result<()>;
    async fn drp_request(&self, id: &str) -> Result<Option<crate::store::drp::DrpRequest>>;
    /// The DRP requests behind these Rightsdesk requests, by reference (one query for a
    /// page of them).
    async fn drp_requests_of(
        &self,
        references: &[String],
    ) -> Result<Vec<crate::store::drp::DrpRequest>>;
    /// The agent acknowledged this status object (digest).
    async fn drp_callback_done(&self, id: &str, digest: &str, at: DateTime<Utc>) -> Result<()>;
}

/// The queries of [`DrpStore`], one text for both backends, and the hook
/// `update_request` calls so an agent's request queues its status callback in the same
/// transaction as the change.
macro_rules! drp_queries {
    (
        store = $store:ident,
        db = $db:ty,
        migrator = $migrator:expr,
        begin_write = $begin:literal,
        audit_lock = $lock:literal,
        claim_sql = $claim:literal $(,)?
    ) => {
        #[async_trait::async_trait]
        impl $crate::store::DrpStore for $store {
            async fn drp_load_agents(
                &self,
                agents: &[$crate::store::drp::DrpAgent],
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<$crate::store::drp::DirectoryLoad> {
                let mut tx = self.begin_write().await?;
                let mut load = $crate::store::drp::DirectoryLoad::default();
                for a in agents {
                    let known: Option<(String,)> = sqlx::query_as("SELECT id FROM drp_agents WHERE id = $1")
                        .bind(&a.id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    // A new key ends the pairing made under the old one.
                    sqlx::query(
                        "INSERT INTO drp_agents (id, name, verify_key, web_url, in_directory, token_hash, paired_at, suspended_at, suspended_by, loaded_at) \
                         VALUES ($1, $2, $3, $4, TRUE, NULL, NULL, NULL, NULL, $5) \
                         ON CONFLICT (id) DO UPDATE SET name = excluded.name, web_url = excluded.web_url, \
                         in_directory = TRUE, loaded_at = excluded.loaded_at, \
                         token_hash = CASE WHEN drp_agents.verify_key = excluded.verify_key THEN drp_agents.token_hash ELSE NULL END, \
                         paired_at = CASE WHEN drp_agents.verify_key = excluded.verify_key THEN drp_agents.paired_at ELSE NULL END, \
                         verify_key = excluded.verify_key",
                    )
                    .bind(&a.id)
                    .bind(&a.name)
                    .bind(&a.verify_key)
                    .bind(&a.web_url)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    if known.is_some() {
                        load.updated += 1;
                    } else {
                        load.added += 1;
                    }
                }
                let mut qb: sqlx::QueryBuilder<$db> =
                    sqlx::QueryBuilder::new("UPDATE drp_agents SET in_directory = FALSE WHERE in_directory");
                if !agents.is_empty() {
                    qb.push(" AND id NOT IN (");
                    let mut sep = qb.separated(", ");
                    for a in agents {
                        sep.push_bind(a.id.clone());
                    }
                    qb.push(")");
                }
                load.dropped = qb.build().execute(&mut *tx).await?.rows_affected();
                tx.commit().await?;
                Ok(load)
            }

            async fn drp_agent(&self, id: &str) -> $crate::store::Result<Option<$crate::store::drp::DrpAgent>> {
                Ok(sqlx::query_as("SELECT id, name, verify_key, web_url, in_directory, token_hash, paired_at, suspended_at, suspended_by, loaded_at FROM drp_agents WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn drp_agent_by_token(
                &self,
                token_hash: &str,
            ) -> $crate::store::Result<Option<$crate::store::drp::DrpAgent>> {
                Ok(sqlx::query_as("SELECT id, name, verify_key, web_url, in_directory, token_hash, paired_at, suspended_at, suspended_by, loaded_at FROM drp_agents WHERE token_hash = $1")
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn drp_pair_agent(
                &self,
                id: &str,
                token_hash: &str,
                now: chrono::DateTime<chrono::Utc>,
                audit: &$crate::store::NewAudit,
            ) -> $crate::store::Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE drp_agents SET token_hash = $2, paired_at = $3 WHERE id = $1 AND in_directory AND suspended_at IS NULL",
                )
                .bind(id)
                .bind(token_hash)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                self.append_audit_tx(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn drp_suspend_agent(
                &self,
                id: &str,
                at: Option<chrono::DateTime<chrono::Utc>>,
                by: Option<&str>,
                audit: &$crate::store::NewAudit,
            ) -> $crate::store::Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("UPDATE drp_agents SET suspended_at = $2, suspended_by = $3 WHERE id = $1")
                    .bind(id)
                    .bind(at)
                    .bind(by)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                self.append_audit_tx(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn drp_agents(&self) -> $crate::store::Result<Vec<$crate::store::drp::AgentWithCounts>> {
                #[derive(sqlx::FromRow)]
                struct Row {
                    #[sqlx(flatten)]
                    agent: $crate::store::drp::DrpAgent,
                    requests: i64,
                    open_requests: i64,
                }
                let rows: Vec<Row> = sqlx::query_as(
                    "SELECT a.id, a.name, a.verify_key, a.web_url, a.in_directory, a.token_hash, a.paired_at, \
                     a.suspended_at, a.suspended_by, a.loaded_at, COUNT(r.id) AS requests, \
                     COALESCE(SUM(CASE WHEN q.status IN ('completed', 'denied', 'withdrawn', 'expired') THEN 0 \
                     WHEN q.id IS NULL THEN 0 ELSE 1 END), 0) AS open_requests \
                     FROM drp_agents a LEFT JOIN drp_requests r ON r.agent_id = a.id \
                     LEFT JOIN requests q ON q.id = r.request_id \
                     GROUP BY a.id, a.name, a.verify_key, a.web_url, a.in_directory, a.token_hash, a.paired_at, \
                     a.suspended_at, a.suspended_by, a.loaded_at ORDER BY a.id",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|r| $crate::store::drp::AgentWithCounts {
                        agent: r.agent,
                        requests: r.requests,
                        open_requests: r.open_requests,
                    })
                    .collect())
            }

            async fn drp_remember_message(
                &self,
                digest: &str,
                agent_id: &str,
                expires_at: chrono::DateTime<chrono::Utc>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<bool> {
                sqlx::query("DELETE FROM drp_seen_messages WHERE expires_at <= $1")
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                let done = sqlx::query(
                    "INSERT INTO drp_seen_messages (digest, agent_id, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (digest) DO NOTHING",
                )
                .bind(digest)
                .bind(agent_id)
                .bind(expires_at)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn drp_forget_message(&self, digest: &str) -> $crate::store::Result<()> {
                sqlx::query("DELETE FROM drp_seen_messages WHERE digest = $1")
                    .bind(digest)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn drp_insert_request(&self, r: &$crate::store::drp::DrpRequest) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO drp_requests (id, agent_id, request_id, request_ref, exercise, agent_request_id, drp_version, status_callback, claims_ct, callback_digest, callback_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(&r.id)
                .bind(&r.agent_id)
                .bind(&r.request_id)
                .bind(&r.request_ref)
                .bind(&r.exercise)
                .bind(&r.agent_request_id)
                .bind(&r.drp_version)
                .bind(&r.status_callback)
                .bind(&r.claims_ct)
                .bind(&r.callback_digest)
                .bind(r.callback_at)
                .bind(r.created_at)
                .execute(&self.pool)
                .await
                .map_err(unique_violation)?;
                Ok(())
            }

            async fn drp_request(&self, id: &str) -> $crate::store::Result<Option<$crate::store::drp::DrpRequest>> {
                Ok(sqlx::query_as("SELECT id, agent_id, request_id, request_ref, exercise, agent_request_id, drp_version, status_callback, claims_ct, callback_digest, callback_at, created_at FROM drp_requests WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn drp_requests_of(
                &self,
                references: &[String],
            ) -> $crate::store::Result<Vec<$crate::store::drp::DrpRequest>> {
                if references.is_empty() {
                    return Ok(Vec::new());
                }
                let mut qb: sqlx::QueryBuilder<$db> =
                    sqlx::QueryBuilder::new("SELECT id, agent_id, request_id, request_ref, exercise, agent_request_id, drp_version, status_callback, claims_ct, callback_digest, callback_at, created_at FROM drp_requests WHERE request_ref IN (");
                let mut sep = qb.separated(", ");
                for id in references {
                    sep.push_bind(id.clone());
                }
                qb.push(") ORDER BY created_at");
                Ok(qb.build_query_as().fetch_all(&self.pool).await?)
            }

            async fn drp_callback_done(
                &self,
                id: &str,
                digest: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<()> {
                sqlx::query("UPDATE drp_requests SET callback_digest = $2, callback_at = $3 WHERE id = $1")
                    .bind(id)
                    .bind(digest)
                    .bind(at)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }

        impl $store {
            // ---- DRP agent protocol (issue 22): status callbacks through the job queue ----
            /// A request carried out for a DRP agent changed: queue the status callback in
            /// the same transaction (the job compares and sends only what the agent has not
            /// acknowledged yet).
            async fn drp_request_changed_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                req: &$crate::store::Request,
            ) -> $crate::store::Result<()> {
                let ids: Vec<(String,)> = sqlx::query_as(
                    "SELECT id FROM drp_requests WHERE request_id = $1 AND status_callback IS NOT NULL",
                )
                .bind(&req.id)
                .fetch_all(&mut **tx)
                .await?;
                let ids: Vec<String> = ids.into_iter().map(|(id,)| id).collect();
                Self::drp_callbacks_tx(tx, req, &ids).await
            }

            /// Queue the status callbacks of the DRP requests `ids` (those of `req` with a
            /// callback, read in this transaction).
            async fn drp_callbacks_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                req: &$crate::store::Request,
                ids: &[String],
            ) -> $crate::store::Result<()> {
                for id in ids {
                    let job = $crate::store::NewJob {
                        kind: $crate::store::drp::CALLBACK_JOB.into(),
                        payload: serde_json::json!({ "drp_request": id }),
                        dedupe_key: Some(format!("{}:{}:{}", $crate::store::drp::CALLBACK_JOB, id, req.version)),
                        batch_key: None,
                        run_at: req.updated_at,
                        max_attempts: 8,
                        created_at: req.updated_at,
                    };
                    Self::enqueue_tx(tx, &job).await?;
                }
                Ok(())
            }
        }
    };
}
