-- One call per provider call: two pipeline creates naming the same `call_control_id` at the
-- same moment must not both insert (Telnyx's ids are globally unique, and webhooks match by
-- the id alone). Earlier duplicates (e.g. demo data written twice with one seed) keep the
-- id on their first call only, which is the call webhooks already matched.
UPDATE calls SET call_control_id = NULL
WHERE call_control_id IS NOT NULL
  AND id NOT IN (SELECT MIN(id) FROM calls WHERE call_control_id IS NOT NULL GROUP BY call_control_id);
DROP INDEX calls_call_control_id_any;
CREATE UNIQUE INDEX calls_call_control_id_unique ON calls (call_control_id)
    WHERE call_control_id IS NOT NULL;
