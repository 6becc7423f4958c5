-- The agent graph's memory: per-tenant classifiers and their training data, what was decided per
-- message (and why), agents' corrections, safety-rule firings, escalation summaries, and the
-- embeddings of resolved conversations.
--
-- LangGraph's checkpoint tables (checkpoints, checkpoint_blobs, checkpoint_writes,
-- checkpoint_migrations) are NOT created here: langgraph-checkpoint-postgres owns their schema and
-- versions it itself, and some of its steps use CREATE INDEX CONCURRENTLY, which cannot run inside
-- this file's transaction. agent_graph.checkpoints.setup_checkpoints() applies them (under an
-- advisory lock); AgentRunner.start() calls it.

-- Labelled examples a tenant teaches its classifier with (the defaults ship in agent_graph/data).
CREATE TABLE classifier_examples (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    text        text NOT NULL,
    category    text NOT NULL,
    source      text NOT NULL DEFAULT 'admin' CHECK (source IN ('admin', 'override', 'import')),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX classifier_examples_unique ON classifier_examples (tenant_id, category, md5(text));

-- Trained heads (agent_graph.classifier save() bytes); the newest row of a tenant is the active one.
CREATE TABLE classifier_models (
    id             bigserial PRIMARY KEY,
    tenant_id      bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    version        integer NOT NULL,
    embedder       text NOT NULL,
    labels         text[] NOT NULL,
    model          bytea NOT NULL,
    examples_hash  text NOT NULL,
    metrics        jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, version)
);

-- One row per customer message the graph classified: the labels, confidences and the model version.
CREATE TABLE message_classifications (
    id                   bigserial PRIMARY KEY,
    tenant_id            bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    conversation_id      bigint NOT NULL,
    message_id           bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    category             text NOT NULL,
    category_confidence  real NOT NULL,
    urgency              text NOT NULL,
    urgency_confidence   real NOT NULL,
    sentiment            text NOT NULL,
    sentiment_confidence real NOT NULL,
    complexity           text NOT NULL,
    skills               text[] NOT NULL DEFAULT '{}',
    language             text NOT NULL,
    language_confidence  real NOT NULL,
    backend              text NOT NULL,
    model_version        integer,
    details              jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, message_id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX message_classifications_conversation ON message_classifications (tenant_id, conversation_id);

-- An agent's correction of a classification: production accuracy = 1 - overridden / classified.
CREATE TABLE classification_overrides (
    id                 bigserial PRIMARY KEY,
    tenant_id          bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    classification_id  bigint NOT NULL REFERENCES message_classifications(id) ON DELETE CASCADE,
    field              text NOT NULL CHECK (field IN ('category', 'urgency', 'sentiment', 'language', 'complexity')),
    old_value          text NOT NULL,
    new_value          text NOT NULL,
    agent_id           bigint,
    created_at         timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id)
);
CREATE INDEX classification_overrides_tenant ON classification_overrides (tenant_id, created_at);

-- Every time a safety rule changed what the graph did, with the rule that fired.
CREATE TABLE safety_firings (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    conversation_id  bigint NOT NULL,
    message_id       bigint REFERENCES messages(id) ON DELETE CASCADE,
    rule             text NOT NULL,
    action           text NOT NULL CHECK (action IN ('critical', 'handoff')),
    matched          text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX safety_firings_conversation ON safety_firings (tenant_id, conversation_id);

-- One row per graph run: what it decided and whether it could act (silent = a human owns the thread).
CREATE TABLE agent_runs (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    conversation_id  bigint NOT NULL,
    message_id       bigint REFERENCES messages(id) ON DELETE SET NULL,
    decision         text NOT NULL,
    acted            boolean NOT NULL,
    reason           text NOT NULL DEFAULT '',
    confidence       real,
    reply_message_id bigint REFERENCES messages(id) ON DELETE SET NULL,
    backend          text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX agent_runs_conversation ON agent_runs (tenant_id, conversation_id, id);

-- What an agent reads first when a conversation lands on them.
CREATE TABLE handoff_summaries (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    conversation_id  bigint NOT NULL,
    message_id       bigint REFERENCES messages(id) ON DELETE SET NULL,
    reason           text NOT NULL,
    reported         text NOT NULL,
    tried            jsonb NOT NULL DEFAULT '[]'::jsonb,
    likely_cause     text NOT NULL,
    sources          jsonb NOT NULL DEFAULT '[]'::jsonb,
    classification   jsonb NOT NULL DEFAULT '{}'::jsonb,
    assigned_agent_id bigint,
    summary          text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX handoff_summaries_conversation ON handoff_summaries (tenant_id, conversation_id, id);

-- Resolved conversations as retrieval context for agents (never quoted into automatic answers).
CREATE TABLE resolved_conversations (
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    conversation_id  bigint NOT NULL,
    question         text NOT NULL,
    answer           text NOT NULL,
    category         text,
    embedding        vector(384) NOT NULL,
    resolved_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, conversation_id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX resolved_conversations_embedding ON resolved_conversations USING hnsw (embedding vector_cosine_ops);

-- Where an imported article came from, so a re-import can tell fresh from stale.
ALTER TABLE kb_articles ADD COLUMN source_path text;
ALTER TABLE kb_articles ADD COLUMN source_updated_at timestamptz;
ALTER TABLE kb_articles ADD COLUMN embedder text;
-- Chunks repeat the tail of the previous one for retrieval context; answers quote text[overlap_chars:].
ALTER TABLE kb_chunks ADD COLUMN overlap_chars integer NOT NULL DEFAULT 0;
CREATE INDEX kb_chunks_article_ord ON kb_chunks (tenant_id, article_id, ord);
