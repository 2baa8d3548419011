#!/usr/bin/env bash
# Proves a published `spillway` binary works on a machine without .NET: copies it to an empty folder and runs it
# with a PATH that has no dotnet, then creates a subscription and an API user, seeds activities, serves, and
# exports a week through the Bulk Activity Extract API, checking the rows. Exits non-zero on any failure.
#   scripts/smoke-binary.sh artifacts/bin/linux-x64/spillway
set -euo pipefail
# As root, run in a mount namespace where the .NET installation is hidden under an empty tmpfs: then not even a
# stray DOTNET_ROOT or a fallback lookup could find a runtime.
dotnet_home="$(dirname "$(readlink -f "$(command -v dotnet 2>/dev/null || echo /usr/share/dotnet/dotnet)")")"
if [ "${SMOKE_INNER:-}" != 1 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && [ -d "$dotnet_home" ]; then
  exec unshare --mount env SMOKE_INNER=1 SMOKE_HIDE="$dotnet_home" bash "$0" "$@"
fi
if [ -n "${SMOKE_HIDE:-}" ]; then
  mount -t tmpfs tmpfs "$SMOKE_HIDE"
fi
binary="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
work="$(mktemp -d)"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cp "$binary" "$work/spillway"
cd "$work"
mkdir -p "$work/empty-path"
run() { env -i PATH="$work/empty-path" HOME="$work" DOTNET_BUNDLE_EXTRACT_BASE_DIR="$work/.net" ./spillway "$@"; }
if [ -n "${SMOKE_HIDE:-}" ] && [ -e "$SMOKE_HIDE/dotnet" ]; then
  echo "smoke: $SMOKE_HIDE/dotnet is still visible" >&2
  exit 1
fi

mkdir -p data
run --version
run subscription create 900-SMK-001 --data ./data >/dev/null
credentials="$(run user add 900-SMK-001 smoke@example.com -p "Read-Only Activity" --data ./data 2>&1)"
client_id="$(echo "$credentials" | awk '/client_id/ {print $2}')"
client_secret="$(echo "$credentials" | awk '/client_secret/ {print $2}')"
[ -n "$client_id" ] && [ -n "$client_secret" ] || { echo "smoke: no credentials in: $credentials" >&2; exit 1; }
run seed 900-SMK-001 -n 20000 --days 10 --data ./data >/dev/null

port=$(( 20000 + RANDOM % 20000 ))
# Not through run(): $! must be the server's own pid, so that the clean-up stops it.
env -i PATH="$work/empty-path" HOME="$work" DOTNET_BUNDLE_EXTRACT_BASE_DIR="$work/.net" \
  ./spillway serve --data ./data --urls "http://127.0.0.1:$port" --no-demo >serve.log 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs "http://127.0.0.1:$port/health" >/dev/null || { echo "smoke: the server did not answer /health" >&2; cat serve.log >&2; exit 1; }

run export --url "http://127.0.0.1:$port" --client-id "$client_id" --client-secret "$client_secret" \
  --since 7d --poll-seconds 0.2 --plain -o week.csv >export.log 2>&1 || { cat export.log >&2; exit 1; }
rows=$(( $(wc -l < week.csv) - 1 ))
[ "$rows" -gt 1000 ] || { echo "smoke: the export has $rows rows" >&2; cat export.log >&2; exit 1; }
echo "smoke: $(run --version) served, seeded and exported $rows rows without .NET on PATH${SMOKE_HIDE:+ and with $SMOKE_HIDE hidden}" >&2
