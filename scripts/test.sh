#!/usr/bin/env bash
# Runs every test against a throwaway PostgreSQL: installs it if missing, starts a cluster on a free loopback port,
# applies sql/ (twice, which also proves the scripts idempotent) to a template database, checks that sql/ upgrades a
# database of an earlier version (scripts/check-sql-upgrade.sh), runs the README's first command and its example against
# it (scripts/check-readme.sh), runs all test projects, prints "N passed, N failed" and stops the cluster.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

pgdir="$(mktemp -d /tmp/tekana-test-pg.XXXXXX)"
trap 'scripts/postgres.sh stop "$pgdir"' EXIT
base="$(scripts/postgres.sh start "$pgdir")"
port="$(cat "$pgdir/port")"
psql "postgresql://postgres@127.0.0.1:$port/postgres" -q -c "CREATE DATABASE tekana_template" >/dev/null
scripts/apply-sql.sh "postgresql://postgres@127.0.0.1:$port/tekana_template"
scripts/apply-sql.sh "postgresql://postgres@127.0.0.1:$port/tekana_template"
scripts/check-sql-upgrade.sh "postgresql://postgres@127.0.0.1:$port"

export TEKANA_TEST_POSTGRES="$base"
export TEKANA_TEST_TEMPLATE="tekana_template"

# The deploy files cannot run here (no container engine): they are checked statically.
deploy/check.sh

dotnet build Tekana.sln -c Release -nologo -v quiet -clp:ErrorsOnly
# The README check takes about 40 s (it builds and starts the API as a reader would); a run narrowed by arguments to
# dotnet test (a filter) is after something else.
if [[ $# -eq 0 ]]; then scripts/check-readme.sh; else echo "README check skipped: arguments narrow this run"; fi
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
log="$pgdir/test.log"
touch "$pgdir/started"
status=0
dotnet test Tekana.sln -c Release --no-build -nologo -m:1 "$@" 2>&1 | tee "$log" || status=$?

# A detailed logger prints no "Failed:" when nothing failed: an empty grep is not an error here.
passed=$( (grep -oE 'Passed: +[0-9]+' "$log" || true) | awk '{s+=$2} END {print s+0}')
failed=$( (grep -oE 'Failed: +[0-9]+' "$log" || true) | awk '{s+=$2} END {print s+0}')
if [[ $status -ne 0 && $failed -eq 0 ]]; then failed=1; fi
# On failure, what the in-process test clusters logged as warnings and errors during this run, one line per kind with
# its count and first time (their whole logs stay under each test project's bin/Release/*/logs).
if [[ $status -ne 0 ]]; then
  echo "--- warnings and errors in the test clusters' logs:"
  find tests -path '*/bin/Release/*/logs/*.log' -newer "$pgdir/started" | sort | while read -r f; do
    echo "$(basename "$f"):"
    awk -F'\t' '$2 == "Warning" || $2 == "Error" {
        k = $2 " " $3 " " $4; if (!(k in n)) { first[k] = substr($1, 13, 12); msg[k] = substr($5, 1, 160) }; n[k]++ }
      END { for (k in n) printf "  %5dx from %s  %s  %s\n", n[k], first[k], k, msg[k] }' "$f" | sort -k1,1nr | head -15 || true
  done || true
fi
echo "$passed passed, $failed failed"
exit $status
