#!/usr/bin/env bash
# Installs the Strimzi 1.2.0 cluster operator from its own Helm chart (Strimzi's chart repository), watching the
# application namespace. charts/orderflow creates only Strimzi custom resources; this is the operator that
# reconciles them. Needs helm and a kube context (default: kind-orderflow).
#
#   k8s/install-strimzi.sh [--context kind-orderflow] [--namespace orderflow]
set -euo pipefail

STRIMZI_VERSION="${STRIMZI_VERSION:-1.2.0}"
STRIMZI_REPO="${STRIMZI_REPO:-https://strimzi.io/charts/}"
CONTEXT="kind-orderflow"
APP_NAMESPACE="orderflow"
OPERATOR_NAMESPACE="strimzi"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --context) CONTEXT="$2"; shift 2 ;;
    --namespace) APP_NAMESPACE="$2"; shift 2 ;;
    *) echo "usage: $0 [--context NAME] [--namespace NAME]" >&2; exit 2 ;;
  esac
done

command -v helm >/dev/null || { echo "install-strimzi: helm is not on PATH (orderflow k8s build puts one in ~/.cache/orderflow/k8s-*/bin)" >&2; exit 2; }

# The restricted pod security provider makes Strimzi's own pods pass the namespace's "restricted" enforcement.
helm upgrade --install strimzi strimzi-kafka-operator --repo "$STRIMZI_REPO" \
  --version "$STRIMZI_VERSION" \
  --kube-context "$CONTEXT" \
  --namespace "$OPERATOR_NAMESPACE" --create-namespace \
  --set "watchNamespaces={$APP_NAMESPACE}" \
  --set "extraEnvs[0].name=STRIMZI_POD_SECURITY_PROVIDER_CLASS" \
  --set "extraEnvs[0].value=restricted" \
  --wait --timeout 10m

echo "Strimzi $STRIMZI_VERSION runs in namespace $OPERATOR_NAMESPACE and watches $APP_NAMESPACE"
