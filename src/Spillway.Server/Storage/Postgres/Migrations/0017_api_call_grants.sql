-- Spillway PostgreSQL schema, version 17: call grants, so that a node admits most calls without a database round trip
-- while a subscription is far from its limits, and the limits stay exact across nodes near them.
-- Used by PostgresApiCallLimiter (design: docs/deployment.md, "API call limits across nodes"). Nodes of an earlier
-- version keep calling spillway_admit_call, which does not count grants: during an upgrade the limits are exact only
-- once every node runs this version.

-- A grant lets one node admit up to `calls` more calls on its own, with up to `slots` of them in flight at once, for
-- calls of quota day `day`, until `expires_at` (database clock). Until the node reports a call it used, every
-- admission elsewhere counts the grant's remaining calls as admitted in every window and its slots as in flight: so
-- no node admits a call the single-node limiter would refuse. A refusal that only the grants would cause recalls
-- them instead (the caller retries once their nodes have reported), so no node refuses a call the single-node limiter
-- would admit either.
CREATE TABLE api_call_grant (
    grant_id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id integer     NOT NULL,
    node_id         text        NOT NULL,
    day             date        NOT NULL,
    calls           integer     NOT NULL,
    slots           integer     NOT NULL,
    expires_at      timestamptz NOT NULL,
    recalled        boolean     NOT NULL DEFAULT false
);
CREATE INDEX api_call_grant_subscription ON api_call_grant (subscription_id);

-- The subscription's state row (version 4), created on first use and locked until the calling statement ends: the
-- lock every admission and report takes.
CREATE FUNCTION spillway_lock_call_state(p_subscription integer)
RETURNS api_call_state LANGUAGE plpgsql AS
$$
DECLARE
    s api_call_state%ROWTYPE;
BEGIN
    SELECT * INTO s FROM api_call_state WHERE subscription_id = p_subscription FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO api_call_state (subscription_id) VALUES (p_subscription) ON CONFLICT DO NOTHING;
        SELECT * INTO s FROM api_call_state WHERE subscription_id = p_subscription FOR UPDATE;
    END IF;
    RETURN s;
END
$$;

-- Keeps only the newest p_rate of the subscription's p_stamps stamps (only they can decide a 606, see version 4);
-- returns how many are left. Walks the primary key from its oldest end and deletes by ctid (version 4 says why).
CREATE FUNCTION spillway_keep_newest_stamps(p_subscription integer, p_stamps integer, p_rate integer)
RETURNS integer LANGUAGE plpgsql AS
$$
DECLARE
    v_deleted integer;
BEGIN
    IF p_stamps <= p_rate THEN
        RETURN p_stamps;
    END IF;
    DELETE FROM api_call_stamp WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM api_call_stamp WHERE subscription_id = p_subscription ORDER BY at, id LIMIT p_stamps - greatest(p_rate, 0)));
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    RETURN p_stamps - v_deleted;
END
$$;

-- Whether the rate window ending at p_at holds at least p_n admitted calls. Only the newest p_rate stamps are kept
-- (see version 4), so that is whether the p_n-th newest is inside the window; calls stamped a little ahead count, as
-- in spillway_admit_call.
CREATE FUNCTION spillway_window_holds(p_subscription integer, p_at bigint, p_window bigint, p_stamps integer, p_n bigint)
RETURNS boolean LANGUAGE plpgsql AS
$$
DECLARE
    v_at bigint;
BEGIN
    IF p_n <= 0 THEN
        RETURN true;
    END IF;
    IF p_stamps < p_n THEN
        RETURN false;
    END IF;
    SELECT at INTO v_at FROM api_call_stamp WHERE subscription_id = p_subscription
    ORDER BY at DESC, id DESC OFFSET p_n - 1 LIMIT 1;
    RETURN v_at IS NOT NULL AND v_at > p_at - p_window;
END
$$;

-- spillway_admit_call (version 4) with the grants counted. code: 0 admitted (epoch: the node row to release against),
-- 607/606/615 refused, 1 undecided: only the unreported calls of grants would refuse it, so they are recalled and the
-- caller asks again once they are reported. With p_call false nothing is admitted: only a grant is asked for.
-- With p_grant_calls > 0 a grant is made for p_node when the subscription is far enough from every limit (four grants'
-- worth of calls, two grants' worth of slots); grant is its id, or NULL.
CREATE FUNCTION spillway_admit_call_granted(
    p_subscription integer, p_email text, p_node text, p_at bigint, p_now timestamptz, p_day date,
    p_window bigint, p_rate integer, p_concurrent integer, p_daily bigint, p_lease interval,
    p_call boolean, p_grant_calls integer, p_grant_slots integer, p_grant_life interval, p_grant_grace interval,
    OUT code integer, OUT epoch bigint, OUT grant_id bigint, OUT grant_expires timestamptz)
LANGUAGE plpgsql AS
$$
DECLARE
    s           api_call_state%ROWTYPE;
    v_oldest    bigint;
    v_newest    bigint;
    v_deleted   integer;
    v_inflight  bigint;
    v_out_day   bigint;
    v_out_rate  bigint;
    v_out_slots bigint;
BEGIN
    code := 0;
    epoch := NULL;
    grant_id := NULL;
    s := spillway_lock_call_state(p_subscription);

    IF s.day IS DISTINCT FROM p_day THEN
        s.day := p_day;
        s.day_calls := (SELECT coalesce(sum(calls), 0) FROM api_call_day WHERE subscription_id = p_subscription AND day = p_day);
    END IF;

    -- The stamp log is pruned exactly as in spillway_admit_call (version 4), whose comments say why.
    SELECT at INTO v_newest FROM api_call_stamp WHERE subscription_id = p_subscription ORDER BY at DESC, id DESC LIMIT 1;
    IF v_newest > p_at + p_window THEN
        DELETE FROM api_call_stamp WHERE ctid = ANY (ARRAY(
            SELECT ctid FROM api_call_stamp WHERE subscription_id = p_subscription AND at > p_at + p_window));
        GET DIAGNOSTICS v_deleted = ROW_COUNT;
        s.stamps := s.stamps - v_deleted;
    END IF;

    SELECT at INTO v_oldest FROM api_call_stamp WHERE subscription_id = p_subscription ORDER BY at, id LIMIT 1;
    IF v_oldest <= p_at - 2 * p_window THEN
        DELETE FROM api_call_stamp WHERE ctid = ANY (ARRAY(
            SELECT ctid FROM api_call_stamp WHERE subscription_id = p_subscription AND at <= p_at - 2 * p_window
            ORDER BY at, id LIMIT 1000));
        GET DIAGNOSTICS v_deleted = ROW_COUNT;
        s.stamps := s.stamps - v_deleted;
    END IF;

    s.stamps := spillway_keep_newest_stamps(p_subscription, s.stamps, p_rate);

    -- A grant whose node neither reported nor came back within the grace is a node that died: its unreported calls
    -- are forgotten, as the calls in flight of a dead node are once their lease runs out.
    DELETE FROM api_call_grant g WHERE g.subscription_id = p_subscription AND g.expires_at < clock_timestamp() - p_grant_grace;
    SELECT coalesce(sum(g.calls) FILTER (WHERE g.day = p_day), 0), coalesce(sum(g.calls), 0), coalesce(sum(g.slots), 0)
    INTO v_out_day, v_out_rate, v_out_slots
    FROM api_call_grant g WHERE g.subscription_id = p_subscription;

    SELECT coalesce(sum(in_flight), 0) INTO v_inflight FROM api_call_node
    WHERE subscription_id = p_subscription AND expires_at > p_now;

    IF p_call THEN
        -- Each limit in the single-node limiter's order: refused if the reported calls alone reach it, undecided if
        -- only the grants' unreported calls would.
        IF s.day_calls >= p_daily THEN
            code := 607;
        ELSIF s.day_calls + v_out_day >= p_daily THEN
            code := 1;
        ELSIF spillway_window_holds(p_subscription, p_at, p_window, s.stamps, p_rate) THEN
            code := 606;
        ELSIF spillway_window_holds(p_subscription, p_at, p_window, s.stamps, p_rate - v_out_rate) THEN
            code := 1;
        ELSIF v_inflight >= p_concurrent THEN
            code := 615;
        ELSIF v_inflight + v_out_slots >= p_concurrent THEN
            code := 1;
        END IF;

        IF code = 1 THEN
            UPDATE api_call_grant g SET recalled = true WHERE g.subscription_id = p_subscription AND NOT g.recalled;
        END IF;

        IF code = 0 THEN
            INSERT INTO api_call_stamp (subscription_id, at) VALUES (p_subscription, p_at);
            s.stamps := s.stamps + 1;
            s.stamps := spillway_keep_newest_stamps(p_subscription, s.stamps, p_rate);

            INSERT INTO api_call_day AS d (subscription_id, day, email, calls) VALUES (p_subscription, p_day, p_email, 1)
            ON CONFLICT (subscription_id, day, email) DO UPDATE SET calls = d.calls + 1;
            s.day_calls := s.day_calls + 1;
            v_inflight := v_inflight + 1;

            UPDATE api_call_node n SET in_flight = n.in_flight + 1, expires_at = p_now + p_lease
            WHERE n.subscription_id = p_subscription AND n.node_id = p_node
            RETURNING n.epoch INTO epoch;
            IF NOT FOUND THEN
                INSERT INTO api_call_node (subscription_id, node_id, in_flight, expires_at)
                VALUES (p_subscription, p_node, 1, p_now + p_lease)
                RETURNING api_call_node.epoch INTO epoch;
            END IF;
        END IF;
    END IF;

    IF code = 0 AND p_grant_calls > 0
        AND s.day_calls + v_out_day + 4 * p_grant_calls <= p_daily
        AND v_inflight + v_out_slots + 2 * p_grant_slots <= p_concurrent
        AND NOT spillway_window_holds(p_subscription, p_at, p_window, s.stamps, p_rate - v_out_rate - 4 * p_grant_calls + 1) THEN
        INSERT INTO api_call_grant (subscription_id, node_id, day, calls, slots, expires_at)
        VALUES (p_subscription, p_node, p_day, p_grant_calls, p_grant_slots, clock_timestamp() + p_grant_life)
        RETURNING api_call_grant.grant_id, api_call_grant.expires_at INTO grant_id, grant_expires;
    END IF;

    UPDATE api_call_state SET day = s.day, day_calls = s.day_calls, stamps = s.stamps
    WHERE subscription_id = p_subscription;
END
$$;

-- A node reports the calls it admitted under a grant: their stamps (ticks) and their count per API user, all of
-- quota day p_day. With p_final the grant ends: the calls still in flight under it (p_in_flight) move to the node's
-- in-flight row, whose epoch is returned for their releases. recalled says the node must stop using the grant (it was
-- recalled, or is gone after a reset or the grace). Reported calls are counted even when the grant is gone: they
-- were answered.
CREATE FUNCTION spillway_report_calls(
    p_subscription integer, p_node text, p_grant bigint, p_stamps bigint[], p_emails text[], p_counts bigint[],
    p_day date, p_rate integer, p_window bigint, p_final boolean, p_in_flight integer, p_now timestamptz, p_lease interval,
    OUT recalled boolean, OUT epoch bigint)
LANGUAGE plpgsql AS
$$
DECLARE
    s         api_call_state%ROWTYPE;
    v_n       integer := coalesce(cardinality(p_stamps), 0);
    v_newest  bigint;
    v_deleted integer;
BEGIN
    epoch := NULL;
    s := spillway_lock_call_state(p_subscription);

    IF v_n > 0 THEN
        INSERT INTO api_call_stamp (subscription_id, at) SELECT p_subscription, unnest(p_stamps);
        s.stamps := s.stamps + v_n;
        -- Two windows behind the newest stamp of any node, as the admission prunes: a late report must not keep
        -- stamps that the node reporting first already let go.
        SELECT at INTO v_newest FROM api_call_stamp WHERE subscription_id = p_subscription ORDER BY at DESC, id DESC LIMIT 1;
        DELETE FROM api_call_stamp WHERE ctid = ANY (ARRAY(
            SELECT ctid FROM api_call_stamp WHERE subscription_id = p_subscription AND at <= v_newest - 2 * p_window
            ORDER BY at, id LIMIT 1000 + v_n));
        GET DIAGNOSTICS v_deleted = ROW_COUNT;
        s.stamps := s.stamps - v_deleted;
        s.stamps := spillway_keep_newest_stamps(p_subscription, s.stamps, p_rate);

        INSERT INTO api_call_day AS d (subscription_id, day, email, calls)
        SELECT p_subscription, p_day, e.email, e.calls FROM unnest(p_emails, p_counts) AS e(email, calls)
        ON CONFLICT (subscription_id, day, email) DO UPDATE SET calls = d.calls + excluded.calls;
        IF s.day IS NOT DISTINCT FROM p_day THEN
            s.day_calls := s.day_calls + (SELECT coalesce(sum(c), 0) FROM unnest(p_counts) AS c);
        END IF;

        UPDATE api_call_state SET day_calls = s.day_calls, stamps = s.stamps WHERE subscription_id = p_subscription;
    END IF;

    IF p_final THEN
        DELETE FROM api_call_grant g WHERE g.grant_id = p_grant;
        recalled := true;
        IF p_in_flight > 0 THEN
            UPDATE api_call_node n SET in_flight = n.in_flight + p_in_flight, expires_at = greatest(n.expires_at, p_now + p_lease)
            WHERE n.subscription_id = p_subscription AND n.node_id = p_node
            RETURNING n.epoch INTO epoch;
            IF NOT FOUND THEN
                INSERT INTO api_call_node (subscription_id, node_id, in_flight, expires_at)
                VALUES (p_subscription, p_node, p_in_flight, p_now + p_lease)
                RETURNING api_call_node.epoch INTO epoch;
            END IF;
        END IF;
    ELSE
        UPDATE api_call_grant g SET calls = greatest(g.calls - v_n, 0) WHERE g.grant_id = p_grant
        RETURNING g.recalled INTO recalled;
        recalled := coalesce(recalled, true);
    END IF;
END
$$;
