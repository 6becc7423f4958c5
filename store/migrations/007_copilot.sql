-- The agent console: session invalidation, suggestions and what became of them (the adoption KPI).
ALTER TABLE agents ADD COLUMN session_version integer NOT NULL DEFAULT 0;

CREATE TABLE suggestions (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    conversation_id  bigint NOT NULL,
    agent_id         bigint,
    text             text NOT NULL,
    sources          jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    outcome          text CHECK (outcome IN ('accepted', 'edited', 'discarded')),
    edit_distance    integer,
    sent_message_id  bigint REFERENCES messages(id) ON DELETE SET NULL,
    decided_at       timestamptz,
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX suggestions_conversation ON suggestions (tenant_id, conversation_id);

-- Live console updates in every process: a trigger tells listeners which conversation changed.
CREATE FUNCTION sb_notify_conversation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sb_conversations', NEW.tenant_id::text || ':' || NEW.id::text);
    RETURN NULL;
END $$;
CREATE TRIGGER conversations_notify AFTER INSERT OR UPDATE ON conversations
    FOR EACH ROW EXECUTE FUNCTION sb_notify_conversation();

-- How far each agent has read each conversation (unread counts in the queue).
CREATE TABLE conversation_reads (
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    agent_id         bigint NOT NULL,
    conversation_id  bigint NOT NULL,
    seq              integer NOT NULL,
    PRIMARY KEY (tenant_id, agent_id, conversation_id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
