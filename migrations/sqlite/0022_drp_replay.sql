-- Signed DRP messages already accepted (SHA-256 of the signed JSON), kept until they
-- expire: a replay inside the validity window is refused.
CREATE TABLE drp_seen_messages (
    digest       TEXT PRIMARY KEY,
    agent_id     TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX drp_seen_messages_expires ON drp_seen_messages (expires_at);
