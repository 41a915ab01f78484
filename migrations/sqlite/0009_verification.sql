-- Identity proofing beyond the emailed link (issue 12): for the kinds configured in
-- `[verification] extra_for`, the method the request needs, what the subject gave
-- (encrypted), and where the check stands. Fan-out waits until `state` is `confirmed`.
CREATE TABLE identity_checks (
    request_id   TEXT PRIMARY KEY REFERENCES requests (id),
    method       TEXT NOT NULL,
    state        TEXT NOT NULL,
    proof_ct     TEXT,
    note_ct      TEXT,
    checked_by   TEXT,
    checked_at   TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX identity_checks_state ON identity_checks (state);
