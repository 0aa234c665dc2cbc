#!/usr/bin/env bash
# A against B on this machine: runs bench/run.sh for two revisions (or one revision with and without extra environment)
# in alternating pairs, A B then B A, so that the machine's drift falls on both alike, and prints each pair side by
# side with the mean of B over A. Single runs here vary by ±10 % and more; judge a change by its pairs.
#   bench/compare.sh A B [--pairs 3] [--scenarios "uniform"] [--clients "64"] [--seconds 20] [--warmup 5] [--wallets 10000] [--env-b "K=V ..."]
# A and B are git revisions (HEAD, a commit, a branch); --env-b sets environment for B's runs only (a runtime setting
# against none: bench/compare.sh HEAD HEAD --env-b "DOTNET_GCgen0size=0x4000000").
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
[[ $# -ge 2 && "$1" != --* && "$2" != --* ]] || { sed -n '2,7p' "${BASH_SOURCE[0]}" >&2; exit 2; }
rev_a="$1" rev_b="$2"; shift 2
pairs=3 env_b="" warmup=5 run_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --pairs) pairs="$2"; shift 2 ;;
    --env-b) env_b="$2"; shift 2 ;;
    --warmup) warmup="$2"; run_args+=("$1" "$2"); shift 2 ;;
    --scenarios|--clients|--seconds|--wallets) run_args+=("$1" "$2"); shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

work="$(mktemp -d)"
cleanup() {
  git -C "$root" worktree remove --force "$work/a" >/dev/null 2>&1 || true
  git -C "$root" worktree remove --force "$work/b" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
git -C "$root" worktree add -q --detach "$work/a" "$rev_a"
git -C "$root" worktree add -q --detach "$work/b" "$rev_b"

# The newest results file of a worktree's benchmark runs, or nothing.
newest() {
  local files=("$1"/bench/results/*.json)
  [[ -e "${files[0]}" ]] && ls -t "${files[@]}" | head -1 || true
}

# Runs one side's benchmark and appends its results, tagged with side and pair, to $work/results.
run_side() {
  local side="$1" pair="$2" dir="$work/$1" before json
  before="$(newest "$dir")"
  echo "pair $pair, $side ($([[ $side == a ]] && echo "$rev_a" || echo "$rev_b ${env_b}"))" >&2
  if [[ $side == b && -n "$env_b" ]]; then
    # shellcheck disable=SC2086 # the settings are meant to split into words
    env $env_b "$dir/bench/run.sh" "${run_args[@]}" >"$work/$side$pair.out" 2>&1
  else
    "$dir/bench/run.sh" "${run_args[@]}" >"$work/$side$pair.out" 2>&1
  fi || { cat "$work/$side$pair.out" >&2; exit 1; }
  json="$(newest "$dir")"
  [[ -n "$json" && "$json" != "$before" ]] || { echo "no results from $side" >&2; exit 1; }
  python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); [print(json.dumps(dict(r, side=sys.argv[2], pair=int(sys.argv[3])))) for r in d["runs"]]' \
    "$json" "$side" "$pair" >>"$work/results"
}

for pair in $(seq 1 "$pairs"); do
  if (( pair % 2 )); then run_side a "$pair"; run_side b "$pair"; else run_side b "$pair"; run_side a "$pair"; fi
done

python3 - "$work/results" "$rev_a" "$rev_b${env_b:+ with $env_b}" "$warmup" <<'EOF'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
warmup = float(sys.argv[4])
mean = lambda xs: statistics.mean(xs) if xs else float("nan")
api_rows, memory_rows = [], []
print(f"\nA = {sys.argv[2]}, B = {sys.argv[3]}")
print("moves/s per pair (requests/s for mixed); means of the runs' anchor ratios, p99 ms, silo CPU ms per movement, share")
print("of the run the silo was paused for garbage collection (%) and KB the silo allocated per request")
print(f"{'scenario':<9} {'clients':>7}  {'A':<26} {'B':<26} {'B/A mean':>8} {'B/A pairs':<18} {'ratio A':>7} {'ratio B':>7} {'p99 A':>6} {'p99 B':>6} {'cpu A':>6} {'cpu B':>6} {'gc A':>5} {'gc B':>5} {'KB A':>5} {'KB B':>5}")
keys = sorted({(r["scenario"], r["clients"]) for r in runs}, key=lambda k: (k[1], k[0]))
for scenario, clients in keys:
    side = {s: sorted((r for r in runs if r["side"] == s and r["scenario"] == scenario and r["clients"] == clients), key=lambda r: r["pair"]) for s in "ab"}
    rate = lambda r: r["requestsPerSecond"] if scenario == "mixed" else r["movementsPerSecond"]
    # CPU seconds cover the warm-up too, at about the measured rate.
    cpu = lambda r: 1000 * r["cpuSeconds"]["silo"] / (rate(r) * (r["seconds"] + warmup))
    per_pair = [rate(b) / rate(a) for a, b in zip(side["a"], side["b"])]
    fmt = lambda rs: ", ".join(f"{rate(r):,.0f}" for r in rs)
    # Results from before the benchmark reported garbage collection have none.
    silo_gc = lambda rs, key: mean([r["gc"]["silo"][key] for r in rs if (r.get("gc") or {}).get("silo")])
    print(f"{scenario:<9} {clients:>7}  {fmt(side['a']):<26} {fmt(side['b']):<26} {mean(per_pair):>8.3f} "
          f"{', '.join(f'{x:.2f}' for x in per_pair):<18} {mean([r['ratio'] for r in side['a']]):>7.3f} "
          f"{mean([r['ratio'] for r in side['b']]):>7.3f} {mean([r['p99Ms'] for r in side['a']]):>6.1f} {mean([r['p99Ms'] for r in side['b']]):>6.1f} "
          f"{mean([cpu(r) for r in side['a']]):>6.3f} {mean([cpu(r) for r in side['b']]):>6.3f} "
          f"{silo_gc(side['a'], 'pausePercent'):>5.1f} {silo_gc(side['b'], 'pausePercent'):>5.1f} "
          f"{silo_gc(side['a'], 'allocatedKBPerRequest'):>5.1f} {silo_gc(side['b'], 'allocatedKBPerRequest'):>5.1f}")
    api_cpu = lambda rs: mean([1000 * r["cpuSeconds"]["api"] / (r["requestsPerSecond"] * (r["seconds"] + warmup)) for r in rs])
    api_kb = lambda rs: mean([r["gc"]["api"]["allocatedKBPerRequest"] for r in rs if (r.get("gc") or {}).get("api")])
    api_rows.append(f"{scenario:<9} {clients:>7}  {api_cpu(side['a']):>6.3f} {api_cpu(side['b']):>6.3f} "
                    f"{api_kb(side['a']):>6.1f} {api_kb(side['b']):>6.1f}")
    # Results from before the benchmark reported the silo's memory have none.
    memory = lambda rs, f: mean([f(r["siloMemory"]) for r in rs if r.get("siloMemory")])
    memory_rows.append(f"{scenario:<9} {clients:>7}  {memory(side['a'], lambda m: m['heapMB']):>7,.0f} {memory(side['b'], lambda m: m['heapMB']):>7,.0f} "
                       f"{memory(side['a'], lambda m: m['workingSetMB'] or 0):>7,.0f} {memory(side['b'], lambda m: m['workingSetMB'] or 0):>7,.0f} "
                       f"{memory(side['a'], lambda m: sum(m['activations'].values())):>9,.0f} {memory(side['b'], lambda m: sum(m['activations'].values())):>9,.0f}")

print("\nthe API per request, means: CPU ms (warm-up included, as above) and KB allocated")
print(f"{'scenario':<9} {'clients':>7}  {'cpu A':>6} {'cpu B':>6} {'KB A':>6} {'KB B':>6}")
print("\n".join(api_rows))
print("\nthe silo at the end of each run, means: managed heap and working set (MB), grain activations")
print(f"{'scenario':<9} {'clients':>7}  {'heap A':>7} {'heap B':>7} {'rss A':>7} {'rss B':>7} {'grains A':>9} {'grains B':>9}")
print("\n".join(memory_rows))
EOF
