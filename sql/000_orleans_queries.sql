-- The Orleans ADO.NET providers read the SQL they run from this table, one row per operation.
-- Every file in sql/ is idempotent: apply them in lexical order, as often as you like.
SET client_min_messages = warning;

CREATE TABLE IF NOT EXISTS OrleansQuery (
    QueryKey  varchar(64) PRIMARY KEY,
    QueryText text NOT NULL
);
