-- An access task's result, in parts of at most a few thousand rows each, so that the
-- export can stream them into the package without holding a subject's data in memory.
-- `columns` lists the part's column names (schema, not personal data) so the CSV header
-- is known before the rows are read; `rows_ct` is the encrypted JSON array of rows.
CREATE TABLE task_result_parts (
    task_id     TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    table_name  TEXT NOT NULL,
    columns     TEXT NOT NULL,
    row_count   INTEGER NOT NULL,
    rows_ct     TEXT NOT NULL,
    PRIMARY KEY (task_id, seq)
);

-- The download token, encrypted, so the status page can show the link again.
ALTER TABLE exports ADD COLUMN token_ct TEXT;

-- The queue's "assigned to" filter.
CREATE INDEX requests_assignee ON requests (assignee);
