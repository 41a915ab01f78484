//! Requests: the request record, its events, the queries the deadline sweep, the SLA report and `/metrics` make over requests, and the purge of closed requests' personal data.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::*;

#[async_trait]
pub trait RequestStore: Send + Sync {
    /// Insert a new request with its first event, audit entry and `changes`, atomically.
    /// A request inserted `open` takes its person's lock (see [`Self::insert_request_alone`]),
    /// as does a change that opens one.
    async fn insert_request(
        &self,
        req: &Request,
        event: &Event,
        audit: &NewAudit,
        changes: &Changes,
    ) -> Result<()>;
    /// Insert a new request that took several steps at once (entered and started), with
    /// every event, in order, on the timeline and to the webhooks (each with the status
    /// it moved to), its audit entries and `changes`, atomically: unless the same person
    /// (`email_index`) has another request of the same kind still open (not final, not
    /// linked as a repeat). Then nothing is stored and `false` comes back: the caller
    /// enters it the usual way, to be linked. Checked under the person's lock, which
    /// every transaction that opens a request of theirs takes too (see
    /// [`Self::insert_request`]), so two requests entered at once never both start.
    async fn insert_request_alone(
        &self,
        req: &Request,
        events: &[Event],
        audits: &[NewAudit],
        changes: &Changes,
    ) -> Result<bool>;
    /// Write `req` if the stored version is still `expected_version`, with its event,
    /// audit entry and `changes`, atomically. `Conflict` when someone else changed it
    /// first; `LinkGone` when `changes.consume_token` is no longer usable.
    async fn update_request(
        &self,
        req: &Request,
        expected_version: i64,
        event: Option<&Event>,
        audit: Option<&NewAudit>,
        changes: &Changes,
    ) -> Result<()> {
        let events = event.map(std::slice::from_ref).unwrap_or_default();
        self.update_request_steps(req, expected_version, events, audit, changes)
            .await
    }
    /// [`Self::update_request`] for a change made of several steps at once (the tasks
    /// finished and the request completed by itself): every event, in order, on the
    /// timeline and to the webhooks (each with the status it moved to), in one commit.
    async fn update_request_steps(
        &self,
        req: &Request,
        expected_version: i64,
        events: &[Event],
        audit: Option<&NewAudit>,
        changes: &Changes,
    ) -> Result<()>;
    async fn request_by_reference(&self, reference: &str) -> Result<Option<Request>>;
    /// The ids of the requests this process changes from now on (see [`RequestChanged`]).
    fn request_changes(&self) -> tokio::sync::broadcast::Receiver<String>;
    /// Remember the language the subject chose (the status page's switcher).
    async fn set_request_language(
        &self,
        request_id: &str,
        language: crate::domain::language::Language,
    ) -> Result<()>;
    async fn list_requests(&self, filter: &RequestFilter) -> Result<Page<Request>>;
    /// The request waiting for verification for this address and kind, if any.
    async fn pending_request(&self, email_index: &str, kind: Kind) -> Result<Option<Request>>;
    /// The request a usable link belongs to: right purpose, not used, not expired at `now`.
    async fn request_by_token(
        &self,
        token_hash: &str,
        purpose: TokenPurpose,
        now: DateTime<Utc>,
    ) -> Result<Option<Request>>;
    async fn events(&self, request_id: &str) -> Result<Vec<Event>>;

    /// Requests the deadline sweep looks at: being worked (not on hold, not final, verified)
    /// and due on or before `due_by`; keyset-paged by id.
    async fn sweep_candidates(
        &self,
        due_by: NaiveDate,
        after_id: &str,
        limit: i64,
    ) -> Result<Vec<Request>>;
    /// Requests still unverified that were received before `cutoff`.
    async fn unverified_before(&self, cutoff: DateTime<Utc>, limit: i64) -> Result<Vec<Request>>;
    /// Open CCPA requests received before `cutoff` that no sent email has acknowledged.
    async fn ccpa_unacknowledged(&self, cutoff: DateTime<Utc>, limit: i64) -> Result<Vec<Request>>;
    /// Record a notice once; when it is new, apply `changes` (its email) in the same
    /// transaction. `false` when it was already sent.
    async fn send_notice(
        &self,
        request_id: &str,
        notice: &str,
        due_date: NaiveDate,
        changes: &Changes,
    ) -> Result<bool>;
    /// What the SLA report needs of requests received in `[from, to)`.
    async fn sla_rows(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<SlaRow>>;
    /// Counts for `/metrics`.
    async fn metrics(&self, today: NaiveDate, week_ahead: NaiveDate) -> Result<MetricsSnapshot>;
    /// Wipe the identity and free text of up to `limit` requests closed before `cutoff`
    /// (reference, kind, status, dates and outcome stay), with their emails in the outbox,
    /// event notes and access results. Returns how many requests were wiped.
    async fn wipe_closed_requests(
        &self,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<u64>;
}

/// The queries of [`RequestStore`], one text for both backends.
macro_rules! requests_queries {
    (
        store = $store:ident,
        db = $db:ty,
        migrator = $migrator:expr,
        begin_write = $begin:literal,
        audit_lock = $lock:literal,
        claim_sql = $claim:literal $(,)?
    ) => {
        impl $store {
            /// The lock of one person's requests (by the blind index of their address),
            /// held until the transaction ends: PostgreSQL's advisory lock; SQLite has
            /// one writer at a time already.
            const PERSON_LOCK: &'static str = if $lock.is_empty() {
                ""
            } else {
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 7261002))"
            };

            async fn insert_request_row_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                req: &$crate::store::Request,
            ) -> $crate::store::Result<()> {
                let sql = format!(
                    "INSERT INTO requests ({}) VALUES {}",
                    $crate::store::common::REQUEST_COLUMNS,
                    $crate::store::common::value_rows(1, 33)
                );
                bind_request!(sqlx::query(sqlx::AssertSqlSafe(sql)), req)
                    .execute(&mut **tx)
                    .await
                    .map_err(unique_violation)?;
                Ok(())
            }

            async fn person_lock_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                req: &$crate::store::Request,
            ) -> $crate::store::Result<()> {
                if let (false, Some(index)) = (Self::PERSON_LOCK.is_empty(), &req.email_index) {
                    sqlx::query(Self::PERSON_LOCK).bind(index).execute(&mut **tx).await?;
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::RequestStore for $store {

            async fn insert_request_alone(
                &self,
                req: &$crate::store::Request,
                events: &[$crate::store::Event],
                audits: &[$crate::store::NewAudit],
                changes: &$crate::store::Changes,
            ) -> $crate::store::Result<bool> {
                let mut tx = self.begin_write().await?;
                Self::person_lock_tx(&mut tx, req).await?;
                if let Some(index) = &req.email_index {
                    // The same condition as `LinkStore::earlier_open_request`.
                    let other: Option<(String,)> = sqlx::query_as(
                        "SELECT id FROM requests WHERE email_index = $1 AND kind = $2 AND id <> $3 \
                         AND status IN ('open', 'in_progress', 'review', 'on_hold') \
                         AND NOT EXISTS (SELECT 1 FROM request_links l WHERE l.request_id = requests.id) \
                         LIMIT 1",
                    )
                    .bind(index)
                    .bind(req.kind.as_str())
                    .bind(&req.id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if other.is_some() {
                        tx.rollback().await?;
                        return Ok(false);
                    }
                }
                Self::insert_request_row_tx(&mut tx, req).await?;
                Self::insert_events_tx(&mut tx, &req.id, events).await?;
                // One read of the endpoints for every step; each step's event carries
                // the status it moved to.
                let hooked: Vec<&$crate::store::Event> = events
                    .iter()
                    .filter(|e| {
                        !$crate::domain::webhook::for_request_event(e.from_status, e.to_status).is_empty()
                    })
                    .collect();
                if !hooked.is_empty() {
                    let endpoints: Vec<(String, String)> =
                        sqlx::query_as("SELECT id, events FROM webhook_endpoints WHERE enabled = $1")
                            .bind(true)
                            .fetch_all(&mut *tx)
                            .await?;
                    for e in hooked {
                        let mut then = req.clone();
                        then.status = e.to_status;
                        Self::webhook_request_event_to_tx(&mut tx, &then, e, &endpoints).await?;
                    }
                }
                Self::apply_changes_tx(&mut tx, &req.id, changes).await?;
                for a in audits {
                    self.append_audit_tx(&mut tx, a).await?;
                }
                tx.commit().await?;
                let _ = self.request_changed.send(req.id.clone());
                Ok(true)
            }

            async fn insert_request(
                &self,
                req: &$crate::store::Request,
                event: &$crate::store::Event,
                audit: &$crate::store::NewAudit,
                changes: &$crate::store::Changes,
            ) -> $crate::store::Result<()> {
                let mut tx = self.begin_write().await?;
                if req.status == $crate::domain::request::Status::Open {
                    Self::person_lock_tx(&mut tx, req).await?;
                }
                Self::insert_request_row_tx(&mut tx, req).await?;
                Self::insert_event_tx(&mut tx, &req.id, event).await?;
                Self::webhook_request_event_tx(&mut tx, req, event).await?;
                Self::apply_changes_tx(&mut tx, &req.id, changes).await?;
                self.append_audit_tx(&mut tx, audit).await?;
                tx.commit().await?;
                let _ = self.request_changed.send(req.id.clone());
                Ok(())
            }

            async fn update_request_steps(
                &self,
                req: &$crate::store::Request,
                expected_version: i64,
                events: &[$crate::store::Event],
                audit: Option<&$crate::store::NewAudit>,
                changes: &$crate::store::Changes,
            ) -> $crate::store::Result<()> {
                let mut tx = self.begin_write().await?;
                // A request opened by this change (verified) is checked for repeats next.
                if req.status == $crate::domain::request::Status::Open
                    && events.iter().any(|e| {
                        e.to_status == $crate::domain::request::Status::Open
                            && e.from_status != Some($crate::domain::request::Status::Open)
                    })
                {
                    Self::person_lock_tx(&mut tx, req).await?;
                }
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
                // Who hears of the change: the enabled webhook endpoints (when the event
                // is one they may subscribe to) and the DRP agents waiting for a status
                // callback, read together in one statement.
                let hooked: Vec<&$crate::store::Event> = events
                    .iter()
                    .filter(|e| {
                        !$crate::domain::webhook::for_request_event(e.from_status, e.to_status).is_empty()
                    })
                    .collect();
                Self::insert_events_tx(&mut tx, &req.id, events).await?;
                if !hooked.is_empty() {
                    let rows: Vec<(String, String, String)> = sqlx::query_as(
                        "SELECT 'webhook', id, events FROM webhook_endpoints WHERE enabled = $1 \
                         UNION ALL SELECT 'drp', id, '' FROM drp_requests \
                         WHERE request_id = $2 AND status_callback IS NOT NULL",
                    )
                    .bind(true)
                    .bind(&req.id)
                    .fetch_all(&mut *tx)
                    .await?;
                    let (mut endpoints, mut agents) = (Vec::new(), Vec::new());
                    for (to, id, events) in rows {
                        if to == "drp" {
                            agents.push(id);
                        } else {
                            endpoints.push((id, events));
                        }
                    }
                    for e in hooked {
                        if e.to_status == req.status {
                            Self::webhook_request_event_to_tx(&mut tx, req, e, &endpoints).await?;
                        } else {
                            // An earlier step: the request as it was after it.
                            let mut then = req.clone();
                            then.status = e.to_status;
                            Self::webhook_request_event_to_tx(&mut tx, &then, e, &endpoints).await?;
                        }
                    }
                    Self::apply_changes_tx(&mut tx, &req.id, changes).await?;
                    Self::drp_callbacks_tx(&mut tx, req, &agents).await?;
                } else {
                    Self::apply_changes_tx(&mut tx, &req.id, changes).await?;
                    Self::drp_request_changed_tx(&mut tx, req).await?;
                }
                if let Some(a) = audit {
                    self.append_audit_tx(&mut tx, a).await?;
                }
                tx.commit().await?;
                let _ = self.request_changed.send(req.id.clone());
                Ok(())
            }

            fn request_changes(&self) -> tokio::sync::broadcast::Receiver<String> {
                self.request_changed.subscribe()
            }

            async fn set_request_language(
                &self,
                request_id: &str,
                language: $crate::domain::language::Language,
            ) -> $crate::store::Result<()> {
                sqlx::query("UPDATE requests SET language = $2 WHERE id = $1")
                    .bind(request_id)
                    .bind(language.tag())
                    .execute(&self.pool)
                    .await?;
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
                    // ---- portal truths ----
                    if f.open_only {
                        qb.push(open);
                    }
                    if let Some((from, to)) = f.due_between {
                        qb.push(open)
                            .push(" AND due_date >= ")
                            .push_bind(from)
                            .push(" AND due_date <= ")
                            .push_bind(to);
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
                // A page that is not full ends the list, so it gives the total itself (a
                // search by reference, a short list): the count is read only when the page
                // is full, or empty past the first page.
                let (limit, offset) = (f.page.limit(), f.page.offset());
                let shown = i64::try_from(rows.len()).unwrap_or(i64::MAX);
                let total = if shown < limit && (offset == 0 || shown > 0) {
                    offset + shown
                } else {
                    let mut count = sqlx::QueryBuilder::<$db>::new("SELECT COUNT(*) FROM requests");
                    filters(&mut count, f);
                    count.build_query_scalar().fetch_one(&self.pool).await?
                };
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
                    Self::webhook_notice_tx(
                        &mut tx,
                        request_id,
                        notice,
                        changes.now.unwrap_or_else(chrono::Utc::now),
                    )
                    .await?;
                }
                tx.commit().await?;
                Ok(added)
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
                        // A DRP agent's identity claims.
                        "UPDATE drp_requests SET claims_ct = NULL WHERE request_id IN (SELECT id FROM requests WHERE pii_wiped_at = $1)",
                        // An appeal's decision reasons were written to the subject about
                        // their case (the outcome stays).
                        "UPDATE appeals SET outcome_reason = NULL WHERE request_id IN (SELECT id FROM requests WHERE pii_wiped_at = $1)",
                    ] {
                        sqlx::query(sql).bind(now).execute(&mut *tx).await?;
                    }
                }
                tx.commit().await?;
                Ok(wiped)
            }
        }
    };
}
