-- Spillway PostgreSQL schema, version 2: API call limits shared by every node.
-- Used by PostgresApiCallLimiter; every check-then-count runs under pg_advisory_xact_lock per subscription.

-- Admitted calls of the rolling window (606); rows older than the window are deleted as calls arrive.
CREATE TABLE api_call_recent (
    subscription_id integer     NOT NULL,
    at              timestamptz NOT NULL,
    id              bigint      GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (subscription_id, at, id)
);

-- Admitted calls per quota day (America/Chicago) and API user (607, and the usage report).
CREATE TABLE api_call_day (
    subscription_id integer NOT NULL,
    day             date    NOT NULL,
    email           text    NOT NULL,
    calls           bigint  NOT NULL,
    PRIMARY KEY (subscription_id, day, email)
);

-- Calls in flight (615). A row is a lease: the node renews the rows of its running calls, so the slots of a node that
-- died free themselves when their lease runs out.
CREATE TABLE api_call_in_flight (
    id              uuid        PRIMARY KEY,
    subscription_id integer     NOT NULL,
    node_id         text        NOT NULL,
    expires_at      timestamptz NOT NULL
);
CREATE INDEX api_call_in_flight_ix ON api_call_in_flight (subscription_id, expires_at);
