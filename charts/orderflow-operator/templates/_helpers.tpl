{{/* Names and labels of the operator's objects. */}}

{{- define "orderflow-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "orderflow-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "orderflow-operator.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "orderflow-operator.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Selector labels: fixed forever (Deployment selectors are immutable). The app chart's NetworkPolicy admits
pods named orderflow-operator to Kafka, so the name label stays the chart name. */}}
{{- define "orderflow-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "orderflow-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{/* The image's tag and digest: the tag defaults to Chart.appVersion; a digest (image.digest, or "<tag>@<digest>"
in image.tag as skaffold sets it) pins the image. */}}
{{- define "orderflow-operator.tagged" -}}
{{- splitList "@" (.Values.image.tag | default .Chart.AppVersion | toString) | toJson -}}
{{- end -}}

{{- define "orderflow-operator.image" -}}
{{- $tagged := include "orderflow-operator.tagged" . | fromJsonArray -}}
{{- $digest := .Values.image.digest | default (ternary (last $tagged) "" (gt (len $tagged) 1)) -}}
{{- .Values.image.repository }}{{ with first $tagged }}:{{ . }}{{ end }}{{ with $digest }}@{{ . }}{{ end -}}
{{- end -}}

{{- define "orderflow-operator.labels" -}}
{{ include "orderflow-operator.selectorLabels" . }}
app.kubernetes.io/part-of: orderflow
{{- /* The version the image runs: its tag without a digest. */}}
app.kubernetes.io/version: {{ first (include "orderflow-operator.tagged" . | fromJsonArray) | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 }}
{{- end -}}

{{/* The lease the replicas compete for, in the release namespace. */}}
{{- define "orderflow-operator.leaseName" -}}
{{ include "orderflow-operator.fullname" . }}-leader
{{- end -}}

{{/* The rules on ConsumerScalers and what they point at, for a ClusterRole or a per-namespace Role. */}}
{{- define "orderflow-operator.scalerRules" -}}
- apiGroups: [orderflow.io]
  resources: [consumerscalers]
  verbs: [get, list, watch, patch]
- apiGroups: [orderflow.io]
  resources: [consumerscalers/status]
  verbs: [get, patch]
# Only the /scale subresource: the operator never edits a Deployment or StatefulSet itself.
- apiGroups: [apps]
  resources: [deployments/scale, statefulsets/scale, replicasets/scale]
  verbs: [get, patch]
# To refuse when an HPA already scales the same target.
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [list]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- if .Values.strimzi.enabled }}
- apiGroups: [kafka.strimzi.io]
  resources: [kafkas, kafkausers]
  verbs: [get]
# `get` only, never list or watch: the operator reads the one Secret a ConsumerScaler's KafkaUser names.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
{{- end }}
{{- end -}}
