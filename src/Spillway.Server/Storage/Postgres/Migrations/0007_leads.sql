-- The lead database. Standard fields are typed columns (a scan ordered by id reads them as they are); custom fields
-- will live in the jsonb object `custom`, so adding one needs no schema change. The primary key (subscription_id, id)
-- gives the bulk extract its order without a sort or a join.
CREATE TABLE lead (
    subscription_id            integer     NOT NULL,
    id                         bigint      NOT NULL,
    created_at                 timestamptz NOT NULL,
    updated_at                 timestamptz NOT NULL, -- the visible updatedAt
    fields_updated_at          timestamptz NOT NULL, -- the most recent change of a field value (the bulk extract's updatedAt filter)
    company                    text,
    site                       text,
    billing_street             text,
    billing_city               text,
    billing_state              text,
    billing_country            text,
    billing_postal_code        text,
    website                    text,
    main_phone                 text,
    annual_revenue             double precision,
    number_of_employees        bigint,
    industry                   text,
    sic_code                   text,
    salutation                 text,
    first_name                 text,
    middle_name                text,
    last_name                  text,
    email                      text,
    phone                      text,
    mobile_phone               text,
    fax                        text,
    title                      text,
    date_of_birth              date,
    address                    text,
    city                       text,
    state                      text,
    country                    text,
    postal_code                text,
    original_source_type       text,
    original_source_info       text,
    registration_source_type   text,
    registration_source_info   text,
    original_search_engine     text,
    original_search_phrase     text,
    original_referrer          text,
    email_invalid              boolean,
    email_invalid_cause        text,
    unsubscribed               boolean,
    unsubscribed_reason        text,
    do_not_call                boolean,
    do_not_call_reason         text,
    anonymous_ip               text,
    inferred_company           text,
    inferred_country           text,
    department                 text,
    lead_score                 bigint,
    lead_status                text,
    lead_source                text,
    lead_role                  text,
    rating                     text,
    priority                   bigint,
    urgency                    double precision,
    relative_score             bigint,
    relative_urgency           bigint,
    marketing_suspended        boolean,
    black_listed               boolean,
    lead_person_time_zone      text,
    custom                     jsonb       NOT NULL DEFAULT '{}',
    PRIMARY KEY (subscription_id, id)
);

CREATE INDEX lead_email ON lead (subscription_id, lower(email));
CREATE INDEX lead_created ON lead (subscription_id, created_at);
CREATE INDEX lead_fields_updated ON lead (subscription_id, fields_updated_at);

-- The last lead id handed out per subscription; ids are never reused. A row means the subscription has a lead database.
CREATE TABLE lead_sequence (
    subscription_id integer PRIMARY KEY,
    last_id         bigint  NOT NULL
);
