-- Transactional grain state (wallets) and movement records, written by Tekana's own storage: one row per grain and
-- state, the Orleans transactional record (committed state, pending prepares, metadata) in Orleans' binary format,
-- and a version that makes every write conditional; one row per movement record (the record in Orleans' binary
-- format, version 1), inserted in the same commit as the state of the wallet that manages its transaction. Writes
-- from many grains share one statement and one commit.
SET client_min_messages = warning;

CREATE TABLE IF NOT EXISTS tekana_transactional_state (
    service_id   text        NOT NULL,
    grain_type   text        NOT NULL,   -- wallet | movement (a movement's record, keyed by its id)
    grain_key    text        NOT NULL,   -- the grain's primary key
    state_name   text        NOT NULL,
    version      bigint      NOT NULL,   -- 1 on the first write, +1 on each; a write names the version it read
    payload      bytea       NOT NULL,
    modified_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, grain_type, grain_key, state_name)
) WITH (fillfactor = 70);
-- Every movement rewrites its wallets' rows. With no indexed column changing and free room on the page, PostgreSQL
-- writes the new version as a heap-only tuple: no index entry per write, and the old versions of a busy wallet's row
-- are pruned on the page instead of piling up in the primary key until vacuum (an index on modified_at made every
-- write a full update; the outbox sweeper, which runs after failures only, reads the wallets' rows by key instead).
ALTER TABLE tekana_transactional_state SET (fillfactor = 70);
DROP INDEX IF EXISTS tekana_transactional_state_modified;
