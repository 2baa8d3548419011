-- The test-rig controls of each subscription, shared by every node of a cluster: the clock offset, the progression,
-- the fault rules with their counters, the failures injected into jobs, and the request log. Each node keeps a copy of
-- the first three and reloads a subscription's when a change is announced (NOTIFY spillway_controls).

-- One row: every change takes its lock and a new version, so versions are assigned in commit order and the
-- notifications, delivered in commit order, carry increasing versions.
CREATE TABLE control_version (
    version bigint NOT NULL
);
INSERT INTO control_version (version) VALUES (0);

CREATE TABLE subscription_control (
    subscription_id integer PRIMARY KEY,
    clock_offset_ticks bigint NOT NULL DEFAULT 0,
    progression text
);

CREATE TABLE fault_rule (
    subscription_id integer NOT NULL,
    rule_id text NOT NULL,
    position bigint GENERATED ALWAYS AS IDENTITY,
    body text NOT NULL,
    remaining integer,
    skip integer NOT NULL,
    matched bigint NOT NULL DEFAULT 0,
    fired bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (subscription_id, rule_id)
);

CREATE TABLE injected_failure (
    export_id uuid PRIMARY KEY,
    error_msg text NOT NULL
);

-- The last sequence number given per subscription: appends lock its row, so entries commit in sequence order and a
-- reader paging with "after" never skips one.
CREATE TABLE request_log_sequence (
    subscription_id integer PRIMARY KEY,
    last bigint NOT NULL
);

CREATE TABLE request_log (
    subscription_id integer NOT NULL,
    sequence bigint NOT NULL,
    entry text NOT NULL,
    PRIMARY KEY (subscription_id, sequence)
);

-- Each running node's last applied control version, renewed every second: a change made through one node returns
-- once every live node has applied it.
CREATE TABLE control_node (
    node_id text PRIMARY KEY,
    applied bigint NOT NULL,
    seen_at timestamptz NOT NULL
);
