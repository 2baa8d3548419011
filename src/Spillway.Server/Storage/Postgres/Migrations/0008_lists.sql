-- Static lists and their members, and the seeded smart lists (read-only rules over lead fields). Ids are per
-- subscription. A member row refers to a lead that exists: deleting a lead, or a list, deletes its member rows.
CREATE TABLE static_list (
    subscription_id integer     NOT NULL,
    id              bigint      NOT NULL,
    name            text        NOT NULL,
    description     text,
    program_id      bigint,
    program_name    text,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (subscription_id, id)
);

CREATE INDEX static_list_name ON static_list (subscription_id, name);

-- The primary key (subscription, list, lead) gives a list's members in lead id order without a sort; the second index
-- finds a lead's memberships when the lead is deleted.
CREATE TABLE list_member (
    subscription_id integer     NOT NULL,
    list_id         bigint      NOT NULL,
    lead_id         bigint      NOT NULL,
    added_at        timestamptz NOT NULL,
    PRIMARY KEY (subscription_id, list_id, lead_id),
    FOREIGN KEY (subscription_id, list_id) REFERENCES static_list (subscription_id, id) ON DELETE CASCADE,
    FOREIGN KEY (subscription_id, lead_id) REFERENCES lead (subscription_id, id) ON DELETE CASCADE
);

CREATE INDEX list_member_lead ON list_member (subscription_id, lead_id);

CREATE TABLE smart_list (
    subscription_id integer     NOT NULL,
    id              bigint      NOT NULL,
    name            text        NOT NULL,
    description     text,
    rule_field      text        NOT NULL, -- a lead field's REST name
    rule_operator   text        NOT NULL, -- is, endsWith, atLeast
    rule_value      text        NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (subscription_id, id)
);
