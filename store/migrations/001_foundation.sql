-- Foundation schema. Every table carries tenant_id; every query filters by it.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE tenants (
    id          bigserial PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name        text NOT NULL,
    settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE customers (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    display_name  text,
    merged_into   bigint REFERENCES customers(id),
    attributes    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id)
);
CREATE INDEX customers_merged_into ON customers (tenant_id, merged_into) WHERE merged_into IS NOT NULL;

-- links=true identities resolve to their customer (unique per tenant/kind/value);
-- links=false rows are claims that agents see and that never resolve anything by themselves.
CREATE TABLE identities (
    id           bigserial PRIMARY KEY,
    tenant_id    bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    customer_id  bigint NOT NULL,
    kind         text NOT NULL,
    value        text NOT NULL,
    source       text NOT NULL,
    links        boolean NOT NULL,
    verified     boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX identities_linking ON identities (tenant_id, kind, value) WHERE links;
CREATE UNIQUE INDEX identities_claim ON identities (tenant_id, kind, value, customer_id) WHERE NOT links;
CREATE INDEX identities_customer ON identities (tenant_id, customer_id);

-- Every merge keeps its provenance and can be undone.
CREATE TABLE customer_merges (
    id                  bigserial PRIMARY KEY,
    tenant_id           bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    source_customer_id  bigint NOT NULL,
    target_customer_id  bigint NOT NULL,
    identity_id         bigint REFERENCES identities(id) ON DELETE SET NULL,
    claim_source        text NOT NULL,
    reason              text NOT NULL,
    actor               text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    undone_at           timestamptz,
    undone_by           text
);

CREATE TABLE agents (
    id             bigserial PRIMARY KEY,
    tenant_id      bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email          text NOT NULL UNIQUE,
    name           text NOT NULL,
    password_hash  text NOT NULL,
    role           text NOT NULL DEFAULT 'agent' CHECK (role IN ('agent', 'lead', 'admin')),
    skills         text[] NOT NULL DEFAULT '{}',
    max_load       integer NOT NULL DEFAULT 5 CHECK (max_load >= 0),
    available      boolean NOT NULL DEFAULT true,
    failed_logins  integer NOT NULL DEFAULT 0,
    locked_until   timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id)
);

CREATE TABLE conversations (
    id                     bigserial PRIMARY KEY,
    tenant_id              bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    customer_id            bigint NOT NULL,
    status                 text NOT NULL DEFAULT 'new',
    last_channel           text NOT NULL,
    subject                text,
    category               text,
    category_confidence    real,
    urgency                text,
    sentiment              text,
    language               text,
    assignee_id            bigint,
    clarify_turns          integer NOT NULL DEFAULT 0,
    last_seq               integer NOT NULL DEFAULT 0,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    last_inbound_at        timestamptz,
    first_response_at      timestamptz,
    resolved_at            timestamptz,
    sla_first_response_due timestamptz,
    sla_resolution_due     timestamptz,
    sla_paused_at          timestamptz,
    sla_paused_seconds     double precision NOT NULL DEFAULT 0,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, assignee_id) REFERENCES agents (tenant_id, id)
);
CREATE INDEX conversations_customer_open ON conversations (tenant_id, customer_id, updated_at DESC);
CREATE INDEX conversations_status ON conversations (tenant_id, status);

CREATE TABLE status_changes (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    conversation_id  bigint NOT NULL,
    from_status      text NOT NULL,
    to_status        text NOT NULL,
    actor            text NOT NULL,
    reason           text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE messages (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    conversation_id  bigint NOT NULL,
    seq              integer NOT NULL,
    direction        text NOT NULL CHECK (direction IN ('in', 'out', 'internal')),
    author_kind      text NOT NULL CHECK (author_kind IN ('customer', 'ai', 'agent', 'system')),
    author_id        bigint,
    identity_id      bigint REFERENCES identities(id) ON DELETE SET NULL,
    channel          text NOT NULL,
    subject          text,
    text             text NOT NULL,
    reply_kind       text,
    sources          jsonb NOT NULL DEFAULT '[]'::jsonb,
    actions          jsonb NOT NULL DEFAULT '[]'::jsonb,
    attachments      jsonb NOT NULL DEFAULT '[]'::jsonb,
    flags            text[] NOT NULL DEFAULT '{}',
    raw              jsonb NOT NULL DEFAULT '{}'::jsonb,
    external_id      text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    edited_at        timestamptz,
    deleted_at       timestamptz,
    UNIQUE (tenant_id, conversation_id, seq),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX messages_external ON messages (tenant_id, channel, external_id) WHERE external_id IS NOT NULL;

-- Channel thread keys (email Message-IDs ours and theirs, Slack channel:thread_ts) → conversation.
CREATE TABLE thread_keys (
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    channel          text NOT NULL,
    key              text NOT NULL,
    conversation_id  bigint NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel, key),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE sla_policies (
    id                      bigserial PRIMARY KEY,
    tenant_id               bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    urgency                 text NOT NULL,
    tier                    text NOT NULL DEFAULT 'standard',
    first_response_minutes  integer NOT NULL CHECK (first_response_minutes > 0),
    resolution_minutes      integer NOT NULL CHECK (resolution_minutes > 0),
    business_hours          boolean NOT NULL DEFAULT false,
    UNIQUE (tenant_id, urgency, tier)
);

CREATE TABLE kb_articles (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    key           text NOT NULL,
    title         text NOT NULL,
    url           text,
    body          text NOT NULL,
    content_hash  text NOT NULL,
    language      text NOT NULL DEFAULT 'en',
    updated_at    timestamptz NOT NULL DEFAULT now(),
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, key),
    UNIQUE (tenant_id, id)
);

CREATE TABLE kb_chunks (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    article_id  bigint NOT NULL,
    ord         integer NOT NULL,
    heading     text NOT NULL DEFAULT '',
    text        text NOT NULL,
    embedding   vector(384) NOT NULL,
    tsv         tsvector GENERATED ALWAYS AS (to_tsvector('english', heading || ' ' || text)) STORED,
    FOREIGN KEY (tenant_id, article_id) REFERENCES kb_articles (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX kb_chunks_embedding ON kb_chunks USING hnsw (embedding vector_cosine_ops);
CREATE INDEX kb_chunks_tsv ON kb_chunks USING gin (tsv);
CREATE INDEX kb_chunks_tenant ON kb_chunks (tenant_id, article_id);

-- Outbound deliveries, written in the same transaction as the message they carry.
CREATE TABLE outbox (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    conversation_id  bigint,
    message_id       bigint REFERENCES messages(id) ON DELETE CASCADE,
    channel          text NOT NULL,
    idempotency_key  text NOT NULL,
    payload          jsonb NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';

-- Background work (agent runs, SLA ticks, ...). At most one pending job per dedupe_key.
CREATE TABLE jobs (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind          text NOT NULL,
    dedupe_key    text,
    payload       jsonb NOT NULL DEFAULT '{}'::jsonb,
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed')),
    attempts      integer NOT NULL DEFAULT 0,
    run_after     timestamptz NOT NULL DEFAULT now(),
    locked_until  timestamptz,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);
CREATE UNIQUE INDEX jobs_pending_dedupe ON jobs (tenant_id, dedupe_key) WHERE status = 'pending' AND dedupe_key IS NOT NULL;
CREATE INDEX jobs_due ON jobs (run_after) WHERE status IN ('pending', 'running');

CREATE TABLE audit_events (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    actor         text NOT NULL,
    action        text NOT NULL,
    subject_type  text NOT NULL,
    subject_id    bigint,
    details       jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_subject ON audit_events (tenant_id, subject_type, subject_id);

-- One-time tokens (email verification links, password set links), stored hashed.
CREATE TABLE one_time_tokens (
    token_hash   text PRIMARY KEY,
    tenant_id    bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    purpose      text NOT NULL,
    subject_id   bigint NOT NULL,
    data         jsonb NOT NULL DEFAULT '{}'::jsonb,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
