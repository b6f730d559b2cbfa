-- When each API key last authenticated a request (Unix seconds; NULL: never), for
-- `callscope keys list`. Written at most once a minute per key.
ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT;
