#!/usr/bin/env bash
# Applies every file in sql/ in lexical order to the database named by a libpq URI or connection string.
# Idempotent: applying twice is harmless.
#   scripts/apply-sql.sh "postgresql://postgres@127.0.0.1:5432/tekana"
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${1:?a libpq connection URI}"
for file in "$here"/sql/*.sql; do
  PGTZ=UTC psql "$target" -q -v ON_ERROR_STOP=1 -f "$file" >/dev/null
done
