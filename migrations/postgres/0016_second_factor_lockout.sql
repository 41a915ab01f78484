-- Second-factor failures are counted apart from password failures, and a correct password
-- does not reset them: only a correct code does. While `totp_locked_until` is in the
-- future the second step is refused.
ALTER TABLE users ADD COLUMN totp_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_locked_until TIMESTAMPTZ;
