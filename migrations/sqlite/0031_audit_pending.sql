-- Audit entries are written in the transaction of the change they record, into
-- audit_pending, and chained into audit_log shortly after by a sealer (see the
-- PostgreSQL migration of the same number). A pending entry is never changed.
CREATE TABLE audit_pending (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    request_ref  TEXT,
    client_addr  TEXT,
    detail       TEXT NOT NULL
);
CREATE TRIGGER audit_pending_no_update BEFORE UPDATE ON audit_pending
BEGIN
    SELECT RAISE(ABORT, 'audit_pending entries are never changed');
END;
