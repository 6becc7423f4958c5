-- Operations depth: customer attributes, teams and escalation paths, the internal Slack channel.

-- Typed customer attributes (what SLA policies and reports key on) next to bounded free-form ones.
-- The SLA tier used to be read from attributes->>'tier'; it moves to plan_tier.
ALTER TABLE customers
    ADD COLUMN plan_tier      text CHECK (plan_tier ~ '^[a-z0-9][a-z0-9_-]{0,39}$'),
    ADD COLUMN account_value  numeric(14, 2) CHECK (account_value >= 0),
    ADD COLUMN customer_since date,
    ADD COLUMN region         text CHECK (length(region) BETWEEN 1 AND 64);
UPDATE customers SET plan_tier = lower(attributes->>'tier')
    WHERE lower(attributes->>'tier') ~ '^[a-z0-9][a-z0-9_-]{0,39}$';
UPDATE customers SET attributes = attributes - 'tier' WHERE attributes ? 'tier';
ALTER TABLE customers ADD CONSTRAINT customers_attributes_bounded
    CHECK (jsonb_typeof(attributes) = 'object' AND octet_length(attributes::text) <= 8192);
CREATE INDEX customers_plan_tier ON customers (tenant_id, plan_tier) WHERE plan_tier IS NOT NULL;

-- Teams: members and one lead. skills say which conversations are the team's when nobody owns them.
CREATE TABLE teams (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    slug        text NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9_-]{0,39}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    lead_id     bigint,
    skills      text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, slug),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, lead_id) REFERENCES agents (tenant_id, id) ON DELETE SET NULL (lead_id)
);

CREATE TABLE team_members (
    tenant_id  bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    team_id    bigint NOT NULL,
    agent_id   bigint NOT NULL,
    PRIMARY KEY (tenant_id, team_id, agent_id),
    FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX team_members_agent ON team_members (tenant_id, agent_id);

-- Escalation paths per kind (technical → engineering, ...): exactly one owner, a response time, a template.
CREATE TABLE escalation_paths (
    id                bigserial PRIMARY KEY,
    tenant_id         bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind              text NOT NULL CHECK (kind ~ '^[a-z0-9][a-z0-9_-]{0,39}$'),
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    owner_agent_id    bigint,
    owner_team_id     bigint,
    response_minutes  integer NOT NULL CHECK (response_minutes BETWEEN 1 AND 525600),
    template          text NOT NULL CHECK (length(template) BETWEEN 1 AND 2000),
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (num_nonnulls(owner_agent_id, owner_team_id) = 1),
    UNIQUE (tenant_id, kind),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_agent_id) REFERENCES agents (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, owner_team_id) REFERENCES teams (tenant_id, id) ON DELETE RESTRICT
);

-- Every time a path fired; dedupe_key makes firing idempotent (one escalation per hand-off episode).
CREATE TABLE escalations (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    conversation_id  bigint NOT NULL,
    path_id          bigint NOT NULL,
    actor            text NOT NULL,
    message          text NOT NULL,
    respond_by       timestamptz NOT NULL,
    dedupe_key       text NOT NULL,
    created_at       timestamptz NOT NULL,
    UNIQUE (tenant_id, dedupe_key),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, path_id) REFERENCES escalation_paths (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX escalations_conversation ON escalations (tenant_id, conversation_id);

-- The team's internal Slack channel, one per tenant, apart from customer Slack workspaces. As there,
-- secrets are never stored: *_env name the environment variables holding them.
CREATE TABLE internal_slack (
    tenant_id           bigint PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    team_id             text NOT NULL CHECK (team_id ~ '^[A-Z0-9]{2,32}$'),
    channel_id          text NOT NULL CHECK (channel_id ~ '^[A-Z0-9]{2,32}$'),
    bot_token_env       text NOT NULL CHECK (bot_token_env ~ '^[A-Z_][A-Z0-9_]{0,127}$'),
    signing_secret_env  text NOT NULL CHECK (signing_secret_env ~ '^[A-Z_][A-Z0-9_]{0,127}$'),
    api_base_url        text NOT NULL DEFAULT 'https://slack.com/api/' CHECK (api_base_url ~ '^https?://.+/$'),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (team_id, channel_id)
);

-- Every summary we posted (a Slack message ts): replies threaded under any of them are that conversation's.
CREATE TABLE internal_slack_posts (
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    channel_id       text NOT NULL,
    ts               text NOT NULL,
    conversation_id  bigint NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel_id, ts),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX internal_slack_posts_conversation ON internal_slack_posts (tenant_id, conversation_id, created_at);
