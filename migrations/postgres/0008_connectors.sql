-- Links that finish a connector task outside its job: the HTTP connector's callback and
-- the manual connector's completion link. Only the SHA-256 of the 256-bit token is kept;
-- each link works once, until it expires.
CREATE TABLE task_tokens (
    token_hash   TEXT PRIMARY KEY,
    task_id      TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    request_ref  TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    used_at      TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX task_tokens_task ON task_tokens (task_id);

-- Values of this task's rows that other connectors' key templates use
-- ({app.leads.id}), captured before the operation ran (an erasure removes the rows);
-- encrypted JSON.
ALTER TABLE tasks ADD COLUMN values_ct TEXT;
