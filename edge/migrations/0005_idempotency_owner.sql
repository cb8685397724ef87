-- Which request holds an Idempotency-Key: the request id that claimed it. A request's settlement
-- (commit, release, rebinding) touches the record only while it is still that request's: a stale
-- claim taken over by a retry (an isolate that stalled past the deadline, then woke) must not release
-- or overwrite the retry's record, which would let a third request run, and bill, the same key.
-- NULL on records written before this column: those are matched as before.
ALTER TABLE idempotency ADD COLUMN owner TEXT;
