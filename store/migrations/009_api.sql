-- Integration API: per-tenant bearer tokens (shown once, stored as a SHA-256 of the secret).

CREATE TABLE api_tokens (
    id                     bigserial PRIMARY KEY,
    tenant_id              bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name                   text NOT NULL,
    prefix                 text NOT NULL,             -- first characters of the secret, to tell tokens apart
    token_hash             bytea NOT NULL UNIQUE,     -- sha256(secret); the secret itself is never stored
    scopes                 text[] NOT NULL CHECK (scopes <@ ARRAY['read', 'write', 'classify', 'admin']::text[]
                                                  AND cardinality(scopes) > 0),
    rate_limit_per_minute  integer NOT NULL DEFAULT 600 CHECK (rate_limit_per_minute > 0),
    created_by             text NOT NULL,
    created_at             timestamptz NOT NULL DEFAULT now(),
    last_used_at           timestamptz,
    revoked_at             timestamptz
);
CREATE INDEX api_tokens_tenant ON api_tokens (tenant_id, id);
