#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on a free loopback port, for tests, benchmarks and local clusters.
#   scripts/postgres.sh install        install Debian's postgresql if it is missing
#   scripts/postgres.sh start DIR      create and start a cluster in DIR; prints its base connection string
#   scripts/postgres.sh stop DIR       stop it and delete DIR
#   scripts/postgres.sh restart DIR [S] crash it (immediate stop), wait S seconds (default 0), start it on the same port
# Runs as the postgres user when invoked as root (initdb refuses root). Everything runs in UTC.
set -euo pipefail

pg_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    if [[ -x "$dir/initdb" ]]; then echo "$dir"; return 0; fi
  done
  return 1
}

as_postgres() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install_postgres() {
  # librdkafka (Kafka bridge and its tests) needs libsasl2-2; without it Confluent.Kafka silently loads another build.
  if command -v dpkg >/dev/null && ! dpkg -s libsasl2-2 >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libsasl2-2 >&2
  fi
  if pg_bin >/dev/null && command -v psql >/dev/null; then return 0; fi
  echo "installing postgresql (Debian package)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql postgresql-client >&2
  # The package starts a system cluster; nothing here uses it.
  if command -v pg_ctlcluster >/dev/null; then pg_ctlcluster --force 15 main stop >/dev/null 2>&1 || true; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start() {
  local dir="$1" bin port
  install_postgres
  bin="$(pg_bin)"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if [[ "$(id -u)" == 0 ]]; then chown postgres:postgres "$dir"; chmod 700 "$dir"; fi
  as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1
  port="$(free_port)"
  as_postgres tee -a "$dir/data/postgresql.conf" >/dev/null <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
timezone = 'UTC'
log_timezone = 'UTC'
max_connections = 400
shared_buffers = 256MB
synchronous_commit = on
fsync = on
CONF
  as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
  echo "$port" >"$dir/port"
  echo "Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
}

stop() {
  local dir="$1" bin
  bin="$(pg_bin)"
  if [[ -d "$dir/data" ]]; then
    as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

restart() {
  local dir="$1" down="${2:-0}" bin
  bin="$(pg_bin)"
  as_postgres "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
  sleep "$down"
  as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
}

case "${1:-}" in
  install) install_postgres ;;
  restart) restart "${2:?directory}" "${3:-0}" ;;
  start) start "${2:?directory}" ;;
  stop) stop "${2:?directory}" ;;
  *) echo "usage: $0 install | start DIR | stop DIR | restart DIR [SECONDS]" >&2; exit 2 ;;
esac
