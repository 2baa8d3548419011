-- A Queued job can be held back from the workers (manual progression, a start latency) by an explicit marker:
-- max_processing keeps the subscription's real processing limit. Jobs held by the old sentinel (max_processing -1)
-- are carried over; their release gives them their limit back.
ALTER TABLE export_job ADD COLUMN held INTEGER NOT NULL DEFAULT 0;

UPDATE export_job SET held = 1 WHERE max_processing = -1 AND status = 'Queued';

CREATE INDEX ix_export_job_held ON export_job (queued_at) WHERE held = 1 AND status = 'Queued';
