-- Attachments: customer uploads (email parts, chat widget files) and agents' reply files.
-- Bytes live here, in the same transaction as the message that carries them: small installs need no
-- object store, and a rolled-back ingest leaves no orphaned file. message_id stays NULL from upload
-- until a message references the file; unlinked uploads are the uploader's only.
CREATE TABLE attachments (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    conversation_id  bigint,
    message_id       bigint,
    uploader         text NOT NULL CHECK (length(uploader) BETWEEN 1 AND 100),  -- customer:<id> | agent:<id> | channel:<name>
    filename         text NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
    declared_type    text NOT NULL CHECK (length(declared_type) BETWEEN 1 AND 255),
    sniffed_type     text NOT NULL CHECK (length(sniffed_type) BETWEEN 1 AND 100),
    size             integer NOT NULL CHECK (size >= 0),
    sha256           bytea NOT NULL CHECK (octet_length(sha256) = 32),
    content          bytea NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (octet_length(content) = size),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (message_id) REFERENCES messages (id) ON DELETE CASCADE
);
CREATE INDEX attachments_message ON attachments (tenant_id, message_id) WHERE message_id IS NOT NULL;
CREATE INDEX attachments_unlinked ON attachments (tenant_id, uploader, created_at) WHERE message_id IS NULL;
