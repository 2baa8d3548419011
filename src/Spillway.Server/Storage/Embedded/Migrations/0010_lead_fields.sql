-- Custom lead fields, defined per subscription. A lead's values of them live in lead.custom (a JSON object keyed by
-- the field's name), so defining a field changes no table. Names are unique per subscription ignoring case, as
-- Marketo field names are; ids are unique per subscription and never reused.
CREATE TABLE lead_field (
    subscription_id INTEGER NOT NULL,
    id              INTEGER NOT NULL,
    name            TEXT    NOT NULL,
    display_name    TEXT    NOT NULL,
    data_type       TEXT    NOT NULL,
    created_at      INTEGER NOT NULL, -- Unix ms, UTC
    PRIMARY KEY (subscription_id, id)
) WITHOUT ROWID;

CREATE UNIQUE INDEX lead_field_name ON lead_field (subscription_id, lower(name));
