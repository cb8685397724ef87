-- Billing reserves a unit before any GPU work: a usage row with outcome 'reserved' and units = 1
-- counts against the quota until it is committed (outcome 'ok', billed = 1) or released (units = 0).
-- The caller's own x-request-id is kept for correlation only; request_id is always the edge's.
ALTER TABLE usage ADD COLUMN client_request_id TEXT;
CREATE INDEX usage_reserved ON usage (outcome, created_at) WHERE outcome = 'reserved';
-- The scheduled purge deletes idempotency records by age.
CREATE INDEX idempotency_by_time ON idempotency (created_at);
