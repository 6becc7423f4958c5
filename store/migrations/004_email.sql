-- Email channel: per-tenant mailboxes (IMAP in, SMTP out), the poller's position in each mailbox,
-- and the lease that keeps one poller per mailbox across every worker process.
--
-- Secrets come only from the environment: *_password_env names the environment variable holding
-- the password, so the database (and its backups) never hold a mail password.

CREATE TABLE email_mailboxes (
    id                   bigserial PRIMARY KEY,
    tenant_id            bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name                 text NOT NULL DEFAULT 'support',
    enabled              boolean NOT NULL DEFAULT true,
    imap_host            text NOT NULL,
    imap_port            integer NOT NULL CHECK (imap_port BETWEEN 1 AND 65535),
    imap_security        text NOT NULL DEFAULT 'tls' CHECK (imap_security IN ('tls', 'starttls', 'none')),
    imap_username        text NOT NULL,
    imap_password_env    text NOT NULL CHECK (imap_password_env ~ '^[A-Za-z_][A-Za-z0-9_]*$'),
    folder               text NOT NULL DEFAULT 'INBOX',
    processed_folder     text,
    from_address         text NOT NULL,
    from_name            text,
    reply_to             text,
    smtp_host            text NOT NULL,
    smtp_port            integer NOT NULL CHECK (smtp_port BETWEEN 1 AND 65535),
    smtp_security        text NOT NULL DEFAULT 'starttls' CHECK (smtp_security IN ('tls', 'starttls', 'none')),
    smtp_username        text,
    smtp_password_env    text CHECK (smtp_password_env ~ '^[A-Za-z_][A-Za-z0-9_]*$'),
    poll_seconds         real NOT NULL DEFAULT 60 CHECK (poll_seconds > 0),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, from_address)
);

-- Written only by the lease holder: UIDVALIDITY and the last UID whose message ingest committed.
CREATE TABLE email_mailbox_state (
    tenant_id         bigint NOT NULL,
    mailbox_id        bigint NOT NULL,
    uidvalidity       bigint,
    last_uid          bigint NOT NULL DEFAULT 0,
    lease_owner       text,
    lease_expires_at  timestamptz,
    last_polled_at    timestamptz,
    last_error        text,
    PRIMARY KEY (tenant_id, mailbox_id),
    FOREIGN KEY (tenant_id, mailbox_id) REFERENCES email_mailboxes (tenant_id, id) ON DELETE CASCADE
);
