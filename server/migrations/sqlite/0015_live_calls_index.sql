-- The live calls, counted for /metrics (`callscope_live_calls`) on every scrape without
-- reading the whole calls table.
CREATE INDEX calls_live ON calls (status) WHERE status IN ('ringing', 'in-progress');
