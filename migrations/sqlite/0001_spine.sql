-- Requests, their events, staff API tokens, the audit chain and the job queue.
CREATE TABLE requests (
    id                    TEXT PRIMARY KEY,
    reference             TEXT NOT NULL UNIQUE,
    kind                  TEXT NOT NULL,
    status                TEXT NOT NULL,
    held_from             TEXT,
    hold_started_at       TEXT,
    source                TEXT NOT NULL,
    regime                TEXT NOT NULL,
    email_ct              TEXT,
    email_index           TEXT,
    name_ct               TEXT,
    details_ct            TEXT,
    corrections_ct        TEXT,
    scope                 TEXT,
    verification_note_ct  TEXT,
    received_at           TEXT NOT NULL,
    verified_at           TEXT,
    clock_started_on      TEXT,
    due_date              TEXT,
    original_due_date     TEXT,
    extended              INTEGER NOT NULL DEFAULT 0,
    extension_reason      TEXT,
    deny_reason           TEXT,
    deny_note             TEXT,
    completed_at          TEXT,
    closed_at             TEXT,
    assignee              TEXT,
    version               INTEGER NOT NULL DEFAULT 0,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);
CREATE INDEX requests_status_due ON requests (status, due_date);
CREATE INDEX requests_email_index ON requests (email_index);
CREATE INDEX requests_kind ON requests (kind);
CREATE INDEX requests_received ON requests (received_at);

CREATE TABLE request_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id   TEXT NOT NULL REFERENCES requests (id),
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    from_status  TEXT,
    to_status    TEXT NOT NULL,
    note         TEXT
);
CREATE INDEX request_events_request ON request_events (request_id, id);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT
);

CREATE TABLE audit_log (
    seq          INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    request_ref  TEXT,
    client_addr  TEXT,
    detail       TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE INDEX audit_log_request ON audit_log (request_ref, seq);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TABLE jobs (
    id                TEXT PRIMARY KEY,
    kind              TEXT NOT NULL,
    payload           TEXT NOT NULL,
    dedupe_key        TEXT UNIQUE,
    status            TEXT NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 0,
    max_attempts      INTEGER NOT NULL,
    run_at            TEXT NOT NULL,
    lease_owner       TEXT,
    lease_expires_at  TEXT,
    last_error        TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX jobs_ready ON jobs (status, run_at);
CREATE INDEX jobs_lease ON jobs (status, lease_expires_at);
