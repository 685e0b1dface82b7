#!/usr/bin/env bash
# make e2e-kind: docs/deploy/kind.md, end to end, as a developer runs it, on the project's kind cluster.
#  1. `orderflow k8s up`: kind from the project's node image (k8s/kind-cluster.yaml), the Strimzi stand-in
#  2. `orderflow k8s skaffold run`: skaffold's kind profile builds the five images, loads them into the nodes and
#     installs both charts with the local and observability values (Kafka on the chart's default Strimzi path)
#  3. waits for Kafka Ready and every Deployment Available
#  4. places orders through the orders Service and asserts every one CONFIRMED; `helm test`
#  5. asserts a trace of the orders service reached Jaeger with spans of inventory and payments in it
# A cluster that already ran is kept (only the namespace goes); one made here is deleted (KEEP_CLUSTER=1 keeps it).
# Needs root and scripts/install-node.sh, as `orderflow k8s up` does; without them it stops at once, saying so.
set -euo pipefail
cd "$(dirname "$0")/.."

NAMESPACE="${E2E_NAMESPACE:-orderflow-e2e}"
ORDERS="${E2E_ORDERS:-200}"
VENV_BIN="${VENV_BIN:-.venv/bin}"
ORDERFLOW="$VENV_BIN/orderflow"

fail() { echo "e2e-kind: $*" >&2; exit 2; }

[[ "$(id -u)" -eq 0 ]] || fail "run as root (the kind cluster starts dockerd and containerd): sudo make e2e-kind"
scripts/install-node.sh --check >/dev/null || fail "missing Debian packages: run sudo scripts/install-node.sh"
make venv >/dev/null

made=0
"$ORDERFLOW" k8s status >/dev/null 2>&1 || made=1
cleanup() {
  if [[ "$made" == 1 && "${KEEP_CLUSTER:-0}" != 1 ]]; then
    "$ORDERFLOW" k8s down || true
  else
    kubectl delete namespace "$NAMESPACE" --wait=false --ignore-not-found || true
  fi
}
trap cleanup EXIT

# --- 1: the cluster ---------------------------------------------------------------------------------------------
"$ORDERFLOW" k8s up
eval "$("$ORDERFLOW" k8s env)"
kind get clusters | grep -qx orderflow

# --- 2: build, load, deploy --------------------------------------------------------------------------------------
"$ORDERFLOW" k8s skaffold --namespace "$NAMESPACE" run --status-check=false

# --- 3: wait -----------------------------------------------------------------------------------------------------
kubectl -n "$NAMESPACE" wait kafka/orderflow-kafka --for=condition=Ready --timeout=10m
kubectl -n "$NAMESPACE" wait kafkatopic,kafkauser --all --for=condition=Ready --timeout=5m
kubectl -n "$NAMESPACE" wait deployment --all --for=condition=Available --timeout=10m

# --- 4: orders go through ----------------------------------------------------------------------------------------
orders="http://$(kubectl -n "$NAMESPACE" get service orderflow-orders -o jsonpath='{.spec.clusterIP}'):8000"
kubectl -n "$NAMESPACE" exec deploy/orderflow-ops -- orderflow seed
summary="$("$ORDERFLOW" load --orders "$ORDERS" --orders-url "$orders" --decline-share 0 --large-share 0 --wait-timeout 180 --json)"
echo "$summary"
python3 - "$summary" "$ORDERS" <<'PY'
import json, sys
summary, expected = json.loads(sys.argv[1]), int(sys.argv[2])
confirmed = summary.get("confirmed")
assert confirmed == expected, f"{confirmed} of {expected} orders confirmed: {summary}"
PY
helm test orderflow -n "$NAMESPACE" --timeout 5m
# What a developer looks at next: the cluster, where every pod landed, the Strimzi resources and their Ready.
kind get clusters
kubectl get nodes -o wide
kubectl get pods -A -o wide
kubectl -n "$NAMESPACE" get kafka,kafkanodepool,kafkatopic,kafkauser

# --- 5: a trace reached Jaeger -----------------------------------------------------------------------------------
jaeger="http://$(kubectl -n "$NAMESPACE" get service orderflow-jaeger -o jsonpath='{.spec.clusterIP}'):16686"
python3 - "$jaeger" <<'PY'
import json, sys, time, urllib.request
deadline = time.monotonic() + 180
while True:
    with urllib.request.urlopen(f"{sys.argv[1]}/api/traces?service=orders&limit=50&lookback=1h") as r:
        traces = json.load(r)["data"]
    services = {p["serviceName"] for t in traces for p in t["processes"].values()}
    if {"orders", "inventory", "payments"} <= services:
        print(f"Jaeger: {len(traces)} traces of orders, spanning {sorted(services)}")
        break
    assert time.monotonic() < deadline, f"no trace from orders through inventory and payments (saw {services})"
    time.sleep(5)
PY
echo "e2e-kind: passed"
