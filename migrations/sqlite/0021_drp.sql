-- Data Rights Protocol (issue 22). Agents come from the directory file (agents.json);
-- a pairing gives an agent its bearer token, of which only the SHA-256 is kept.
CREATE TABLE drp_agents (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    verify_key         TEXT NOT NULL,          -- base64 of the 32-byte Ed25519 key
    web_url            TEXT,
    in_directory       BOOLEAN NOT NULL,       -- false: dropped from the directory, may not sign
    token_hash         TEXT UNIQUE,
    paired_at          TEXT,
    suspended_at       TEXT,
    suspended_by       TEXT,
    loaded_at          TEXT NOT NULL
);

-- One DRP exercise request, linked to the Rightsdesk request that carries it out.
-- Identity claims are encrypted under the deployment key (column claims_ct).
CREATE TABLE drp_requests (
    id                 TEXT PRIMARY KEY,       -- the request_id the agent sees (UUID)
    agent_id           TEXT NOT NULL REFERENCES drp_agents (id),
    request_id         TEXT NOT NULL REFERENCES requests (id),
    request_ref        TEXT NOT NULL,          -- its reference (DSR-...), for the staff views
    exercise           TEXT NOT NULL,          -- as the agent spelled it (access:categories, ...)
    agent_request_id   TEXT,
    drp_version        TEXT,
    status_callback    TEXT,
    claims_ct          TEXT,                   -- NULL once the request's identity is wiped
    callback_digest    TEXT,                   -- the last status object the agent acknowledged
    callback_at        TEXT,
    created_at         TEXT NOT NULL
);
CREATE INDEX drp_requests_request ON drp_requests (request_id);
CREATE INDEX drp_requests_agent ON drp_requests (agent_id);
CREATE INDEX drp_requests_ref ON drp_requests (request_ref);
