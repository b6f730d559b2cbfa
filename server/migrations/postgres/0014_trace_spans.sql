-- OTLP spans of voice-agent traces (otlp/), kept until their trace becomes a call: the
-- root span ends last, so turns arrive minutes before it. Only span names callscope maps
-- are kept; a trace never claimed expires (otlp::UNCLAIMED_TTL).
CREATE TABLE trace_spans (
    trace_id     TEXT    NOT NULL,  -- 32 hex digits
    span_id      TEXT    NOT NULL,  -- 16 hex digits
    parent_id    TEXT,              -- NULL for a root
    name         TEXT    NOT NULL,
    start_ns     BIGINT NOT NULL,
    end_ns       BIGINT NOT NULL,
    attributes   TEXT    NOT NULL,  -- JSON object: attribute key -> value
    received_at  BIGINT NOT NULL,
    PRIMARY KEY (trace_id, span_id)
);
CREATE INDEX trace_spans_received ON trace_spans (received_at);

-- Which call a trace feeds. call_id is NULL while the request that claimed the trace
-- creates its call; completed once its root span was applied (later spans of the trace
-- change nothing: exporters retry).
CREATE TABLE trace_calls (
    trace_id    TEXT PRIMARY KEY,
    call_id     BIGINT REFERENCES calls (id) ON DELETE CASCADE,
    completed   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL
);
