-- Connector tasks of a request's fan-out, and the erasure ledger.
CREATE TABLE tasks (
    id           TEXT PRIMARY KEY,
    request_id   TEXT NOT NULL REFERENCES requests (id),
    connector    TEXT NOT NULL,
    operation    TEXT NOT NULL,
    status       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    evidence     TEXT,
    result_ct    TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ
);
CREATE INDEX tasks_request ON tasks (request_id, connector);

-- Every erasure, so it can be re-applied after a product database is restored from a
-- backup. The identity is kept encrypted (to find the rows again) next to its HMAC.
CREATE TABLE erasure_ledger (
    id             BIGSERIAL PRIMARY KEY,
    identity_hmac  TEXT NOT NULL,
    identity_ct    TEXT,
    connector      TEXT NOT NULL,
    request_ref    TEXT NOT NULL,
    task_id        TEXT NOT NULL UNIQUE,
    at             TIMESTAMPTZ NOT NULL
);
CREATE INDEX erasure_ledger_at ON erasure_ledger (at);
