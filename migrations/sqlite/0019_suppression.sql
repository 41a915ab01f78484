-- The suppression list (issue 20): completed objections and erasures leave a keyed hash
-- of the subject's canonical address with the scope, so the product can keep them out of
-- mailings and imports. It outlives the request's personal data (closed_request_pii does
-- not touch it); the address itself is never stored here.
--
-- The HMAC key of the list: 32 random bytes generated once, sealed under the deployment
-- key (re-sealed by `keys rotate`, never changed, so the hashes stay valid). The
-- operator may hand it to the product so that it can hash its own lists.
CREATE TABLE suppression_keys (
    id          TEXT PRIMARY KEY,
    key_ct      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE suppressions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    -- hex HMAC-SHA256(list key, canonical address)
    address_hash  TEXT NOT NULL,
    -- marketing | profiling | processing | erasure
    scope         TEXT NOT NULL,
    -- the processing named by an objection with scope processing
    processing    TEXT,
    request_id    TEXT NOT NULL REFERENCES requests (id),
    added_at      TEXT NOT NULL,
    UNIQUE (request_id, scope)
);
CREATE INDEX suppressions_address ON suppressions (address_hash);
