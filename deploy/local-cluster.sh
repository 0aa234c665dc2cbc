#!/usr/bin/env bash
# The production topology as real processes on loopback: PostgreSQL (schema from sql/), N silos clustered through it,
# and the API as a client of the cluster. The cluster tests drive it; operators can use it to try a change.
#   deploy/local-cluster.sh start DIR [SILOS]     build, start everything (3 silos by default), wait until ready
#   deploy/local-cluster.sh stop DIR              stop everything and delete DIR
#   deploy/local-cluster.sh kill-silo DIR I       SIGKILL silo I (a crash)
#   deploy/local-cluster.sh term-silo DIR I       SIGTERM silo I and wait until it has drained and exited
#   deploy/local-cluster.sh start-silo DIR I      start silo I again once its old process has exited (or a new one: scale out)
#   deploy/local-cluster.sh restart-postgres DIR [SECONDS]   crash PostgreSQL, keep it down SECONDS, start it again
#   deploy/local-cluster.sh status DIR            processes and their readiness
# Ports: TEKANA_PORT_BASE (default 20000) + 100 + I silo, + 200 + I gateway, + 300 + I silo HTTP, + 80 API HTTP.
# TEKANA_KEEP_LOGS=DIR makes stop copy the process logs there first.
# Shared settings come from deploy/base/cluster.env, the same file docker-compose.yml uses. DIR/cluster.sh holds the URLs.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

base="${TEKANA_PORT_BASE:-20000}"

load_env() {
  set -a
  # shellcheck source=deploy/base/cluster.env
  source "$here/base/cluster.env"
  set +a
  # shellcheck disable=SC1091
  source "$1/cluster.sh"
  export ConnectionStrings__Postgres="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=tekana"
  export Auth__SigningKey="$SIGNING_KEY"
  export Auth__ServiceAccounts__clusteradmin__Secret="$ADMIN_SECRET" Auth__ServiceAccounts__clusteradmin__Role=admin
  export Auth__ServiceAccounts__clusteroperator__Secret="$ADMIN_SECRET" Auth__ServiceAccounts__clusteroperator__Role=operator
  export RateLimiting__Enabled=false
  export Logging__LogLevel__Default=Warning
  # How soon the API spreads its movements over a silo that (re)joined; the tests shorten it from one minute.
  export Orleans__ClientRebalancePeriod="${TEKANA_CLIENT_REBALANCE:-00:01:00}"
  export Security__PasswordHashing__IterationCount="${TEKANA_PASSWORD_ITERATIONS:-100000}"
}

wait_ready() { # URL SECONDS
  local deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null --max-time 5 "$1/health/ready" 2>/dev/null; do
    if ((SECONDS > deadline)); then echo "not ready after $2 s: $1" >&2; return 1; fi
    sleep 0.5
  done
}

wait_exit() { # PID [SECONDS]: returns once the process has exited; fails if it still runs after SECONDS
  local deadline=$((SECONDS + ${2:-0}))
  while kill -0 "$1" 2>/dev/null; do
    if [[ -n "${2:-}" ]] && ((SECONDS >= deadline)); then return 1; fi
    sleep 0.2
  done
}

start_silo() { # DIR I
  local dir="$1" i="$2" pid
  # Silo I's previous process may still be draining (term-silo): wait for it to exit. A new silo on the same address
  # declares an older one on that address dead, which turns the draining silo's graceful stop into a crash (its
  # directory ranges go under the dead-silo lease, its gateway's requests fail); and both could listen on the port.
  if [[ -f "$dir/silo-$i.pid" ]]; then
    pid="$(cat "$dir/silo-$i.pid")"
    wait_exit "$pid" 120 || { echo "silo $i (pid $pid) is still running" >&2; return 1; }
  fi
  load_env "$dir"
  Orleans__SiloPort=$((base + 100 + i)) Orleans__GatewayPort=$((base + 200 + i)) ASPNETCORE_URLS="http://127.0.0.1:$((base + 300 + i))" \
    nohup dotnet "$root/src/Tekana.Silo/bin/Release/net10.0/Tekana.Silo.dll" >>"$dir/silo-$i.log" 2>&1 &
  echo $! >"$dir/silo-$i.pid"
  wait_ready "http://127.0.0.1:$((base + 300 + i))" 90
}

start_api() { # DIR
  local dir="$1"
  load_env "$dir"
  ASPNETCORE_URLS="http://127.0.0.1:$((base + 80))" nohup dotnet "$root/src/Tekana.Api/bin/Release/net10.0/Tekana.Api.dll" >>"$dir/api.log" 2>&1 &
  echo $! >"$dir/api.pid"
  wait_ready "http://127.0.0.1:$((base + 80))" 90
}

start() { # DIR SILOS
  local dir="$1" silos="${2:-3}" i
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  chmod 755 "$dir" # the database cluster inside runs as the postgres user
  if [[ -z "${TEKANA_NO_BUILD:-}" ]]; then
    dotnet build "$root/src/Tekana.Silo" -c Release -nologo -v quiet -clp:ErrorsOnly >&2
    dotnet build "$root/src/Tekana.Api" -c Release -nologo -v quiet -clp:ErrorsOnly >&2
  fi
  "$root/scripts/postgres.sh" start "$dir/pg" >/dev/null
  local port
  port="$(cat "$dir/pg/port")"
  psql "postgresql://postgres@127.0.0.1:$port/postgres" -q -c "CREATE DATABASE tekana" >/dev/null
  "$root/scripts/apply-sql.sh" "postgresql://postgres@127.0.0.1:$port/tekana"
  cat >"$dir/cluster.sh" <<ENV
PG_PORT=$port
PG_URI=postgresql://postgres@127.0.0.1:$port/tekana
API_URL=http://127.0.0.1:$((base + 80))
SILOS=$silos
SIGNING_KEY=local-cluster-$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
ADMIN_SECRET=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
ENV
  for ((i = 1; i <= silos; i++)); do start_silo "$dir" "$i"; done
  start_api "$dir"
  status "$dir"
}

signal_silo() { # DIR I SIGNAL
  local pid
  pid="$(cat "$1/silo-$2.pid")"
  kill "-$3" "$pid"
  # Wait for the process to go (a graceful stop drains first).
  wait_exit "$pid"
}

stop() { # DIR
  local dir="$1" f
  [[ -d "$dir" ]] || return 0
  for f in "$dir"/api.pid "$dir"/silo-*.pid; do
    [[ -f "$f" ]] && kill "$(cat "$f")" 2>/dev/null || true
  done
  for f in "$dir"/api.pid "$dir"/silo-*.pid; do
    [[ -f "$f" ]] || continue
    wait_exit "$(cat "$f")" 20 || kill -9 "$(cat "$f")" 2>/dev/null || true
  done
  if [[ -n "${TEKANA_KEEP_LOGS:-}" ]]; then
    mkdir -p "$TEKANA_KEEP_LOGS" && cp "$dir"/*.log "$TEKANA_KEEP_LOGS"/ 2>/dev/null || true
  fi
  "$root/scripts/postgres.sh" stop "$dir/pg"
  rm -rf "$dir"
}

status() { # DIR
  local dir="$1" f name state
  for f in "$dir"/silo-*.pid "$dir"/api.pid; do
    [[ -f "$f" ]] || continue
    name="$(basename "$f" .pid)"
    if kill -0 "$(cat "$f")" 2>/dev/null; then state=running; else state=stopped; fi
    echo "$name pid=$(cat "$f") $state"
  done
  grep -E '^(API_URL|PG_URI)=' "$dir/cluster.sh"
}

case "${1:-}" in
  start) start "${2:?directory}" "${3:-3}" ;;
  stop) stop "${2:?directory}" ;;
  kill-silo) signal_silo "${2:?directory}" "${3:?silo number}" KILL ;;
  term-silo) signal_silo "${2:?directory}" "${3:?silo number}" TERM ;;
  start-silo) start_silo "${2:?directory}" "${3:?silo number}" ;;
  restart-postgres) "$root/scripts/postgres.sh" restart "${2:?directory}/pg" "${3:-0}" ;;
  status) status "${2:?directory}" ;;
  *) sed -n '2,13p' "$0" >&2; exit 2 ;;
esac
