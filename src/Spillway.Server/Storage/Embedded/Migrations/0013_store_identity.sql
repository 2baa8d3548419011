-- The store's identity, made once with the store. Export files live under it, so that two stores sharing one export
-- folder never remove each other's files (each sweeper sees only its own store's folder).
CREATE TABLE store_identity (
    store_id TEXT NOT NULL
);
INSERT INTO store_identity (store_id) VALUES (lower(hex(randomblob(16))));
