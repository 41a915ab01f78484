-- Access/portability export packages: the encrypted ZIP lives in data_dir/exports/<id>.bin;
-- only the download token's hash is stored.
CREATE TABLE exports (
    id             TEXT PRIMARY KEY,
    request_id     TEXT NOT NULL REFERENCES requests (id),
    token_hash     TEXT NOT NULL UNIQUE,
    file_name      TEXT NOT NULL,
    manifest       TEXT NOT NULL,
    size_bytes     INTEGER NOT NULL,
    downloads      INTEGER NOT NULL DEFAULT 0,
    max_downloads  INTEGER NOT NULL,
    expires_at     TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    deleted_at     TEXT
);
CREATE INDEX exports_request ON exports (request_id);
CREATE INDEX exports_expires ON exports (expires_at);
