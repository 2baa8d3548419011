-- Custom activity types (Marketo's Custom Activities Metadata API), per subscription, and the index of the REST
-- paging reads. Mirrors the embedded store's 0002_custom_activity_types.sql.

-- Versions are JSON text (CustomActivityTypeJson); an empty text means "no such version". API names are unique
-- and found case-insensitively (lower(), like the embedded COLLATE NOCASE). Every write compares revision.
CREATE TABLE custom_activity_type (
    subscription_id integer     NOT NULL REFERENCES subscription (id) ON DELETE CASCADE,
    id              integer     NOT NULL,
    api_name        text        NOT NULL,
    approved        text        NOT NULL DEFAULT '',
    draft           text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    revision        bigint      NOT NULL DEFAULT 1,
    PRIMARY KEY (subscription_id, id)
);
CREATE UNIQUE INDEX custom_activity_type_name_ux ON custom_activity_type (subscription_id, lower(api_name));

-- The highest custom type id a subscription ever used, so that ids of deleted types are not reused.
CREATE TABLE custom_activity_type_seq (
    subscription_id integer PRIMARY KEY REFERENCES subscription (id) ON DELETE CASCADE,
    last_id         integer NOT NULL
);

-- REST paging (IActivityPageReader): WHERE subscription_id = $1 AND marketo_guid > $2 AND activity_date >= $3
-- ORDER BY marketo_guid LIMIT n. activity's primary key leads with activity_date, and activity_key has the order
-- but not the row (finding a row by guid alone would need this index anyway), so activity gets its own
-- (subscription_id, marketo_guid) index: each partition answers with an ordered index scan, a Merge Append
-- combines them and stops at the limit, and the date bound prunes the older months. Also serves the static
-- list members read (type 24/25 by list id) well enough: it is rare and bounded by the subscription.
-- Measured (PostgreSQL 15, 3M rows in 24 monthly partitions, 1M in the subscription, page of 300 from the middle):
-- without it a parallel seq scan + top-N sort, 360-460 ms a page; joining the ordered activity_key scan to
-- activity hash-joins over seq scans of every partition; with it a Merge Append of index scans, 84 buffers, ~5 ms
-- cold. Cost: one more index per partition for the append to maintain (about the size of the primary key).
-- CREATE INDEX on the partitioned parent cannot be CONCURRENTLY: on a large existing table, this migration blocks
-- appends while it builds.
CREATE INDEX activity_sub_guid_ix ON activity (subscription_id, marketo_guid);
