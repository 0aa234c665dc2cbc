-- The read model fed by the event stream: wallet history and customer search. Written idempotently by the
-- projector (a replayed event changes nothing), read by the REST API. Eventually consistent with the grains.
SET client_min_messages = warning;

CREATE TABLE IF NOT EXISTS ledger_entries (
    wallet_id        text        NOT NULL,
    sequence         bigint      NOT NULL,   -- the wallet's entry number: 1, 2, 3, ... without gaps
    transaction_id   text        NOT NULL,
    type             text        NOT NULL,   -- deposit | withdrawal | transfer
    amount           bigint      NOT NULL,   -- signed, minor units: negative when money left the wallet
    currency         char(3)     NOT NULL,
    balance_after    bigint      NOT NULL,
    counterparty     text        NOT NULL,   -- the other wallet of the movement
    description      text        NULL,
    occurred_at      timestamptz NOT NULL,
    event_id         text        NOT NULL,
    -- The key carries every column a history page shows, so that a page is read from the key's index alone (an
    -- index-only scan: one or two index pages for the wallet's newest entries). A wallet's entries are written over its
    -- lifetime between everyone else's, so the table holds each of them on a page of its own: a page of 20 entries read
    -- from the table visited 20 pages, and was most of PostgreSQL's work in the benchmark's mixed scenario.
    PRIMARY KEY (wallet_id, sequence)
        INCLUDE (transaction_id, type, amount, currency, balance_after, counterparty, description, occurred_at)
);
-- A database made before the key carried the page's columns gets that key: its index is built without blocking the
-- writers (CONCURRENTLY), then takes the old key's place, which locks the table only for that swap. A build that
-- failed (cancelled, or the server stopped) leaves an invalid index of that name, which IF NOT EXISTS would take for
-- the finished one: it is dropped and built again.
SELECT NOT EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = 'ledger_entries_pkey'::regclass AND indnatts > indnkeyatts)
    AS ledger_entries_key_without_page \gset
\if :ledger_entries_key_without_page
SELECT EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass('ledger_entries_key_with_page') AND NOT indisvalid)
    AS ledger_entries_key_build_failed \gset
\if :ledger_entries_key_build_failed
DROP INDEX CONCURRENTLY ledger_entries_key_with_page;
\endif
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ledger_entries_key_with_page ON ledger_entries (wallet_id, sequence)
    INCLUDE (transaction_id, type, amount, currency, balance_after, counterparty, description, occurred_at);
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_pkey,
    ADD CONSTRAINT ledger_entries_pkey PRIMARY KEY USING INDEX ledger_entries_key_with_page;
\endif
-- A page is read from the index alone only for entries on table pages that vacuum has marked all-visible; any other
-- entry costs a visit to its table page. The newest entries are the ones read most, and by default autovacuum visits an
-- insert-only table after inserts of a fifth of its size: millions of entries on a large table, all of them on every
-- busy wallet's first page. Vacuuming after every 10,000 inserts keeps them visible (at most a minute behind, the
-- autovacuum round): such a vacuum reads only the pages written since the last one and no index.
ALTER TABLE ledger_entries SET (autovacuum_vacuum_insert_threshold = 10000, autovacuum_vacuum_insert_scale_factor = 0);
CREATE INDEX IF NOT EXISTS ledger_entries_by_time ON ledger_entries (wallet_id, occurred_at);
-- When the projector first wrote the row: recorded_at - occurred_at is the read model's lag behind the movement.
ALTER TABLE ledger_entries ADD COLUMN IF NOT EXISTS recorded_at timestamptz NOT NULL DEFAULT now();

CREATE TABLE IF NOT EXISTS customers (
    id             text        PRIMARY KEY,
    full_name      text        NOT NULL,
    email          text        NOT NULL,
    phone_number   text        NOT NULL,
    country        char(2)     NOT NULL,
    status         text        NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    event_number   bigint      NOT NULL    -- the newest customer event applied; older replays are ignored
);
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS customers_search ON customers
    USING gin ((lower(full_name) || ' ' || email || ' ' || phone_number) gin_trgm_ops);
