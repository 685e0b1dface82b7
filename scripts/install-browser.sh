#!/usr/bin/env bash
# Installs Debian's Chromium, only when it is missing: the tests render the services' /docs pages in it, headless,
# with no outside network, to prove that Swagger UI comes from the service itself. CI runs this as root.
set -euo pipefail

if command -v chromium >/dev/null; then
    echo "install-browser: $(chromium --version 2>/dev/null || echo chromium) already present"
    exit 0
fi
SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
    SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update
"${SUDO[@]}" apt-get install -y --no-install-recommends chromium
echo "install-browser: installed $(chromium --version)"
