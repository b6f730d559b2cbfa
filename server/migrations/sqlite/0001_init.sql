-- callscope schema, SQLite. Instants are Unix seconds (INTEGER); money is integer
-- ten-thousandths (*_e4); minutes are integer hundredths (*_e2); flags are 0/1.

CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    status      TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at  INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key_hash    BLOB    NOT NULL UNIQUE,      -- SHA-256 of the whole key
    key_prefix  TEXT    NOT NULL,             -- first characters, for display
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX api_keys_account ON api_keys (account_id);

CREATE TABLE agents (
    id                  INTEGER PRIMARY KEY,
    public_id           TEXT    NOT NULL UNIQUE,
    account_id          INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name                TEXT    NOT NULL,
    rate_per_minute_e4  INTEGER NOT NULL CHECK (rate_per_minute_e4 >= 0),
    recording_enabled   INTEGER NOT NULL DEFAULT 0 CHECK (recording_enabled IN (0, 1)),
    created_at          INTEGER NOT NULL
);
CREATE INDEX agents_account ON agents (account_id);

CREATE TABLE calls (
    id                        INTEGER PRIMARY KEY,
    account_id                INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    agent_id                  INTEGER NOT NULL REFERENCES agents (id),
    from_number               TEXT    NOT NULL,
    to_number                 TEXT    NOT NULL,
    status                    TEXT    NOT NULL,
    disposition               TEXT,
    ended_reason              TEXT,
    duration_seconds          INTEGER NOT NULL DEFAULT 0,
    minutes_used_e2           INTEGER NOT NULL DEFAULT 0,
    rate_per_minute_e4        INTEGER NOT NULL DEFAULT 0,
    total_cost_e4             INTEGER NOT NULL DEFAULT 0,
    call_cost_e4              INTEGER NOT NULL DEFAULT 0,
    recording_cost_e4         INTEGER NOT NULL DEFAULT 0,
    llm_discount_e4           INTEGER NOT NULL DEFAULT 0,
    transfer_duration_seconds INTEGER NOT NULL DEFAULT 0,
    transfer_cost_e4          INTEGER NOT NULL DEFAULT 0,
    transferred_to            TEXT,
    has_recording             INTEGER NOT NULL DEFAULT 0 CHECK (has_recording IN (0, 1)),
    recording_enabled         INTEGER NOT NULL DEFAULT 0 CHECK (recording_enabled IN (0, 1)),
    recording_key             TEXT,                  -- object key of the MP3, once uploaded
    turn_count                INTEGER NOT NULL DEFAULT 0,
    tool_call_count           INTEGER NOT NULL DEFAULT 0,
    tools_called              TEXT    NOT NULL DEFAULT '[]',   -- JSON array of strings
    metadata                  TEXT    NOT NULL DEFAULT '{}',   -- JSON
    extracted_data            TEXT    NOT NULL DEFAULT '{}',   -- JSON
    ws_unavailable            INTEGER NOT NULL DEFAULT 0 CHECK (ws_unavailable IN (0, 1)),
    has_debug_log             INTEGER NOT NULL DEFAULT 0 CHECK (has_debug_log IN (0, 1)),
    call_control_id           TEXT,                  -- the telephony provider's handle
    started_at                INTEGER NOT NULL,
    ended_at                  INTEGER
);
-- Newest-first listing by account, alone and per filter; (started_at, id) is the keyset.
CREATE INDEX calls_account_started ON calls (account_id, started_at DESC, id DESC);
CREATE INDEX calls_agent_started ON calls (account_id, agent_id, started_at DESC, id DESC);
CREATE INDEX calls_status_started ON calls (account_id, status, started_at DESC, id DESC);
CREATE INDEX calls_disposition_started ON calls (account_id, disposition, started_at DESC, id DESC);

CREATE TABLE transcript_entries (
    call_id      INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    role         TEXT    NOT NULL CHECK (role IN ('assistant', 'user')),
    content      TEXT    NOT NULL,
    offset_ms    INTEGER NOT NULL,               -- from the start of the call
    tool_calls   TEXT,                           -- JSON array, NULL when none
    PRIMARY KEY (call_id, seq)
) WITHOUT ROWID;

CREATE TABLE turn_latency (
    call_id       INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    turn          INTEGER NOT NULL,
    offset_ms     INTEGER NOT NULL,              -- turn start, from the start of the call
    llm_ttfb_ms   INTEGER NOT NULL,
    tts_start_ms  INTEGER NOT NULL,
    tts_ttfb_ms   INTEGER NOT NULL,
    PRIMARY KEY (call_id, turn)
) WITHOUT ROWID;

CREATE TABLE webhook_endpoints (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    url              TEXT    NOT NULL,
    events           TEXT    NOT NULL DEFAULT '[]',   -- JSON array; empty = every event
    secret_enc       BLOB    NOT NULL,                -- signing secret, encrypted at rest
    enabled          INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    disabled_reason  TEXT,
    created_at       INTEGER NOT NULL,
    deleted_at       INTEGER
);
CREATE INDEX webhook_endpoints_account ON webhook_endpoints (account_id);

-- The durable outbox: one row per event, written in the transaction that caused it.
CREATE TABLE webhook_events (
    id          INTEGER PRIMARY KEY,
    event_id    TEXT    NOT NULL UNIQUE,
    account_id  INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    call_id     INTEGER REFERENCES calls (id) ON DELETE CASCADE,
    event       TEXT    NOT NULL,
    payload     TEXT    NOT NULL,               -- JSON body as sent
    created_at  INTEGER NOT NULL
);

-- One row per (event, endpoint) still to deliver or finished.
CREATE TABLE webhook_jobs (
    id            INTEGER PRIMARY KEY,
    event_row_id  INTEGER NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    endpoint_id   INTEGER NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    state         TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    due_at        INTEGER NOT NULL,
    locked_until  INTEGER,
    UNIQUE (event_row_id, endpoint_id)
);
CREATE INDEX webhook_jobs_due ON webhook_jobs (state, due_at);

-- Every delivery attempt, as GET /v1/calls/:callId/webhooks shows it.
CREATE TABLE webhook_deliveries (
    id           INTEGER PRIMARY KEY,
    job_id       INTEGER REFERENCES webhook_jobs (id) ON DELETE SET NULL,
    endpoint_id  INTEGER REFERENCES webhook_endpoints (id) ON DELETE SET NULL,
    account_id   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    call_id      INTEGER REFERENCES calls (id) ON DELETE CASCADE,
    event        TEXT    NOT NULL,
    event_id     TEXT    NOT NULL,
    url          TEXT    NOT NULL,
    attempt      INTEGER NOT NULL CHECK (attempt >= 1),
    status_code  INTEGER,
    success      INTEGER NOT NULL CHECK (success IN (0, 1)),
    error        TEXT,
    created_at   INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_call ON webhook_deliveries (call_id, created_at, attempt);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);

CREATE TABLE debug_links (
    id              INTEGER PRIMARY KEY,
    call_id         INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    token_hash      BLOB    NOT NULL UNIQUE,    -- SHA-256 of the token: the lookup key
    token_enc       BLOB    NOT NULL,           -- AES-256-GCM(nonce || ciphertext) of the token
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER,
    revoked_at      INTEGER,
    view_count      INTEGER NOT NULL DEFAULT 0,
    last_viewed_at  INTEGER
);
-- At most one live link per call.
CREATE UNIQUE INDEX debug_links_one_live ON debug_links (call_id) WHERE revoked_at IS NULL;
