#!/bin/sh
# Install the system programs the integration tests start on loopback: redis-server,
# PostgreSQL, and a headless Chromium with its WebDriver (the kaizen-serve dashboard test).
# Debian/Ubuntu packages. Idempotent: does nothing when everything is already installed.
# Run as root (CI) or with sudo available.
set -eu

have_redis() { command -v redis-server >/dev/null 2>&1; }
have_postgres() {
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1
}
have_chromium() {
    { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; } \
        && command -v chromedriver >/dev/null 2>&1
}

PACKAGES="redis-server postgresql chromium chromium-driver"

if have_redis && have_postgres && have_chromium; then
    echo "install-system-deps: redis-server, postgresql and chromium already installed"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-deps: apt-get not found; install $PACKAGES yourself" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install-system-deps: need root (or sudo) to apt-get install $PACKAGES" >&2
        exit 1
    fi
fi

echo "install-system-deps: installing $PACKAGES"
$SUDO apt-get update
# shellcheck disable=SC2086 # word splitting of the package list is intended
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $PACKAGES

if ! have_redis || ! have_postgres || ! have_chromium; then
    echo "install-system-deps: installation finished but redis-server, initdb or chromium/chromedriver is still missing" >&2
    exit 1
fi
echo "install-system-deps: done"
