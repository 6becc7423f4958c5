-- Outgoing webhooks: per-tenant subscriptions; deliveries are outbox rows (channel 'webhook').

CREATE TABLE webhook_subscriptions (
    id                    bigserial PRIMARY KEY,
    tenant_id             bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    url                   text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2000),
    secret                text NOT NULL,             -- kept to sign with; shown to the caller once
    events                text[] NOT NULL CHECK (cardinality(events) > 0),
    description           text,
    enabled               boolean NOT NULL DEFAULT true,
    disabled_reason       text,
    disabled_at           timestamptz,
    consecutive_failures  integer NOT NULL DEFAULT 0,
    created_by            text NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_subscriptions_enabled ON webhook_subscriptions (tenant_id) WHERE enabled;

-- The admins' delivery log reads a tenant's newest webhook rows.
CREATE INDEX outbox_webhooks ON outbox (tenant_id, id) WHERE channel = 'webhook';
