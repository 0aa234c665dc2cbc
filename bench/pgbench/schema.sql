-- The plain-SQL anchors: each scenario's movements as one SQL transaction each (transfer.sql, hot.sql, deposit.sql),
-- and the mixed scenario's reads (balance.sql, history.sql).
DROP TABLE IF EXISTS anchor_ledger, anchor_wallets;
CREATE TABLE anchor_wallets (id integer PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0));
CREATE TABLE anchor_ledger (
    id bigserial PRIMARY KEY, from_wallet integer NOT NULL, to_wallet integer NOT NULL, amount bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO anchor_wallets SELECT g, 1000000 FROM generate_series(1, :wallets) g;
-- The house funding wallet, spread over 32 shards as Tekana's is (ids wallets + 1 ... wallets + 32); deposits draw on it.
INSERT INTO anchor_wallets SELECT :wallets + g, 1000000000000000 FROM generate_series(1, 32) g;
-- Every wallet's funding deposit, as the benchmark's setup makes one for each Tekana wallet: history reads find at
-- least one entry, and the planner has a ledger to plan for.
INSERT INTO anchor_ledger (from_wallet, to_wallet, amount) SELECT :wallets + 1 + g % 32, g, 1000000 FROM generate_series(1, :wallets) g;
