-- Debit with balance check, credit, ledger insert; never from = to. One transaction.
\set from random(1, :wallets)
\set to 1 + (:from + random(0, :wallets - 2)) % :wallets
\set amount random(1, 1000)
BEGIN;
UPDATE anchor_wallets SET balance = balance - :amount WHERE id = :from AND balance >= :amount;
UPDATE anchor_wallets SET balance = balance + :amount WHERE id = :to;
INSERT INTO anchor_ledger (from_wallet, to_wallet, amount) VALUES (:from, :to, :amount);
COMMIT;
