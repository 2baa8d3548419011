-- Custom lead fields, defined per subscription. A lead's values of them live in lead.custom (a jsonb object keyed by
-- the field's name), so defining a field changes no table. Names are unique per subscription ignoring case, as
-- Marketo field names are; ids are unique per subscription and never reused.
CREATE TABLE lead_field (
    subscription_id integer     NOT NULL,
    id              integer     NOT NULL,
    name            text        NOT NULL,
    display_name    text        NOT NULL,
    data_type       text        NOT NULL,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (subscription_id, id)
);

CREATE UNIQUE INDEX lead_field_name ON lead_field (subscription_id, lower(name));
