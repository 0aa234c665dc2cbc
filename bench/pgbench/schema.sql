-- The plain-SQL anchor: the same 2-wallet transfer as one SQL transaction.
DROP TABLE IF EXISTS anchor_ledger, anchor_wallets;
CREATE TABLE anchor_wallets (id integer PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0));
CREATE TABLE anchor_ledger (
    id bigserial PRIMARY KEY, from_wallet integer NOT NULL, to_wallet integer NOT NULL, amount bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO anchor_wallets SELECT g, 1000000 FROM generate_series(1, :wallets) g;
