#!/bin/sh
# Install the system services the integration tests start on loopback:
# redis-server and PostgreSQL (Debian/Ubuntu packages). Idempotent: does nothing
# when both are already installed. Run as root (CI) or with sudo available.
set -eu

have_redis() { command -v redis-server >/dev/null 2>&1; }
have_postgres() {
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1
}

if have_redis && have_postgres; then
    echo "install-system-deps: redis-server and postgresql already installed"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-deps: apt-get not found; install redis-server and postgresql (initdb, pg_ctl) yourself" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install-system-deps: need root (or sudo) to apt-get install redis-server postgresql" >&2
        exit 1
    fi
fi

echo "install-system-deps: installing redis-server postgresql"
$SUDO apt-get update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server postgresql

if ! have_redis || ! have_postgres; then
    echo "install-system-deps: installation finished but redis-server or initdb is still missing" >&2
    exit 1
fi
echo "install-system-deps: done"
