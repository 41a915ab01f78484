//! The SQL both backends share. `$N` placeholders work on SQLite and PostgreSQL alike, and
//! chrono values bind natively on both, so one text serves both; each backend passes in
//! what differs (how a write transaction begins, how the audit chain is serialized, how a
//! job is claimed).

/// Columns of `requests`, in the order `bind_request!` binds them.
pub(crate) const REQUEST_COLUMNS: &str = "id, reference, kind, status, held_from, hold_started_at, source, regime, \
    email_ct, email_index, name_ct, details_ct, corrections_ct, scope, verification_note_ct, \
    received_at, verified_at, clock_started_on, due_date, original_due_date, extended, \
    extension_reason, deny_reason, deny_note, completed_at, closed_at, assignee, version, \
    created_at, updated_at, residence, hold_reason";

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

pub(crate) const JOB_COLUMNS: &str = "id, kind, payload, dedupe_key, status, attempts, max_attempts, run_at, \
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
                sqlx::query(
                    "INSERT INTO request_events (request_id, at, actor, action, from_status, to_status, note) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(request_id)
                .bind(e.at)
                .bind(&e.actor)
                .bind(&e.action)
                .bind(e.from_status.map(|s| s.as_str()))
                .bind(e.to_status.as_str())
                .bind(&e.note)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            /// Append to the hash chain inside `tx`; the caller's transaction serializes
            /// appenders (`audit_lock`), so sequence numbers and hashes never fork.
            async fn append_audit_tx(
                &self,
                tx: &mut sqlx::Transaction<'static, $db>,
                entry: &$crate::store::NewAudit,
            ) -> $crate::store::Result<$crate::store::AuditEntry> {
                let keys = $crate::store::Store::chain_keys(self).ok_or_else(|| {
                    $crate::store::StoreError::Corrupt("the audit chain's keys are not loaded".into())
                })?;
                if !$lock.is_empty() {
                    sqlx::query($lock).execute(&mut **tx).await?;
                }
                let last: Option<(i64, String)> =
                    sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                        .fetch_optional(&mut **tx)
                        .await?;
                let (seq, prev_hash) = match last {
                    Some((s, h)) => {
                        // Entry `s` is committed (read under the appenders' lock): a
                        // checkpoint that holds whatever becomes of this transaction.
                        if keys.is_checkpoint(s) {
                            $crate::audit::checkpoint(s, &h, "every_n");
                        }
                        (s + 1, h)
                    }
                    None => (1, $crate::audit::GENESIS.to_string()),
                };
                let row = $crate::audit::seal(seq, entry, &prev_hash, &keys);
                sqlx::query(
                    "INSERT INTO audit_log (seq, at, actor, action, request_ref, client_addr, detail, prev_hash, hash, key_epoch) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(row.seq)
                .bind(row.at)
                .bind(&row.actor)
                .bind(&row.action)
                .bind(&row.request_ref)
                .bind(&row.client_addr)
                .bind(&row.detail)
                .bind(&row.prev_hash)
                .bind(&row.hash)
                .bind(row.key_epoch)
                .execute(&mut **tx)
                .await?;
                Ok(row)
            }
        }

        impl $store {
            async fn apply_changes_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                request_id: &str,
                c: &$crate::store::Changes,
            ) -> $crate::store::Result<()> {
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
                for job in &c.jobs {
                    Self::enqueue_tx(tx, job).await?;
                }
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
                    "INSERT INTO jobs (id, kind, payload, dedupe_key, status, attempts, max_attempts, run_at, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7, $7) ON CONFLICT (dedupe_key) DO NOTHING",
                )
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(&job.kind)
                .bind(job.payload.to_string())
                .bind(&job.dedupe_key)
                .bind(job.max_attempts)
                .bind(job.run_at)
                .bind(job.created_at)
                .execute(&mut **tx)
                .await?;
                Ok(r.rows_affected() == 1)
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

            async fn insert_request(
                &self,
                req: &$crate::store::Request,
                event: &$crate::store::Event,
                audit: &$crate::store::NewAudit,
                changes: &$crate::store::Changes,
            ) -> $crate::store::Result<()> {
                let mut tx = self.begin_write().await?;
                let sql = format!(
                    "INSERT INTO requests ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
                     $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32)",
                    $crate::store::common::REQUEST_COLUMNS
                );
                bind_request!(sqlx::query(sqlx::AssertSqlSafe(sql)), req)
                    .execute(&mut *tx)
                    .await
                    .map_err(unique_violation)?;
                Self::insert_event_tx(&mut tx, &req.id, event).await?;
                Self::apply_changes_tx(&mut tx, &req.id, changes).await?;
                self.append_audit_tx(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn update_request(
                &self,
                req: &$crate::store::Request,
                expected_version: i64,
                event: Option<&$crate::store::Event>,
                audit: Option<&$crate::store::NewAudit>,
                changes: &$crate::store::Changes,
            ) -> $crate::store::Result<()> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE requests SET status = $2, held_from = $3, hold_started_at = $4, \
                     email_ct = $5, email_index = $6, name_ct = $7, details_ct = $8, corrections_ct = $9, \
                     scope = $10, verification_note_ct = $11, verified_at = $12, clock_started_on = $13, \
                     due_date = $14, original_due_date = $15, extended = $16, extension_reason = $17, \
                     deny_reason = $18, deny_note = $19, completed_at = $20, closed_at = $21, assignee = $22, \
                     version = $23, updated_at = $24, hold_reason = $26 \
                     WHERE id = $1 AND version = $25",
                )
                .bind(&req.id)
                .bind(req.status.as_str())
                .bind(req.held_from.map(|s| s.as_str()))
                .bind(req.hold_started_at)
                .bind(&req.email_ct)
                .bind(&req.email_index)
                .bind(&req.name_ct)
                .bind(&req.details_ct)
                .bind(&req.corrections_ct)
                .bind(&req.scope)
                .bind(&req.verification_note_ct)
                .bind(req.verified_at)
                .bind(req.clock_started_on)
                .bind(req.due_date)
                .bind(req.original_due_date)
                .bind(req.extended)
                .bind(&req.extension_reason)
                .bind(req.deny_reason.map(|d| d.as_str()))
                .bind(&req.deny_note)
                .bind(req.completed_at)
                .bind(req.closed_at)
                .bind(&req.assignee)
                .bind(req.version)
                .bind(req.updated_at)
                .bind(expected_version)
                .bind(req.hold_reason.map(|h| h.as_str()))
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Err($crate::store::StoreError::Conflict);
                }
                if let Some(e) = event {
                    Self::insert_event_tx(&mut tx, &req.id, e).await?;
                }
                Self::apply_changes_tx(&mut tx, &req.id, changes).await?;
                if let Some(a) = audit {
                    self.append_audit_tx(&mut tx, a).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn request_by_reference(
                &self,
                reference: &str,
            ) -> $crate::store::Result<Option<$crate::store::Request>> {
                let sql = format!(
                    "SELECT {} FROM requests WHERE reference = $1",
                    $crate::store::common::REQUEST_COLUMNS
                );
                let row: Option<$crate::store::RequestRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(reference)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map($crate::store::Request::try_from).transpose()
            }

            async fn list_requests(
                &self,
                f: &$crate::store::RequestFilter,
            ) -> $crate::store::Result<$crate::store::Page<$crate::store::Request>> {
                fn filters(qb: &mut sqlx::QueryBuilder<$db>, f: &$crate::store::RequestFilter) {
                    qb.push(" WHERE 1 = 1");
                    if let Some(s) = f.status {
                        qb.push(" AND status = ").push_bind(s.as_str());
                    }
                    if let Some(k) = f.kind {
                        qb.push(" AND kind = ").push_bind(k.as_str());
                    }
                    if let Some(a) = &f.assignee {
                        qb.push(" AND assignee = ").push_bind(a.clone());
                    }
                    let open = " AND status NOT IN ('completed', 'denied', 'withdrawn', 'expired')";
                    if let Some(d) = f.overdue_before {
                        qb.push(open).push(" AND due_date < ").push_bind(d);
                    }
                    if let Some(d) = f.not_overdue_on {
                        qb.push(" AND (due_date IS NULL OR due_date >= ")
                            .push_bind(d)
                            .push(" OR status IN ('completed', 'denied', 'withdrawn', 'expired'))");
                    }
                    match (&f.reference_prefix, &f.email_index) {
                        (Some(p), Some(i)) => {
                            qb.push(" AND (reference LIKE ")
                                .push_bind(format!("{p}%"))
                                .push(" OR email_index = ")
                                .push_bind(i.clone())
                                .push(")");
                        }
                        (Some(p), None) => {
                            qb.push(" AND reference LIKE ").push_bind(format!("{p}%"));
                        }
                        (None, Some(i)) => {
                            qb.push(" AND email_index = ").push_bind(i.clone());
                        }
                        (None, None) => {}
                    }
                }
                let mut count = sqlx::QueryBuilder::<$db>::new("SELECT COUNT(*) FROM requests");
                filters(&mut count, f);
                let total: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {} FROM requests",
                    $crate::store::common::REQUEST_COLUMNS
                ));
                filters(&mut qb, f);
                qb.push(" ORDER BY due_date IS NULL, due_date, received_at, reference LIMIT ")
                    .push_bind(f.page.limit())
                    .push(" OFFSET ")
                    .push_bind(f.page.offset());
                let rows: Vec<$crate::store::RequestRow> = qb.build_query_as().fetch_all(&self.pool).await?;
                let items = rows
                    .into_iter()
                    .map($crate::store::Request::try_from)
                    .collect::<$crate::store::Result<Vec<_>>>()?;
                Ok($crate::store::Page { items, total })
            }

            async fn pending_request(
                &self,
                email_index: &str,
                kind: $crate::domain::request::Kind,
            ) -> $crate::store::Result<Option<$crate::store::Request>> {
                let sql = format!(
                    "SELECT {} FROM requests WHERE email_index = $1 AND kind = $2 AND status = 'awaiting_verification' \
                     ORDER BY created_at DESC LIMIT 1",
                    $crate::store::common::REQUEST_COLUMNS
                );
                let row: Option<$crate::store::RequestRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(email_index)
                    .bind(kind.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                row.map($crate::store::Request::try_from).transpose()
            }

            async fn request_by_token(
                &self,
                token_hash: &str,
                purpose: $crate::store::TokenPurpose,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<Option<$crate::store::Request>> {
                let cols = $crate::store::common::request_columns_of("r");
                let sql = format!(
                    "SELECT {cols} FROM request_tokens t JOIN requests r ON r.id = t.request_id \
                     WHERE t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL \
                     AND (t.expires_at IS NULL OR t.expires_at > $3)"
                );
                let row: Option<$crate::store::RequestRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(token_hash)
                    .bind(purpose.as_str())
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map($crate::store::Request::try_from).transpose()
            }

            async fn verification_sends(
                &self,
                email_index: &str,
                since: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<Vec<chrono::DateTime<chrono::Utc>>> {
                Ok(sqlx::query_scalar(
                    "SELECT at FROM verification_sends WHERE email_index = $1 AND at > $2 ORDER BY at",
                )
                .bind(email_index)
                .bind(since)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn hit_rate_limit(
                &self,
                bucket: &str,
                window_ends: chrono::DateTime<chrono::Utc>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<(i64, chrono::DateTime<chrono::Utc>)> {
                let (hits, ends): (i64, chrono::DateTime<chrono::Utc>) = sqlx::query_as(
                    "INSERT INTO rate_limits (bucket, hits, expires_at) VALUES ($1, 1, $2) \
                     ON CONFLICT (bucket) DO UPDATE SET \
                       hits = CASE WHEN rate_limits.expires_at <= $3 THEN 1 ELSE rate_limits.hits + 1 END, \
                       expires_at = CASE WHEN rate_limits.expires_at <= $3 THEN $2 ELSE rate_limits.expires_at END \
                     RETURNING CAST(hits AS BIGINT), expires_at",
                )
                .bind(bucket)
                .bind(window_ends)
                .bind(now)
                .fetch_one(&self.pool)
                .await?;
                Ok((hits, ends))
            }

            async fn outbox_message(&self, id: &str) -> $crate::store::Result<Option<$crate::store::OutboxMessage>> {
                Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM outbox WHERE id = $1",
                    $crate::store::common::OUTBOX_COLUMNS
                )))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn mark_outbox(
                &self,
                id: &str,
                status: $crate::store::OutboxStatus,
                error: Option<&str>,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<()> {
                let sent_at = (status == $crate::store::OutboxStatus::Sent).then_some(at);
                sqlx::query(
                    "UPDATE outbox SET status = $2, last_error = $3, attempts = attempts + 1, sent_at = $4 WHERE id = $1",
                )
                .bind(id)
                .bind(status.as_str())
                .bind(error)
                .bind(sent_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn outbox_for_request(&self, request_id: &str) -> $crate::store::Result<Vec<$crate::store::OutboxMessage>> {
                Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM outbox WHERE request_id = $1 ORDER BY created_at, id",
                    $crate::store::common::OUTBOX_COLUMNS
                )))
                .bind(request_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn sweep_candidates(
                &self,
                due_by: chrono::NaiveDate,
                after_id: &str,
                limit: i64,
            ) -> $crate::store::Result<Vec<$crate::store::Request>> {
                let sql = format!(
                    "SELECT {} FROM requests WHERE status IN ('open', 'in_progress', 'review') \
                     AND due_date <= $1 AND id > $2 ORDER BY id LIMIT $3",
                    $crate::store::common::REQUEST_COLUMNS
                );
                let rows: Vec<$crate::store::RequestRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(due_by)
                    .bind(after_id)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map($crate::store::Request::try_from).collect()
            }

            async fn unverified_before(
                &self,
                cutoff: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> $crate::store::Result<Vec<$crate::store::Request>> {
                let sql = format!(
                    "SELECT {} FROM requests WHERE status = 'awaiting_verification' AND received_at < $1 \
                     ORDER BY received_at LIMIT $2",
                    $crate::store::common::REQUEST_COLUMNS
                );
                let rows: Vec<$crate::store::RequestRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(cutoff)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map($crate::store::Request::try_from).collect()
            }

            async fn ccpa_unacknowledged(
                &self,
                cutoff: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> $crate::store::Result<Vec<$crate::store::Request>> {
                let cols = $crate::store::common::request_columns_of("r");
                let sql = format!(
                    "SELECT {cols} FROM requests r WHERE r.regime = 'ccpa' \
                     AND r.status NOT IN ('completed', 'denied', 'withdrawn', 'expired') AND r.received_at < $1 \
                     AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.request_id = r.id \
                         AND o.template IN ('verify', 'received') AND o.status = 'sent') \
                     ORDER BY r.received_at LIMIT $2"
                );
                let rows: Vec<$crate::store::RequestRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(cutoff)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map($crate::store::Request::try_from).collect()
            }

            async fn send_notice(
                &self,
                request_id: &str,
                notice: &str,
                due_date: chrono::NaiveDate,
                changes: &$crate::store::Changes,
            ) -> $crate::store::Result<bool> {
                let mut tx = self.begin_write().await?;
                let added = sqlx::query(
                    "INSERT INTO request_notices (request_id, notice, due_date, sent_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (request_id, notice, due_date) DO NOTHING",
                )
                .bind(request_id)
                .bind(notice)
                .bind(due_date)
                .bind(changes.now.unwrap_or_else(chrono::Utc::now))
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if added {
                    Self::apply_changes_tx(&mut tx, request_id, changes).await?;
                }
                tx.commit().await?;
                Ok(added)
            }

            async fn purge_dead_tokens(&self, now: chrono::DateTime<chrono::Utc>) -> $crate::store::Result<u64> {
                let r = sqlx::query(
                    "DELETE FROM request_tokens WHERE purpose = 'verify' AND (used_at IS NOT NULL OR expires_at < $1)",
                )
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected())
            }

            async fn sla_rows(
                &self,
                from: chrono::DateTime<chrono::Utc>,
                to: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<Vec<$crate::store::SlaRow>> {
                Ok(sqlx::query_as(
                    "SELECT kind, status, received_at, due_date, closed_at FROM requests \
                     WHERE received_at >= $1 AND received_at < $2 ORDER BY received_at",
                )
                .bind(from)
                .bind(to)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn metrics(
                &self,
                today: chrono::NaiveDate,
                week_ahead: chrono::NaiveDate,
            ) -> $crate::store::Result<$crate::store::MetricsSnapshot> {
                let open = " status NOT IN ('completed', 'denied', 'withdrawn', 'expired')";
                let open_by_status: Vec<(String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT status, COUNT(*) FROM requests WHERE{open} GROUP BY status ORDER BY status"
                )))
                .fetch_all(&self.pool)
                .await?;
                let (overdue, due_within_7_days, due_soon_not_started): (i64, i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT COALESCE(SUM(CASE WHEN due_date < $1 THEN 1 ELSE 0 END), 0), \
                            COALESCE(SUM(CASE WHEN due_date >= $1 AND due_date <= $2 THEN 1 ELSE 0 END), 0), \
                            COALESCE(SUM(CASE WHEN due_date >= $1 AND due_date <= $3 AND status = 'open' THEN 1 ELSE 0 END), 0) \
                     FROM requests WHERE{open} AND due_date IS NOT NULL"
                )))
                .bind(today)
                .bind(week_ahead)
                .bind(today + chrono::TimeDelta::days(2))
                .fetch_one(&self.pool)
                .await?;
                let jobs_by_status: Vec<(String, i64)> =
                    sqlx::query_as("SELECT status, COUNT(*) FROM jobs GROUP BY status ORDER BY status")
                        .fetch_all(&self.pool)
                        .await?;
                let emails_by_status: Vec<(String, i64)> =
                    sqlx::query_as("SELECT status, COUNT(*) FROM outbox GROUP BY status ORDER BY status")
                        .fetch_all(&self.pool)
                        .await?;
                Ok($crate::store::MetricsSnapshot {
                    open_by_status,
                    overdue,
                    due_within_7_days,
                    due_soon_not_started,
                    jobs_by_status,
                    emails_by_status,
                })
            }

            async fn events(&self, request_id: &str) -> $crate::store::Result<Vec<$crate::store::Event>> {
                let rows: Vec<$crate::store::EventRow> = sqlx::query_as(
                    "SELECT at, actor, action, from_status, to_status, note FROM request_events \
                     WHERE request_id = $1 ORDER BY id",
                )
                .bind(request_id)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map($crate::store::Event::try_from).collect()
            }

            async fn insert_token(&self, t: &$crate::store::ApiToken) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO api_tokens (id, name, role, token_hash, created_at, revoked_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&t.id)
                .bind(&t.name)
                .bind(t.role.as_str())
                .bind(&t.token_hash)
                .bind(t.created_at)
                .bind(t.revoked_at)
                .execute(&self.pool)
                .await
                .map_err(unique_violation)?;
                Ok(())
            }

            async fn token_by_hash(&self, hash: &str) -> $crate::store::Result<Option<$crate::store::ApiToken>> {
                Ok(sqlx::query_as(
                    "SELECT id, name, role, token_hash, created_at, revoked_at FROM api_tokens WHERE token_hash = $1",
                )
                .bind(hash)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn list_tokens(&self) -> $crate::store::Result<Vec<$crate::store::ApiToken>> {
                Ok(sqlx::query_as(
                    "SELECT id, name, role, token_hash, created_at, revoked_at FROM api_tokens ORDER BY created_at, id",
                )
                .fetch_all(&self.pool)
                .await?)
            }

            async fn revoke_token(&self, id: &str, at: chrono::DateTime<chrono::Utc>) -> $crate::store::Result<bool> {
                let r = sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                    .bind(id)
                    .bind(at)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected() == 1)
            }

            fn set_chain_keys(&self, keys: $crate::audit::ChainKeys) {
                *self.chain.write().unwrap_or_else(|p| p.into_inner()) = Some(keys);
            }

            fn chain_keys(&self) -> Option<$crate::audit::ChainKeys> {
                self.chain.read().unwrap_or_else(|p| p.into_inner()).clone()
            }

            async fn audit_key_rows(&self) -> $crate::store::Result<Vec<(i64, String)>> {
                Ok(sqlx::query_as("SELECT epoch, key_ct FROM audit_keys ORDER BY epoch")
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn insert_audit_key(
                &self,
                epoch: i64,
                key_ct: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<()> {
                sqlx::query("INSERT INTO audit_keys (epoch, key_ct, created_at) VALUES ($1, $2, $3)")
                    .bind(epoch)
                    .bind(key_ct)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn audit_unkeyed_until(&self) -> $crate::store::Result<i64> {
                let v: Option<i64> = sqlx::query_scalar("SELECT unkeyed_until FROM audit_chain WHERE id = 1")
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(v.unwrap_or(0))
            }

            async fn audit_head(&self) -> $crate::store::Result<Option<$crate::store::AuditEntry>> {
                let sql = format!(
                    "SELECT {} FROM audit_log ORDER BY seq DESC LIMIT 1",
                    $crate::store::common::AUDIT_COLUMNS
                );
                Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn append_audit(&self, entry: &$crate::store::NewAudit) -> $crate::store::Result<$crate::store::AuditEntry> {
                let mut tx = self.begin_write().await?;
                let row = self.append_audit_tx(&mut tx, entry).await?;
                tx.commit().await?;
                Ok(row)
            }

            async fn list_audit(
                &self,
                f: &$crate::store::AuditFilter,
            ) -> $crate::store::Result<$crate::store::Page<$crate::store::AuditEntry>> {
                fn filters(qb: &mut sqlx::QueryBuilder<$db>, f: &$crate::store::AuditFilter) {
                    qb.push(" WHERE 1 = 1");
                    if let Some(r) = &f.request_ref {
                        qb.push(" AND request_ref = ").push_bind(r.clone());
                    }
                    if let Some(a) = &f.actor {
                        qb.push(" AND actor = ").push_bind(a.clone());
                    }
                    if let Some(t) = f.from {
                        qb.push(" AND at >= ").push_bind(t);
                    }
                    if let Some(t) = f.to {
                        qb.push(" AND at < ").push_bind(t);
                    }
                }
                let mut count = sqlx::QueryBuilder::<$db>::new("SELECT COUNT(*) FROM audit_log");
                filters(&mut count, f);
                let total: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {} FROM audit_log",
                    $crate::store::common::AUDIT_COLUMNS
                ));
                filters(&mut qb, f);
                qb.push(" ORDER BY seq DESC LIMIT ")
                    .push_bind(f.page.limit())
                    .push(" OFFSET ")
                    .push_bind(f.page.offset());
                let items = qb.build_query_as().fetch_all(&self.pool).await?;
                Ok($crate::store::Page { items, total })
            }

            async fn audit_after(&self, after_seq: i64, limit: i64) -> $crate::store::Result<Vec<$crate::store::AuditEntry>> {
                let sql = format!(
                    "SELECT {} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                    $crate::store::common::AUDIT_COLUMNS
                );
                Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(after_seq)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn enqueue(&self, job: &$crate::store::NewJob) -> $crate::store::Result<bool> {
                let mut tx = self.pool.begin().await?;
                let added = Self::enqueue_tx(&mut tx, job).await?;
                tx.commit().await?;
                Ok(added)
            }

            async fn claim_job(
                &self,
                worker: &str,
                now: chrono::DateTime<chrono::Utc>,
                lease_until: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<Option<$crate::store::Job>> {
                let sql = format!("{} RETURNING {}", $claim, $crate::store::common::JOB_COLUMNS);
                let mut tx = self.begin_write().await?;
                let job = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(worker)
                    .bind(now)
                    .bind(lease_until)
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(job)
            }

            async fn heartbeat(
                &self,
                id: &str,
                worker: &str,
                lease_until: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<bool> {
                let r = sqlx::query(
                    "UPDATE jobs SET lease_expires_at = $3 WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
                )
                .bind(id)
                .bind(worker)
                .bind(lease_until)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn finish_job(&self, id: &str, worker: &str, now: chrono::DateTime<chrono::Utc>) -> $crate::store::Result<bool> {
                let r = sqlx::query(
                    "UPDATE jobs SET status = 'done', lease_owner = NULL, lease_expires_at = NULL, updated_at = $3 \
                     WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
                )
                .bind(id)
                .bind(worker)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn fail_job(
                &self,
                id: &str,
                worker: &str,
                error: &str,
                retry_at: Option<chrono::DateTime<chrono::Utc>>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<bool> {
                let (status, run_at) = match retry_at {
                    Some(t) => ("queued", t),
                    None => ("dead", now),
                };
                let r = sqlx::query(
                    "UPDATE jobs SET status = $3, run_at = $4, last_error = $5, lease_owner = NULL, \
                     lease_expires_at = NULL, updated_at = $6 \
                     WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
                )
                .bind(id)
                .bind(worker)
                .bind(status)
                .bind(run_at)
                .bind(error)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn release_leases(&self, worker: &str, now: chrono::DateTime<chrono::Utc>) -> $crate::store::Result<u64> {
                // The attempt that was cut short does not count against the job.
                let r = sqlx::query(
                    "UPDATE jobs SET status = 'queued', attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, \
                     lease_owner = NULL, lease_expires_at = NULL, run_at = $2, updated_at = $2 \
                     WHERE lease_owner = $1 AND status = 'running'",
                )
                .bind(worker)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected())
            }

            async fn list_jobs(
                &self,
                status: Option<$crate::store::JobStatus>,
                page: $crate::store::PageRequest,
            ) -> $crate::store::Result<$crate::store::Page<$crate::store::Job>> {
                let status = status.map(|s| s.as_str());
                let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE (CAST($1 AS TEXT) IS NULL OR status = $1)")
                    .bind(status)
                    .fetch_one(&self.pool)
                    .await?;
                let sql = format!(
                    "SELECT {} FROM jobs WHERE (CAST($1 AS TEXT) IS NULL OR status = $1) ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
                    $crate::store::common::JOB_COLUMNS
                );
                let items = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(status)
                    .bind(page.limit())
                    .bind(page.offset())
                    .fetch_all(&self.pool)
                    .await?;
                Ok($crate::store::Page { items, total })
            }

            async fn retry_job(&self, id: &str, now: chrono::DateTime<chrono::Utc>) -> $crate::store::Result<bool> {
                let r = sqlx::query(
                    "UPDATE jobs SET status = 'queued', attempts = 0, run_at = $2, updated_at = $2 \
                     WHERE id = $1 AND status = 'dead'",
                )
                .bind(id)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            // --- portal ---
            async fn insert_user(&self, u: &$crate::http::portal::model::User) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO users (id, email, role, password_hash, totp_secret_ct, totp_enabled, totp_last_step, \
                     recovery_codes, failed_logins, locked_until, created_at, disabled_at, totp_failures, totp_locked_until) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                )
                .bind(&u.id)
                .bind(&u.email)
                .bind(u.role.as_str())
                .bind(&u.password_hash)
                .bind(&u.totp_secret_ct)
                .bind(u.totp_enabled)
                .bind(u.totp_last_step)
                .bind(&u.recovery_codes)
                .bind(u.failed_logins)
                .bind(u.locked_until)
                .bind(u.created_at)
                .bind(u.disabled_at)
                .bind(u.totp_failures)
                .bind(u.totp_locked_until)
                .execute(&self.pool)
                .await
                .map_err(unique_violation)?;
                Ok(())
            }

            async fn user_by_email(&self, email: &str) -> $crate::store::Result<Option<$crate::http::portal::model::User>> {
                Ok(sqlx::query_as(
                    "SELECT id, email, role, password_hash, totp_secret_ct, totp_enabled, totp_last_step, recovery_codes, failed_logins, locked_until, created_at, disabled_at, totp_failures, totp_locked_until \
                     FROM users WHERE email = $1",
                )
                .bind(email)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn user_by_id(&self, id: &str) -> $crate::store::Result<Option<$crate::http::portal::model::User>> {
                Ok(sqlx::query_as(
                    "SELECT id, email, role, password_hash, totp_secret_ct, totp_enabled, totp_last_step, recovery_codes, failed_logins, locked_until, created_at, disabled_at, totp_failures, totp_locked_until \
                     FROM users WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn list_users(&self) -> $crate::store::Result<Vec<$crate::http::portal::model::User>> {
                Ok(sqlx::query_as(
                    "SELECT id, email, role, password_hash, totp_secret_ct, totp_enabled, totp_last_step, recovery_codes, failed_logins, locked_until, created_at, disabled_at, totp_failures, totp_locked_until \
                     FROM users ORDER BY email",
                )
                .fetch_all(&self.pool)
                .await?)
            }

            async fn count_users(&self) -> $crate::store::Result<i64> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?)
            }

            async fn user_login_failed(
                &self,
                id: &str,
                max: i32,
                lock_until: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<bool> {
                // One statement, so concurrent failures cannot both read the old count.
                let locked: Option<bool> = sqlx::query_scalar(
                    "UPDATE users SET \
                       locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END, \
                       failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END \
                     WHERE id = $1 RETURNING (failed_logins = 0)",
                )
                .bind(id)
                .bind(max)
                .bind(lock_until)
                .fetch_optional(&self.pool)
                .await?;
                Ok(locked.unwrap_or(false))
            }

            async fn user_login_succeeded(&self, id: &str) -> $crate::store::Result<()> {
                sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn user_second_factor_failed(
                &self,
                id: &str,
                max: i32,
                lock_until: chrono::DateTime<chrono::Utc>,
                on_lock: &$crate::store::Changes,
            ) -> $crate::store::Result<bool> {
                let mut tx = self.begin_write().await?;
                // One statement, so concurrent wrong codes cannot both read the old count.
                let locked: Option<bool> = sqlx::query_scalar(
                    "UPDATE users SET \
                       totp_locked_until = CASE WHEN totp_failures + 1 >= $2 THEN $3 ELSE totp_locked_until END, \
                       totp_failures = CASE WHEN totp_failures + 1 >= $2 THEN 0 ELSE totp_failures + 1 END \
                     WHERE id = $1 RETURNING (totp_failures = 0)",
                )
                .bind(id)
                .bind(max)
                .bind(lock_until)
                .fetch_optional(&mut *tx)
                .await?;
                let locked = locked.unwrap_or(false);
                if locked {
                    sqlx::query("DELETE FROM portal_sessions WHERE user_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    Self::apply_changes_tx(&mut tx, "", on_lock).await?;
                }
                tx.commit().await?;
                Ok(locked)
            }

            async fn user_second_factor_succeeded(&self, id: &str) -> $crate::store::Result<()> {
                sqlx::query("UPDATE users SET totp_failures = 0, totp_locked_until = NULL WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn set_pending_totp(&self, id: &str, secret_ct: &str) -> $crate::store::Result<()> {
                sqlx::query("UPDATE users SET totp_secret_ct = $2 WHERE id = $1 AND totp_enabled = FALSE")
                    .bind(id)
                    .bind(secret_ct)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn enable_totp(&self, id: &str, recovery_codes: &str, step: i64) -> $crate::store::Result<()> {
                sqlx::query(
                    "UPDATE users SET totp_enabled = TRUE, recovery_codes = $2, totp_last_step = $3 WHERE id = $1",
                )
                .bind(id)
                .bind(recovery_codes)
                .bind(step)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn use_totp_step(&self, id: &str, step: i64) -> $crate::store::Result<bool> {
                let r = sqlx::query(
                    "UPDATE users SET totp_last_step = $2 WHERE id = $1 \
                     AND (totp_last_step IS NULL OR totp_last_step < $2)",
                )
                .bind(id)
                .bind(step)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn swap_recovery_codes(&self, id: &str, expected: &str, next: &str) -> $crate::store::Result<bool> {
                let r = sqlx::query("UPDATE users SET recovery_codes = $3 WHERE id = $1 AND recovery_codes = $2")
                    .bind(id)
                    .bind(expected)
                    .bind(next)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn insert_portal_session(&self, s: &$crate::http::portal::model::PortalSession) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO portal_sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, totp_passed) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&s.id_hash)
                .bind(&s.user_id)
                .bind(&s.csrf_token)
                .bind(s.created_at)
                .bind(s.last_seen_at)
                .bind(s.expires_at)
                .bind(s.totp_passed)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn portal_session(&self, id_hash: &str) -> $crate::store::Result<Option<$crate::http::portal::model::PortalSession>> {
                Ok(sqlx::query_as(
                    "SELECT id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, totp_passed \
                     FROM portal_sessions WHERE id_hash = $1",
                )
                .bind(id_hash)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn touch_portal_session(&self, id_hash: &str, at: chrono::DateTime<chrono::Utc>) -> $crate::store::Result<()> {
                sqlx::query("UPDATE portal_sessions SET last_seen_at = $2 WHERE id_hash = $1")
                    .bind(id_hash)
                    .bind(at)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn delete_portal_session(&self, id_hash: &str) -> $crate::store::Result<()> {
                sqlx::query("DELETE FROM portal_sessions WHERE id_hash = $1")
                    .bind(id_hash)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            // --- fan-out ---
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
                let r = sqlx::query(
                    "UPDATE tasks SET status = 'running', attempts = attempts + 1, updated_at = $2 \
                     WHERE id = $1 AND status IN ('pending', 'running')",
                )
                .bind(id)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn finish_task(
                &self,
                t: &$crate::store::Task,
                ledger: Option<&$crate::store::LedgerEntry>,
            ) -> $crate::store::Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "UPDATE tasks SET status = $2, error = $3, evidence = $4, result_ct = $5, updated_at = $6, \
                     finished_at = $7 WHERE id = $1",
                )
                .bind(&t.id)
                .bind(&t.status)
                .bind(&t.error)
                .bind(&t.evidence)
                .bind(&t.result_ct)
                .bind(t.updated_at)
                .bind(t.finished_at)
                .execute(&mut *tx)
                .await?;
                if let Some(l) = ledger {
                    Self::insert_ledger_tx(&mut tx, l).await?;
                }
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

            async fn ledger_since(
                &self,
                since: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<Vec<$crate::store::LedgerEntry>> {
                Ok(sqlx::query_as(
                    "SELECT identity_hmac, identity_ct, connector, request_ref, task_id, at FROM erasure_ledger \
                     WHERE at >= $1 ORDER BY id",
                )
                .bind(since)
                .fetch_all(&self.pool)
                .await?)
            }

            // --- exports ---
            async fn insert_export(&self, e: &$crate::store::Export) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO exports (id, request_id, token_hash, file_name, manifest, size_bytes, downloads, \
                     max_downloads, expires_at, created_at, deleted_at, token_ct) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(&e.id)
                .bind(&e.request_id)
                .bind(&e.token_hash)
                .bind(&e.file_name)
                .bind(&e.manifest)
                .bind(e.size_bytes)
                .bind(e.downloads)
                .bind(e.max_downloads)
                .bind(e.expires_at)
                .bind(e.created_at)
                .bind(e.deleted_at)
                .bind(&e.token_ct)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn export_by_token(&self, token_hash: &str) -> $crate::store::Result<Option<$crate::store::Export>> {
                Ok(sqlx::query_as(
                    "SELECT id, request_id, token_hash, token_ct, file_name, manifest, size_bytes, downloads, max_downloads, \
                     expires_at, created_at, deleted_at FROM exports WHERE token_hash = $1",
                )
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn exports_for_request(&self, request_id: &str) -> $crate::store::Result<Vec<$crate::store::Export>> {
                Ok(sqlx::query_as(
                    "SELECT id, request_id, token_hash, token_ct, file_name, manifest, size_bytes, downloads, max_downloads, \
                     expires_at, created_at, deleted_at FROM exports WHERE request_id = $1 ORDER BY created_at, id",
                )
                .bind(request_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn count_export_download(&self, id: &str, now: chrono::DateTime<chrono::Utc>) -> $crate::store::Result<bool> {
                let r = sqlx::query(
                    "UPDATE exports SET downloads = downloads + 1 \
                     WHERE id = $1 AND downloads < max_downloads AND expires_at > $2 AND deleted_at IS NULL",
                )
                .bind(id)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn mark_export_deleted(&self, id: &str, now: chrono::DateTime<chrono::Utc>) -> $crate::store::Result<bool> {
                let r = sqlx::query("UPDATE exports SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL")
                    .bind(id)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected() == 1)
            }

            // --- task results (access rows, in parts) ---
            async fn replace_result_parts(&self, task_id: &str, parts: &[$crate::store::ResultPart]) -> $crate::store::Result<()> {
                // A retried task rewrites its result; it is read only once the task has
                // succeeded, so the delete and the inserts need not share a transaction.
                sqlx::query("DELETE FROM task_result_parts WHERE task_id = $1")
                    .bind(task_id)
                    .execute(&self.pool)
                    .await?;
                self.append_result_parts(task_id, parts).await
            }

            async fn append_result_parts(&self, task_id: &str, parts: &[$crate::store::ResultPart]) -> $crate::store::Result<()> {
                let mut tx = self.begin_write().await?;
                for p in parts {
                    sqlx::query(
                        "INSERT INTO task_result_parts (task_id, seq, table_name, columns, row_count, rows_ct) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(task_id)
                    .bind(p.seq)
                    .bind(&p.table_name)
                    .bind(serde_json::to_string(&p.columns).unwrap_or_else(|_| "[]".into()))
                    .bind(p.row_count)
                    .bind(&p.rows_ct)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn result_part_index(&self, task_id: &str) -> $crate::store::Result<Vec<$crate::store::ResultPartInfo>> {
                let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
                    "SELECT seq, table_name, columns, row_count FROM task_result_parts WHERE task_id = $1 ORDER BY seq",
                )
                .bind(task_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(seq, table_name, columns, row_count)| $crate::store::ResultPartInfo {
                        seq,
                        table_name,
                        columns: serde_json::from_str(&columns).unwrap_or_default(),
                        row_count,
                    })
                    .collect())
            }

            async fn result_part_rows(&self, task_id: &str, seq: i64) -> $crate::store::Result<Option<String>> {
                let row: Option<(String,)> = sqlx::query_as(
                    "SELECT rows_ct FROM task_result_parts WHERE task_id = $1 AND seq = $2",
                )
                .bind(task_id)
                .bind(seq)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|(c,)| c))
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

            async fn set_user_disabled(&self, id: &str, at: Option<chrono::DateTime<chrono::Utc>>) -> $crate::store::Result<bool> {
                let mut tx = self.begin_write().await?;
                let r = sqlx::query("UPDATE users SET disabled_at = $2 WHERE id = $1")
                    .bind(id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                if at.is_some() {
                    sqlx::query("DELETE FROM portal_sessions WHERE user_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(r.rows_affected() == 1)
            }

            async fn set_user_password(&self, id: &str, password_hash: &str) -> $crate::store::Result<bool> {
                let mut tx = self.begin_write().await?;
                let r = sqlx::query(
                    "UPDATE users SET password_hash = $2, failed_logins = 0, locked_until = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(password_hash)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM portal_sessions WHERE user_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(r.rows_affected() == 1)
            }

            async fn reissue_export(
                &self,
                id: &str,
                token_hash: &str,
                token_ct: &str,
                expires_at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<bool> {
                let r = sqlx::query(
                    "UPDATE exports SET token_hash = $2, token_ct = $3, expires_at = $4, downloads = 0 \
                     WHERE id = $1 AND deleted_at IS NULL",
                )
                .bind(id)
                .bind(token_hash)
                .bind(token_ct)
                .bind(expires_at)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            // --- retention purges, legal holds, own-data purge (issue 8; src/retention) ---
            async fn insert_retention_run(&self, r: &$crate::store::RetentionRun) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO retention_runs (id, connector, policy, trigger_kind, actor, dry_run, status, \
                     started_at, finished_at, cutoff, rows_matched, rows_purged, rows_held, batches, error) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                )
                .bind(&r.id)
                .bind(&r.connector)
                .bind(&r.policy)
                .bind(&r.trigger_kind)
                .bind(&r.actor)
                .bind(r.dry_run)
                .bind(&r.status)
                .bind(r.started_at)
                .bind(r.finished_at)
                .bind(r.cutoff)
                .bind(r.rows_matched)
                .bind(r.rows_purged)
                .bind(r.rows_held)
                .bind(r.batches)
                .bind(&r.error)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn update_retention_run(&self, r: &$crate::store::RetentionRun) -> $crate::store::Result<()> {
                sqlx::query(
                    "UPDATE retention_runs SET status = $2, finished_at = $3, rows_matched = $4, \
                     rows_purged = $5, rows_held = $6, batches = $7, error = $8 WHERE id = $1",
                )
                .bind(&r.id)
                .bind(&r.status)
                .bind(r.finished_at)
                .bind(r.rows_matched)
                .bind(r.rows_purged)
                .bind(r.rows_held)
                .bind(r.batches)
                .bind(&r.error)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn retention_runs(
                &self,
                page: $crate::store::PageRequest,
            ) -> $crate::store::Result<$crate::store::Page<$crate::store::RetentionRun>> {
                let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM retention_runs")
                    .fetch_one(&self.pool)
                    .await?;
                let items = sqlx::query_as(
                    "SELECT id, connector, policy, trigger_kind, actor, dry_run, status, started_at, finished_at, \
                     cutoff, rows_matched, rows_purged, rows_held, batches, error FROM retention_runs \
                     ORDER BY started_at DESC, id DESC LIMIT $1 OFFSET $2",
                )
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(&self.pool)
                .await?;
                Ok($crate::store::Page { items, total })
            }

            async fn latest_retention_runs(&self) -> $crate::store::Result<Vec<$crate::store::RetentionRun>> {
                Ok(sqlx::query_as(
                    "SELECT r.id, r.connector, r.policy, r.trigger_kind, r.actor, r.dry_run, r.status, r.started_at, \
                     r.finished_at, r.cutoff, r.rows_matched, r.rows_purged, r.rows_held, r.batches, r.error \
                     FROM retention_runs r WHERE r.dry_run = $1 AND r.id = (SELECT x.id FROM retention_runs x \
                         WHERE x.connector = r.connector AND x.policy = r.policy AND x.dry_run = $1 \
                         ORDER BY x.started_at DESC, x.id DESC LIMIT 1) \
                     ORDER BY r.connector, r.policy",
                )
                .bind(false)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn acquire_retention_lock(
                &self,
                policy_key: &str,
                run_id: &str,
                until: chrono::DateTime<chrono::Utc>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<bool> {
                let r = sqlx::query(
                    "INSERT INTO retention_locks (policy_key, run_id, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (policy_key) DO UPDATE SET run_id = excluded.run_id, expires_at = excluded.expires_at \
                     WHERE retention_locks.expires_at < $4 OR retention_locks.run_id = excluded.run_id",
                )
                .bind(policy_key)
                .bind(run_id)
                .bind(until)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn release_retention_lock(&self, policy_key: &str, run_id: &str) -> $crate::store::Result<()> {
                sqlx::query("DELETE FROM retention_locks WHERE policy_key = $1 AND run_id = $2")
                    .bind(policy_key)
                    .bind(run_id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn interrupt_retention_runs(
                &self,
                connector: &str,
                policy: &str,
                run_id: &str,
                error: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<u64> {
                let r = sqlx::query(
                    "UPDATE retention_runs SET status = 'failed', error = $4, finished_at = $5 \
                     WHERE connector = $1 AND policy = $2 AND id <> $3 AND status = 'running' AND dry_run = $6",
                )
                .bind(connector)
                .bind(policy)
                .bind(run_id)
                .bind(error)
                .bind(at)
                .bind(false)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected())
            }

            async fn insert_legal_hold(
                &self,
                h: &$crate::store::LegalHold,
                audit: &$crate::store::NewAudit,
            ) -> $crate::store::Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO legal_holds (id, email_ct, email_index, reason_ct, created_by, created_at, released_by, released_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&h.id)
                .bind(&h.email_ct)
                .bind(&h.email_index)
                .bind(&h.reason_ct)
                .bind(&h.created_by)
                .bind(h.created_at)
                .bind(&h.released_by)
                .bind(h.released_at)
                .execute(&mut *tx)
                .await?;
                self.append_audit_tx(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn legal_holds(
                &self,
                include_released: bool,
                page: $crate::store::PageRequest,
            ) -> $crate::store::Result<$crate::store::Page<$crate::store::LegalHold>> {
                let total: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM legal_holds WHERE ($1 OR released_at IS NULL)",
                )
                .bind(include_released)
                .fetch_one(&self.pool)
                .await?;
                let items = sqlx::query_as(
                    "SELECT id, email_ct, email_index, reason_ct, created_by, created_at, released_by, released_at \
                     FROM legal_holds WHERE ($1 OR released_at IS NULL) ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
                )
                .bind(include_released)
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(&self.pool)
                .await?;
                Ok($crate::store::Page { items, total })
            }

            async fn active_legal_holds(&self) -> $crate::store::Result<Vec<$crate::store::LegalHold>> {
                Ok(sqlx::query_as(
                    "SELECT id, email_ct, email_index, reason_ct, created_by, created_at, released_by, released_at \
                     FROM legal_holds WHERE released_at IS NULL ORDER BY created_at, id",
                )
                .fetch_all(&self.pool)
                .await?)
            }

            async fn active_legal_hold(&self, email_index: &str) -> $crate::store::Result<Option<$crate::store::LegalHold>> {
                Ok(sqlx::query_as(
                    "SELECT id, email_ct, email_index, reason_ct, created_by, created_at, released_by, released_at \
                     FROM legal_holds WHERE released_at IS NULL AND email_index = $1 ORDER BY created_at, id LIMIT 1",
                )
                .bind(email_index)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn release_legal_hold(
                &self,
                id: &str,
                by: &str,
                at: chrono::DateTime<chrono::Utc>,
                audit: &$crate::store::NewAudit,
            ) -> $crate::store::Result<bool> {
                let mut tx = self.begin_write().await?;
                let r = sqlx::query(
                    "UPDATE legal_holds SET released_by = $2, released_at = $3 WHERE id = $1 AND released_at IS NULL",
                )
                .bind(id)
                .bind(by)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                if r.rows_affected() != 1 {
                    return Ok(false);
                }
                self.append_audit_tx(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn expired_exports(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> $crate::store::Result<Vec<$crate::store::Export>> {
                Ok(sqlx::query_as(
                    "SELECT id, request_id, token_hash, token_ct, file_name, manifest, size_bytes, downloads, max_downloads, \
                     expires_at, created_at, deleted_at FROM exports WHERE expires_at <= $1 AND deleted_at IS NULL \
                     ORDER BY expires_at, id LIMIT $2",
                )
                .bind(now)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn wipe_closed_requests(
                &self,
                cutoff: chrono::DateTime<chrono::Utc>,
                now: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> $crate::store::Result<u64> {
                let mut tx = self.begin_write().await?;
                // Identity and every free text; reference, kind, status, dates, regime,
                // deny reason (a code) and the outcome stay.
                let wiped = sqlx::query(
                    "UPDATE requests SET email_ct = NULL, email_index = NULL, name_ct = NULL, details_ct = NULL, \
                     corrections_ct = NULL, verification_note_ct = NULL, deny_note = NULL, extension_reason = NULL, \
                     pii_wiped_at = $3 WHERE id IN (SELECT id FROM requests WHERE pii_wiped_at IS NULL AND closed_at < $1 \
                     ORDER BY closed_at, id LIMIT $2)",
                )
                .bind(cutoff)
                .bind(limit)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if wiped > 0 {
                    // The batch is marked with `now`, so the related rows are found by it.
                    for sql in [
                        "UPDATE request_events SET note = NULL WHERE request_id IN (SELECT id FROM requests WHERE pii_wiped_at = $1)",
                        "DELETE FROM outbox WHERE status <> 'pending' AND request_id IN (SELECT id FROM requests WHERE pii_wiped_at = $1)",
                        "DELETE FROM task_result_parts WHERE task_id IN (SELECT t.id FROM tasks t JOIN requests r ON r.id = t.request_id WHERE r.pii_wiped_at = $1)",
                        "UPDATE tasks SET result_ct = NULL WHERE request_id IN (SELECT id FROM requests WHERE pii_wiped_at = $1)",
                        // Values kept for other connectors' key templates (connectors, issue 5).
                        "UPDATE tasks SET values_ct = NULL WHERE request_id IN (SELECT id FROM requests WHERE pii_wiped_at = $1)",
                        // How identity was checked: the proof value and the staff note (the
                        // method and state stay, like the outcome).
                        "UPDATE identity_checks SET proof_ct = NULL, note_ct = NULL WHERE request_id IN (SELECT id FROM requests WHERE pii_wiped_at = $1)",
                        // Status links die with the identity they show.
                        "DELETE FROM request_tokens WHERE request_id IN (SELECT id FROM requests WHERE pii_wiped_at = $1)",
                    ] {
                        sqlx::query(sql).bind(now).execute(&mut *tx).await?;
                    }
                }
                tx.commit().await?;
                Ok(wiped)
            }

            async fn own_copies_of_identity(
                &self,
                email_index: &str,
                except_id: &str,
            ) -> $crate::store::Result<(Vec<(String, String)>, Vec<String>)> {
                let requests: Vec<(String, String)> = sqlx::query_as(
                    "SELECT id, reference FROM requests WHERE email_index = $1 AND id <> $2 ORDER BY received_at, id",
                )
                .bind(email_index)
                .bind(except_id)
                .fetch_all(&self.pool)
                .await?;
                let exports: Vec<String> = sqlx::query_scalar(
                    "SELECT e.id FROM exports e JOIN requests r ON r.id = e.request_id \
                     WHERE r.email_index = $1 AND r.id <> $2 AND e.deleted_at IS NULL ORDER BY e.id",
                )
                .bind(email_index)
                .bind(except_id)
                .fetch_all(&self.pool)
                .await?;
                Ok((requests, exports))
            }

            async fn erase_own_copies(
                &self,
                request_ids: &[String],
                erasure_ref: &str,
                deleted_exports: &[String],
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<$crate::store::OwnCopiesErased> {
                let mut out = $crate::store::OwnCopiesErased::default();
                let mut tx = self.begin_write().await?;
                // A person has few requests: each statement takes them all at once.
                for chunk in request_ids.chunks(100) {
                    let list = |qb: &mut sqlx::QueryBuilder<$db>| {
                        let mut sep = qb.separated(", ");
                        for id in chunk {
                            sep.push_bind(id.clone());
                        }
                    };
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "DELETE FROM task_result_parts WHERE task_id IN (SELECT id FROM tasks WHERE request_id IN (",
                    );
                    list(&mut qb);
                    qb.push("))");
                    out.result_parts += qb.build().execute(&mut *tx).await?.rows_affected();
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "UPDATE tasks SET result_ct = NULL, values_ct = NULL WHERE (result_ct IS NOT NULL OR values_ct IS NOT NULL) AND request_id IN (",
                    );
                    list(&mut qb);
                    qb.push(")");
                    out.task_results += qb.build().execute(&mut *tx).await?.rows_affected();
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "UPDATE identity_checks SET proof_ct = NULL, note_ct = NULL WHERE (proof_ct IS NOT NULL OR note_ct IS NOT NULL) AND request_id IN (",
                    );
                    list(&mut qb);
                    qb.push(")");
                    out.identity_proofs += qb.build().execute(&mut *tx).await?.rows_affected();
                    for id in chunk {
                        sqlx::query(
                            "INSERT INTO erased_copies (request_id, erasure_ref, erased_at) VALUES ($1, $2, $3) \
                             ON CONFLICT (request_id) DO NOTHING",
                        )
                        .bind(id)
                        .bind(erasure_ref)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                for chunk in deleted_exports.chunks(100) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new("UPDATE exports SET deleted_at = ");
                    qb.push_bind(now);
                    qb.push(", token_ct = NULL WHERE deleted_at IS NULL AND id IN (");
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(id.clone());
                    }
                    qb.push(")");
                    out.export_files += qb.build().execute(&mut *tx).await?.rows_affected();
                }
                tx.commit().await?;
                Ok(out)
            }

            async fn copies_erased_by(&self, request_id: &str) -> $crate::store::Result<Option<String>> {
                Ok(sqlx::query_scalar("SELECT erasure_ref FROM erased_copies WHERE request_id = $1")
                    .bind(request_id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn delete_expired_sessions(&self, now: chrono::DateTime<chrono::Utc>) -> $crate::store::Result<u64> {
                let a = sqlx::query("DELETE FROM portal_sessions WHERE expires_at < $1")
                    .bind(now)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                let b = sqlx::query("DELETE FROM rate_limits WHERE expires_at < $1")
                    .bind(now)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                Ok(a + b)
            }

            async fn prune_finished_jobs(
                &self,
                before: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> $crate::store::Result<u64> {
                let r = sqlx::query(
                    "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status = 'done' AND updated_at < $1 \
                     ORDER BY updated_at LIMIT $2)",
                )
                .bind(before)
                .bind(limit)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected())
            }

            // --- connector tasks: key-template values, ordering, callbacks and manual links ---
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
                let done = sqlx::query(
                    "UPDATE tasks SET status = $2, error = $3, evidence = $4, result_ct = $5, updated_at = $6, \
                     finished_at = $7 WHERE id = $1 AND status IN ('running', 'waiting')",
                )
                .bind(&t.id)
                .bind(&t.status)
                .bind(&t.error)
                .bind(&t.evidence)
                .bind(&t.result_ct)
                .bind(t.updated_at)
                .bind(t.finished_at)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                if let Some(l) = ledger {
                    Self::insert_ledger_tx(&mut tx, l).await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            // --- operations and metrics (issue 11) ---
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

            // --- key rotation (issue 12) ---
            async fn rotation_rows(
                &self,
                table: &$crate::store::RotatedTable,
                after: Option<&[String]>,
                limit: i64,
            ) -> $crate::store::Result<Vec<$crate::store::RotatedRow>> {
                use sqlx::Row;
                // Keyset pagination on the primary key (its index); names are fixed.
                let sql = table.select_sql(after.is_some());
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for k in after.unwrap_or_default() {
                    q = q.bind(k.clone());
                }
                let rows = q.bind(limit).fetch_all(&self.pool).await?;
                let nk = table.key.len();
                let mut out = Vec::with_capacity(rows.len());
                for row in rows {
                    let mut key = Vec::with_capacity(nk);
                    for i in 0..nk {
                        key.push(row.try_get::<String, _>(i)?);
                    }
                    let mut values = Vec::with_capacity(table.columns.len());
                    for i in 0..table.columns.len() {
                        values.push(row.try_get::<Option<String>, _>(nk + i)?);
                    }
                    out.push($crate::store::RotatedRow { key, values });
                }
                Ok(out)
            }

            async fn rotation_write(
                &self,
                table: &$crate::store::RotatedTable,
                rows: &[$crate::store::RotatedRow],
            ) -> $crate::store::Result<()> {
                let sql = table.update_sql();
                let mut tx = self.begin_write().await?;
                for r in rows {
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
                    for v in &r.values {
                        q = q.bind(v.clone());
                    }
                    for k in &r.key {
                        q = q.bind(k.clone());
                    }
                    q.execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn rotation_clear_verification_sends(&self) -> $crate::store::Result<u64> {
                Ok(sqlx::query("DELETE FROM verification_sends")
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }

            // --- identity proofing (issue 12) ---
            async fn put_identity_check(&self, c: &$crate::store::IdentityCheck) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO identity_checks (request_id, method, state, proof_ct, note_ct, checked_by, checked_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (request_id) DO UPDATE SET method = excluded.method, state = excluded.state, \
                     proof_ct = excluded.proof_ct, note_ct = excluded.note_ct, checked_by = excluded.checked_by, \
                     checked_at = excluded.checked_at",
                )
                .bind(&c.request_id)
                .bind(&c.method)
                .bind(&c.state)
                .bind(&c.proof_ct)
                .bind(&c.note_ct)
                .bind(&c.checked_by)
                .bind(c.checked_at)
                .bind(c.created_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn identity_check(
                &self,
                request_id: &str,
            ) -> $crate::store::Result<Option<$crate::store::IdentityCheck>> {
                Ok(sqlx::query_as(
                    "SELECT request_id, method, state, proof_ct, note_ct, checked_by, checked_at, created_at \
                     FROM identity_checks WHERE request_id = $1",
                )
                .bind(request_id)
                .fetch_optional(&self.pool)
                .await?)
            }

            // ---- suppression list (issue 20 item 1) ----
            async fn suppression_key(&self) -> $crate::store::Result<Option<String>> {
                Ok(sqlx::query_scalar("SELECT key_ct FROM suppression_keys WHERE id = 'v1'")
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn insert_suppression_key(
                &self,
                key_ct: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO suppression_keys (id, key_ct, created_at) VALUES ('v1', $1, $2) \
                     ON CONFLICT (id) DO NOTHING",
                )
                .bind(key_ct)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn add_suppression(
                &self,
                e: &$crate::store::Suppression,
            ) -> $crate::store::Result<bool> {
                let done = sqlx::query(
                    "INSERT INTO suppressions (address_hash, scope, processing, request_id, added_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_id, scope) DO NOTHING",
                )
                .bind(&e.address_hash)
                .bind(&e.scope)
                .bind(&e.processing)
                .bind(&e.request_id)
                .bind(e.added_at)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn suppressions_for(
                &self,
                hashes: &[String],
            ) -> $crate::store::Result<Vec<$crate::store::Suppression>> {
                if hashes.is_empty() {
                    return Ok(Vec::new());
                }
                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "SELECT id, address_hash, scope, processing, request_id, added_at FROM suppressions WHERE address_hash IN (",
                );
                let mut sep = qb.separated(", ");
                for h in hashes.iter().take($crate::store::SUPPRESSION_BATCH) {
                    sep.push_bind(h.clone());
                }
                qb.push(") ORDER BY id");
                Ok(qb.build_query_as().fetch_all(&self.pool).await?)
            }

            async fn suppressions_after(
                &self,
                after_id: i64,
                limit: i64,
            ) -> $crate::store::Result<Vec<$crate::store::Suppression>> {
                Ok(sqlx::query_as(
                    "SELECT id, address_hash, scope, processing, request_id, added_at FROM suppressions \
                     WHERE id > $1 ORDER BY id LIMIT $2",
                )
                .bind(after_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn suppressions_of_request(
                &self,
                request_id: &str,
            ) -> $crate::store::Result<Vec<$crate::store::Suppression>> {
                Ok(sqlx::query_as(
                    "SELECT id, address_hash, scope, processing, request_id, added_at FROM suppressions \
                     WHERE request_id = $1 ORDER BY id",
                )
                .bind(request_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn lift_suppressions(
                &self,
                request_id: &str,
                event: &$crate::store::Event,
                audit: &$crate::store::NewAudit,
            ) -> $crate::store::Result<u64> {
                let mut tx = self.begin_write().await?;
                let lifted = sqlx::query("DELETE FROM suppressions WHERE request_id = $1")
                    .bind(request_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if lifted > 0 {
                    Self::insert_event_tx(&mut tx, request_id, event).await?;
                    self.append_audit_tx(&mut tx, audit).await?;
                }
                tx.commit().await?;
                Ok(lifted)
            }

            // ---- duplicate requests (issue 20 item 4) ----
            async fn earlier_open_request(
                &self,
                email_index: &str,
                kind: $crate::domain::request::Kind,
                except_id: &str,
            ) -> $crate::store::Result<Option<$crate::store::Request>> {
                let sql = format!(
                    "SELECT {} FROM requests WHERE email_index = $1 AND kind = $2 AND id <> $3 \
                     AND status IN ('open', 'in_progress', 'review', 'on_hold') \
                     AND id NOT IN (SELECT request_id FROM request_links) \
                     ORDER BY received_at, id LIMIT 1",
                    $crate::store::common::REQUEST_COLUMNS
                );
                let row: Option<$crate::store::RequestRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(email_index)
                    .bind(kind.as_str())
                    .bind(except_id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map($crate::store::Request::try_from).transpose()
            }

            async fn link_request(
                &self,
                link: &$crate::store::RequestLink,
            ) -> $crate::store::Result<bool> {
                let done = sqlx::query(
                    "INSERT INTO request_links (request_id, first_id, linked_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (request_id) DO NOTHING",
                )
                .bind(&link.request_id)
                .bind(&link.first_id)
                .bind(link.linked_at)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn unlink_request(&self, request_id: &str) -> $crate::store::Result<bool> {
                let done = sqlx::query("DELETE FROM request_links WHERE request_id = $1")
                    .bind(request_id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn link_of(
                &self,
                request_id: &str,
            ) -> $crate::store::Result<Option<(String, String)>> {
                Ok(sqlx::query_as(
                    "SELECT r.id, r.reference FROM request_links l JOIN requests r ON r.id = l.first_id \
                     WHERE l.request_id = $1",
                )
                .bind(request_id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn links_to(
                &self,
                first_id: &str,
            ) -> $crate::store::Result<Vec<(String, String)>> {
                Ok(sqlx::query_as(
                    "SELECT r.id, r.reference FROM request_links l JOIN requests r ON r.id = l.request_id \
                     WHERE l.first_id = $1 ORDER BY l.linked_at, r.id",
                )
                .bind(first_id)
                .fetch_all(&self.pool)
                .await?)
            }
        }
    };
}
