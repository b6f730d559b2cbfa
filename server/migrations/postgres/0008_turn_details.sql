-- What voice-agent viewers show per turn beside the latency stages: an assistant entry the
-- caller cut off (`interrupted`), and a caller entry's speech-to-text latency (`stt_ms`:
-- end of the caller's speech to the final transcript, NULL when not reported).
ALTER TABLE transcript_entries ADD COLUMN interrupted BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE transcript_entries ADD COLUMN stt_ms BIGINT;
