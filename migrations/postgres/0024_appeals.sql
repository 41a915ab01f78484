-- Appeals (issue 21 item 3): an appeal is a request of kind `appeal` linked to the refused
-- request it asks us to reconsider. One appeal per refusal: a request reopened by a
-- reversed appeal and refused again may be appealed again.
CREATE TABLE appeals (
    request_id      TEXT PRIMARY KEY REFERENCES requests (id),
    original_id     TEXT NOT NULL REFERENCES requests (id),
    -- When the refusal appealed against was made (the original's closed_at then).
    denied_at       TIMESTAMPTZ NOT NULL,
    -- Who refused it: they may not decide the appeal.
    denied_by       TEXT NOT NULL,
    -- `upheld` or `reversed` once decided; the reasons are told to the subject.
    outcome         TEXT,
    outcome_reason  TEXT,
    decided_by      TEXT,
    decided_at      TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (original_id, denied_at)
);
CREATE INDEX appeals_original ON appeals (original_id);

-- Permissions a portal user holds besides their role (`appeals`: may decide appeals).
CREATE TABLE staff_permissions (
    user_id     TEXT NOT NULL REFERENCES users (id),
    permission  TEXT NOT NULL,
    granted_by  TEXT NOT NULL,
    granted_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, permission)
);
