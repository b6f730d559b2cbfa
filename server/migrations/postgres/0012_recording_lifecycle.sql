-- A call's recording after capture is asked for (recordings/): 'requested' (record_start
-- claimed and sent), 'stored' (the MP3 is in the recordings store; has_recording is true),
-- 'failed' (recording_error says why, for the owner), 'deleted' (retention removed it at
-- recording_deleted_at). NULL: never asked for. Calls that already had a recording are
-- 'stored'.
ALTER TABLE calls ADD COLUMN recording_status TEXT
    CHECK (recording_status IN ('requested', 'stored', 'failed', 'deleted'));
ALTER TABLE calls ADD COLUMN recording_error TEXT;
ALTER TABLE calls ADD COLUMN recording_deleted_at BIGINT;
-- When the provider started recording (call.recording.saved's recording_started_at): where
-- the audio starts on the call's timeline, for a player synced with the transcript.
ALTER TABLE calls ADD COLUMN recording_started_at BIGINT;
-- Retention's claim on a stored recording: the one instance whose claim holds deletes it.
ALTER TABLE calls ADD COLUMN recording_lease_until BIGINT;
-- The provider's leg id of the call's own leg, learnt from its first event:
-- call.recording.saved names the leg, not the call control id.
ALTER TABLE calls ADD COLUMN call_leg_id TEXT;
UPDATE calls SET recording_status = 'stored' WHERE has_recording;
CREATE INDEX calls_call_leg_id ON calls (call_leg_id) WHERE call_leg_id IS NOT NULL;
CREATE INDEX calls_recordings_stored ON calls (account_id, started_at)
    WHERE recording_status = 'stored';

-- When the account was suspended (NULL while active): a suspended account's recordings are
-- kept 7 days from the later of this and the call.
ALTER TABLE accounts ADD COLUMN suspended_at BIGINT;

-- A link issued with include_recording=true carries a short-lived signed audio URL.
ALTER TABLE debug_links ADD COLUMN include_recording BOOLEAN NOT NULL DEFAULT FALSE;

-- One download per recorded call (call.recording.saved): retried with backoff until the
-- provider's URL expires, claimed with a lease so one instance at a time fetches it.
CREATE TABLE recording_downloads (
    call_id          BIGINT PRIMARY KEY REFERENCES calls (id) ON DELETE CASCADE,
    event_id         TEXT    NOT NULL,
    url              TEXT    NOT NULL,
    created_at       BIGINT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    lease_until      BIGINT,
    last_error       TEXT,
    done_at          BIGINT
);
CREATE INDEX recording_downloads_due ON recording_downloads (next_attempt_at) WHERE done_at IS NULL;
