-- The store's identity, made once with the store and read by every node. Export files live under it, so that two
-- stores sharing one export folder never remove each other's files (each sweeper sees only its own store's folder).
CREATE TABLE store_identity (
    store_id text NOT NULL
);
INSERT INTO store_identity (store_id) VALUES (replace(gen_random_uuid()::text, '-', ''));
