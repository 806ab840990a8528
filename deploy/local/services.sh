#!/usr/bin/env bash
# start | stop | status: a project-local PostgreSQL and Redis, used only when nothing answers at
# REKAP_DATABASE_URL / REKAP_REDIS_URL. Their data lives under .local/ (git-ignored).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

PG_DATA="$LOCAL_DIR/postgres"
RUN_DIR="$LOCAL_DIR/run"
REDIS_DIR="$LOCAL_DIR/redis"

# PostgreSQL refuses to run as root: use its own system user then.
as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_bin() {
    local bin
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [ -n "$bin" ] || { echo "PostgreSQL is not installed: run 'make setup'" >&2; exit 1; }
    echo "$bin"
}

start_postgres() {
    if reachable "$PG_HOST" "$PG_PORT"; then
        echo "PostgreSQL: using the server at $PG_HOST:$PG_PORT"
        return
    fi
    local bin
    bin="$(pg_bin)"
    mkdir -p "$PG_DATA" "$RUN_DIR"
    [ "$(id -u)" -ne 0 ] || chown postgres "$PG_DATA" "$RUN_DIR"
    if [ ! -s "$PG_DATA/PG_VERSION" ]; then
        as_postgres "$bin/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    as_postgres "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 60 \
        -o "-p $PG_PORT -k $RUN_DIR -c listen_addresses=$PG_HOST" start >/dev/null
    echo "PostgreSQL: started a local server at $PG_HOST:$PG_PORT (data in $PG_DATA)"
}

start_redis() {
    if reachable "$REDIS_HOST" "$REDIS_PORT"; then
        echo "Redis: using the server at $REDIS_HOST:$REDIS_PORT"
        return
    fi
    mkdir -p "$REDIS_DIR"
    redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" --dir "$REDIS_DIR" \
        --save "" --appendonly yes --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log"
    for _ in $(seq 50); do reachable "$REDIS_HOST" "$REDIS_PORT" && break; sleep 0.1; done
    reachable "$REDIS_HOST" "$REDIS_PORT" || { echo "Redis did not start: see $REDIS_DIR/redis.log" >&2; exit 1; }
    echo "Redis: started a local server at $REDIS_HOST:$REDIS_PORT (data in $REDIS_DIR)"
}

stop() {
    if [ -s "$PG_DATA/postmaster.pid" ]; then
        as_postgres "$(pg_bin)/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null && echo "PostgreSQL: stopped the local server"
    fi
    if [ -s "$REDIS_DIR/redis.pid" ]; then
        kill "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null && echo "Redis: stopped the local server"
        rm -f "$REDIS_DIR/redis.pid"
    fi
}

status() {
    reachable "$PG_HOST" "$PG_PORT" && echo "PostgreSQL: up at $PG_HOST:$PG_PORT" || echo "PostgreSQL: down at $PG_HOST:$PG_PORT"
    reachable "$REDIS_HOST" "$REDIS_PORT" && echo "Redis: up at $REDIS_HOST:$REDIS_PORT" || echo "Redis: down at $REDIS_HOST:$REDIS_PORT"
}

case "${1:-}" in
    start) start_postgres; start_redis ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
