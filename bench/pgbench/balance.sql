-- The mixed scenario's balance read.
\set wallet random(1, :wallets)
SELECT balance FROM anchor_wallets WHERE id = :wallet;
