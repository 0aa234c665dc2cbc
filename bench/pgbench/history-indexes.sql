-- What history.sql needs. Made for the mixed scenario's anchor only, whose transfers then pay for keeping them, and
-- dropped after it, so that the other anchors' transfers write the ledger as before.
CREATE INDEX anchor_ledger_from ON anchor_ledger (from_wallet, id);
CREATE INDEX anchor_ledger_to ON anchor_ledger (to_wallet, id);
-- Without fresh statistics the planner may scan the whole ledger for each history read.
ANALYZE anchor_ledger;
