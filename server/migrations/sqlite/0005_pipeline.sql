-- The voice pipeline's API writes a call while it is live, turn by turn. Each transcript
-- entry keeps the latency the pipeline reported with it (NULL when none, and on calls
-- stored whole), so a repeated entry is compared whole and `turn_latency`, numbered by
-- assistant entry, can be rebuilt when an earlier entry arrives late.
ALTER TABLE transcript_entries ADD COLUMN llm_ttfb_ms INTEGER;
ALTER TABLE transcript_entries ADD COLUMN tts_start_ms INTEGER;
ALTER TABLE transcript_entries ADD COLUMN tts_ttfb_ms INTEGER;

-- A create that names the provider's call (`call_control_id`) again finds the first one.
CREATE INDEX calls_call_control_id ON calls (account_id, call_control_id);
