#!/usr/bin/env bash
# Checks that sql/ upgrades a database made by an earlier version, not only a fresh one: a scratch database gets the
# earlier form of what a script changes (with rows in it) and what failed builds of its concurrent indexes leave, sql/ is
# applied twice, and the result must have the current form with the rows intact. Run by scripts/test.sh.
#   scripts/check-sql-upgrade.sh "postgresql://postgres@127.0.0.1:5432"
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
server="${1:?a libpq connection URI of the server, without a database}"
db=tekana_upgrade_check
export PGOPTIONS="-c client_min_messages=warning"
psql "$server/postgres" -q -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
trap 'psql "$server/postgres" -q -c "DROP DATABASE IF EXISTS $db" >/dev/null' EXIT

# ledger_entries before its key carried the columns of a history page.
psql "$server/$db" -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE TABLE ledger_entries (
    wallet_id text NOT NULL, sequence bigint NOT NULL, transaction_id text NOT NULL, type text NOT NULL,
    amount bigint NOT NULL, currency char(3) NOT NULL, balance_after bigint NOT NULL, counterparty text NOT NULL,
    description text NULL, occurred_at timestamptz NOT NULL, event_id text NOT NULL,
    PRIMARY KEY (wallet_id, sequence)
);
INSERT INTO ledger_entries
SELECT 'wal_' || (n % 50), n / 50 + 1, 'txn_' || n, 'transfer', n, 'RWF', n, 'wal_x', NULL, now(), 'evt_' || n
FROM generate_series(0, 999) n;
SQL

# Builds of the indexes that sql/ makes CONCURRENTLY, failed halfway: each leaves an invalid index under the name that
# the scripts' IF NOT EXISTS looks for. A division by zero stops each build at its first row.
psql "$server/$db" -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE TABLE tekana_transaction_commits (
    service_id text NOT NULL, transaction_id uuid NOT NULL, committed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, transaction_id));
INSERT INTO tekana_transaction_commits VALUES ('check', gen_random_uuid());
SQL
for index in "ledger_entries_key_with_page ON ledger_entries ((sequence / (sequence - sequence)))" \
             "tekana_transaction_commits_committed ON tekana_transaction_commits ((length(service_id) / 0))"; do
  psql "$server/$db" -q -c "CREATE INDEX CONCURRENTLY $index" >/dev/null 2>&1 || true
done
if [[ "$(psql "$server/$db" -At -c "SELECT count(*) FROM pg_index WHERE NOT indisvalid")" != 2 ]]; then
  echo "the check could not leave the two failed index builds it needs" >&2
  exit 1
fi

"$here/scripts/apply-sql.sh" "$server/$db"
"$here/scripts/apply-sql.sh" "$server/$db"

result="$(psql "$server/$db" -At -F ' ' -c "
    SELECT (SELECT count(*) FROM ledger_entries),
           (SELECT indnatts - indnkeyatts FROM pg_index WHERE indexrelid = 'ledger_entries_pkey'::regclass),
           (SELECT count(*) FROM pg_index WHERE indrelid = 'ledger_entries'::regclass),
           (SELECT count(*) FROM pg_class, unnest(reloptions) o WHERE oid = 'ledger_entries'::regclass
                AND o IN ('autovacuum_vacuum_insert_threshold=10000', 'autovacuum_vacuum_insert_scale_factor=0')),
           (SELECT count(*) FROM pg_index WHERE NOT indisvalid),
           (SELECT count(*) FROM pg_indexes WHERE indexname = 'tekana_transaction_commits_committed' AND indexdef LIKE '%USING brin (committed_at)')")"
if [[ "$result" != "1000 8 2 2 0 1" ]]; then
  echo "sql/ did not upgrade an earlier database: ledger_entries rows, columns the key carries, indexes, insert-vacuum settings, invalid indexes," \
    "commit-age index = $result (expected 1000 8 2 2 0 1)" >&2
  exit 1
fi
echo "sql/ upgrades an earlier database: ledger_entries keeps its rows and gets the key that carries a history page and its" \
  "insert-vacuum settings; indexes whose concurrent build failed are built again"
