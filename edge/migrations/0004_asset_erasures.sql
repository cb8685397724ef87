-- Asset sets that must be erased but whose erase did not go through (the gpu-function or its store
-- briefly down): a late result of a canceled job, a result that could not be delivered. The scheduled
-- purge retries them until they are gone or older than the assets' own lifetime. Holds no face data:
-- the folder name is 128 random bits and the date.
CREATE TABLE asset_erasures (
  folder TEXT PRIMARY KEY,
  request_id TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL
);
