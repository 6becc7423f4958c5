-- The learning loop, continued (issue 12): which kind of answer a remembered conversation holds, and
-- the weekly digest for managers.

-- An answer an agent corrected before sending is the best evidence of what solves a question, so
-- retrieval ranks it above an answer the AI wrote (and above one an agent wrote from scratch, which
-- no draft disagreed with). Rows remembered before this column existed are treated as agent answers.
ALTER TABLE resolved_conversations ADD COLUMN answer_origin text NOT NULL DEFAULT 'agent'
    CHECK (answer_origin IN ('edited', 'agent', 'ai'));

-- One row per generated digest: the figures as computed (so the page and the email show the same
-- numbers a week later, whatever was edited since) and the chart images rendered from them.
CREATE TABLE digests (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    period_start  timestamptz NOT NULL,
    period_end    timestamptz NOT NULL,
    trigger       text NOT NULL CHECK (trigger IN ('schedule', 'on_demand')),
    figures       jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    CHECK (period_start < period_end)
);
CREATE INDEX digests_recent ON digests (tenant_id, id DESC);

CREATE TABLE digest_charts (
    tenant_id  bigint NOT NULL,
    digest_id  bigint NOT NULL,
    name       text NOT NULL CHECK (name ~ '^[a-z_]{1,40}$'),
    png        bytea NOT NULL CHECK (length(png) <= 2000000),
    PRIMARY KEY (tenant_id, digest_id, name),
    FOREIGN KEY (tenant_id, digest_id) REFERENCES digests (tenant_id, id) ON DELETE CASCADE
);
