-- Operations (issue 11): `/metrics` counts failed connector task attempts by connector
-- from this index alone.
CREATE INDEX tasks_connector_attempts ON tasks (connector, status, attempts);
