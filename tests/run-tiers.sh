#!/usr/bin/env bash
# `make test`: the suite as two pytest runs side by side. The cluster tier is the longest by far and spends most of
# its time waiting on pods and brokers, so it runs alone in one; unit, integration, e2e and the apiserver tier (a
# bare API server, no kind cluster) fit in its waits in the other. The cluster run reports as it goes; the other
# writes a log that is shown when both have ended. Options go to both runs; with a test path among the arguments,
# a single run takes them all.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTEST="${VENV_BIN:-.venv/bin}/pytest"
for arg in "$@"; do
    if [[ "$arg" != -* && -e "${arg%%::*}" ]]; then
        exec "$PYTEST" "$@"
    fi
done

log="$(mktemp -t orderflow-tiers.XXXXXX)"
echo "make test: unit, integration, e2e and apiserver run beside the cluster tier (their log: $log)"
"$PYTEST" tests/unit tests/integration tests/e2e tests/apiserver "$@" >"$log" 2>&1 &
others=$!
# Interrupted: SIGTERM lets the other run's fixtures stop what they started.
trap 'kill -TERM "$others" 2>/dev/null; wait "$others"; exit 130' INT TERM
"$PYTEST" tests/cluster "$@"
cluster=$?
wait "$others"
others=$?
echo
echo "===== unit, integration, e2e and apiserver ($log) ====="
cat "$log"
# 5 is pytest's "no test selected" (a -k or -m that only matches in the other run).
[[ $others == 5 && $cluster != 5 ]] && others=0
[[ $cluster == 5 && $others != 5 ]] && cluster=0
echo "make test: unit/integration/e2e/apiserver exit $others, cluster exit $cluster"
exit $((others != 0 ? others : cluster))
