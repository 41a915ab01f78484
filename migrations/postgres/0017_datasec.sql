-- Requests whose stored copies (access results, export files, identity-check proofs)
-- were deleted because the same identity's erasure completed: they cannot be exported
-- again. The erasure's reference says why.
CREATE TABLE erased_copies (
    request_id   TEXT PRIMARY KEY REFERENCES requests (id),
    erasure_ref  TEXT NOT NULL,
    erased_at    TIMESTAMPTZ NOT NULL
);

-- The audit chain is keyed (HMAC-SHA256) from this release on. Rows written before it
-- keep key_epoch 0 (plain SHA-256) and can only come before the first keyed entry.
-- Each key rotation starts a new epoch; the retired epoch's key is kept here, encrypted
-- under the deployment key, so that older entries stay verifiable.
ALTER TABLE audit_log ADD COLUMN key_epoch BIGINT NOT NULL DEFAULT 0;
CREATE TABLE audit_keys (
    epoch        BIGINT PRIMARY KEY,
    key_ct       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);

-- Append-only: no UPDATE, DELETE or TRUNCATE of the audit log, whoever asks.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Where the unkeyed part of the chain ends: entries written before this migration. An
-- unkeyed entry after it is refused by `audit verify` (a chain rewritten as unkeyed
-- entries, which anyone can compute, does not pass). One row, never changed.
CREATE TABLE audit_chain (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    unkeyed_until   BIGINT NOT NULL
);
INSERT INTO audit_chain (id, unkeyed_until) SELECT 1, COALESCE(MAX(seq), 0) FROM audit_log;
CREATE TRIGGER audit_chain_no_change BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
