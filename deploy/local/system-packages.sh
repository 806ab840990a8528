#!/usr/bin/env bash
# Installs the Debian packages rekap needs, only those missing: Python's venv, Tesseract, the
# Redis server program, wrk and nginx (for the API benchmark), Chromium (for the browser tests),
# and PostgreSQL when none is reachable where the settings point.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

missing=()
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
command -v tesseract >/dev/null || missing+=(tesseract-ocr tesseract-ocr-eng)
if ! reachable "$PG_HOST" "$PG_PORT" && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    missing+=(postgresql)
fi
# The Redis server program also when one is reachable: the tests restart a Redis of their own.
command -v redis-server >/dev/null || missing+=(redis-server)
# rekap bench api loads the API and nginx (serving the same bytes) with wrk; its test runs it.
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
# The browser tests drive Debian's Chromium with Playwright (tests/browser).
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
