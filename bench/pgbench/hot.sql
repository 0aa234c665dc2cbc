-- The hot-wallet scenario: everyone pays one merchant (wallet 1). The same transfer as transfer.sql.
\set from random(2, :wallets)
\set amount random(1, 1000)
BEGIN;
UPDATE anchor_wallets SET balance = balance - :amount WHERE id = :from AND balance >= :amount;
UPDATE anchor_wallets SET balance = balance + :amount WHERE id = 1;
INSERT INTO anchor_ledger (from_wallet, to_wallet, amount) VALUES (:from, 1, :amount);
COMMIT;
