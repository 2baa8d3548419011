-- Spillway PostgreSQL schema, version 19: an index for the static list members read (PostgresActivityStore
-- .ListMembersAsync: for one list, each lead's latest Add to List (24) or Remove from List (25) activity), which the
-- seed runs for every seeded list. Until now it went through migration 0003's (subscription_id, marketo_guid) index,
-- reading every activity of the subscription: on a store of 100 M activities, after a seed of 70 M into one
-- subscription, it ran past the 30 s command timeout and the seed answered 611 with its activities already stored.
--
-- Partial, so only list changes are indexed and appends of every other type do not maintain it; with the columns the
-- read orders by and the type included, so the read takes a list's changes from the index alone (an index-only scan
-- per partition), then sorts only them.
-- CREATE INDEX on the partitioned parent cannot be CONCURRENTLY: on a large existing table, this migration reads every
-- partition once and blocks appends while it builds (see docs/deployment.md).
CREATE INDEX activity_list_change_ix ON activity (subscription_id, primary_attribute_value_id, lead_id, activity_date DESC, marketo_guid DESC)
    INCLUDE (activity_type_id)
    WHERE activity_type_id IN (24, 25);
