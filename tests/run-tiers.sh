#!/usr/bin/env bash
# `make test`: the suite as two pytest runs side by side. The Kubernetes tiers (apiserver, cluster) spend most of
# their time waiting on Go builds, pods and brokers, and the Python tiers (unit, integration, e2e) fit in those
# waits instead of running before them. The Kubernetes run reports as it goes; the Python run writes a log that
# is shown when both have ended. Options go to both runs; with a test path among the arguments, a single run
# takes them all.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTEST="${VENV_BIN:-.venv/bin}/pytest"
for arg in "$@"; do
    if [[ "$arg" != -* && -e "${arg%%::*}" ]]; then
        exec "$PYTEST" "$@"
    fi
done

log="$(mktemp -t orderflow-python-tiers.XXXXXX)"
echo "make test: unit, integration and e2e run beside the apiserver and cluster tiers (their log: $log)"
"$PYTEST" tests/unit tests/integration tests/e2e "$@" >"$log" 2>&1 &
python_tiers=$!
# Interrupted: SIGTERM lets the Python run's fixtures stop what they started.
trap 'kill -TERM "$python_tiers" 2>/dev/null; wait "$python_tiers"; exit 130' INT TERM
"$PYTEST" tests/apiserver tests/cluster "$@"
kubernetes=$?
wait "$python_tiers"
python=$?
echo
echo "===== unit, integration and e2e ($log) ====="
cat "$log"
# 5 is pytest's "no test selected" (a -k or -m that only matches in the other run).
[[ $python == 5 && $kubernetes != 5 ]] && python=0
[[ $kubernetes == 5 && $python != 5 ]] && kubernetes=0
echo "make test: unit/integration/e2e exit $python, apiserver/cluster exit $kubernetes"
exit $((python != 0 ? python : kubernetes))
