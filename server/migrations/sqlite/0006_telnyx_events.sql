-- Telnyx webhooks already applied, by `data.id`: deliveries repeat (retries, replays) and
-- a repeat is answered 200 without being applied again. `call_id` is the call the event
-- was matched to; a hangup keeps its cause and source so a `call.answered` arriving after
-- it can correct the outcome (see `telnyx::ingest`).
CREATE TABLE telnyx_events (
    event_id TEXT PRIMARY KEY,
    event_type TEXT NOT NULL,
    call_id INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    occurred_at INTEGER NOT NULL,
    hangup_cause TEXT,
    hangup_source TEXT,
    received_at INTEGER NOT NULL
);
CREATE INDEX telnyx_events_call ON telnyx_events (call_id, event_type);

-- Webhooks name the call by `call_control_id` alone (no account).
CREATE INDEX calls_call_control_id_any ON calls (call_control_id);
