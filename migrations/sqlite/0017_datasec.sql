-- Requests whose stored copies (access results, export files, identity-check proofs)
-- were deleted because the same identity's erasure completed: they cannot be exported
-- again. The erasure's reference says why.
CREATE TABLE erased_copies (
    request_id   TEXT PRIMARY KEY REFERENCES requests (id),
    erasure_ref  TEXT NOT NULL,
    erased_at    TEXT NOT NULL
);

-- The audit chain is keyed (HMAC-SHA256) from this release on. Rows written before it
-- keep key_epoch 0 (plain SHA-256) and can only come before the first keyed entry.
-- Each key rotation starts a new epoch; the retired epoch's key is kept here, encrypted
-- under the deployment key, so that older entries stay verifiable.
ALTER TABLE audit_log ADD COLUMN key_epoch INTEGER NOT NULL DEFAULT 0;
CREATE TABLE audit_keys (
    epoch        INTEGER PRIMARY KEY,
    key_ct       TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
