-- Slack: the workspaces each tenant registered, and the Events API deliveries we have accepted.

-- Secrets are never stored: bot_token_env / signing_secret_env name the environment variables that
-- hold them. api_base_url is per workspace because GovSlack workspaces live at slack-gov.com (and
-- tests point it at a local stand-in).
CREATE TABLE slack_workspaces (
    id                  bigserial PRIMARY KEY,
    tenant_id           bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    team_id             text NOT NULL UNIQUE CHECK (team_id ~ '^[A-Z0-9]{2,32}$'),
    name                text NOT NULL DEFAULT '',
    bot_token_env       text NOT NULL CHECK (bot_token_env ~ '^[A-Z_][A-Z0-9_]{0,127}$'),
    signing_secret_env  text NOT NULL CHECK (signing_secret_env ~ '^[A-Z_][A-Z0-9_]{0,127}$'),
    bot_user_id         text NOT NULL DEFAULT '',
    -- The trust setting: profile emails from this workspace are verified by its admins, so they merge.
    verifies_emails     boolean NOT NULL DEFAULT false,
    api_base_url        text NOT NULL DEFAULT 'https://slack.com/api/' CHECK (api_base_url ~ '^https?://.+/$'),
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, team_id)
);
CREATE INDEX slack_workspaces_tenant ON slack_workspaces (tenant_id);

-- One row per accepted event_id: the dedupe point (retries carry the same event_id) and the durable
-- hand-off between the 3-second ack and the work done after it. payload is cleared once processed;
-- the key stays until pruned by created_at.
CREATE TABLE slack_events (
    team_id       text NOT NULL,
    event_id      text NOT NULL,
    tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    event_type    text NOT NULL DEFAULT '',
    payload       jsonb,
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'ignored', 'failed')),
    outcome       text,
    attempts      integer NOT NULL DEFAULT 0,
    lease_until   timestamptz NOT NULL DEFAULT now(),
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    processed_at  timestamptz,
    PRIMARY KEY (team_id, event_id)
);
CREATE INDEX slack_events_pending ON slack_events (lease_until) WHERE status = 'pending';
CREATE INDEX slack_events_created ON slack_events (created_at);
