-- Per-tenant urgency heads (issue 12): agents' urgency corrections retrain the tenant's own head.
-- The shared head (agent_graph/data/tone_examples.jsonl) knows what "urgent" means in general; a
-- tenant's corrections say what it means there ("the invoice run is tomorrow" is high for a payroll
-- customer). Kept apart from classifier_models because that table's one active row per tenant is the
-- category head every query there assumes; the same promotion rules apply: every candidate stored,
-- at most one active, refused candidates kept for the record.
CREATE TABLE urgency_models (
    tenant_id    bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    version      integer NOT NULL CHECK (version > 0),
    embedder     text NOT NULL,
    labels       text[] NOT NULL,
    model        bytea NOT NULL,
    metrics      jsonb NOT NULL DEFAULT '{}',
    active       boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    promoted_at  timestamptz,
    PRIMARY KEY (tenant_id, version)
);
CREATE UNIQUE INDEX urgency_models_one_active ON urgency_models (tenant_id) WHERE active;
