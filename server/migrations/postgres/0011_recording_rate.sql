-- Each agent's recording rate per minute (ten-thousandths), and each call's copy of it
-- taken when the call is created (as `rate_per_minute_e4` is), so a call's recording
-- cost is settled at the rate it started with. 100 = 0.01 per minute, the documented
-- default (`billing::DEFAULT_RECORDING_RATE`) and the rate calls were billed at before.
ALTER TABLE agents ADD COLUMN recording_rate_per_minute_e4 BIGINT NOT NULL DEFAULT 100
    CHECK (recording_rate_per_minute_e4 >= 0);
ALTER TABLE calls ADD COLUMN recording_rate_per_minute_e4 BIGINT NOT NULL DEFAULT 100;
