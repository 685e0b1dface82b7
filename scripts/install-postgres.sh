#!/usr/bin/env bash
# Installs the PostgreSQL server programs (initdb, postgres) with apt, only when none are present.
# The tests and `orderflow up --postgres` start their own throwaway server from them; nothing here starts one.
# CI runs this as root; elsewhere it uses sudo.
set -euo pipefail

have_server() {
    local bin
    for bin in /usr/lib/postgresql/*/bin; do
        if [[ -x "$bin/initdb" && -x "$bin/postgres" ]]; then
            return 0
        fi
    done
    command -v initdb >/dev/null && command -v postgres >/dev/null
}

if have_server; then
    echo "install-postgres: PostgreSQL server programs already present"
    exit 0
fi

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
    SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update
"${SUDO[@]}" apt-get install -y --no-install-recommends postgresql

if ! have_server; then
    echo "install-postgres: apt installed postgresql but no initdb/postgres was found" >&2
    exit 1
fi
echo "install-postgres: installed $(ls -d /usr/lib/postgresql/*/bin | tail -n1)"
