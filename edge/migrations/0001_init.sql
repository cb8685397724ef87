-- API keys are stored only as SHA-256 hashes; the key itself is shown once, at creation.
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  key_hash TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  plan TEXT NOT NULL,
  monthly_quota INTEGER NOT NULL,
  rate_per_minute INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
  created_at TEXT NOT NULL,
  revoked_at TEXT
);

-- One row per reconstruction attempt that passed authentication: billed = 1 only for successes.
CREATE TABLE usage (
  request_id TEXT PRIMARY KEY,
  key_id TEXT NOT NULL REFERENCES api_keys (id),
  idempotency_key TEXT,
  outcome TEXT NOT NULL,
  billed INTEGER NOT NULL CHECK (billed IN (0, 1)),
  units INTEGER NOT NULL,
  bytes_in INTEGER,
  bytes_forwarded INTEGER,
  created_at TEXT NOT NULL
);
CREATE INDEX usage_by_key_time ON usage (key_id, created_at);

-- Idempotency-Key records: the first final response is replayed for 24 h to retries with the same body.
CREATE TABLE idempotency (
  key_id TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  body_sha256 TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('in_progress', 'done')),
  status INTEGER,
  response TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (key_id, idempotency_key)
);
