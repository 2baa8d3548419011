-- Spillway PostgreSQL schema, version 4: the API call limits checked and counted by one function
-- call per admitted call, instead of a transaction of four round trips that counted the whole rolling window.
-- Used by PostgresApiCallLimiter. The tables of version 2 stay for nodes of the previous version during an upgrade
-- (limits are then not shared between old and new nodes until the old ones stop); nothing here reads them.

-- One row per subscription: the lock every admission takes (FOR UPDATE, held only for the function call) and the
-- counters that make the check cheap. day_calls is the total of api_call_day for day; stamps is how many rows
-- api_call_stamp holds for the subscription.
CREATE TABLE api_call_state (
    subscription_id integer PRIMARY KEY,
    day             date,
    day_calls       bigint  NOT NULL DEFAULT 0,
    stamps          integer NOT NULL DEFAULT 0
);

-- The times of admitted calls (606), at most RateLimitCalls of them per subscription: the newest ones by time. The
-- window (at - window, at + window] of a call holds RateLimitCalls of them exactly when the oldest kept one is
-- inside it, so the check reads one index entry, not the whole window. Kept exact (not per-second buckets), and in
-- .NET ticks (100 ns, UTC) rather than timestamptz (1 us), because the single-node limiter compares ticks: a call one
-- tick after a window edge must not land on it.
CREATE TABLE api_call_stamp (
    subscription_id integer     NOT NULL,
    at              bigint      NOT NULL,
    id              bigint      GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (subscription_id, at, id)
);

-- Calls in flight (615) as a counter per subscription and server process. The row is the crash safety net: its
-- process renews expires_at while it has calls in flight, so the slots of a process that died stop counting when the
-- lease runs out. epoch changes when the row is recreated (after a reset or a cleanup), so a release meant for an
-- older row never decrements a newer one.
CREATE TABLE api_call_node (
    subscription_id integer     NOT NULL,
    node_id         text        NOT NULL,
    in_flight       integer     NOT NULL,
    expires_at      timestamptz NOT NULL,
    epoch           bigint      GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (subscription_id, node_id)
);

-- Checks the API call limits (606, 607, 615) for one call stamped p_at (ticks; p_now is the same instant, for the lease) and, if it
-- is admitted, counts it. Returns 0 and the epoch of the node row to release against, or the refusal (607, 606, 615:
-- the single-node limiter's order) and NULL. Refused calls are not counted. Each statement of a VOLATILE function takes a new snapshot, so the reads after the
-- FOR UPDATE see every admission and release committed before the lock was granted.
CREATE FUNCTION spillway_admit_call(
    p_subscription integer, p_email text, p_node text, p_at bigint, p_now timestamptz, p_day date,
    p_window bigint, p_rate integer, p_concurrent integer, p_daily bigint, p_lease interval,
    OUT code integer, OUT epoch bigint)
LANGUAGE plpgsql AS
$$
DECLARE
    s          api_call_state%ROWTYPE;
    v_oldest   bigint;
    v_newest   bigint;
    v_deleted  integer;
    v_inflight bigint;
BEGIN
    epoch := NULL;
    SELECT * INTO s FROM api_call_state WHERE subscription_id = p_subscription FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO api_call_state (subscription_id) VALUES (p_subscription) ON CONFLICT DO NOTHING;
        SELECT * INTO s FROM api_call_state WHERE subscription_id = p_subscription FOR UPDATE;
    END IF;

    IF s.day IS DISTINCT FROM p_day THEN
        -- Another quota day (or the clock was moved): its calls so far, from the per-user counts.
        s.day := p_day;
        s.day_calls := (SELECT coalesce(sum(calls), 0) FROM api_call_day WHERE subscription_id = p_subscription AND day = p_day);
    END IF;

    -- Every statement on api_call_stamp below walks its primary key from one end (ORDER BY ... LIMIT) and deletes by
    -- ctid: plpgsql caches generic plans, and a generic plan for "at <= $1" guesses a third of the table and scans all
    -- of it (measured: 2-11 ms a call with 20,000 stamps, against ~0.03 ms for an index probe).

    -- Calls stamped more than a window ahead exist only after the clock was set back: they no longer count (the
    -- single-node limiter drops them too). Calls a little ahead do count: a node stamps a call before it waits for
    -- this lock, so a call stamped later may have been counted first.
    SELECT at INTO v_newest FROM api_call_stamp WHERE subscription_id = p_subscription ORDER BY at DESC, id DESC LIMIT 1;
    IF v_newest > p_at + p_window THEN
        DELETE FROM api_call_stamp WHERE ctid = ANY (ARRAY(
            SELECT ctid FROM api_call_stamp WHERE subscription_id = p_subscription AND at > p_at + p_window));
        GET DIAGNOSTICS v_deleted = ROW_COUNT;
        s.stamps := s.stamps - v_deleted;
    END IF;

    -- Two windows back, no call stamped later than this one can count them any more (the stamping skew above is far
    -- below a window); this bounds the table when the limit is high. A call removes at most 1,000, so a backlog
    -- (after the clock jumped ahead) is paid off over several calls.
    SELECT at INTO v_oldest FROM api_call_stamp WHERE subscription_id = p_subscription ORDER BY at, id LIMIT 1;
    IF v_oldest <= p_at - 2 * p_window THEN
        DELETE FROM api_call_stamp WHERE ctid = ANY (ARRAY(
            SELECT ctid FROM api_call_stamp WHERE subscription_id = p_subscription AND at <= p_at - 2 * p_window
            ORDER BY at, id LIMIT 1000));
        GET DIAGNOSTICS v_deleted = ROW_COUNT;
        s.stamps := s.stamps - v_deleted;
        v_oldest := NULL;
    END IF;

    -- The limit was lowered: only the newest p_rate stamps can decide anything now.
    IF s.stamps > p_rate THEN
        DELETE FROM api_call_stamp WHERE ctid = ANY (ARRAY(
            SELECT ctid FROM api_call_stamp WHERE subscription_id = p_subscription ORDER BY at, id LIMIT s.stamps - greatest(p_rate, 0)));
        GET DIAGNOSTICS v_deleted = ROW_COUNT;
        s.stamps := s.stamps - v_deleted;
        v_oldest := NULL;
    END IF;

    IF s.day_calls >= p_daily THEN
        code := 607;
    ELSE
        IF s.stamps >= p_rate AND p_rate > 0 AND v_oldest IS NULL THEN
            -- The kept stamps are the newest p_rate: the window is full exactly when the oldest is inside it.
            SELECT at INTO v_oldest FROM api_call_stamp WHERE subscription_id = p_subscription ORDER BY at, id LIMIT 1;
        END IF;

        IF s.stamps >= p_rate AND (v_oldest IS NULL OR v_oldest > p_at - p_window) THEN
            code := 606;
        ELSE
            SELECT coalesce(sum(in_flight), 0) INTO v_inflight FROM api_call_node
            WHERE subscription_id = p_subscription AND expires_at > p_now;
            IF v_inflight >= p_concurrent THEN
                code := 615;
            ELSE
                code := 0;
            END IF;
        END IF;
    END IF;

    IF code = 0 THEN
        INSERT INTO api_call_stamp (subscription_id, at) VALUES (p_subscription, p_at);
        s.stamps := s.stamps + 1;
        IF s.stamps > p_rate THEN
            DELETE FROM api_call_stamp WHERE ctid = (
                SELECT ctid FROM api_call_stamp WHERE subscription_id = p_subscription ORDER BY at, id LIMIT 1);
            s.stamps := s.stamps - 1;
        END IF;

        INSERT INTO api_call_day AS d (subscription_id, day, email, calls) VALUES (p_subscription, p_day, p_email, 1)
        ON CONFLICT (subscription_id, day, email) DO UPDATE SET calls = d.calls + 1;
        s.day_calls := s.day_calls + 1;

        -- An update first: an INSERT ... ON CONFLICT would draw a new epoch from the sequence on every call.
        UPDATE api_call_node SET in_flight = in_flight + 1, expires_at = p_now + p_lease
        WHERE subscription_id = p_subscription AND node_id = p_node
        RETURNING api_call_node.epoch INTO epoch;
        IF NOT FOUND THEN
            -- Only this process writes its own row's first version, so nothing else can insert it meanwhile.
            INSERT INTO api_call_node (subscription_id, node_id, in_flight, expires_at)
            VALUES (p_subscription, p_node, 1, p_now + p_lease)
            RETURNING api_call_node.epoch INTO epoch;
        END IF;
    END IF;

    UPDATE api_call_state SET day = s.day, day_calls = s.day_calls, stamps = s.stamps
    WHERE subscription_id = p_subscription;
END
$$;
