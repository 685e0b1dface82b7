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

{{/* The collector endpoint the services export to, or "" for none. */}}
{{- define "orderflow.otlpEndpoint" -}}
{{- if .Values.observability.otlpEndpoint -}}
{{- .Values.observability.otlpEndpoint -}}
{{- else if .Values.observability.collector.enabled -}}
{{- printf "http://%s:4317" (include "orderflow.componentName" (dict "root" . "suffix" "otel-collector")) -}}
{{- end -}}
{{- end -}}

{{/* Standard OTEL_* variables. Args: root, name. */}}
{{- define "orderflow.otel.env" -}}
{{- $endpoint := include "orderflow.otlpEndpoint" .root -}}
- name: OTEL_SERVICE_NAME
  value: {{ .name | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "service.namespace=%s,service.version=%s,deployment.environment.name=%s,k8s.namespace.name=%s,k8s.pod.name=$(POD_NAME)" .root.Release.Name .root.Chart.AppVersion .root.Release.Namespace .root.Release.Namespace | quote }}
- name: OTEL_PROPAGATORS
  value: tracecontext,baggage
{{- if $endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $endpoint | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: grpc
- name: OTEL_TRACES_EXPORTER
  value: otlp
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
