-- The extract kind of a job (activities, leads, ...). A job is seen only through its kind's endpoints; the queue,
-- the processing slots and the daily quota count the jobs of every kind of a subscription. Jobs stored before
-- kinds existed are activity jobs.
ALTER TABLE export_job ADD COLUMN kind TEXT NOT NULL DEFAULT 'activities';
