-- Recordings asked for and never saved (recordings::download gives up on them an hour after
-- their call ended), found without reading the calls table.
CREATE INDEX calls_recordings_requested ON calls (ended_at) WHERE recording_status = 'requested';
