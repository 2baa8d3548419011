-- A Queued job can be held back from the workers (manual progression, a start latency) by an explicit marker:
-- max_processing keeps the subscription's real processing limit. Mirrors the embedded store's 0003_held_jobs.sql.
-- Jobs held by the old sentinel (max_processing -1) are carried over; their release gives them their limit back.
ALTER TABLE export_job ADD COLUMN held boolean NOT NULL DEFAULT false;

UPDATE export_job SET held = true WHERE max_processing = -1 AND status = 'Queued';

CREATE INDEX export_job_held_ix ON export_job (queued_at) WHERE held AND status = 'Queued';
