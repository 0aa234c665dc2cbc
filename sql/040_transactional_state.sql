-- Transactional grain state (wallets, movement records), written by Tekana's own storage: one row per grain and
-- state, the Orleans transactional record (committed state, pending prepares, metadata) in Orleans' binary format,
-- and a version that makes every write conditional. Writes from many grains share one statement and one commit.
SET client_min_messages = warning;

CREATE TABLE IF NOT EXISTS tekana_transactional_state (
    service_id   text        NOT NULL,
    grain_type   text        NOT NULL,   -- wallet | record
    grain_key    text        NOT NULL,   -- the grain's primary key
    state_name   text        NOT NULL,
    version      bigint      NOT NULL,   -- 1 on the first write, +1 on each; a write names the version it read
    payload      bytea       NOT NULL,
    modified_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, grain_type, grain_key, state_name)
);
-- The outbox sweeper looks for grains written shortly before a failure.
CREATE INDEX IF NOT EXISTS tekana_transactional_state_modified ON tekana_transactional_state (service_id, modified_at);
