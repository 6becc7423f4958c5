-- A job is claimable only while no job with its key runs (one agent run per conversation at a time).
-- Without this index that check scanned every job for every pending candidate: 4 ms per claim under
-- the chat load bench, the costliest statement after COMMIT.
CREATE INDEX jobs_running_dedupe ON jobs (tenant_id, dedupe_key) WHERE status = 'running' AND dedupe_key IS NOT NULL;
