{{/* The OpenTelemetry collector's configuration: OTLP in, memory-limited batches out to Jaeger (else logged). */}}
{{- define "orderflow.collector.config" -}}
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "0.0.0.0:4317"}
      http: {endpoint: "0.0.0.0:4318"}
processors:
  memory_limiter: {check_interval: 1s, limit_percentage: 80, spike_limit_percentage: 20}
  batch: {}
exporters:
  debug: {verbosity: basic}
  {{- if .Values.observability.jaeger.enabled }}
  otlp/jaeger:
    endpoint: {{ printf "%s:4317" (include "orderflow.componentName" (dict "root" . "suffix" "jaeger")) }}
    tls: {insecure: true}
  {{- end }}
extensions:
  health_check: {endpoint: "0.0.0.0:13133"}
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [{{ .Values.observability.jaeger.enabled | ternary "otlp/jaeger" "debug" }}]
{{- end -}}

{{/* The OTLP endpoint the services export to: the given one, else the bundled collector, else the bundled
Jaeger (which takes OTLP itself), else "" for none. */}}
{{- define "orderflow.otlpEndpoint" -}}
{{- if .Values.observability.otlpEndpoint -}}
{{- .Values.observability.otlpEndpoint -}}
{{- else if .Values.observability.collector.enabled -}}
{{- printf "http://%s:4317" (include "orderflow.componentName" (dict "root" . "suffix" "otel-collector")) -}}
{{- else if .Values.observability.jaeger.enabled -}}
{{- printf "http://%s:4317" (include "orderflow.componentName" (dict "root" . "suffix" "jaeger")) -}}
{{- end -}}
{{- end -}}

{{/* Standard OTEL_* variables. Args: root, name, svc. */}}
{{- define "orderflow.otel.env" -}}
{{- $endpoint := include "orderflow.otlpEndpoint" .root -}}
{{- $version := include "orderflow.imageVersion" (dict "image" .svc.image "root" .root) -}}
- name: OTEL_SERVICE_NAME
  value: {{ .name | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "service.namespace=%s,service.version=%s,deployment.environment.name=%s,k8s.namespace.name=%s,k8s.pod.name=$(POD_NAME)" .root.Release.Name $version .root.Release.Namespace .root.Release.Namespace | quote }}
- name: OTEL_PROPAGATORS
  value: tracecontext,baggage
{{- if $endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $endpoint | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: grpc
- name: OTEL_TRACES_EXPORTER
  value: otlp
- name: OTEL_TRACES_SAMPLER
  value: parentbased_traceidratio
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ .root.Values.observability.tracesSampleRatio | toString | quote }}
{{- else }}
- name: OTEL_TRACES_EXPORTER
  value: none
{{- end }}
# Metrics are scraped from /metrics and logs go to stdout as JSON: no OTLP export for either.
- name: OTEL_METRICS_EXPORTER
  value: none
- name: OTEL_LOGS_EXPORTER
  value: none
{{- end -}}

{{/* The bundled Prometheus' configuration. Args: root, namespaces. */}}
{{- define "orderflow.prometheus.config" -}}
{{- $p := .root.Values.observability.prometheus -}}
global:
  scrape_interval: {{ $p.scrapeInterval }}
  evaluation_interval: {{ $p.evaluationInterval }}
rule_files: [/etc/prometheus/orderflow-alerts.yaml, /etc/prometheus/orderflow-targets.yaml]
scrape_configs:
  # What observability.serviceMonitor selects, with the labels the Prometheus Operator gives its targets.
  - job_name: orderflow
    # The metrics' own labels win (service="orders", a ConsumerScaler's namespace), as with honorLabels.
    honor_labels: true
    kubernetes_sd_configs:
      - role: endpoints
        namespaces:
          names: {{ toJson .namespaces }}
    relabel_configs:
      - source_labels: [__meta_kubernetes_service_label_orderflow_io_metrics]
        regex: "true"
        action: keep
      - source_labels: [__meta_kubernetes_endpoint_port_name]
        regex: http|metrics
        action: keep
      - {source_labels: [__meta_kubernetes_namespace], target_label: namespace}
      - {source_labels: [__meta_kubernetes_service_name], target_label: service}
      - {source_labels: [__meta_kubernetes_service_name], target_label: job}
      - {source_labels: [__meta_kubernetes_pod_name], target_label: pod}
      - {source_labels: [__meta_kubernetes_pod_container_name], target_label: container}
      - {source_labels: [__meta_kubernetes_endpoint_port_name], target_label: endpoint}
  - job_name: prometheus
    static_configs:
      - targets: ["localhost:9090"]
{{- end -}}

{{/*
One "no pod is up" alert per service: `absent(up == 1)` fires as well when the Deployment has no pod left to
scrape (scaled to zero by hand, every pod crash-looping out of its endpoints), which `up == 0` never sees.
Rendered, not a plain file, because it names this release's Services.
*/}}
{{- define "orderflow.prometheus.targetRules" -}}
groups:
  - name: orderflow-targets
    rules:
      {{- range $name := keys .Values.services | sortAlpha }}
      {{- $service := include "orderflow.componentName" (dict "root" $ "suffix" $name) }}
      - alert: OrderflowServiceDown
        expr: absent(up{namespace={{ $.Release.Namespace | quote }}, service={{ $service | quote }}} == 1)
        for: {{ $.Values.observability.prometheus.serviceDownFor }}
        labels: {severity: critical, namespace: {{ $.Release.Namespace | quote }}, service: {{ $service | quote }}}
        annotations:
          summary: {{ printf "No %s pod is up: nothing serves its API or consumes its inputs" $name | quote }}
          runbook_url: {{ printf "%soperations/#a-service-is-down" $.Values.observability.runbookBaseUrl | quote }}
          description: "No pod of the service is up: its API answers nothing and its consumers read nothing. See the Deployment's events and its pods' status and logs."
      {{- end }}
{{- end -}}

{{/*
rules/orderflow-alerts.yaml with each runbook_url (a path of the documentation site) prefixed by
observability.runbookBaseUrl, for the PrometheusRule and the bundled Prometheus alike.
*/}}
{{- define "orderflow.prometheus.staticRules" -}}
{{- .Files.Get "rules/orderflow-alerts.yaml" | replace "runbook_url: \"" (printf "runbook_url: \"%s" .Values.observability.runbookBaseUrl) -}}
{{- end -}}
