-- Program membership: one row per (subscription, program, lead), with the fields Marketo's program member describe
-- lists. Programs are the built-in marketing world's, so program_id refers to no table. Clustered on
-- (subscription_id, program_id, lead_id): a program's members in lead id order are one range, as the extract and the
-- paging reads want them.
CREATE TABLE program_member (
    subscription_id      INTEGER NOT NULL,
    program_id           INTEGER NOT NULL,
    lead_id              INTEGER NOT NULL,
    status_name          TEXT    NOT NULL,
    status_reason        TEXT,
    reached_success      INTEGER NOT NULL, -- 0/1
    reached_success_date INTEGER,          -- Unix ms, UTC
    membership_date      INTEGER NOT NULL,
    acquired_by          INTEGER NOT NULL,
    is_exhausted         INTEGER NOT NULL,
    nurture_cadence      TEXT,             -- 'norm' or 'paus'; null outside engagement programs
    track_name           TEXT,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    PRIMARY KEY (subscription_id, program_id, lead_id)
) WITHOUT ROWID;

CREATE INDEX program_member_lead ON program_member (subscription_id, lead_id);

-- A deleted lead leaves every program it was a member of, however it was deleted (Delete Leads, a reset), so no
-- membership ever names a lead that is gone. A trigger rather than a foreign key: an upsert of a lead must never
-- look like a delete to the memberships.
CREATE TRIGGER lead_leaves_programs AFTER DELETE ON lead
BEGIN
    DELETE FROM program_member WHERE subscription_id = old.subscription_id AND lead_id = old.id;
END;
