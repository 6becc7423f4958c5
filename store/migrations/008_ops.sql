-- Operations: routing rotation, SLA pauses and escalation rungs, agent notifications, CSAT.

-- Escalated queue and the ladder's queue bumps (higher first); escalated_at set when nobody could take it.
ALTER TABLE conversations ADD COLUMN escalated_at timestamptz;
ALTER TABLE conversations ADD COLUMN queue_priority integer NOT NULL DEFAULT 0;
CREATE INDEX conversations_sla_open ON conversations (tenant_id, status, updated_at);

-- Round robin among equally loaded agents: the last agent each tenant's router picked.
CREATE TABLE routing_rotation (
    tenant_id      bigint PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    last_agent_id  bigint,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Every interval a conversation spent waiting on the customer (SLA clocks stop there), kept for audit.
-- Written by a trigger so no status write can forget it; the one state machine stays the only writer
-- of status, this only observes it.
CREATE TABLE sla_pauses (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    conversation_id  bigint NOT NULL,
    started_at       timestamptz NOT NULL,
    ended_at         timestamptz,
    CHECK (ended_at IS NULL OR ended_at >= started_at),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sla_pauses_conversation ON sla_pauses (tenant_id, conversation_id, started_at);
CREATE UNIQUE INDEX sla_pauses_one_open ON sla_pauses (tenant_id, conversation_id) WHERE ended_at IS NULL;

CREATE FUNCTION sb_record_sla_pause() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'waiting_customer' AND OLD.status <> 'waiting_customer' THEN
        INSERT INTO sla_pauses (tenant_id, conversation_id, started_at)
        VALUES (NEW.tenant_id, NEW.id, coalesce(NEW.sla_paused_at, now()))
        ON CONFLICT (tenant_id, conversation_id) WHERE ended_at IS NULL DO NOTHING;
    ELSIF OLD.status = 'waiting_customer' AND NEW.status <> 'waiting_customer' THEN
        UPDATE sla_pauses SET ended_at = greatest(started_at, now())
        WHERE tenant_id = NEW.tenant_id AND conversation_id = NEW.id AND ended_at IS NULL;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER conversations_sla_pause AFTER UPDATE OF status ON conversations
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION sb_record_sla_pause();

-- The escalation ladder: one row per rung that fired, so each rung fires once per SLA target.
-- skipped = a later rung was reached first (the tick ran late); recorded so it never fires afterwards.
CREATE TABLE sla_rungs (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    conversation_id  bigint NOT NULL,
    target           text NOT NULL CHECK (target IN ('first_response', 'resolution')),
    rung             integer NOT NULL CHECK (rung IN (75, 90, 100)),
    due_at           timestamptz NOT NULL,
    elapsed_ratio    double precision NOT NULL,
    skipped          boolean NOT NULL DEFAULT false,
    details          jsonb NOT NULL DEFAULT '{}'::jsonb,
    fired_at         timestamptz NOT NULL,
    UNIQUE (tenant_id, conversation_id, target, rung),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sla_rungs_fired ON sla_rungs (tenant_id, fired_at);

-- What agents are told (SLA warnings, escalations, reassignments); the console lists unread ones.
CREATE TABLE agent_notifications (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    agent_id         bigint NOT NULL,
    kind             text NOT NULL,
    conversation_id  bigint,
    title            text NOT NULL,
    body             text NOT NULL DEFAULT '',
    dedupe_key       text NOT NULL,
    created_at       timestamptz NOT NULL,
    read_at          timestamptz,
    UNIQUE (tenant_id, agent_id, dedupe_key),
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX agent_notifications_unread ON agent_notifications (tenant_id, agent_id, id DESC) WHERE read_at IS NULL;

CREATE FUNCTION sb_notify_agent_notification() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sb_notifications', NEW.tenant_id::text || ':' || NEW.agent_id::text || ':' || NEW.id::text);
    RETURN NULL;
END $$;
CREATE TRIGGER agent_notifications_notify AFTER INSERT ON agent_notifications
    FOR EACH ROW EXECUTE FUNCTION sb_notify_agent_notification();

-- CSAT: one survey sent per conversation, one answer per conversation.
CREATE TABLE csat_surveys (
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    conversation_id  bigint NOT NULL,
    channel          text NOT NULL,
    message_id       bigint REFERENCES messages(id) ON DELETE SET NULL,
    sent_at          timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, conversation_id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE csat_responses (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    conversation_id  bigint NOT NULL,
    score            integer NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment          text CHECK (comment IS NULL OR length(comment) <= 2000),
    channel          text NOT NULL,
    actor            text NOT NULL,
    created_at       timestamptz NOT NULL,
    UNIQUE (tenant_id, conversation_id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX csat_responses_created ON csat_responses (tenant_id, created_at);
