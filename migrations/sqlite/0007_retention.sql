-- Retention purges: one record per run of a policy, a lease per policy so that two
-- replicas (or a schedule and a manual run) never purge the same policy at once, and
-- legal holds (the subject's email encrypted, found by its blind index).
CREATE TABLE retention_runs (
    id            TEXT PRIMARY KEY,
    connector     TEXT NOT NULL,
    policy        TEXT NOT NULL,
    trigger_kind  TEXT NOT NULL,
    actor         TEXT NOT NULL,
    dry_run       INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    cutoff        TEXT NOT NULL,
    rows_matched  INTEGER NOT NULL DEFAULT 0,
    rows_purged   INTEGER NOT NULL DEFAULT 0,
    rows_held     INTEGER NOT NULL DEFAULT 0,
    batches       INTEGER NOT NULL DEFAULT 0,
    error         TEXT
);
CREATE INDEX retention_runs_started ON retention_runs (started_at, id);
CREATE INDEX retention_runs_policy ON retention_runs (connector, policy, started_at);

CREATE TABLE retention_locks (
    policy_key  TEXT PRIMARY KEY,
    run_id      TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);

CREATE TABLE legal_holds (
    id           TEXT PRIMARY KEY,
    email_ct     TEXT NOT NULL,
    email_index  TEXT NOT NULL,
    reason_ct    TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    released_by  TEXT,
    released_at  TEXT
);
CREATE INDEX legal_holds_active ON legal_holds (released_at, email_index);
CREATE INDEX legal_holds_created ON legal_holds (created_at, id);

-- Own-data purge: closed requests still holding identity data, and finished jobs, are
-- found by index; `pii_wiped_at` marks a request whose identity and free text are gone.
ALTER TABLE requests ADD COLUMN pii_wiped_at TEXT;
CREATE INDEX requests_pii_due ON requests (pii_wiped_at, closed_at);
CREATE INDEX jobs_finished ON jobs (status, updated_at);
