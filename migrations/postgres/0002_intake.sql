-- Subject links (verification, status), the email outbox and intake rate-limit counters.
CREATE TABLE request_tokens (
    token_hash   TEXT PRIMARY KEY,
    request_id   TEXT NOT NULL REFERENCES requests (id),
    purpose      TEXT NOT NULL,
    expires_at   TIMESTAMPTZ,
    used_at      TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX request_tokens_request ON request_tokens (request_id, purpose);

CREATE TABLE outbox (
    id           TEXT PRIMARY KEY,
    request_id   TEXT REFERENCES requests (id),
    template     TEXT NOT NULL,
    to_ct        TEXT NOT NULL,
    context_ct   TEXT NOT NULL,
    status       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    sent_at      TIMESTAMPTZ
);
CREATE INDEX outbox_request ON outbox (request_id, created_at);
CREATE INDEX outbox_status ON outbox (status);

CREATE TABLE rate_limits (
    bucket       TEXT PRIMARY KEY,
    hits         INTEGER NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX rate_limits_expires ON rate_limits (expires_at);

-- Verification emails sent per address (blind index), for the resend cap.
CREATE TABLE verification_sends (
    id           BIGSERIAL PRIMARY KEY,
    email_index  TEXT NOT NULL,
    at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX verification_sends_email ON verification_sends (email_index, at);
