-- The mixed scenario's history read: a wallet's 20 latest movements, either side (history-indexes.sql serves it).
\set wallet random(1, :wallets)
SELECT id, from_wallet, to_wallet, amount, created_at FROM anchor_ledger
WHERE from_wallet = :wallet OR to_wallet = :wallet ORDER BY id DESC LIMIT 20;
