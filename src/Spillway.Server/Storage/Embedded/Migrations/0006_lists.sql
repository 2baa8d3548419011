-- Static lists and their members, and the seeded smart lists (read-only rules over lead fields). Ids are per
-- subscription. A member row refers to a lead that exists: deleting a lead, or a list, deletes its member rows.
CREATE TABLE static_list (
    subscription_id INTEGER NOT NULL,
    id              INTEGER NOT NULL,
    name            TEXT    NOT NULL,
    description     TEXT,
    program_id      INTEGER,
    program_name    TEXT,
    created_at      INTEGER NOT NULL, -- Unix ms, UTC
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (subscription_id, id)
) WITHOUT ROWID;

CREATE INDEX static_list_name ON static_list (subscription_id, name);

-- Clustered on (subscription, list, lead): a list's members in lead id order are one contiguous range, so paging and
-- the bulk extract read them without a sort; the second index finds a lead's memberships when the lead is deleted.
CREATE TABLE list_member (
    subscription_id INTEGER NOT NULL,
    list_id         INTEGER NOT NULL,
    lead_id         INTEGER NOT NULL,
    added_at        INTEGER NOT NULL, -- Unix ms, UTC
    PRIMARY KEY (subscription_id, list_id, lead_id),
    FOREIGN KEY (subscription_id, list_id) REFERENCES static_list (subscription_id, id) ON DELETE CASCADE,
    FOREIGN KEY (subscription_id, lead_id) REFERENCES lead (subscription_id, id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE INDEX list_member_lead ON list_member (subscription_id, lead_id);

CREATE TABLE smart_list (
    subscription_id INTEGER NOT NULL,
    id              INTEGER NOT NULL,
    name            TEXT    NOT NULL,
    description     TEXT,
    rule_field      TEXT    NOT NULL, -- a lead field's REST name
    rule_operator   TEXT    NOT NULL, -- is, endsWith, atLeast
    rule_value      TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (subscription_id, id)
) WITHOUT ROWID;
