-- Jobs that may run together (issue 19 item 2): connector tasks of one connector and
-- operation carry the same batch key, and a worker that claims one claims up to
-- `connectors.batch_subjects` ready jobs of its key with it, so that many subjects'
-- erasures cost one traversal.
ALTER TABLE jobs ADD COLUMN batch_key TEXT;
CREATE INDEX jobs_batch ON jobs (batch_key, status, run_at) WHERE batch_key IS NOT NULL;
