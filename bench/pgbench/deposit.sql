-- A deposit: one of the house funding wallet's 32 shards pays a customer wallet, as in Tekana.
\set from :wallets + random(1, 32)
\set to random(1, :wallets)
\set amount 100
BEGIN;
UPDATE anchor_wallets SET balance = balance - :amount WHERE id = :from AND balance >= :amount;
UPDATE anchor_wallets SET balance = balance + :amount WHERE id = :to;
INSERT INTO anchor_ledger (from_wallet, to_wallet, amount) VALUES (:from, :to, :amount);
COMMIT;
