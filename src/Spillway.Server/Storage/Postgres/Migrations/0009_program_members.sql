-- Program membership: one row per (subscription, program, lead), with the fields Marketo's program member describe
-- lists. Programs are the built-in marketing world's, so program_id refers to no table. The primary key gives a
-- program's members in lead id order, as the extract and the paging reads want them.
CREATE TABLE program_member (
    subscription_id      integer     NOT NULL,
    program_id           bigint      NOT NULL,
    lead_id              bigint      NOT NULL,
    status_name          text        NOT NULL,
    status_reason        text,
    reached_success      boolean     NOT NULL,
    reached_success_date timestamptz,
    membership_date      timestamptz NOT NULL,
    acquired_by          boolean     NOT NULL,
    is_exhausted         boolean     NOT NULL,
    nurture_cadence      text,        -- 'norm' or 'paus'; null outside engagement programs
    track_name           text,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    PRIMARY KEY (subscription_id, program_id, lead_id)
);

CREATE INDEX program_member_lead ON program_member (subscription_id, lead_id);

-- A deleted lead leaves every program it was a member of, however it was deleted (Delete Leads, a reset), so no
-- membership ever names a lead that is gone. One statement-level trigger with the deleted rows as a table, so a
-- reset of a million leads is one join, not a million deletes; a trigger rather than a foreign key so that an upsert
-- of a lead never looks like a delete to the memberships.
CREATE FUNCTION lead_leaves_programs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM program_member m USING gone g WHERE m.subscription_id = g.subscription_id AND m.lead_id = g.id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER lead_leaves_programs AFTER DELETE ON lead REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION lead_leaves_programs();
