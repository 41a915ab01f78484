//! The SQL both backends share. `$N` placeholders work on SQLite and PostgreSQL alike, and
//! chrono values bind natively on both, so one text serves both; each backend passes in
//! what differs (how a write transaction begins, how the audit chain is serialized, how a
//! job is claimed).

/// Columns of `requests`, in the order `bind_request!` binds them.
pub(crate) const REQUEST_COLUMNS: &str = "id, reference, kind, status, held_from, hold_started_at, source, regime, \
    email_ct, email_index, name_ct, details_ct, corrections_ct, scope, verification_note_ct, \
    received_at, verified_at, clock_started_on, due_date, original_due_date, extended, \
    extension_reason, deny_reason, deny_note, completed_at, closed_at, assignee, version, \
    created_at, updated_at, residence, hold_reason, language";

/// `($1, …, $width), ($width+1, …), …`: the placeholders of a multi-row `VALUES` list.
pub(crate) fn value_rows(rows: usize, width: usize) -> String {
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `REQUEST_COLUMNS` qualified by a table alias, for joins.
pub(crate) fn request_columns_of(alias: &str) -> String {
    REQUEST_COLUMNS
        .split(", ")
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) const OUTBOX_COLUMNS: &str = "id, request_id, template, to_ct, context_ct, status, attempts, last_error, created_at, sent_at";

pub(crate) const TASK_COLUMNS: &str = "id, request_id, connector, operation, status, attempts, error, evidence, \
    result_ct, created_at, updated_at, finished_at";

pub(crate) const JOB_COLUMNS: &str = "id, kind, payload, dedupe_key, batch_key, status, attempts, max_attempts, run_at, \
    lease_owner, lease_expires_at, last_error, created_at, updated_at";

pub(crate) const AUDIT_COLUMNS: &str =
    "seq, at, actor, action, request_ref, client_addr, detail, prev_hash, hash, key_epoch";

/// Bind every column of a request in `REQUEST_COLUMNS` order.
macro_rules! bind_request {
    ($q:expr, $r:expr) => {
        $q.bind(&$r.id)
            .bind(&$r.reference)
            .bind($r.kind.as_str())
            .bind($r.status.as_str())
            .bind($r.held_from.map(|s| s.as_str()))
            .bind($r.hold_started_at)
            .bind($r.source.as_str())
            .bind($r.regime.to_string())
            .bind(&$r.email_ct)
            .bind(&$r.email_index)
            .bind(&$r.name_ct)
            .bind(&$r.details_ct)
            .bind(&$r.corrections_ct)
            .bind(&$r.scope)
            .bind(&$r.verification_note_ct)
            .bind($r.received_at)
            .bind($r.verified_at)
            .bind($r.clock_started_on)
            .bind($r.due_date)
            .bind($r.original_due_date)
            .bind($r.extended)
            .bind(&$r.extension_reason)
            .bind($r.deny_reason.map(|d| d.as_str()))
            .bind(&$r.deny_note)
            .bind($r.completed_at)
            .bind($r.closed_at)
            .bind(&$r.assignee)
            .bind($r.version)
            .bind($r.created_at)
            .bind($r.updated_at)
            .bind(&$r.residence)
            .bind($r.hold_reason.map(|h| h.as_str()))
            .bind($r.language.tag())
    };
}

macro_rules! store_impl {
    (
        store = $store:ident,
        db = $db:ty,
        migrator = $migrator:expr,
        begin_write = $begin:literal,
        audit_lock = $lock:literal,
        claim_sql = $claim:literal $(,)?
    ) => {
        impl $store {
            async fn begin_write(&self) -> $crate::store::Result<sqlx::Transaction<'static, $db>> {
                Ok(self.pool.begin_with($begin).await?)
            }

            /// An erasure ledger entry, once per task (a retried finish adds nothing).
            async fn insert_ledger_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                l: &$crate::store::LedgerEntry,
            ) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO erasure_ledger (identity_hmac, identity_ct, connector, request_ref, task_id, at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (task_id) DO NOTHING",
                )
                .bind(&l.identity_hmac)
                .bind(&l.identity_ct)
                .bind(&l.connector)
                .bind(&l.request_ref)
                .bind(&l.task_id)
                .bind(l.at)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            async fn insert_event_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                request_id: &str,
                e: &$crate::store::Event,
            ) -> $crate::store::Result<()> {
                Self::insert_events_tx(tx, request_id, std::slice::from_ref(e)).await
            }

            /// Several events of one request in one statement, in order.
            async fn insert_events_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                request_id: &str,
                events: &[$crate::store::Event],
            ) -> $crate::store::Result<()> {
                for chunk in events.chunks(100) {
                    let sql = format!(
                        "INSERT INTO request_events (request_id, at, actor, action, from_status, to_status, note) VALUES {}",
                        $crate::store::common::value_rows(chunk.len(), 7)
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for e in chunk {
                        q = q
                            .bind(request_id)
                            .bind(e.at)
                            .bind(&e.actor)
                            .bind(&e.action)
                            .bind(e.from_status.map(|s| s.as_str()))
                            .bind(e.to_status.as_str())
                            .bind(&e.note);
                    }
                    q.execute(&mut **tx).await?;
                }
                Ok(())
            }

            /// Write an audit entry in the caller's transaction: it exists if and only if
            /// the change it records is committed. It is chained (sequence number and
            /// keyed hash) by [`AuditStore::seal_audit`] soon after, outside the caller's
            /// transaction, so audited transactions do not wait for one another.
            async fn append_audit_tx(
                &self,
                tx: &mut sqlx::Transaction<'static, $db>,
                entry: &$crate::store::NewAudit,
            ) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO audit_pending (at, actor, action, request_ref, client_addr, detail) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(entry.at)
                .bind(&entry.actor)
                .bind(&entry.action)
                .bind(&entry.request_ref)
                .bind(&entry.client_addr)
                .bind(entry.detail.to_string())
                .execute(&mut **tx)
                .await?;
                self.audit_written.notify_one();
                Ok(())
            }
        }

        impl $store {
            async fn apply_changes_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                request_id: &str,
                c: &$crate::store::Changes,
            ) -> $crate::store::Result<()> {
                if let Some(f) = &c.finished_task {
                    Self::finish_task_tx(tx, &f.task, f.ledger.as_ref(), false).await?;
                }
                if let Some(e) = &c.suppression {
                    Self::add_suppression_query(e).execute(&mut **tx).await?;
                }
                if let Some(e) = &c.export {
                    Self::insert_export_query(e).execute(&mut **tx).await?;
                }
                if let Some(hash) = &c.consume_token {
                    let now = c.now.unwrap_or_else(chrono::Utc::now);
                    let used = sqlx::query(
                        "UPDATE request_tokens SET used_at = $3 WHERE token_hash = $1 AND request_id = $2 \
                         AND used_at IS NULL AND (expires_at IS NULL OR expires_at > $3)",
                    )
                    .bind(hash)
                    .bind(request_id)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                    if used.rows_affected() != 1 {
                        return Err($crate::store::StoreError::LinkGone);
                    }
                }
                if let Some(purpose) = c.revoke_purpose {
                    sqlx::query(
                        "UPDATE request_tokens SET used_at = $3 WHERE request_id = $1 AND purpose = $2 AND used_at IS NULL",
                    )
                    .bind(request_id)
                    .bind(purpose.as_str())
                    .bind(c.now.unwrap_or_else(chrono::Utc::now))
                    .execute(&mut **tx)
                    .await?;
                }
                if c.delete_tokens {
                    sqlx::query("DELETE FROM request_tokens WHERE request_id = $1")
                        .bind(request_id)
                        .execute(&mut **tx)
                        .await?;
                }
                if c.recipients_asked {
                    sqlx::query(
                        "INSERT INTO recipient_asks (request_id, asked_at) VALUES ($1, $2) \
                         ON CONFLICT (request_id) DO NOTHING",
                    )
                    .bind(request_id)
                    .bind(c.now.unwrap_or_else(chrono::Utc::now))
                    .execute(&mut **tx)
                    .await?;
                }
                for t in &c.tasks {
                    sqlx::query(
                        "INSERT INTO tasks (id, request_id, connector, operation, status, attempts, error, evidence, \
                         result_ct, created_at, updated_at, finished_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                    )
                    .bind(&t.id)
                    .bind(&t.request_id)
                    .bind(&t.connector)
                    .bind(&t.operation)
                    .bind(&t.status)
                    .bind(t.attempts)
                    .bind(&t.error)
                    .bind(&t.evidence)
                    .bind(&t.result_ct)
                    .bind(t.created_at)
                    .bind(t.updated_at)
                    .bind(t.finished_at)
                    .execute(&mut **tx)
                    .await?;
                }
                for t in &c.tokens {
                    sqlx::query(
                        "INSERT INTO request_tokens (token_hash, request_id, purpose, expires_at, used_at, created_at) \
                         VALUES ($1, $2, $3, $4, NULL, $5)",
                    )
                    .bind(&t.token_hash)
                    .bind(&t.request_id)
                    .bind(t.purpose.as_str())
                    .bind(t.expires_at)
                    .bind(t.created_at)
                    .execute(&mut **tx)
                    .await?;
                }
                for m in &c.outbox {
                    sqlx::query(
                        "INSERT INTO outbox (id, request_id, template, to_ct, context_ct, status, attempts, last_error, created_at, sent_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(&m.id)
                    .bind(&m.request_id)
                    .bind(&m.template)
                    .bind(&m.to_ct)
                    .bind(&m.context_ct)
                    .bind(m.status.as_str())
                    .bind(m.attempts)
                    .bind(&m.last_error)
                    .bind(m.created_at)
                    .bind(m.sent_at)
                    .execute(&mut **tx)
                    .await?;
                }
                Self::enqueue_many_tx(tx, &c.jobs).await?;
                if let Some(index) = &c.verification_send {
                    sqlx::query("INSERT INTO verification_sends (email_index, at) VALUES ($1, $2)")
                        .bind(index)
                        .bind(c.now.unwrap_or_else(chrono::Utc::now))
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(())
            }

            async fn enqueue_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                job: &$crate::store::NewJob,
            ) -> $crate::store::Result<bool> {
                let r = sqlx::query(
                    "INSERT INTO jobs (id, kind, payload, dedupe_key, batch_key, status, attempts, max_attempts, run_at, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $8, 'queued', 0, $5, $6, $7, $7) ON CONFLICT (dedupe_key) DO NOTHING",
                )
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(&job.kind)
                .bind(job.payload.to_string())
                .bind(&job.dedupe_key)
                .bind(job.max_attempts)
                .bind(job.run_at)
                .bind(job.created_at)
                .bind(&job.batch_key)
                .execute(&mut **tx)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            /// [`Self::enqueue_tx`] for several jobs in one statement (per 100), in
            /// order: their ids, drawn in order, keep it for the claims.
            async fn enqueue_many_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                jobs: &[$crate::store::NewJob],
            ) -> $crate::store::Result<()> {
                if let [job] = jobs {
                    return Self::enqueue_tx(tx, job).await.map(|_| ());
                }
                for chunk in jobs.chunks(100) {
                    let sql = format!(
                        "INSERT INTO jobs (id, kind, payload, dedupe_key, batch_key, status, attempts, max_attempts, run_at, created_at, updated_at) \
                         VALUES {} ON CONFLICT (dedupe_key) DO NOTHING",
                        $crate::store::common::value_rows(chunk.len(), 11)
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for job in chunk {
                        q = q
                            .bind(uuid::Uuid::now_v7().to_string())
                            .bind(&job.kind)
                            .bind(job.payload.to_string())
                            .bind(&job.dedupe_key)
                            .bind(&job.batch_key)
                            .bind("queued")
                            .bind(0_i32)
                            .bind(job.max_attempts)
                            .bind(job.run_at)
                            .bind(job.created_at)
                            .bind(job.created_at);
                    }
                    q.execute(&mut **tx).await?;
                }
                Ok(())
            }
        }

        fn unique_violation(e: sqlx::Error) -> $crate::store::StoreError {
            match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() => $crate::store::StoreError::Duplicate,
                _ => e.into(),
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::Store for $store {

            async fn migrate(&self) -> $crate::store::Result<()> {
                $migrator.run(&self.pool).await?;
                Ok(())
            }

            async fn ready(&self) -> $crate::store::Result<bool> {
                let applied: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM _sqlx_migrations WHERE success",
                )
                .fetch_one(&self.pool)
                .await?;
                Ok(applied >= $migrator.iter().count() as i64)
            }
        }

        requests_queries!(store = $store, db = $db, migrator = $migrator, begin_write = $begin, audit_lock = $lock, claim_sql = $claim);
        intake_queries!(store = $store, db = $db, migrator = $migrator, begin_write = $begin, audit_lock = $lock, claim_sql = $claim);
        outbox_queries!(store = $store, db = $db, migrator = $migrator, begin_write = $begin, audit_lock = $lock, claim_sql = $claim);
        staff_queries!(store = $store, db = $db, migrator = $migrator, begin_write = $begin, audit_lock = $lock, claim_sql = $claim);
        audit_queries!(store = $store, db = $db, migrator = $migrator, begin_write = $begin, audit_lock = $lock, claim_sql = $claim);
        jobs_queries!(store = $store, db = $db, migrator = $migrator, begin_write = $begin, audit_lock = $lock, claim_sql = $claim);
        tasks_queries!(store = $store, db = $db, migrator = $migrator, begin_write = $begin, audit_lock = $lock, claim_sql = $claim);
        ledger_queries!(store = $store, db = $db, migrator = $migrator, begin_write = $begin, audit_lock = $lock, claim_sql = $claim);
        exports_queries!(store = $store, db = $db, migrator = $migrator, begin_write = $begin, audit_lock = $lock, claim_sql = $claim);
        retention_queries!(store = $store, db = $db, migrator = $migrator, begin_write = $begin, audit_lock = $lock, claim_sql = $claim);
        drp_queries!(store = $store, db = $db, migrator = $migrator, begin_write = $begin, audit_lock = $lock, claim_sql = $claim);
        suppression_queries!(store = $store, db = $db, migrator = $migrator, begin_write = $begin, audit_lock = $lock, claim_sql = $claim);
        links_queries!(store = $store, db = $db, migrator = $migrator, begin_write = $begin, audit_lock = $lock, claim_sql = $claim);
        inbox_queries!(store = $store, db = $db, migrator = $migrator, begin_write = $begin, audit_lock = $lock, claim_sql = $claim);
        conversation_queries!(store = $store, db = $db, migrator = $migrator, begin_write = $begin, audit_lock = $lock, claim_sql = $claim);
        rotation_queries!(store = $store, db = $db, migrator = $migrator, begin_write = $begin, audit_lock = $lock, claim_sql = $claim);
        recipients_queries!(store = $store, db = $db, migrator = $migrator, begin_write = $begin, audit_lock = $lock, claim_sql = $claim);
        webhooks_queries!(store = $store, db = $db, migrator = $migrator, begin_write = $begin, audit_lock = $lock, claim_sql = $claim);
        reports_queries!(store = $store, db = $db, migrator = $migrator, begin_write = $begin, audit_lock = $lock, claim_sql = $claim);
        appeals_queries!(store = $store, db = $db, migrator = $migrator, begin_write = $begin, audit_lock = $lock, claim_sql = $claim);
    };
}
