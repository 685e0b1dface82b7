#!/usr/bin/env bash
# make e2e-kind: the whole platform on a kind cluster, end to end.
#  1. kind cluster (k8s/kind-cluster.yaml), namespace (k8s/namespace.yaml)
#  2. Strimzi 1.2.0 operator, kube-prometheus-stack
#  3. skaffold run -p kind (builds the images, loads them into kind, helm-installs charts/orderflow)
#  4. waits for Kafka Ready and every Deployment Available
#  5. seeds stock, places orders with `orderflow load` and asserts every one CONFIRMED; `helm test`
#  6. asserts a trace of the orders service reached Jaeger with spans of inventory and payments in it
# Where no Docker engine answers it stops at once, saying so (exit 2). KEEP_CLUSTER=1 keeps the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER=orderflow
CONTEXT="kind-$CLUSTER"
NAMESPACE=orderflow
RELEASE=orderflow
ORDERS="${E2E_ORDERS:-200}"
VENV_BIN="${VENV_BIN:-.venv/bin}"

fail() { echo "e2e-kind: $*" >&2; exit 2; }

# --- preconditions: checked before anything is created ---------------------------------------------------------
command -v docker >/dev/null || fail "no docker CLI on PATH; kind needs a Docker (or Podman) engine"
if ! docker_error="$(timeout 10 docker info --format '{{.ServerVersion}}' 2>&1)"; then
  docker_error="$(echo "$docker_error" | tr -s '\n ' ' ' | sed 's/^ //')"
  fail "no Docker engine answers (docker info: $docker_error). Start Docker, or run the API-server tests instead: make test PYTEST_ARGS='-m k8s'"
fi
for tool in kind skaffold kubectl helm; do
  command -v "$tool" >/dev/null || fail "$tool is not on PATH (needed: kind, skaffold, kubectl, helm)"
done
# Only now, with an engine known to answer, the slower set-up: the virtualenv `orderflow load` runs from.
make venv >/dev/null

cleanup() {
  [[ -n "${forwards:-}" ]] && kill $forwards 2>/dev/null || true
  if [[ "${KEEP_CLUSTER:-0}" != 1 ]]; then kind delete cluster --name "$CLUSTER" || true; fi
}
trap cleanup EXIT

# --- 1-2: cluster, namespace, operators ------------------------------------------------------------------------
kind get clusters | grep -qx "$CLUSTER" || kind create cluster --config k8s/kind-cluster.yaml --wait 5m
kubectl --context "$CONTEXT" apply -f k8s/namespace.yaml
k8s/install-strimzi.sh --context "$CONTEXT" --namespace "$NAMESPACE"
k8s/install-monitoring.sh --context "$CONTEXT"

# --- 3: build, load, deploy ------------------------------------------------------------------------------------
skaffold run -p kind --kube-context "$CONTEXT" --status-check=false

# --- 4: wait -----------------------------------------------------------------------------------------------------
kubectl --context "$CONTEXT" -n "$NAMESPACE" wait "kafka/$RELEASE-kafka" --for=condition=Ready --timeout=15m
kubectl --context "$CONTEXT" -n "$NAMESPACE" wait kafkatopic,kafkauser --all --for=condition=Ready --timeout=5m
kubectl --context "$CONTEXT" -n "$NAMESPACE" wait deployment --all --for=condition=Available --timeout=10m

# --- 5: orders go through ----------------------------------------------------------------------------------------
kubectl --context "$CONTEXT" -n "$NAMESPACE" port-forward "service/$RELEASE-orders" 18000:8000 >/dev/null &
forwards="$!"
kubectl --context "$CONTEXT" -n "$NAMESPACE" port-forward "service/$RELEASE-inventory" 18001:8000 >/dev/null &
forwards="$forwards $!"
kubectl --context "$CONTEXT" -n "$NAMESPACE" port-forward "service/$RELEASE-jaeger" 16686:16686 >/dev/null &
forwards="$forwards $!"
sleep 3
for n in $(seq 1 20); do
  curl -fsS -X PUT -H 'Content-Type: application/json' -d '{"available": 100000}' "http://127.0.0.1:18001/stock/SKU-$n" >/dev/null
done
summary="$("$VENV_BIN/orderflow" load --orders "$ORDERS" --url http://127.0.0.1:18000 --decline-share 0 --large-share 0 --wait-timeout 120 --json)"
echo "$summary"
python3 - "$summary" "$ORDERS" <<'PY'
import json, sys
summary, expected = json.loads(sys.argv[1]), int(sys.argv[2])
confirmed = summary.get("confirmed")
assert confirmed == expected, f"{confirmed} of {expected} orders confirmed: {summary}"
PY
helm test "$RELEASE" --kube-context "$CONTEXT" -n "$NAMESPACE" --timeout 5m

# --- 6: a trace reached Jaeger -----------------------------------------------------------------------------------
python3 - <<'PY'
import json, time, urllib.request
deadline = time.monotonic() + 120
while True:
    with urllib.request.urlopen("http://127.0.0.1:16686/api/traces?service=orders&limit=50&lookback=1h") as r:
        traces = json.load(r)["data"]
    services = {p["serviceName"] for t in traces for p in t["processes"].values()}
    if {"orders", "inventory", "payments"} <= services:
        print(f"Jaeger: {len(traces)} traces of orders, spanning {sorted(services)}")
        break
    assert time.monotonic() < deadline, f"no trace from orders through inventory and payments (saw {services})"
    time.sleep(5)
PY
echo "e2e-kind: passed"
