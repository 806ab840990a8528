# Shared by the local scripts: where things are, and what REKAP_DATABASE_URL / REKAP_REDIS_URL point at.
# shellcheck shell=bash
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL_DIR="${REKAP_LOCAL_DIR:-$ROOT/.local}"
DATABASE_URL="${REKAP_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/rekap}"
REDIS_URL="${REKAP_REDIS_URL:-redis://127.0.0.1:6379/0}"

# host and port of a URL, e.g. "127.0.0.1 5432"
url_endpoint() {
    python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(p.hostname or "127.0.0.1", p.port or int(sys.argv[2]))' "$1" "$2"
}

# whether something accepts TCP connections at host:port
reachable() {
    python3 -c 'import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()' "$1" "$2" 2>/dev/null
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

read -r PG_HOST PG_PORT <<<"$(url_endpoint "$DATABASE_URL" 5432)"
read -r REDIS_HOST REDIS_PORT <<<"$(url_endpoint "$REDIS_URL" 6379)"

# The URL migrations use (the owner of the tables): REKAP_DATABASE_OWNER_URL, else REKAP_DATABASE_URL.
OWNER_DATABASE_URL="${REKAP_DATABASE_OWNER_URL:-$DATABASE_URL}"

# The URL the API and workers use. With REKAP_DATABASE_OWNER_URL set, REKAP_DATABASE_URL as given;
# otherwise the owner's URL logging in as rekap_app (sql/012_least_privilege.sql) instead, with a
# password generated once into $LOCAL_DIR/service-db-password (`rekap db migrate` sets it).
service_database_url() {
    if [ -n "${REKAP_DATABASE_OWNER_URL:-}" ]; then
        echo "$DATABASE_URL"
        return
    fi
    local secret="$LOCAL_DIR/service-db-password"
    if [ ! -s "$secret" ]; then
        mkdir -p "$LOCAL_DIR"
        (umask 077 && python3 -c 'import secrets; print(secrets.token_hex(16))' >"$secret")
    fi
    python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); host = p.hostname or "127.0.0.1"; print(u.urlunsplit(p._replace(netloc=f"rekap_app:{sys.argv[2]}@{host}:{p.port or 5432}")))' \
        "$OWNER_DATABASE_URL" "$(cat "$secret")"
}
