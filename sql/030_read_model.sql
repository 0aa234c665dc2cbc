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
    PRIMARY KEY (wallet_id, sequence)
);
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
