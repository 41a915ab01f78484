-- Duplicate requests (issue 20 item 4): a request linked to the same person's earlier
-- open request of the same kind is not processed; staff unlink or merge it. The row stays
-- after a merge (the history says which request answered it).
CREATE TABLE request_links (
    request_id  TEXT PRIMARY KEY REFERENCES requests (id),
    first_id    TEXT NOT NULL REFERENCES requests (id),
    linked_at   TEXT NOT NULL
);
CREATE INDEX request_links_first ON request_links (first_id);
-- The duplicate search: same person and kind, open statuses.
CREATE INDEX requests_email_kind ON requests (email_index, kind, status);

-- Why a request is on hold (issue 20 item 5): only `awaiting_subject` may pause the clock,
-- and only where the regime lets a hold pause it.
ALTER TABLE requests ADD COLUMN hold_reason TEXT;
