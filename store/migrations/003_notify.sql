-- Wake workers and dispatchers in every process as soon as work is committed (polling is the fallback).
CREATE FUNCTION sb_notify_work() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_ARGV[0], '');
    RETURN NULL;
END $$;

CREATE TRIGGER jobs_notify AFTER INSERT ON jobs FOR EACH STATEMENT EXECUTE FUNCTION sb_notify_work('sb_jobs');
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION sb_notify_work('sb_outbox');

ALTER TABLE conversations ADD COLUMN customer_read_seq integer NOT NULL DEFAULT 0;
