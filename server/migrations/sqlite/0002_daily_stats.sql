-- Daily roll-ups behind GET /v1/calls/summary: one row per account, agent and UTC day of
-- started_at, kept in step with `calls` in the same transaction. A summary reads one row
-- per agent-day, so its cost follows the length of the range, not the number of calls.
CREATE TABLE call_daily_stats (
    account_id              INTEGER NOT NULL,
    agent_id                INTEGER NOT NULL,
    day                     INTEGER NOT NULL,   -- Unix seconds of 00:00 UTC
    total_calls             INTEGER NOT NULL DEFAULT 0,
    completed_calls         INTEGER NOT NULL DEFAULT 0,
    failed_calls            INTEGER NOT NULL DEFAULT 0,
    answered_calls          INTEGER NOT NULL DEFAULT 0,
    no_answer_calls         INTEGER NOT NULL DEFAULT 0,
    total_duration_seconds  INTEGER NOT NULL DEFAULT 0,
    minutes_used_e2         INTEGER NOT NULL DEFAULT 0,
    total_cost_e4           INTEGER NOT NULL DEFAULT 0,
    recording_cost_e4       INTEGER NOT NULL DEFAULT 0,
    llm_discount_e4         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, day, agent_id)
);
