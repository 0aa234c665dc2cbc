#!/usr/bin/env bash
# Benchmark: Tekana through the whole stack (HTTP -> API -> Orleans transaction -> PostgreSQL) against plain-SQL anchors
# (pgbench doing each scenario's requests, every movement as one SQL transaction) on the same database server, in the
# same run.
#   bench/run.sh [--wallets 10000] [--clients "64"] [--seconds 20] [--warmup 5] [--scenarios "uniform hot mixed deposits"]
# Prints a table (with each process's garbage collection under it) and writes bench/results/<timestamp>.json. Fails if money
# was not conserved or a wallet went negative.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
wallets=10000; clients="64"; seconds=20; warmup=5; scenarios="uniform hot mixed deposits"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --wallets) wallets="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --scenarios) scenarios="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

# Each scenario's anchor: pgbench doing that scenario's requests, each movement as one SQL transaction, on the same
# server with the same client count, run just before the scenario. The script that moves money comes last.
anchor_scripts() {
  case "$1" in
    uniform) echo "-f $here/pgbench/transfer.sql" ;;
    hot) echo "-f $here/pgbench/hot.sql" ;;
    mixed) echo "-f $here/pgbench/balance.sql@4 -f $here/pgbench/history.sql@4 -f $here/pgbench/transfer.sql@2" ;;
    deposits) echo "-f $here/pgbench/deposit.sql" ;;
    *) echo "unknown scenario $1 (uniform, hot, mixed, deposits)" >&2; exit 2 ;;
  esac
}
for scenario in $scenarios; do anchor_scripts "$scenario" >/dev/null; done

work="$(mktemp -d /tmp/tekana-bench.XXXXXX)"
chmod 755 "$work" # the database cluster inside runs as the postgres user
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  mkdir -p "$here/results" && cp "$work"/*.log "$here/results/" 2>/dev/null || true
  "$root/scripts/postgres.sh" stop "$work/pg"
}
trap cleanup EXIT

minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }

cpu_seconds() { # utime+stime (+ children that were waited for) of the given processes, summed, in seconds
  # One cat reads them all, in the order given; a process that is gone adds nothing.
  local stats=() pid
  for pid in "$@"; do stats+=("/proc/$pid/stat"); done
  cat "${stats[@]}" 2>/dev/null | awk -v hz="$(getconf CLK_TCK)" '{ s += $14 + $15 + $16 + $17 } END { printf "%.2f", s / hz }'
}

client_cpu_seconds() { # this script's children that have exited and been waited for: the load generators, pgbench
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($16 + $17) / hz }' "/proc/$$/stat"
}

# Rows the ledger's storage has updated and inserted so far (the statistics PostgreSQL's backends have reported): "upd ins".
ledger_rows() {
  psql "$pguri/tekana" -At -F ' ' -c "SELECT n_tup_upd, n_tup_ins FROM pg_stat_user_tables WHERE relname = 'tekana_transactional_state'"
}

# WAL flushes so far and the milliseconds they took (PostgreSQL's WAL statistics, with I/O timing on): "syncs ms".
wal_flushes() {
  psql "$pguri/postgres" -At -F ' ' -c "SELECT wal_sync, wal_sync_time FROM pg_stat_wal"
}

# JSON for the WAL flushes between two samples: how many per movement, and the mean milliseconds of one (null when none).
wal_delta() {
  awk -v before="$1" -v after="$2" -v moves="$3" 'BEGIN {
    split(before, b, " "); split(after, a, " "); n = a[1] - b[1]
    if (n <= 0 || moves <= 0) { print "null"; exit }
    printf "{\"perMovement\": %.3f, \"meanMs\": %.2f}\n", n / moves, (a[2] - b[2]) / n }'
}

# The line under a run that says what its WAL flushes cost.
wal_line() {
  echo "$1" | python3 -c '
import json, sys
w = json.loads(sys.stdin.read())
print("  wal      not measured" if w is None else "  wal      {:.2f} flushes per movement, {:.2f} ms each on average".format(w["perMovement"], w["meanMs"]))'
}

pg_cpu_seconds() { # the postmaster, its exited backends, and the live ones (pooled connections stay open)
  # One read of every child, then of the postmaster: a backend that exits meanwhile is still counted, live or as a
  # zombie, or else reaped into the postmaster's children's times, read last. Reading them one by one lost a backend
  # that exited between two reads with all the CPU it had used since it started (a run once showed -9.85 s).
  # shellcheck disable=SC2046 # one word per child
  cpu_seconds $(pgrep -P "$1") "$1"
}

echo "building (Release)..." >&2
dotnet build "$root/src/Tekana.Silo" -c Release -nologo -v quiet -clp:ErrorsOnly >&2
dotnet build "$root/src/Tekana.Api" -c Release -nologo -v quiet -clp:ErrorsOnly >&2
dotnet build "$here/Tekana.Bench" -c Release -nologo -v quiet -clp:ErrorsOnly >&2

"$root/scripts/postgres.sh" start "$work/pg" >/dev/null
port="$(cat "$work/pg/port")"
pguri="postgresql://postgres@127.0.0.1:$port"
psql "$pguri/postgres" -q -c "CREATE DATABASE tekana" -c "CREATE DATABASE anchor" >/dev/null
# Times every WAL flush (one clock read around each): how many flushes a movement costs, and how slow the disk was during
# each run (a commit waits for its flush, for pgbench as for Tekana).
psql "$pguri/postgres" -q -c "ALTER SYSTEM SET track_wal_io_timing = on" -c "SELECT pg_reload_conf()" >/dev/null
"$root/scripts/apply-sql.sh" "$pguri/tekana"
postmaster="$(head -1 "$work/pg/data/postmaster.pid")"

# Production configuration: PostgreSQL storage and clustering, the API a pure client of the silo.
export ASPNETCORE_ENVIRONMENT=Production
export ConnectionStrings__Postgres="Host=127.0.0.1;Port=$port;Username=postgres;Database=tekana${BENCH_NPGSQL_EXTRA:-}"
export Orleans__ClusterId=bench Orleans__ServiceId=bench
export Auth__SigningKey="bench-signing-key-$(head -c 24 /dev/urandom | base64)"
export Auth__ServiceAccounts__benchadmin__Secret=bench-admin-secret Auth__ServiceAccounts__benchadmin__Role=admin
export Auth__ServiceAccounts__benchoperator__Secret=bench-operator-secret Auth__ServiceAccounts__benchoperator__Role=operator
# Admission control as in production (64 running, 1,024 waiting, then 503); only the per-address limits on registration
# and sign-in are lifted, since the setup registers every wallet's owner from one address.
export RateLimiting__RegistrationsPerMinute=1000000 RateLimiting__SignInPerMinute=1000000
export Logging__LogLevel__Default=Warning
# Only registration (setup) hashes passwords; a cheaper hash keeps setup short and does not touch the measured path.
export Security__PasswordHashing__IterationCount=1000

# Each process reads its own appsettings.json (its content root is its build output, as in the container images);
# the silo's health and metrics are at :18081.
silo_dir="$root/src/Tekana.Silo/bin/Release/net10.0" api_dir="$root/src/Tekana.Api/bin/Release/net10.0"
Urls=http://127.0.0.1:18081 Orleans__SiloPort=21111 Orleans__GatewayPort=31000 \
  dotnet "$silo_dir/Tekana.Silo.dll" --contentRoot "$silo_dir" >"$work/silo.log" 2>&1 &
silo=$!; pids+=("$silo")
sleep 5
ASPNETCORE_URLS=http://127.0.0.1:18080 dotnet "$api_dir/Tekana.Api.dll" --contentRoot "$api_dir" >"$work/api.log" 2>&1 &
api=$!; pids+=("$api")
bench=(dotnet "$here/Tekana.Bench/bin/Release/net10.0/Tekana.Bench.dll")
api_url=http://127.0.0.1:18080 silo_url=http://127.0.0.1:18081

"${bench[@]}" setup --api "$api_url" --wallets "$wallets" --out "$work/wallets.txt"

PGOPTIONS="-c client_min_messages=warning" psql "$pguri/anchor" -q -v ON_ERROR_STOP=1 -v wallets="$wallets" -f "$here/pgbench/schema.sql" >/dev/null
pgbench_bin="$(dirname "$(command -v initdb 2>/dev/null || ls /usr/lib/postgresql/*/bin/initdb | head -1)")/pgbench"
[[ -x "$pgbench_bin" ]] || pgbench_bin="$(ls /usr/lib/postgresql/*/bin/pgbench | head -1)"

# A process's garbage collector so far, from its /metrics: pause seconds, bytes allocated, and collections by the
# oldest generation each collected (gen0 gen1 gen2); nothing when the scrape fails.
gc_sample() {
  local metrics
  metrics="$(curl -sf --max-time 5 "$1/metrics")" || return 0
  echo "$metrics" | awk '
    /^dotnet_gc_pause_time_seconds_total/ { pause = $NF }
    /^dotnet_gc_heap_total_allocated_bytes_total/ { allocated = $NF }
    /^dotnet_gc_collections_total/ { match($0, /gen[0-2]/); if (RSTART) n[substr($0, RSTART, 4)] = $NF }
    END { printf "%s %s %d %d %d\n", pause + 0, allocated + 0, n["gen0"], n["gen1"], n["gen2"] }'
}

# JSON for one process's collector over a run: the share of wall time its threads were paused, its collections, and
# what it allocated per second and per request; null when either sample is missing.
gc_delta() {
  python3 - "$@" <<'PY'
import json, sys
if not sys.argv[1] or not sys.argv[2]:
    print("null"); sys.exit()
before, after = [float(x) for x in sys.argv[1].split()], [float(x) for x in sys.argv[2].split()]
wall, rps = float(sys.argv[3]), float(sys.argv[4])
d = [b - a for a, b in zip(before, after)]
print(json.dumps(dict(pausePercent=round(100 * d[0] / wall, 1), collections=dict(gen0=int(d[2]), gen1=int(d[3]), gen2=int(d[4])),
                      allocatedMBPerSecond=round(d[1] / wall / 1e6, 1), allocatedKBPerRequest=round(d[1] / wall / rps / 1e3, 1) if rps else None)))
PY
}

# JSON for the silo's memory at the end of a run, from its /metrics: the managed heap after its last collection, its
# working set, and its grain activations by type (Orleans' own system targets left out); null when the scrape fails.
# Every activation costs about 2 KB of Orleans' bookkeeping before its state. The heap does not follow the count down
# at once: a collected activation's memory stays in gen2 as free space, reused before the heap grows.
memory_sample() {
  curl -sf --max-time 5 "$1/metrics" | python3 -c '
import json, re, sys
heap, working, activations = 0.0, None, {}
for line in sys.stdin:
    m = re.match(r"(\w+)\{([^}]*)\} (\S+)$", line.strip())
    if not m:
        continue
    name, labels, value = m.group(1), m.group(2), float(m.group(3))
    if name == "dotnet_gc_last_collection_heap_size_bytes":
        heap += value
    elif name == "dotnet_process_memory_working_set_bytes":
        working = value
    elif name == "orleans_catalog_activations":
        kind = re.search(r"grain_type=\"([^\"]*)\"", labels).group(1)
        if not kind.startswith("sys.") and value:
            activations[kind] = int(value)
print(json.dumps(dict(heapMB=round(heap / 1e6), workingSetMB=round(working / 1e6) if working else None,
                      activations=dict(sorted(activations.items(), key=lambda kv: -kv[1])))))' 2>/dev/null || echo null
}

percentiles() { # of sorted numbers on stdin, for each fraction given
  awk -v fractions="$*" '{ v[NR] = $1 } END {
    k = split(fractions, f, " "); line = ""
    for (i = 1; i <= k; i++) { at = int(NR * f[i]); if (at < 1) at = 1; line = line sprintf("%s%.2f", i > 1 ? " " : "", v[at]) }
    print line }'
}

# Sets anchor_tps (transactions/s), anchor_mps (movements/s), a50 a95 a99 amax over every transaction, am50 am99 over
# the movements, anchor_errors, anchor_cpu and anchor_client_cpu.
run_anchor() {
  local scenario="$1" c="$2" out pg0 pg1 c0 c1 w0 w1
  if [[ "$scenario" == mixed ]]; then psql "$pguri/anchor" -q -f "$here/pgbench/history-indexes.sql" >/dev/null; fi
  pg0="$(pg_cpu_seconds "$postmaster")"; c0="$(client_cpu_seconds)"; w0="$(wal_flushes)"
  # shellcheck disable=SC2046 # the script list is meant to split into words
  out="$("$pgbench_bin" -n -h 127.0.0.1 -p "$port" -U postgres -c "$c" -j 2 -T "$seconds" -D wallets="$wallets" --failures-detailed \
    $(anchor_scripts "$scenario") -l --log-prefix="$work/anchor" anchor 2>&1)"
  # pgbench's backends exit after it does; their CPU reaches the postmaster's account only once they are gone, and
  # would otherwise be billed to the scenario.
  while [[ "$(psql "$pguri/postgres" -At -c "SELECT count(*) FROM pg_stat_activity WHERE datname = 'anchor'")" != 0 ]]; do sleep 0.2; done
  pg1="$(pg_cpu_seconds "$postmaster")"; c1="$(client_cpu_seconds)"; w1="$(wal_flushes)"
  if [[ "$scenario" == mixed ]]; then psql "$pguri/anchor" -q -c "DROP INDEX anchor_ledger_from, anchor_ledger_to" >/dev/null; fi
  # The anchor's tens of thousands of updates would otherwise be vacuumed by autovacuum during the scenario.
  psql "$pguri/anchor" -q -c "VACUUM (ANALYZE)" >/dev/null
  anchor_tps="$(echo "$out" | awk '/^tps/ { print $3; exit }')"
  # Failed transactions (a deadlock between two opposite transfers, or a serialization failure) are counted by kind
  # and the client goes on; any other error aborts the client, which the anchor then runs without.
  anchor_errors="$(echo "$out" | awk '/^number of failed transactions/ && $5 > 0 { e = "failed: " $5 }
    /^number of (deadlock|serialization) failures/ && $5 > 0 { k = (k ? k ", " : "") $3 ": " $5 }
    / aborted in command / { a++ }
    END { if (k) e = e " (" k ")"; if (a) e = (e ? e ", " : "") "aborted clients: " a; print e ? e : "none" }')"
  # Log lines: client, transaction, latency in µs (or the kind of failure), script number, ...
  cat "$work"/anchor.* | awk '$3 ~ /^[0-9]+$/ { print $3 / 1000 }' | sort -n >"$work/anchor-all"
  cat "$work"/anchor.* | awk -v moves="$(( $(anchor_scripts "$scenario" | grep -o -- '-f ' | wc -l) - 1 ))" '$3 ~ /^[0-9]+$/ && $4 == moves { print $3 / 1000 }' | sort -n >"$work/anchor-moves"
  anchor_mps="$(awk -v tps="$anchor_tps" -v n="$(wc -l <"$work/anchor-all")" -v m="$(wc -l <"$work/anchor-moves")" 'BEGIN { printf "%.1f", tps * m / n }')"
  read -r a50 a95 a99 amax < <(percentiles 0.50 0.95 0.99 1 <"$work/anchor-all")
  read -r am50 am99 < <(percentiles 0.50 0.99 <"$work/anchor-moves")
  rm -f "$work"/anchor.* "$work"/anchor-all "$work"/anchor-moves
  anchor_cpu="$(minus "$pg1" "$pg0")"; anchor_client_cpu="$(minus "$c1" "$c0")"
  anchor_wal="$(wal_delta "$w0" "$w1" "$(awk -v mps="$anchor_mps" -v s="$seconds" 'BEGIN { printf "%d", mps * s }')")"
}

results=()
# moves/s counts money movements; req/s every request (mixed: 80 % of them are reads, for pgbench as for Tekana).
# Latencies cover every request; for mixed, the line below it gives the movements' own p50 and p99.
# cpu client is the load generator's (pgbench's for the anchor): both share the machine with what they measure.
printf "\n%-9s %7s %-9s %10s %8s %8s %8s %8s %8s %9s %9s %9s %10s  %s\n" scenario clients system "moves/s" "req/s" "p50 ms" "p95 ms" "p99 ms" "max ms" "cpu silo" "cpu api" "cpu pg" "cpu client" errors
for c in $clients; do
  for scenario in $scenarios; do
    run_anchor "$scenario" "$c"
    printf "%-9s %7s %-9s %10.1f %8.1f %8s %8s %8s %8s %9s %9s %9.2f %10.2f  %s\n" "$scenario" "$c" pgbench "$anchor_mps" "$anchor_tps" "$a50" "$a95" "$a99" "$amax" - - "$anchor_cpu" "$anchor_client_cpu" "$anchor_errors"
    if [[ "$scenario" == mixed ]]; then
      printf "%-9s %7s %-9s %10s %8s %8s %8s %8s\n" "  moves" "" "" "" "" "$am50" "" "$am99"
    fi
    wal_line "$anchor_wal"
    s0="$(cpu_seconds "$silo")"; a0="$(cpu_seconds "$api")"; p0="$(pg_cpu_seconds "$postmaster")"; c0="$(client_cpu_seconds)"
    gs0="$(gc_sample "$silo_url")"; ga0="$(gc_sample "$api_url")"; t0="$(date +%s.%N)"; rows0="$(ledger_rows)"; w0="$(wal_flushes)"
    out="$("${bench[@]}" run --api "$api_url" --wallets-file "$work/wallets.txt" --scenario "$scenario" --clients "$c" --seconds "$seconds" --warmup "$warmup")"
    s1="$(cpu_seconds "$silo")"; a1="$(cpu_seconds "$api")"; p1="$(pg_cpu_seconds "$postmaster")"; c1="$(client_cpu_seconds)"
    gs1="$(gc_sample "$silo_url")"; ga1="$(gc_sample "$api_url")"; t1="$(date +%s.%N)"
    sleep 1; rows1="$(ledger_rows)"; w1="$(wal_flushes)"
    row="$(echo "$out" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
errors = ", ".join("{}: {}".format(k, v) for k, v in r["errors"].items()) or "none"
print("{} {} {} {} {} {} {} {}|{}".format(r["movementsPerSecond"], r["requestsPerSecond"], r["p50Ms"], r["p95Ms"], r["p99Ms"], r["maxMs"],
    r["movementP50Ms"], r["movementP99Ms"], errors))')"
    read -r mps rps p50 p95 p99 pmax mp50 mp99 <<<"${row%%|*}"
    printf "%-9s %7s %-9s %10.1f %8.1f %8s %8s %8s %8s %9.2f %9.2f %9.2f %10.2f  %s\n" "$scenario" "$c" tekana "$mps" "$rps" "$p50" "$p95" "$p99" "$pmax" \
      "$(minus "$s1" "$s0")" "$(minus "$a1" "$a0")" "$(minus "$p1" "$p0")" "$(minus "$c1" "$c0")" "${row#*|}"
    if [[ "$scenario" == mixed ]]; then
      printf "%-9s %7s %-9s %10s %8s %8s %8s %8s\n" "  moves" "" "" "" "" "$mp50" "" "$mp99"
    fi
    wall="$(minus "$t1" "$t0")"
    gc="{\"silo\": $(gc_delta "$gs0" "$gs1" "$wall" "$rps"), \"api\": $(gc_delta "$ga0" "$ga1" "$wall" "$rps")}"
    echo "$gc" | python3 -c '
import json, sys
for name, g in json.loads(sys.stdin.read()).items():
    if g is None:
        print("  gc {:<5} not measured (its /metrics did not answer)".format(name))
        continue
    c = g["collections"]
    print("  gc {:<5} paused {:>4.1f} % of the run, collections gen0 {} gen1 {} gen2 {}, allocated {:.0f} MB/s, {} KB per request".format(
        name, g["pausePercent"], c["gen0"], c["gen1"], c["gen2"], g["allocatedMBPerSecond"], g["allocatedKBPerRequest"]))'
    memory="$(memory_sample "$silo_url")"
    echo "$memory" | python3 -c '
import json, sys
m = json.loads(sys.stdin.read())
if m is None:
    print("  mem silo not measured (its /metrics did not answer)")
else:
    kinds = ", ".join("{} {:,}".format(k, v) for k, v in m["activations"].items())
    print("  mem silo heap {:,} MB after its last collection, working set {:,} MB, {:,} activations ({})".format(
        m["heapMB"], m["workingSetMB"] or 0, sum(m["activations"].values()), kinds))'
    # Each movement inserts one record row, so row inserts count the movements (warm-up included, as for the rest).
    read -r upd0 ins0 <<<"$rows0"; read -r upd1 ins1 <<<"$rows1"
    awk -v u=$(( upd1 - upd0 )) -v i=$(( ins1 - ins0 )) 'BEGIN { if (i > 0) printf "  pg       %.2f state row updates per movement record inserted\n", u / i }'
    wal="$(wal_delta "$w0" "$w1" $(( ins1 - ins0 )))"
    wal_line "$wal"
    results+=("$(echo "$out" | python3 -c "
import json, sys
r = json.loads(sys.stdin.read())
r.update(anchorTps=$anchor_tps, anchorMovementsPerSecond=$anchor_mps,
         ratio=round(r['movementsPerSecond'] / $anchor_mps, 3) if $anchor_mps else None,
         requestRatio=round(r['requestsPerSecond'] / $anchor_tps, 3) if $anchor_tps else None,
         anchorP50Ms=$a50, anchorP95Ms=$a95, anchorP99Ms=$a99, anchorMaxMs=$amax, anchorMovementP50Ms=$am50, anchorMovementP99Ms=$am99, anchorErrors='$anchor_errors',
         anchorCpuSeconds=dict(postgres=$anchor_cpu, client=$anchor_client_cpu), anchorWalFlushes=json.loads('$anchor_wal'), walFlushes=json.loads('$wal'),
         cpuSeconds=dict(silo=$s1-$s0, api=$a1-$a0, postgres=$p1-$p0, client=$c1-$c0), gc=json.loads('$gc'), siloMemory=json.loads('$memory'))
print(json.dumps(r))")")
  done
done

echo >&2
echo "grain state rows (bytes per payload):"
psql "$pguri/tekana" -At -F ' ' -c "SELECT '  ' || grain_type, count(*), round(avg(length(payload))), max(length(payload)) FROM (SELECT grain_type, payload FROM orleans_storage UNION ALL SELECT grain_type, payload FROM tekana_transactional_state) s GROUP BY 1 ORDER BY 1"
check="$("${bench[@]}" check --api "$api_url" --wallets-file "$work/wallets.txt")" || { echo "INVARIANTS VIOLATED: $check" >&2; exit 1; }
echo "invariants: $check"
echo "ratios (tekana moves/s / its scenario's pgbench moves/s, same clients; requests likewise):"
for r in "${results[@]}"; do echo "$r" | python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); print("  {:<9} clients={:<4} ratio={:<6} requests={}".format(r["scenario"], r["clients"], r["ratio"], r["requestRatio"]))'; done
mkdir -p "$here/results"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
printf '%s\n' "${results[@]}" | python3 -c "import json,sys; print(json.dumps({'wallets': $wallets, 'seconds': $seconds, 'runs': [json.loads(l) for l in sys.stdin if l.strip()], 'invariants': json.loads('''$check''')}, indent=2))" >"$here/results/$stamp.json"
echo "written: bench/results/$stamp.json"
