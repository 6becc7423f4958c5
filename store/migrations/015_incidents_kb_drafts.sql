-- Incidents and KB drafts (issue 12).
--
-- An incident groups conversations whose customers report the same thing within minutes, on any
-- channel. Detection needs the recent reports' vectors even before an incident exists (the third
-- report is what forms it), so every examined customer message leaves one row in incident_reports;
-- the rows are short-lived evidence, pruned after the tenant's window.
CREATE TABLE incidents (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    title         text NOT NULL,
    centroid      vector(384) NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_report_at timestamptz NOT NULL DEFAULT now(),
    resolved_at   timestamptz,
    UNIQUE (tenant_id, id)
);
CREATE INDEX incidents_open ON incidents (tenant_id) WHERE status = 'open';

CREATE TABLE incident_reports (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    conversation_id  bigint NOT NULL,
    message_id       bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    customer_id      bigint NOT NULL,
    text             text NOT NULL,
    embedding        vector(384) NOT NULL,
    incident_id      bigint,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, message_id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, incident_id) REFERENCES incidents (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX incident_reports_recent ON incident_reports (tenant_id, created_at);

-- A conversation belongs to at most one incident; notified_at is when it got the known-issue notice.
CREATE TABLE incident_members (
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    incident_id      bigint NOT NULL,
    conversation_id  bigint NOT NULL,
    message_id       bigint REFERENCES messages(id) ON DELETE SET NULL,
    joined_at        timestamptz NOT NULL DEFAULT now(),
    notified_at      timestamptz,
    PRIMARY KEY (tenant_id, conversation_id),
    FOREIGN KEY (tenant_id, incident_id) REFERENCES incidents (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX incident_members_incident ON incident_members (tenant_id, incident_id);

-- A KB article drafted from a gap topic must not answer customers before an admin publishes it.
ALTER TABLE kb_articles ADD COLUMN status text NOT NULL DEFAULT 'published'
    CHECK (status IN ('draft', 'published'));
