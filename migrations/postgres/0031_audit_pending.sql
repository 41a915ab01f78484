-- Audit entries are written in the transaction of the change they record, into
-- audit_pending, and chained into audit_log shortly after by a sealer (one transaction
-- for many entries, under the chain's lock). Before this, every audited transaction
-- took the chain's global lock and held it through its commit, so audited work ran one
-- transaction at a time. A pending entry is never changed: the sealer copies it into the
-- chain and deletes it in one transaction.
CREATE TABLE audit_pending (
    id           BIGSERIAL PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    request_ref  TEXT,
    client_addr  TEXT,
    detail       TEXT NOT NULL
);
CREATE FUNCTION audit_pending_unchanged() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_pending entries are never changed (% refused)', TG_OP;
END
$$;
CREATE TRIGGER audit_pending_no_update BEFORE UPDATE ON audit_pending
    FOR EACH ROW EXECUTE FUNCTION audit_pending_unchanged();
