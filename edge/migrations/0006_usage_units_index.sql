-- The quota's sums (reserveUnit on every call, unitsThisMonth on every GET /v1/usage) read only the
-- rows that hold a unit: billed results and reservations still running. Every refused request also
-- writes a usage row (units 0: a bad upload, an auth'd 4xx), and a key sending nothing but refusals
-- all month, at its rate limit, leaves millions of them; through usage_by_key_time each sum read
-- every one from the table, on the one database every tenant's reserve and commit share. This index
-- holds the unit rows only, with the columns the sums read, so a sum reads at most the key's quota
-- of index entries and never the table.
CREATE INDEX usage_units_by_key_time ON usage (key_id, created_at, units, billed, outcome) WHERE units > 0;
