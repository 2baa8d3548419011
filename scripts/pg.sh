#!/usr/bin/env bash
# A private, throw-away PostgreSQL cluster for tests.
#
#   scripts/pg.sh start DIR   initdb in DIR (created if missing), start on a free loopback port, socket in DIR;
#                             prints the Npgsql connection string on stdout
#   scripts/pg.sh stop DIR    stop the cluster and remove DIR
#
# Installs Debian's `postgresql` when no initdb is found. When run as root, the server runs as the `postgres`
# OS user (PostgreSQL refuses to run as root). Tuned for tests: trust auth, fsync off, 127.0.0.1 only.
set -euo pipefail

log() { echo "pg.sh: $*" >&2; }

find_pgbin() {
    local candidate
    if candidate=$(command -v initdb 2>/dev/null); then
        dirname "$(readlink -f "$candidate")"
        return 0
    fi
    for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$candidate/initdb" ]]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

ensure_pgbin() {
    local bin
    if bin=$(find_pgbin); then
        echo "$bin"
        return 0
    fi
    log "initdb not found; installing Debian's postgresql"
    local sudo=""
    if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    bin=$(find_pgbin) || { log "PostgreSQL installed but initdb still not found"; return 1; }
    echo "$bin"
}

# Runs a PostgreSQL binary as the cluster owner.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
    local dir=$1 bin port attempt
    bin=$(ensure_pgbin)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [[ $(id -u) -eq 0 ]]; then chown postgres: "$dir"; fi
    chmod 700 "$dir"

    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; return 1; }

    for attempt in 1 2 3 4 5 6 7 8; do
        port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
        if port_in_use "$port"; then continue; fi
        cat >"$dir/data/postgresql.auto.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 500
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 128MB
# Not UTC on purpose: the stores must not depend on the session time zone.
timezone = 'America/Chicago'
log_min_messages = warning
CONF
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null 2>&1; then
            echo "Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres;Maximum Pool Size=50"
            return 0
        fi
        log "start on port $port failed (attempt $attempt); server.log:"
        tail -n 5 "$dir/server.log" >&2 || true
    done
    log "could not start PostgreSQL"
    return 1
}

stop() {
    local dir=$1 bin
    if [[ -f "$dir/data/postmaster.pid" ]] && bin=$(find_pgbin); then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
    start) start "${2:?usage: pg.sh start DIR}" ;;
    stop) stop "${2:?usage: pg.sh stop DIR}" ;;
    *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
