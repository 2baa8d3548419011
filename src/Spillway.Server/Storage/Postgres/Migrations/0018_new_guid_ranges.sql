-- Spillway PostgreSQL schema, version 18: new activities (external.json and the activities that lead and list writes
-- log) take their marketoGUIDs as ranges handed out in a moment, instead of under a lock held until their commit, so
-- that batches from many callers and nodes insert at once; their commits still become visible in the order of their
-- ranges. Used by PostgresActivityStore (design: docs/storage-providers.md, "New marketoGUIDs on PostgreSQL").
--
-- Every write of keys moves activity_guid_high first (a new batch's range, an import's highest key), so a range is
-- handed out without reading the keys: after a large delete, the highest key is found only after stepping over every
-- deleted one until a vacuum, which took 160 ms on a store of 3 M keys. Nodes of an earlier version take advisory
-- lock (1397751815, 0) exclusively from reading the highest key to their commit; this version holds it shared, so an
-- earlier node never reads a highest key below a range being inserted here. The reverse is not covered: while both
-- versions run, a batch here can fail (nothing stored, the call answers an error) on a key an earlier node stored.
-- Upgrade every node together.

-- The highest GUID handed out (a range's end, or raised by an import to its highest key). A sequence, not a row: its
-- value moves at once, outside every transaction, so a range taken by a transaction still running is never handed out
-- again.
CREATE SEQUENCE activity_guid_high MINVALUE 0 START 0;
SELECT setval('activity_guid_high', coalesce((SELECT max(marketo_guid) FROM activity_key), 0), true);

-- The end of the last range handed out: the range each new one waits for before it commits.
CREATE SEQUENCE activity_guid_last_range MINVALUE 0 START 0;
SELECT setval('activity_guid_last_range', 0, true);

-- Hands out n consecutive GUIDs above every GUID handed out (and so every key stored), and locks the range: a session-level
-- advisory lock on its end (the one-bigint key space, which Spillway uses for nothing else), which the caller releases
-- only once its transaction is over and the previous range's lock is released, so that a range's rows become visible
-- only after those of every earlier range (or their rollback). Returns the first GUID and the previous range's end.
-- Serialised by advisory lock (1397751816, 0), held only while it runs. With n = 0 it hands out and locks nothing
-- and returns the GUID the next range would start at.
CREATE FUNCTION spillway_take_guids(n bigint, OUT first bigint, OUT previous_end bigint) LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_advisory_lock(1397751816, 0);
    BEGIN
        previous_end := (SELECT last_value FROM activity_guid_last_range);
        first := (SELECT last_value FROM activity_guid_high) + 1;
        IF n > 0 THEN
            PERFORM setval('activity_guid_high', first + n - 1, true);
            PERFORM setval('activity_guid_last_range', first + n - 1, true);
            PERFORM pg_advisory_lock(first + n - 1);
        END IF;
    EXCEPTION WHEN query_canceled OR others THEN
        PERFORM pg_advisory_unlock(1397751816, 0);
        RAISE;
    END;
    PERFORM pg_advisory_unlock(1397751816, 0);
END
$$;

-- For an import of activities with their own GUIDs: raises the highest GUID handed out to at least `highest` (so no
-- range handed out later holds one of them), and returns the last range's end, which the import waits for before it
-- inserts its keys (so no range still being inserted holds one of them either).
CREATE FUNCTION spillway_raise_guids(highest bigint) RETURNS bigint LANGUAGE plpgsql AS
$$
DECLARE
    last_range bigint;
BEGIN
    PERFORM pg_advisory_lock(1397751816, 0);
    BEGIN
        last_range := (SELECT last_value FROM activity_guid_last_range);
        IF highest > (SELECT last_value FROM activity_guid_high) THEN
            PERFORM setval('activity_guid_high', highest, true);
        END IF;
    EXCEPTION WHEN query_canceled OR others THEN
        PERFORM pg_advisory_unlock(1397751816, 0);
        RAISE;
    END;
    PERFORM pg_advisory_unlock(1397751816, 0);
    RETURN last_range;
END
$$;
