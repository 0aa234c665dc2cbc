#!/usr/bin/env bash
# Runs the README as a reader would: its first command (the product on the embedded default, here on a free port) and,
# against it, the example under "Trying it", every call of which must succeed. Then checks what the example says it
# does: Bob's balance after the transfer and his withdrawal, and a replay of the transfer under its key. Run by
# scripts/test.sh; installs curl and jq if the machine lacks them.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

if ! command -v curl >/dev/null || ! command -v jq >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl jq >/dev/null
fi

work="$(mktemp -d /tmp/tekana-readme.XXXXXX)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
api_pid=""
keep=""
stop() {
  if [[ -n "$api_pid" ]]; then kill -- "-$api_pid" 2>/dev/null || true; wait "$api_pid" 2>/dev/null || true; fi
  if [[ -z "$keep" ]]; then rm -rf "$work"; fi
}
trap stop EXIT

# The README's first command, with the port the only change (--urls overrides the launch profile's).
first="$(sed -n '/^```bash$/{n;p;q}' README.md)"
command="${first%%#*}"
[[ "$command" == "dotnet run --project src/Tekana.Api"* ]] || { echo "README: the first command is not the API's: $first" >&2; exit 1; }
setsid $command --urls "http://127.0.0.1:$port" >"$work/api.log" 2>&1 &
api_pid=$!
for _ in $(seq 1 240); do
  if grep -q "Now listening" "$work/api.log"; then break; fi
  if ! kill -0 "$api_pid" 2>/dev/null; then cat "$work/api.log" >&2; echo "README: the first command exited" >&2; exit 1; fi
  sleep 0.5
done
grep -q "Now listening" "$work/api.log" || { tail -50 "$work/api.log" >&2; echo "README: the API did not start in 120 s" >&2; exit 1; }

# The example: the first bash block after "## Trying it", pointed at this port. Every curl fails on an HTTP error.
printf '%s\n' 'set -euo pipefail' 'trap '"'"'echo "failed: $BASH_COMMAND" >&2'"'"' ERR' \
  'curl() { command curl --fail-with-body --show-error "$@"; }' >"$work/example.sh"
sed -n '/^## Trying it/,/^## /p' README.md | sed -n '/^```bash$/,/^```$/{/^```/d;p}' \
  | sed "s#^API=http://localhost:5080/api/v1\$#API=http://127.0.0.1:$port/api/v1#" >>"$work/example.sh"
grep -q "^API=http://127.0.0.1:$port/api/v1\$" "$work/example.sh" || { echo "README: the example does not set API= as expected" >&2; exit 1; }
cat >>"$work/example.sh" <<'CHECKS'
for value in ADA BOB OPS ADA_WALLET BOB_WALLET; do
  [[ -n "${!value}" && "${!value}" != null ]] || { echo "$value is empty" >&2; exit 1; }
done
balance=$(curl -s $API/wallets/$BOB_WALLET -H "authorization: Bearer $BOB" | jq -r .balance)
[[ "$balance" == 1500 ]] || { echo "Bob's balance is $balance, not 1500" >&2; exit 1; }
replay=$(curl -s -i -X POST $API/transfers -H "authorization: Bearer $ADA" -H 'Idempotency-Key: rent-2026-11' -H 'content-type: application/json' \
  -d "{\"fromWalletId\":\"$ADA_WALLET\",\"toWalletId\":\"$BOB_WALLET\",\"amount\":2500,\"currency\":\"RWF\",\"description\":\"rent\"}")
grep -qi '^idempotent-replayed: true' <<<"$replay" || { echo "the transfer sent again was not a replay: $replay" >&2; exit 1; }
balance=$(curl -s $API/wallets/$ADA_WALLET -H "authorization: Bearer $ADA" | jq -r .balance)
[[ "$balance" == 7500 ]] || { echo "Ada's balance is $balance, not 7500 after the replay" >&2; exit 1; }
CHECKS
if ! bash "$work/example.sh" >"$work/example.log" 2>&1; then
  cat "$work/example.log" >&2
  echo "README: the example under \"Trying it\" failed (above); the API's log: $work/api.log" >&2
  keep=1
  exit 1
fi
echo "README checked: its first command serves the example under \"Trying it\""
