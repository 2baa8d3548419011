#!/usr/bin/env bash
# The single test command: every test of the solution, on the embedded store and on PostgreSQL.
#
#   scripts/test.sh [extra dotnet test arguments, e.g. --filter FullyQualifiedName~Storage]
#
# Installs the compatibility client (npm ci in tests/compat/node-marketo-rest; Debian's nodejs/npm if missing),
# installs Debian's `chromium` for the console's browser tests when missing and exports its path in SPILLWAY_TEST_CHROMIUM,
# starts a private PostgreSQL cluster in a temp folder (installing Debian's `postgresql` if initdb is missing),
# exports SPILLWAY_TEST_POSTGRES, runs `dotnet test Spillway.slnx -c Release`, then stops the cluster and removes
# the folder, then (when run without arguments) checks the code layout with `dotnet format --verify-no-changes`
# and tests what users install: the NuGet packages from a local folder, the dotnet tool and the self-contained
# binary (scripts/test-packages.sh). Exits non-zero when a test, the layout check or the package check fails.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

if ! command -v dotnet >/dev/null 2>&1; then
    echo "test.sh: the .NET SDK (dotnet) is required (see global.json)" >&2
    exit 1
fi

# The compatibility tests run the published node-marketo-rest client: Node.js and the locked package.
compat="$root/tests/compat/node-marketo-rest"
if [[ -f "$compat/package-lock.json" ]]; then
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        echo "test.sh: node/npm not found; installing Debian's nodejs and npm" >&2
        sudo=""
        if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >&2
    fi
    if [[ ! -d "$compat/node_modules/node-marketo-rest" || "$compat/package-lock.json" -nt "$compat/node_modules/.package-lock.json" ]]; then
        (cd "$compat" && npm ci --no-audit --no-fund --loglevel=error)
    fi
fi

# The console tests drive Debian's chromium through Playwright (Playwright's own browser download needs the internet).
# Without a browser they fail, so a missing one is installed here rather than skipped there.
chromium=$(command -v chromium || command -v chromium-browser || true)
if [[ -z "$chromium" ]]; then
    echo "test.sh: chromium not found; installing Debian's chromium" >&2
    sudo=""
    if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
    chromium=$(command -v chromium)
fi
export SPILLWAY_TEST_CHROMIUM="$chromium"

work=$(mktemp -d "${TMPDIR:-/tmp}/spillway-test.XXXXXX")
chmod 755 "$work"
cleanup() {
    "$root/scripts/pg.sh" stop "$work/pg" || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

SPILLWAY_TEST_POSTGRES=$("$root/scripts/pg.sh" start "$work/pg")
export SPILLWAY_TEST_POSTGRES
echo "test.sh: PostgreSQL at ${SPILLWAY_TEST_POSTGRES%%;Username*}"

results="$work/results"
set +e
dotnet test Spillway.slnx -c Release --logger "trx" --results-directory "$results" "$@"
rc=$?
set -e

# Sum the counters of every trx file (one per test project).
passed=0 failed=0 total=0
shopt -s nullglob
for trx in "$results"/*.trx; do
    counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
    p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
    f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
    t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
    passed=$(( passed + ${p:-0} )); failed=$(( failed + ${f:-0} )); total=$(( total + ${t:-0} ))
done
# The code layout the build does not enforce (whitespace, usings order): a change that needs `dotnet format` fails here.
format_rc=0
if [[ $# -eq 0 ]]; then
    echo "test.sh: dotnet format --verify-no-changes"
    dotnet format Spillway.slnx --verify-no-changes --no-restore || format_rc=$?
    if (( format_rc != 0 )); then
        echo "test.sh: dotnet format found changes to make; run 'dotnet format Spillway.slnx' and commit them" >&2
    fi
fi

packages_rc=0
if [[ $# -eq 0 ]]; then
    echo "test.sh: scripts/test-packages.sh"
    "$root/scripts/test-packages.sh" || packages_rc=$?
    if (( packages_rc != 0 )); then
        echo "test.sh: the package check failed" >&2
    fi
fi

if (( total > 0 )); then
    skipped=$(( total - passed - failed ))
    echo "$passed passed, $failed failed$( (( skipped > 0 )) && echo ", $skipped not run" )"
fi
if (( rc == 0 && format_rc != 0 )); then
    rc=$format_rc
fi
if (( rc == 0 && packages_rc != 0 )); then
    rc=$packages_rc
fi
exit $rc
