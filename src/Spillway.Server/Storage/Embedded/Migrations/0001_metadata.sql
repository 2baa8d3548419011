-- Metadata of the embedded store (SQLite): identity and export jobs. Instants are Unix milliseconds.
CREATE TABLE subscription (
    id           INTEGER PRIMARY KEY,
    munchkin_id  TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name         TEXT NOT NULL,
    overrides    TEXT NOT NULL DEFAULT '{}',
    created_at   INTEGER NOT NULL
);

CREATE TABLE api_user (
    id               INTEGER PRIMARY KEY,
    subscription_id  INTEGER NOT NULL REFERENCES subscription(id) ON DELETE CASCADE,
    email            TEXT NOT NULL COLLATE NOCASE,
    permissions      TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    UNIQUE (subscription_id, email)
);

CREATE TABLE api_credential (
    client_id    TEXT PRIMARY KEY,
    api_user_id  INTEGER NOT NULL REFERENCES api_user(id) ON DELETE CASCADE,
    secret_hash  TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);

CREATE TABLE access_token (
    token            TEXT PRIMARY KEY,
    client_id        TEXT NOT NULL,
    api_user_id      INTEGER NOT NULL,
    subscription_id  INTEGER NOT NULL,
    issued_at        INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL
);
CREATE INDEX ix_access_token_client ON access_token (client_id, expires_at);

CREATE TABLE export_job (
    export_id         TEXT PRIMARY KEY,
    subscription_id   INTEGER NOT NULL,
    api_user_id       INTEGER NOT NULL,
    format            INTEGER NOT NULL,
    status            TEXT NOT NULL,
    spec              TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    queued_at         INTEGER,
    started_at        INTEGER,
    finished_at       INTEGER,
    number_of_records INTEGER,
    file_size         INTEGER,
    file_checksum     TEXT,
    error_msg         TEXT,
    max_processing    INTEGER NOT NULL DEFAULT 2,
    lease_node        TEXT,
    lease_expires_at  INTEGER,
    fencing_token     INTEGER NOT NULL DEFAULT 0,
    file_expired      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ix_export_job_owner ON export_job (api_user_id, created_at, export_id);
CREATE INDEX ix_export_job_subscription ON export_job (subscription_id, status, finished_at);
CREATE INDEX ix_export_job_queue ON export_job (status, queued_at);
