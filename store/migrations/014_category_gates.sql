-- Per-category auto-resolve gates measured for one classifier version on the tenant's held-back labels.
-- One row per (tenant, model version, category): the threshold plus the evidence admins see.
CREATE TABLE category_gates (
    tenant_id      bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    model_version  integer NOT NULL,
    category       text NOT NULL,
    threshold      real,              -- NULL: no automatic answers for this category (suggest only)
    precision      real,              -- automatic-path precision at the threshold (best cut when disabled)
    support        integer NOT NULL,  -- held-back predictions at or above the threshold
    predicted      integer NOT NULL,  -- held-back predictions of this category
    dev_n          integer NOT NULL,  -- held-back labels the gates were measured on
    target         real NOT NULL,     -- the precision a category had to reach
    reason         text NOT NULL,
    computed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, model_version, category)
);
