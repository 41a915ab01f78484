//! Connector tasks: their life cycle, access results in encrypted parts, values kept for other connectors, links for callbacks and manual tasks.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;

#[async_trait]
pub trait TaskStore: Send + Sync {
    async fn tasks_for_request(&self, request_id: &str) -> Result<Vec<Task>>;
    async fn task(&self, id: &str) -> Result<Option<Task>>;
    /// Mark a task running (one more attempt); `false` when it already succeeded.
    async fn start_task(&self, id: &str, now: DateTime<Utc>) -> Result<bool>;
    /// [`Self::start_task`] in the same statement as reading the task: the task as it
    /// was before this attempt (its `attempts` those before this one), or `None` when it
    /// is gone or was not startable (finished, waiting for a callback).
    async fn start_task_read(&self, id: &str, now: DateTime<Utc>) -> Result<Option<Task>>;
    /// Record a task's outcome, and for an erasure its ledger entry, atomically.
    async fn finish_task(&self, task: &Task, ledger: Option<&LedgerEntry>) -> Result<()>;
    /// A failed task back to `pending` (staff retry); `false` unless it had failed.
    async fn reset_task(&self, id: &str, now: DateTime<Utc>) -> Result<bool>;

    /// Replace the stored result of `task_id` with `parts` (one transaction).
    async fn replace_result_parts(&self, task_id: &str, parts: &[ResultPart]) -> Result<()>;
    /// Add `parts` after those already stored (a result written in batches).
    async fn append_result_parts(&self, task_id: &str, parts: &[ResultPart]) -> Result<()>;
    /// The parts of a task's result without their rows, in order.
    async fn result_part_index(&self, task_id: &str) -> Result<Vec<ResultPartInfo>>;
    /// The encrypted rows of the parts numbered `from..=to`, in order: `(seq, rows)`.
    async fn result_part_rows(
        &self,
        task_id: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, String)>>;
    /// Tasks of `connector` still `waiting` (for a person or a callback) since before
    /// `cutoff`, oldest first: `(request reference, task id, operation)`.
    async fn tasks_waiting_since(
        &self,
        connector: &str,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(String, String, String)>>;

    /// Keep the values other connectors' key templates need from this task, unless some
    /// were kept already: a retried erasure must not replace them with what is left.
    async fn keep_task_values(&self, task_id: &str, values_ct: &str) -> Result<()>;
    async fn task_values(&self, task_id: &str) -> Result<Option<String>>;
    /// A `blocked` task (waiting for another connector's task) becomes `pending` and its
    /// job is enqueued, atomically; `false` when it was not blocked.
    async fn unblock_task(&self, task_id: &str, job: &NewJob, now: DateTime<Utc>) -> Result<bool>;
    async fn insert_task_token(&self, token: &TaskToken) -> Result<()>;
    /// A task link by hash, used or not (the caller decides what a used one means).
    async fn task_token(&self, token_hash: &str) -> Result<Option<TaskToken>>;
    /// A `running` task now `waiting` for its callback or completion link; `token` and
    /// `changes` (its email) are stored in the same transaction. `false` when the task
    /// was no longer running (a callback already finished it).
    async fn wait_task(
        &self,
        task_id: &str,
        token: Option<&TaskToken>,
        changes: &Changes,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Use a task link once and record its task's outcome (only while the task is
    /// `running` or `waiting`), with the ledger entry of an erasure, atomically. `false`
    /// when the link was used, expired, or its task already finished.
    async fn finish_task_by_token(
        &self,
        token_hash: &str,
        task: &Task,
        ledger: Option<&LedgerEntry>,
        now: DateTime<Utc>,
    ) -> Result<bool>;

    /// Failed connector task attempts so far, by connector: every attempt of a task that
    /// ended `failed` or went back to `pending`, every attempt but the last of the others
    /// (a retried attempt failed). Grows like a counter; one pass over an index.
    async fn connector_task_failures(&self) -> Result<Vec<(String, i64)>>;
}

/// The queries of [`TaskStore`], one text for both backends.
macro_rules! tasks_queries {
    (
        store = $store:ident,
        db = $db:ty,
        migrator = $migrator:expr,
        begin_write = $begin:literal,
        audit_lock = $lock:literal,
        claim_sql = $claim:literal $(,)?
    ) => {
        impl $store {
            /// A task's outcome, with an erasure's ledger entry and the `task.failed`
            /// webhook, in the caller's transaction. `open_only`: only a task still
            /// `running` or `waiting` (a link's finish); `false` when it was not.
            async fn finish_task_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                t: &$crate::store::Task,
                ledger: Option<&$crate::store::LedgerEntry>,
                open_only: bool,
            ) -> $crate::store::Result<bool> {
                let done = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE tasks SET status = $2, error = $3, evidence = $4, result_ct = $5, updated_at = $6, \
                     finished_at = $7 WHERE id = $1{}",
                    if open_only { " AND status IN ('running', 'waiting')" } else { "" },
                )))
                .bind(&t.id)
                .bind(&t.status)
                .bind(&t.error)
                .bind(&t.evidence)
                .bind(&t.result_ct)
                .bind(t.updated_at)
                .bind(t.finished_at)
                .execute(&mut **tx)
                .await?;
                if open_only && done.rows_affected() != 1 {
                    return Ok(false);
                }
                if let Some(l) = ledger {
                    Self::insert_ledger_tx(tx, l).await?;
                }
                Self::webhook_task_tx(tx, t).await?;
                Ok(true)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::TaskStore for $store {

            async fn tasks_for_request(&self, request_id: &str) -> $crate::store::Result<Vec<$crate::store::Task>> {
                Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM tasks WHERE request_id = $1 ORDER BY connector, id",
                    $crate::store::common::TASK_COLUMNS
                )))
                .bind(request_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn task(&self, id: &str) -> $crate::store::Result<Option<$crate::store::Task>> {
                Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM tasks WHERE id = $1",
                    $crate::store::common::TASK_COLUMNS
                )))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn start_task(&self, id: &str, now: chrono::DateTime<chrono::Utc>) -> $crate::store::Result<bool> {
                // Bookkeeping like a job's claim (`store::jobs::ASYNC_COMMIT`): a start
                // lost to a database crash is a task pending again, run again when its
                // job's lease expires; the task's finish (a synchronous commit, later in
                // the WAL) is never kept without it.
                let r = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE tasks SET status = 'running', attempts = attempts + 1, updated_at = $2{} \
                     WHERE tasks.id = $1 AND tasks.status IN ('pending', 'running')",
                    Self::ASYNC_COMMIT,
                )))
                .bind(id)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn start_task_read(
                &self,
                id: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<Option<$crate::store::Task>> {
                // As `start_task` (its commit need not wait for the WAL flush), returning
                // the row: the status before the start is not kept (a started task is
                // `running`, whatever it was), the attempts before it are one less.
                let started: Option<$crate::store::Task> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "UPDATE tasks SET status = 'running', attempts = attempts + 1, updated_at = $2{} \
                     WHERE tasks.id = $1 AND tasks.status IN ('pending', 'running') RETURNING {}",
                    Self::ASYNC_COMMIT,
                    $crate::store::common::TASK_COLUMNS,
                )))
                .bind(id)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
                Ok(started.map(|mut t| {
                    t.attempts -= 1;
                    t
                }))
            }

            async fn finish_task(
                &self,
                t: &$crate::store::Task,
                ledger: Option<&$crate::store::LedgerEntry>,
            ) -> $crate::store::Result<()> {
                let mut tx = self.begin_write().await?;
                Self::finish_task_tx(&mut tx, t, ledger, false).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn reset_task(&self, id: &str, now: chrono::DateTime<chrono::Utc>) -> $crate::store::Result<bool> {
                let r = sqlx::query(
                    "UPDATE tasks SET status = 'pending', error = NULL, updated_at = $2, finished_at = NULL \
                     WHERE id = $1 AND status = 'failed'",
                )
                .bind(id)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn replace_result_parts(&self, task_id: &str, parts: &[$crate::store::ResultPart]) -> $crate::store::Result<()> {
                // A retried task rewrites its result; it is read only once the task has
                // succeeded, so the delete and the inserts need not share a transaction.
                // Like the inserts, the delete need not wait for the WAL flush.
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM task_result_parts{} WHERE task_result_parts.task_id = $1",
                    if $lock.is_empty() { "" } else { " USING (SELECT set_config('synchronous_commit', 'off', true)) AS rd_async" },
                )))
                .bind(task_id)
                .execute(&self.pool)
                .await?;
                self.append_result_parts(task_id, parts).await
            }

            async fn append_result_parts(&self, task_id: &str, parts: &[$crate::store::ResultPart]) -> $crate::store::Result<()> {
                if parts.is_empty() {
                    return Ok(());
                }
                // One multi-row INSERT per 500 parts (3,000 bound values: under SQLite's
                // and PostgreSQL's limits); one statement needs no transaction of its own,
                // more are written in one.
                //
                // PostgreSQL: the parts commit without waiting for the WAL flush (see
                // `store::jobs::ASYNC_COMMIT`). They are read only once their task has
                // succeeded, and that finish is a synchronous commit later in the WAL: it
                // flushes them too, so a finished task never lacks its parts. A crash
                // before it loses parts of a task that is then run again.
                fn insert(task_id: &str, chunk: &[$crate::store::ResultPart]) -> sqlx::QueryBuilder<$db> {
                    let mut qb: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(
                        "INSERT INTO task_result_parts (task_id, seq, table_name, columns, row_count, rows_ct) ",
                    );
                    if !$lock.is_empty() {
                        qb.push("SELECT rd_v.* FROM (");
                    }
                    qb.push_values(chunk, |mut b, p| {
                        b.push_bind(task_id.to_string())
                            .push_bind(p.seq)
                            .push_bind(p.table_name.clone())
                            .push_bind(serde_json::to_string(&p.columns).unwrap_or_else(|_| "[]".into()))
                            .push_bind(p.row_count)
                            .push_bind(p.rows_ct.clone());
                    });
                    if !$lock.is_empty() {
                        qb.push(
                            ") AS rd_v (task_id, seq, table_name, columns, row_count, rows_ct) \
                             CROSS JOIN (SELECT set_config('synchronous_commit', 'off', true)) AS rd_async",
                        );
                    }
                    qb
                }
                if parts.len() <= 500 {
                    insert(task_id, parts).build().execute(&self.pool).await?;
                    return Ok(());
                }
                let mut tx = self.begin_write().await?;
                for chunk in parts.chunks(500) {
                    insert(task_id, chunk).build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn result_part_index(&self, task_id: &str) -> $crate::store::Result<Vec<$crate::store::ResultPartInfo>> {
                let rows: Vec<(i64, String, String, i64, i64)> = sqlx::query_as(
                    "SELECT seq, table_name, columns, row_count, CAST(LENGTH(rows_ct) AS BIGINT) \
                     FROM task_result_parts WHERE task_id = $1 ORDER BY seq",
                )
                .bind(task_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(seq, table_name, columns, row_count, stored_len)| $crate::store::ResultPartInfo {
                        seq,
                        table_name,
                        columns: serde_json::from_str(&columns).unwrap_or_default(),
                        row_count,
                        stored_len,
                    })
                    .collect())
            }

            async fn result_part_rows(
                &self,
                task_id: &str,
                from: i64,
                to: i64,
            ) -> $crate::store::Result<Vec<(i64, String)>> {
                Ok(sqlx::query_as(
                    "SELECT seq, rows_ct FROM task_result_parts WHERE task_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq",
                )
                .bind(task_id)
                .bind(from)
                .bind(to)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn tasks_waiting_since(
                &self,
                connector: &str,
                cutoff: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> $crate::store::Result<Vec<(String, String, String)>> {
                Ok(sqlx::query_as(
                    "SELECT r.reference, t.id, t.operation FROM tasks t JOIN requests r ON r.id = t.request_id \
                     WHERE t.status = 'waiting' AND t.connector = $1 AND t.updated_at < $2 \
                     ORDER BY t.updated_at LIMIT $3",
                )
                .bind(connector)
                .bind(cutoff)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn keep_task_values(&self, task_id: &str, values_ct: &str) -> $crate::store::Result<()> {
                sqlx::query("UPDATE tasks SET values_ct = $2 WHERE id = $1 AND values_ct IS NULL")
                    .bind(task_id)
                    .bind(values_ct)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn task_values(&self, task_id: &str) -> $crate::store::Result<Option<String>> {
                let row: Option<(Option<String>,)> = sqlx::query_as("SELECT values_ct FROM tasks WHERE id = $1")
                    .bind(task_id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.and_then(|(v,)| v))
            }

            async fn unblock_task(
                &self,
                task_id: &str,
                job: &$crate::store::NewJob,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<bool> {
                let mut tx = self.begin_write().await?;
                let r = sqlx::query("UPDATE tasks SET status = 'pending', updated_at = $2 WHERE id = $1 AND status = 'blocked'")
                    .bind(task_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                if r.rows_affected() != 1 {
                    return Ok(false);
                }
                let changes = $crate::store::Changes {
                    jobs: vec![job.clone()],
                    ..Default::default()
                };
                Self::apply_changes_tx(&mut tx, "", &changes).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn insert_task_token(&self, t: &$crate::store::TaskToken) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO task_tokens (token_hash, task_id, request_ref, purpose, expires_at, used_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&t.token_hash)
                .bind(&t.task_id)
                .bind(&t.request_ref)
                .bind(&t.purpose)
                .bind(t.expires_at)
                .bind(t.used_at)
                .bind(t.created_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn task_token(&self, token_hash: &str) -> $crate::store::Result<Option<$crate::store::TaskToken>> {
                Ok(sqlx::query_as(
                    "SELECT token_hash, task_id, request_ref, purpose, expires_at, used_at, created_at \
                     FROM task_tokens WHERE token_hash = $1",
                )
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn wait_task(
                &self,
                task_id: &str,
                token: Option<&$crate::store::TaskToken>,
                changes: &$crate::store::Changes,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<bool> {
                let mut tx = self.begin_write().await?;
                let r = sqlx::query("UPDATE tasks SET status = 'waiting', updated_at = $2 WHERE id = $1 AND status = 'running'")
                    .bind(task_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                if r.rows_affected() != 1 {
                    return Ok(false);
                }
                if let Some(t) = token {
                    sqlx::query(
                        "INSERT INTO task_tokens (token_hash, task_id, request_ref, purpose, expires_at, used_at, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(&t.token_hash)
                    .bind(&t.task_id)
                    .bind(&t.request_ref)
                    .bind(&t.purpose)
                    .bind(t.expires_at)
                    .bind(t.used_at)
                    .bind(t.created_at)
                    .execute(&mut *tx)
                    .await?;
                }
                Self::apply_changes_tx(&mut tx, "", changes).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn finish_task_by_token(
                &self,
                token_hash: &str,
                t: &$crate::store::Task,
                ledger: Option<&$crate::store::LedgerEntry>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<bool> {
                let mut tx = self.begin_write().await?;
                let used = sqlx::query(
                    "UPDATE task_tokens SET used_at = $3 WHERE token_hash = $1 AND task_id = $2 \
                     AND used_at IS NULL AND expires_at > $3",
                )
                .bind(token_hash)
                .bind(&t.id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                if used.rows_affected() != 1 {
                    return Ok(false);
                }
                if !Self::finish_task_tx(&mut tx, t, ledger, true).await? {
                    return Ok(false);
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn connector_task_failures(&self) -> $crate::store::Result<Vec<(String, i64)>> {
                // Index-only on tasks_connector_attempts (migration 11).
                Ok(sqlx::query_as(
                    "SELECT connector, CAST(COALESCE(SUM(CASE WHEN status IN ('failed', 'pending') THEN attempts \
                     WHEN attempts > 1 THEN attempts - 1 ELSE 0 END), 0) AS BIGINT) \
                     FROM tasks GROUP BY connector ORDER BY connector",
                )
                .fetch_all(&self.pool)
                .await?)
            }
        }
    };
}
