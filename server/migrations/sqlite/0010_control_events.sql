-- Call control as the public debug view shows it: a gather asked for and its outcome, a
-- transfer's steps, an end asked for through the API. Written with the change they record
-- (under the call's lock when a provider event applies), so a repeated provider event adds
-- nothing. `detail` is stored as said (a prompt, digits, a destination) and masked when
-- shown. `at` is Unix seconds.
CREATE TABLE control_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    at INTEGER NOT NULL,
    detail TEXT
);
CREATE INDEX control_events_call ON control_events (call_id, id);
