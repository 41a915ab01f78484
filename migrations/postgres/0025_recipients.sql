-- GDPR art. 19: the subject asked, on the form or through the API, to be told who
-- received their data; the completion email then lists the recipients.
CREATE TABLE recipient_asks (
    request_id  TEXT PRIMARY KEY REFERENCES requests (id),
    asked_at    TIMESTAMPTZ NOT NULL
);
