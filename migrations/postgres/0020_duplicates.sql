-- Duplicate requests (issue 20 item 4): a request linked to the same person's earlier
-- open request of the same kind is not processed; staff unlink or merge it. The row stays
-- after a merge (the history says which request answered it).
CREATE TABLE request_links (
    request_id  TEXT PRIMARY KEY REFERENCES requests (id),
    first_id    TEXT NOT NULL REFERENCES requests (id),
    linked_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX request_links_first ON request_links (first_id);
-- The duplicate search: same person and kind, open statuses.
CREATE INDEX requests_email_kind ON requests (email_index, kind, status);
