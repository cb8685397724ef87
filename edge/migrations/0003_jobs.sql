-- Every reconstruction is a job, synchronous or not: its record is what GET/DELETE
-- /v1/reconstructions/{id} read, and its id is the request id (128 random bits) whose usage row bills it.
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  key_id TEXT NOT NULL REFERENCES api_keys (id),
  mode TEXT NOT NULL CHECK (mode IN ('sync', 'async')),
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'canceled')),
  -- The options as the query string the gpu-function receives.
  query TEXT NOT NULL,
  -- The photo in the uploads bucket while an async job waits or runs; NULL once it is deleted.
  photo_key TEXT,
  photo_type TEXT,
  webhook_url TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  -- A running job's lease: a redelivered message takes the job over only after it lapsed.
  lease_until TEXT,
  error_code TEXT,
  -- The result JSON (signed asset URLs, landmarks) while it is retained; the gpu-function's asset folder.
  result TEXT,
  asset_id TEXT,
  -- Set when DELETE erased a finished job's assets and result.
  erased_at TEXT,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT
);
CREATE INDEX jobs_by_key ON jobs (key_id, created_at DESC, id);
CREATE INDEX jobs_by_time ON jobs (created_at);

-- What happened to a job, for GET: stage progress, retries, webhook delivery attempts.
CREATE TABLE job_events (
  job_id TEXT NOT NULL,
  at TEXT NOT NULL,
  type TEXT NOT NULL,
  detail TEXT
);
CREATE INDEX job_events_by_job ON job_events (job_id, at);

-- Standard Webhooks signing secret per key ("whsec_" + base64), made on first use.
ALTER TABLE api_keys ADD COLUMN webhook_secret TEXT;
