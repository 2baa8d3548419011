-- Custom activity types (Marketo's Custom Activities Metadata API), per subscription. Versions are JSON text
-- (CustomActivityTypeVersion); an empty text means "no such version". Instants are Unix milliseconds.
CREATE TABLE custom_activity_type (
    subscription_id  INTEGER NOT NULL REFERENCES subscription(id) ON DELETE CASCADE,
    id               INTEGER NOT NULL,
    api_name         TEXT NOT NULL COLLATE NOCASE,
    approved         TEXT NOT NULL DEFAULT '',
    draft            TEXT NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    revision         INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (subscription_id, id),
    UNIQUE (subscription_id, api_name)
);

-- The highest custom type id a subscription ever used, so that ids of deleted types are not reused.
CREATE TABLE custom_activity_type_seq (
    subscription_id  INTEGER PRIMARY KEY REFERENCES subscription(id) ON DELETE CASCADE,
    last_id          INTEGER NOT NULL
);
