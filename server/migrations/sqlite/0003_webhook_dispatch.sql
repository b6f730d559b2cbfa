-- Webhook dispatch: the dispatcher claims due jobs by `due_at` among pending ones only, and
-- disabling or deleting an endpoint settles its pending jobs; delivered jobs pile up, so the
-- hot indexes leave them out.
DROP INDEX webhook_jobs_due;
CREATE INDEX webhook_jobs_pending_due ON webhook_jobs (due_at) WHERE state = 'pending';
CREATE INDEX webhook_jobs_endpoint_pending ON webhook_jobs (endpoint_id) WHERE state = 'pending';
-- The last failure of a job and when it last changed, for operators reading the table.
ALTER TABLE webhook_jobs ADD COLUMN last_error TEXT;
ALTER TABLE webhook_jobs ADD COLUMN updated_at INTEGER;
