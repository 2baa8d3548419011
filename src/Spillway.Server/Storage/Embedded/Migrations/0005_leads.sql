-- The lead database. Standard fields are typed columns (a scan ordered by id reads them as they are); custom fields
-- will live in the JSON object `custom`, so adding one needs no schema change. Clustered on (subscription_id, id):
-- a subscription's leads in id order are one contiguous range of the table, read without a sort or a join.
CREATE TABLE lead (
    subscription_id            INTEGER NOT NULL,
    id                         INTEGER NOT NULL,
    created_at                 INTEGER NOT NULL, -- Unix ms, UTC
    updated_at                 INTEGER NOT NULL, -- the visible updatedAt
    fields_updated_at          INTEGER NOT NULL, -- the most recent change of a field value (the bulk extract's updatedAt filter)
    company                    TEXT,
    site                       TEXT,
    billing_street             TEXT,
    billing_city               TEXT,
    billing_state              TEXT,
    billing_country            TEXT,
    billing_postal_code        TEXT,
    website                    TEXT,
    main_phone                 TEXT,
    annual_revenue             REAL,
    number_of_employees        INTEGER,
    industry                   TEXT,
    sic_code                   TEXT,
    salutation                 TEXT,
    first_name                 TEXT,
    middle_name                TEXT,
    last_name                  TEXT,
    email                      TEXT,
    phone                      TEXT,
    mobile_phone               TEXT,
    fax                        TEXT,
    title                      TEXT,
    date_of_birth              TEXT,
    address                    TEXT,
    city                       TEXT,
    state                      TEXT,
    country                    TEXT,
    postal_code                TEXT,
    original_source_type       TEXT,
    original_source_info       TEXT,
    registration_source_type   TEXT,
    registration_source_info   TEXT,
    original_search_engine     TEXT,
    original_search_phrase     TEXT,
    original_referrer          TEXT,
    email_invalid              INTEGER,
    email_invalid_cause        TEXT,
    unsubscribed               INTEGER,
    unsubscribed_reason        TEXT,
    do_not_call                INTEGER,
    do_not_call_reason         TEXT,
    anonymous_ip               TEXT,
    inferred_company           TEXT,
    inferred_country           TEXT,
    department                 TEXT,
    lead_score                 INTEGER,
    lead_status                TEXT,
    lead_source                TEXT,
    lead_role                  TEXT,
    rating                     TEXT,
    priority                   INTEGER,
    urgency                    REAL,
    relative_score             INTEGER,
    relative_urgency           INTEGER,
    marketing_suspended        INTEGER,
    black_listed               INTEGER,
    lead_person_time_zone      TEXT,
    custom                     TEXT    NOT NULL DEFAULT '{}',
    PRIMARY KEY (subscription_id, id)
) WITHOUT ROWID;

CREATE INDEX lead_email ON lead (subscription_id, lower(email));
CREATE INDEX lead_created ON lead (subscription_id, created_at);
CREATE INDEX lead_fields_updated ON lead (subscription_id, fields_updated_at);

-- The last lead id handed out per subscription; ids are never reused. A row means the subscription has a lead database.
CREATE TABLE lead_sequence (
    subscription_id INTEGER PRIMARY KEY,
    last_id         INTEGER NOT NULL
);
