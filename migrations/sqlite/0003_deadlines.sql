-- Deadline notices sent once per request, kind of notice and due date (an extension
-- moves the due date, and with it the reminders).
CREATE TABLE request_notices (
    request_id  TEXT NOT NULL REFERENCES requests (id),
    notice      TEXT NOT NULL,
    due_date    TEXT NOT NULL,
    sent_at     TEXT NOT NULL,
    PRIMARY KEY (request_id, notice, due_date)
);
CREATE INDEX requests_regime_received ON requests (regime, received_at);
CREATE INDEX request_tokens_expiry ON request_tokens (purpose, expires_at);
