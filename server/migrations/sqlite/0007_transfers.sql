-- Transfers asked for through `POST /v1/calls/:id/transfer`, one row per attempt. The new
-- leg's Telnyx webhooks carry the row's id (in `target_leg_client_state`), which is how they
-- find their call. `state`: requested (sent to Telnyx, not yet accepted), initiated
-- (accepted), completed (the new leg answered at `bridged_at`), failed (it hung up first).
-- `ended_at` is the first hangup of either leg: the end of the transferred conversation.
CREATE TABLE transfers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    destination TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('requested', 'initiated', 'completed', 'failed')),
    requested_at INTEGER NOT NULL,
    bridged_at INTEGER,
    ended_at INTEGER,
    failure TEXT
);
CREATE INDEX transfers_call ON transfers (call_id);
