-- The privacy inbox (issue 23): each message read from the IMAP folder becomes a triage
-- item until staff convert it into a request or dismiss it. Sender, subject, body and
-- attachments are personal data: encrypted under the deployment key (columns *_ct, and
-- attachments as base64 text sealed the same way, so a key rotation re-seals them all).
CREATE TABLE inbox_items (
    id            TEXT PRIMARY KEY,
    message_key   TEXT NOT NULL UNIQUE,    -- SHA-256 of the Message-ID (or of the message)
    received_at   TIMESTAMPTZ NOT NULL,    -- the message's Date, else when it was read
    from_ct       TEXT NOT NULL,
    subject_ct    TEXT NOT NULL,
    body_ct       TEXT NOT NULL,
    guessed_kind  TEXT,
    language      TEXT,
    status        TEXT NOT NULL DEFAULT 'new',   -- new | converted | dismissed
    reason        TEXT,                    -- why it was dismissed
    request_ref   TEXT,                    -- the request it became
    decided_by    TEXT,
    decided_at    TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX inbox_items_status ON inbox_items (status, received_at);
CREATE INDEX inbox_items_decided ON inbox_items (decided_at);

CREATE TABLE inbox_attachments (
    id            TEXT PRIMARY KEY,
    item_id       TEXT NOT NULL REFERENCES inbox_items (id) ON DELETE CASCADE,
    name_ct       TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size_bytes    BIGINT NOT NULL,
    data_ct       TEXT NOT NULL            -- base64 of the content, sealed like name_ct
);
CREATE INDEX inbox_attachments_item ON inbox_attachments (item_id);
