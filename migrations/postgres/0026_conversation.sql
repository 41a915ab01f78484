-- The conversation between staff and the subject of a request (issue 20 item 5), the
-- files the subject or an authorized agent sends, and the authorized agent acting for a
-- subject (issue 21 item 6). Texts and files are encrypted under the deployment key;
-- what the request's personal data purge removes is wiped here at the same time.
CREATE TABLE request_messages (
    id            TEXT PRIMARY KEY,
    request_id    TEXT NOT NULL REFERENCES requests (id),
    at            TIMESTAMPTZ NOT NULL,
    author        TEXT NOT NULL,          -- staff | subject
    actor         TEXT NOT NULL,          -- the staff member, or "subject"
    purpose       TEXT NOT NULL,          -- question | message | reply
    body_ct       TEXT                    -- NULL once the request's personal data is wiped
);
CREATE INDEX request_messages_request ON request_messages (request_id, at);

CREATE TABLE request_files (
    id            TEXT PRIMARY KEY,
    request_id    TEXT NOT NULL REFERENCES requests (id),
    message_id    TEXT REFERENCES request_messages (id),
    purpose       TEXT NOT NULL,          -- reply | agent_permission
    name_ct       TEXT NOT NULL,
    media_type    TEXT NOT NULL,          -- told by content
    size_bytes    BIGINT NOT NULL,
    sha256        TEXT NOT NULL,          -- of the plain file
    body          BYTEA NOT NULL,          -- nonce || AES-256-GCM ciphertext
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX request_files_request ON request_files (request_id);

CREATE TABLE request_agents (
    request_id        TEXT PRIMARY KEY REFERENCES requests (id),
    name_ct           TEXT,
    email_ct          TEXT,
    organisation_ct   TEXT,
    authority         TEXT NOT NULL,      -- document | power_of_attorney | none
    statement_ct      TEXT,
    poa_accepted_at   TIMESTAMPTZ,
    poa_accepted_by   TEXT,
    consent_at        TIMESTAMPTZ,               -- staff recorded the subject's consent to share
    consent_by        TEXT,
    created_at        TIMESTAMPTZ NOT NULL
);
