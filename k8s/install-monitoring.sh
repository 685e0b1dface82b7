#!/usr/bin/env bash
# Installs kube-prometheus-stack (Prometheus Operator, Prometheus, Grafana) for the kind profile: Prometheus
# scrapes the chart's ServiceMonitor/PodMonitor, and Grafana's sidecar loads every ConfigMap labelled
# grafana_dashboard="1" from any namespace (the orderflow dashboards).
#
#   k8s/install-monitoring.sh [--context kind-orderflow]
set -euo pipefail

KPS_VERSION="${KPS_VERSION:-75.0.0}"
KPS_REPO="${KPS_REPO:-https://prometheus-community.github.io/helm-charts}"
CONTEXT="kind-orderflow"
[[ "${1:-}" == "--context" ]] && CONTEXT="$2"

command -v helm >/dev/null || { echo "install-monitoring: helm is not on PATH" >&2; exit 2; }

helm upgrade --install kube-prometheus-stack kube-prometheus-stack --repo "$KPS_REPO" \
  --version "$KPS_VERSION" \
  --kube-context "$CONTEXT" \
  --namespace monitoring --create-namespace \
  --set alertmanager.enabled=false \
  --set prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues=false \
  --set prometheus.prometheusSpec.podMonitorSelectorNilUsesHelmValues=false \
  --set grafana.sidecar.dashboards.enabled=true \
  --set grafana.sidecar.dashboards.label=grafana_dashboard \
  --set grafana.sidecar.dashboards.labelValue=1 \
  --set grafana.sidecar.dashboards.searchNamespace=ALL \
  --wait --timeout 10m

echo "Grafana: kubectl -n monitoring port-forward service/kube-prometheus-stack-grafana 3000:80 (skaffold -p kind does it)"
echo "Grafana's admin password: kubectl -n monitoring get secret kube-prometheus-stack-grafana -o jsonpath='{.data.admin-password}' | base64 -d"
