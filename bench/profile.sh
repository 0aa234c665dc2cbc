#!/usr/bin/env bash
# Where one process's CPU goes during a benchmark scenario: runs bench/run.sh for that scenario, samples the process
# with perf (499 Hz, call graphs) for a window in the middle of Tekana's run, then prints its samples by module and its
# hottest functions. The benchmark's own table and checks come first, as usual.
#   bench/profile.sh [--scenario uniform] [--process silo|api|postgres|client] [--clients 64] [--seconds 30] [--window 10]
#                    [--allocations | --collections | --survivors] [--top 25]
# Keeps the samples in bench/results/perf-<process>.data (`perf report -i` it for call graphs). Needs perf
# (Debian: apt-get install linux-perf).
# --allocations samples what the silo, the API or the load generator allocates instead (bench/Tekana.Bench.Allocations, over EventPipe: no
# perf needed) and prints it by type, by the innermost frame outside the base class libraries, and by that frame's
# assembly.
# --collections lists the process's garbage collections in the window instead (over EventPipe): per generation, how
# many, their pauses, the bytes each promoted and the time each heap spent in each marking stage.
# --survivors takes a heap dump of the process at the window's start instead (the process stalls while it is written, so
# that run's figures suffer) and prints what its gen0 collections promoted: generation 1 by type, each type with the
# type that most often holds its objects.
# --top sets how many lines each of the --allocations and --survivors tables shows.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
scenario=uniform; process=silo; clients=64; seconds=30; window=10; allocations=false; collections=false; survivors=false; top=25
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scenario) scenario="$2"; shift 2 ;;
    --process) process="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --window) window="$2"; shift 2 ;;
    --allocations) allocations=true; shift ;;
    --collections) allocations=true; collections=true; shift ;;
    --survivors) allocations=true; survivors=true; shift ;;
    --top) top="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
case "$process" in
  silo) pattern="Tekana.Silo.dll" ;;
  api) pattern="Tekana.Api.dll" ;;
  postgres) pattern="postgres: " ;;
  client) pattern="Tekana.Bench.dll run" ;; # the load generator
  *) echo "--process is silo, api, postgres or client" >&2; exit 2 ;;
esac
if $allocations; then
  [[ "$process" != postgres ]] || { echo "--allocations, --collections and --survivors profile a .NET process: silo, api or client" >&2; exit 2; }
  dotnet build "$here/Tekana.Bench.Allocations" -c Release -nologo -v quiet -clp:ErrorsOnly >&2
else
  command -v perf >/dev/null || { echo "perf is missing (Debian: apt-get install linux-perf)" >&2; exit 1; }
fi
(( seconds >= window + 10 )) || { echo "--seconds must exceed --window by 10 s or more (warm-up and margins)" >&2; exit 2; }

mkdir -p "$here/results"
data="$here/results/perf-$process.data" out="$(mktemp)" report="$(mktemp)"
dump=""
trap 'rm -f "$out" "$report" "$dump"' EXIT
# perf names JIT-compiled .NET code only from the runtime's perf map, which it writes only where code is not
# double-mapped for W^X; without both, managed frames show as "memfd:doublemapper". EventPipe needs neither.
runtime=(DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0)
if $allocations; then runtime=(); fi
env "${runtime[@]}" "$here/run.sh" --scenarios "$scenario" --clients "$clients" --seconds "$seconds" > >(tee "$out") &
bench=$!
# Tekana's run starts once its anchor's line is printed; the window opens after its warm-up.
until grep -qE "^$scenario +$clients +pgbench" "$out"; do
  kill -0 "$bench" 2>/dev/null || { wait "$bench"; exit 1; }
  sleep 0.5
done
sleep 8
pids="$(pgrep -d, -f "$pattern")"
tool="$here/Tekana.Bench.Allocations/bin/Release/net10.0/Tekana.Bench.Allocations.dll"
if $allocations; then
  if $survivors; then
    dump="$(mktemp --suffix=.dmp)"
    dotnet "$tool" --pid "$pids" --write-dump "$dump"
    wait "$bench"
    dotnet "$tool" --survivors "$dump" --top "$top" >"$report"
    title="what its gen0 collections promoted, from a heap dump at the window's start"
  else
    dotnet "$tool" --pid "$pids" --seconds "$window" --collections "$collections" --top "$top" >"$report"
    wait "$bench"
    if $collections; then title="its garbage collections in the ${window} s window"
    else title="what it allocated in the ${window} s window (sampled)"; fi
  fi
  echo
  echo "$process, $scenario at $clients clients: $title"
  cat "$report"
  exit 0
fi
perf record -F 499 -g -p "$pids" -o "$data" -- sleep "$window" >/dev/null 2>&1
wait "$bench"

echo
echo "$process, $scenario at $clients clients: share of the ${window} s window's samples by module"
# A managed frame reads "[Assembly] Namespace.Type::Method"; any other is named by its shared object. Code the runtime
# generates that is not a method (write barriers, interface dispatch and other stubs) lies among the jitted code, whose
# shared object perf calls "[JIT] tid N": it is counted apart (with any jitted code the perf map does not name), not as
# the JIT compiler (which is libclrjit.so).
perf report -i "$data" --no-children -g none --sort dso,sym --percent-limit 0 2>/dev/null | awk '
  /^ +[0-9.]+%/ {
    share = $1; sub(/%/, "", share); module = $2; at = index($0, "[.] ")
    if ($0 ~ /\[k\] /) { module = "kernel" }
    else if (at > 0) { rest = substr($0, at + 4); if (match(rest, /\[[A-Za-z0-9_.]+\]/)) module = substr(rest, RSTART, RLENGTH); else if (module == "[JIT]") module = "runtime stubs" }
    by[module] += share
  }
  END { for (m in by) if (by[m] >= 0.5) printf "%7.2f%%  %s\n", by[m], m }' | sort -rn
echo
echo "hottest functions"
# awk reads the whole report: a reader that stops early would end perf, and this script, with SIGPIPE.
perf report -i "$data" --no-children -g none --sort sym 2>/dev/null | awk '/^ +[0-9.]+%/ && n++ < 25' | cut -c1-200
