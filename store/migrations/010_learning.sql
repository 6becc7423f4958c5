-- The learning loop (issue 12): a tenant's classifier versions are kept, and which one serves is an
-- explicit flag rather than "the newest row", because a retrained candidate that loses to the current
-- model on held-back labels is stored (so the console can show it was refused) but must not serve,
-- and a rollback re-activates an older version without deleting the newer one.
ALTER TABLE classifier_models ADD COLUMN active boolean NOT NULL DEFAULT false;
ALTER TABLE classifier_models ADD COLUMN promoted_at timestamptz;
-- 'auto': trained from the tenant's examples when they changed; 'retrain': the feedback loop.
ALTER TABLE classifier_models ADD COLUMN source text NOT NULL DEFAULT 'auto'
    CHECK (source IN ('auto', 'retrain'));

-- Until now the newest row served and every row went live when it was written.
UPDATE classifier_models SET promoted_at = created_at;
UPDATE classifier_models m SET active = true
 WHERE version = (SELECT max(version) FROM classifier_models n WHERE n.tenant_id = m.tenant_id);

CREATE UNIQUE INDEX classifier_models_one_active ON classifier_models (tenant_id) WHERE active;
