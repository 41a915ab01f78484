//! The SQL both backends share. `$N` placeholders work on SQLite and PostgreSQL alike, and
//! chrono values bind natively on both, so one text serves both; each backend passes in
//! what differs (how a write transaction begins, how the audit chain is serialized, how a
//! job is claimed).

/// Columns of `requests`, in the order `bind_request!` binds them.
pub(crate) const REQUEST_COLUMNS: &str = "id, reference, kind, status, held_from, hold_started_at, source, regime, \
    email_ct, email_index, name_ct, details_ct, corrections_ct, scope, verification_note_ct, \
    received_at, verified_at, clock_started_on, due_date, original_due_date, extended, \
    extension_reason, deny_reason, deny_note, completed_at, closed_at, assignee, version, \
    created_at, updated_at";

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
    "seq, at, actor, action, request_ref, client_addr, detail, prev_hash, hash";

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
                tx: &mut sqlx::Transaction<'static, $db>,
                entry: &$crate::store::NewAudit,
            ) -> $crate::store::Result<$crate::store::AuditEntry> {
                if !$lock.is_empty() {
                    sqlx::query($lock).execute(&mut **tx).await?;
                }
                let last: Option<(i64, String)> =
                    sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                        .fetch_optional(&mut **tx)
                        .await?;
                let (seq, prev_hash) = match last {
                    Some((s, h)) => (s + 1, h),
                    None => (1, $crate::audit::GENESIS.to_string()),
                };
                let row = $crate::audit::seal(seq, entry, &prev_hash);
                sqlx::query(
                    "INSERT INTO audit_log (seq, at, actor, action, request_ref, client_addr, detail, prev_hash, hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
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
                     $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30)",
                    $crate::store::common::REQUEST_COLUMNS
                );
                bind_request!(sqlx::query(sqlx::AssertSqlSafe(sql)), req)
                    .execute(&mut *tx)
                    .await
                    .map_err(unique_violation)?;
                Self::insert_event_tx(&mut tx, &req.id, event).await?;
                Self::apply_changes_tx(&mut tx, &req.id, changes).await?;
                Self::append_audit_tx(&mut tx, audit).await?;
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
                     version = $23, updated_at = $24 \
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
                    Self::append_audit_tx(&mut tx, a).await?;
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

            async fn append_audit(&self, entry: &$crate::store::NewAudit) -> $crate::store::Result<$crate::store::AuditEntry> {
                let mut tx = self.begin_write().await?;
                let row = Self::append_audit_tx(&mut tx, entry).await?;
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
                     recovery_codes, failed_logins, locked_until, created_at, disabled_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
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
                .execute(&self.pool)
                .await
                .map_err(unique_violation)?;
                Ok(())
            }

            async fn user_by_email(&self, email: &str) -> $crate::store::Result<Option<$crate::http::portal::model::User>> {
                Ok(sqlx::query_as(
                    "SELECT id, email, role, password_hash, totp_secret_ct, totp_enabled, totp_last_step, recovery_codes, failed_logins, locked_until, created_at, disabled_at \
                     FROM users WHERE email = $1",
                )
                .bind(email)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn user_by_id(&self, id: &str) -> $crate::store::Result<Option<$crate::http::portal::model::User>> {
                Ok(sqlx::query_as(
                    "SELECT id, email, role, password_hash, totp_secret_ct, totp_enabled, totp_last_step, recovery_codes, failed_logins, locked_until, created_at, disabled_at \
                     FROM users WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn list_users(&self) -> $crate::store::Result<Vec<$crate::http::portal::model::User>> {
                Ok(sqlx::query_as(
                    "SELECT id, email, role, password_hash, totp_secret_ct, totp_enabled, totp_last_step, recovery_codes, failed_logins, locked_until, created_at, disabled_at \
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
                    .execute(&mut *tx)
                    .await?;
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
                     max_downloads, expires_at, created_at, deleted_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
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
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn export_by_token(&self, token_hash: &str) -> $crate::store::Result<Option<$crate::store::Export>> {
                Ok(sqlx::query_as(
                    "SELECT id, request_id, token_hash, file_name, manifest, size_bytes, downloads, max_downloads, \
                     expires_at, created_at, deleted_at FROM exports WHERE token_hash = $1",
                )
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn exports_for_request(&self, request_id: &str) -> $crate::store::Result<Vec<$crate::store::Export>> {
                Ok(sqlx::query_as(
                    "SELECT id, request_id, token_hash, file_name, manifest, size_bytes, downloads, max_downloads, \
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
        }
    };
}
