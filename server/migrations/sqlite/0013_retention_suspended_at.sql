-- Accounts suspended before suspension instants were kept (0012) get one now, so every
-- suspended account has one and its recordings' 7 days (recordings/retention.rs) count
-- from this upgrade at the earliest.
UPDATE accounts SET suspended_at = CAST(strftime('%s', 'now') AS INTEGER)
    WHERE status = 'suspended' AND suspended_at IS NULL;
