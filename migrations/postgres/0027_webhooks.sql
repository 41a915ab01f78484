-- Outgoing webhooks (issue 23 item 2), Standard Webhooks signed. An endpoint's secret
-- is kept encrypted under the deployment key (it signs every delivery). A delivery is
-- one event for one endpoint; each attempt keeps the endpoint's answer for the log.
CREATE TABLE webhook_endpoints (
    id           TEXT PRIMARY KEY,
    url          TEXT NOT NULL,
    description  TEXT NOT NULL,
    events       TEXT NOT NULL,            -- JSON array of event types
    secret_ct    TEXT NOT NULL,
    enabled      BOOLEAN NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE webhook_deliveries (
    id           TEXT PRIMARY KEY,         -- the webhook-id header (msg_...)
    endpoint_id  TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_type   TEXT NOT NULL,
    request_ref  TEXT,
    payload      TEXT NOT NULL,            -- the body, references and statuses only
    status       TEXT NOT NULL,            -- pending | delivered | retrying | failed
    attempts     INTEGER NOT NULL,
    last_status  INTEGER,
    last_error   TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);

CREATE TABLE webhook_attempts (
    id           BIGSERIAL PRIMARY KEY,
    delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    at           TIMESTAMPTZ NOT NULL,
    http_status  INTEGER,
    error        TEXT,
    answer       TEXT,                     -- the first bytes of the answer's body
    duration_ms  INTEGER NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
