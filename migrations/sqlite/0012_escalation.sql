-- Manual and callback tasks still waiting: the deadline sweep escalates old ones.
CREATE INDEX tasks_waiting ON tasks (status, connector, updated_at);
