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

-- Since when a wallet's row holds prepared legs, in the database's time: at or before the write that first stored each
-- leg it holds (null: it holds none). A transaction commits only after each of its legs was stored, so the commit purge
-- keeps every transaction that committed after the earliest of these (CommitPurger). Not indexed, so that writes stay
-- heap-only. '-infinity' is "unknown" (rows from before the column, and rows written since by silos of the previous
-- version): the purge stops until it has read such a row's legs from its payload, or the wallet has written it again.
ALTER TABLE tekana_transactional_state ADD COLUMN IF NOT EXISTS prepared_since timestamptz DEFAULT '-infinity';

-- The transactions whose commit a wallet wrote, one row each, inserted in the same commit as the commit record. Orleans
-- keeps a commit record until every participant has acknowledged the commit, then forgets it, and answers a later
-- question about the transaction with "presumed aborted"; a participant that still holds the transaction prepared
-- (it missed the confirmation: another activation of it acknowledged one it did not know) would then drop a committed
-- leg. The storage refuses that abort, and a reload commits such a leg, when the transaction is here
-- (LedgerStateStorage). A prepared leg can wait in a wallet's row for as long as the wallet stays idle, so a row goes
-- only once it committed, by a margin, before every leg the wallets' rows hold was stored (prepared_since, CommitPurger).
CREATE TABLE IF NOT EXISTS tekana_transaction_commits (
    service_id     text        NOT NULL,
    transaction_id uuid        NOT NULL,
    committed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, transaction_id)
);
-- For the purge, which deletes by age: rows are inserted in commit order, so a block range index finds the old ones at
-- almost no cost to each insert. Built without blocking the commits that insert rows meanwhile; what a failed build
-- left (an invalid index of that name) is dropped first, as for ledger_entries' key (030_read_model.sql).
SELECT EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass('tekana_transaction_commits_committed') AND NOT indisvalid)
    AS transaction_commits_index_build_failed \gset
\if :transaction_commits_index_build_failed
DROP INDEX CONCURRENTLY tekana_transaction_commits_committed;
\endif
CREATE INDEX CONCURRENTLY IF NOT EXISTS tekana_transaction_commits_committed ON tekana_transaction_commits USING brin (committed_at);

-- Group commit: the writes of many grains and the movement records they carry, in one call and one commit. Each write
-- is answered by its place in the arrays: its new version, -1 when a record it carries is already stored (the write
-- is left out), or nothing when it was stale. A record is inserted only with the write that carries it, and without
-- ON CONFLICT: one that another transaction stores first fails the whole call, and nothing of it is stored. The
-- transactions a write commits are kept only with it too (tekana_transaction_commits).
--
-- Every statement here finds its rows by their whole primary key. The function plans each one once per session and
-- keeps the plan, with sequential scans ruled out, so the plan goes through the key whatever the table's size was when
-- it was made; one set-based statement planned on every call spent 30 % of its time in the planner.
-- Earlier versions had this function without its last argument, or without its last three (see below).
CREATE OR REPLACE FUNCTION tekana_group_commit(
    p_service text, p_types text[], p_keys text[], p_names text[], p_versions bigint[], p_payloads bytea[],
    p_record_type text, p_record_state text, p_record_types text[],
    p_record_owners bigint[], p_record_ids text[], p_record_payloads bytea[],
    p_commit_owners bigint[], p_commit_ids uuid[], p_prepared smallint[])
RETURNS TABLE (write_number bigint, written_version bigint)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
DECLARE
    v_recorded bigint[] := '{}';
    v_written bigint[] := '{}';
    v_version bigint;
    v_record_type text;
    v_record_id text;
BEGIN
    -- A record is looked up once per grain type, with every key column a scalar. Given the types as an array (or the
    -- ids as a set to join), a plan kept from a nearly empty table left those columns out of the index condition and
    -- scanned every row of the service for each record.
    FOR j IN 1 .. coalesce(array_length(p_record_ids, 1), 0) LOOP
        v_record_id := p_record_ids[j];
        FOREACH v_record_type IN ARRAY p_record_types LOOP
            PERFORM 1 FROM tekana_transactional_state s
             WHERE s.service_id = p_service AND s.grain_type = v_record_type AND s.grain_key = v_record_id
               AND s.state_name = p_record_state;
            IF FOUND THEN
                v_recorded := array_append(v_recorded, p_record_owners[j]);
                EXIT;
            END IF;
        END LOOP;
    END LOOP;
    FOR i IN 1 .. coalesce(array_length(p_keys, 1), 0) LOOP
        IF i = ANY(v_recorded) THEN
            write_number := i;
            written_version := -1;
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF p_versions[i] > 0 THEN
            UPDATE tekana_transactional_state s
               SET version = s.version + 1, payload = p_payloads[i], modified_at = now(),
                   -- p_prepared: 0 the row holds no prepared leg, 1 each it holds is first stored now, 2 it held one before
                   -- (the time stays), 3 unknown.
                   prepared_since = CASE p_prepared[i] WHEN 0 THEN NULL WHEN 1 THEN now()
                                    WHEN 2 THEN coalesce(s.prepared_since, '-infinity') ELSE '-infinity' END
             WHERE s.service_id = p_service AND s.grain_type = p_types[i] AND s.grain_key = p_keys[i]
               AND s.state_name = p_names[i] AND s.version = p_versions[i]
            RETURNING s.version INTO v_version;
        ELSE
            INSERT INTO tekana_transactional_state (service_id, grain_type, grain_key, state_name, version, payload, prepared_since)
            VALUES (p_service, p_types[i], p_keys[i], p_names[i], 1, p_payloads[i],
                    CASE p_prepared[i] WHEN 0 THEN NULL WHEN 1 THEN now() ELSE '-infinity' END)
            ON CONFLICT DO NOTHING
            RETURNING 1 INTO v_version;
        END IF;
        IF FOUND THEN
            write_number := i;
            written_version := v_version;
            RETURN NEXT;
            v_written := array_append(v_written, i::bigint);
        END IF;
    END LOOP;
    INSERT INTO tekana_transactional_state (service_id, grain_type, grain_key, state_name, version, payload)
    SELECT p_service, p_record_type, r.id, p_record_state, 1, r.payload
      FROM unnest(p_record_owners, p_record_ids, p_record_payloads) AS r(owner, id, payload)
     WHERE r.owner = ANY(v_written);
    INSERT INTO tekana_transaction_commits (service_id, transaction_id)
    SELECT p_service, c.id
      FROM unnest(p_commit_owners, p_commit_ids) AS c(owner, id)
     WHERE c.owner = ANY(v_written)
    ON CONFLICT DO NOTHING;
END
$$;

-- The forms of earlier versions, for their silos while they are replaced: their writes leave the purge a row's prepared
-- legs unknown. (The oldest keeps no committed transactions; see the README on mixing versions.)
CREATE OR REPLACE FUNCTION tekana_group_commit(
    p_service text, p_types text[], p_keys text[], p_names text[], p_versions bigint[], p_payloads bytea[],
    p_record_type text, p_record_state text, p_record_types text[],
    p_record_owners bigint[], p_record_ids text[], p_record_payloads bytea[],
    p_commit_owners bigint[], p_commit_ids uuid[])
RETURNS TABLE (write_number bigint, written_version bigint)
LANGUAGE sql
AS $$
    SELECT * FROM tekana_group_commit(p_service, p_types, p_keys, p_names, p_versions, p_payloads,
        p_record_type, p_record_state, p_record_types, p_record_owners, p_record_ids, p_record_payloads,
        p_commit_owners, p_commit_ids, array_fill(3::smallint, ARRAY[coalesce(array_length(p_keys, 1), 0)]))
$$;

CREATE OR REPLACE FUNCTION tekana_group_commit(
    p_service text, p_types text[], p_keys text[], p_names text[], p_versions bigint[], p_payloads bytea[],
    p_record_type text, p_record_state text, p_record_types text[],
    p_record_owners bigint[], p_record_ids text[], p_record_payloads bytea[])
RETURNS TABLE (write_number bigint, written_version bigint)
LANGUAGE sql
AS $$
    SELECT * FROM tekana_group_commit(p_service, p_types, p_keys, p_names, p_versions, p_payloads,
        p_record_type, p_record_state, p_record_types, p_record_owners, p_record_ids, p_record_payloads, '{}'::bigint[], '{}'::uuid[])
$$;
