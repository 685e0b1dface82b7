{{/* Names and labels. Every object carries orderflow.labels; selectors use the minimal fixed selector set. */}}

{{- define "orderflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "orderflow.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "orderflow.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "orderflow.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* "<fullname>-<suffix>", for the objects of one component. Args: root, suffix. */}}
{{- define "orderflow.componentName" -}}
{{- printf "%s-%s" (include "orderflow.fullname" .root) .suffix | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "orderflow.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: name, instance, component. Never change them: Deployment selectors are immutable. */}}
{{- define "orderflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "orderflow.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* All labels of an object. Args: root, component, and for the objects of an orderflow image (a service's, the
ops pod's) that image, whose tag is their version. Other objects (PostgreSQL, Kafka, the observability stack) keep
Chart.appVersion: a new orderflow tag must not change their pod templates, which would restart them. */}}
{{- define "orderflow.labels" -}}
{{ include "orderflow.selectorLabels" . }}
app.kubernetes.io/part-of: orderflow
{{- if hasKey . "image" }}
app.kubernetes.io/version: {{ include "orderflow.imageVersion" (dict "image" .image "root" .root) | quote }}
{{- else }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "orderflow.chart" .root }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels of the release's pods that may reach other pods of the release (used by NetworkPolicies). */}}
{{- define "orderflow.releaseSelector" -}}
app.kubernetes.io/name: {{ include "orderflow.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* An image reference, [registry/]repository[:tag][@digest]. The tag defaults to Chart.appVersion; image.digest
pins the image, as does a digest in the tag ("<tag>@sha256:…", the form skaffold sets). Args: image, root. */}}
{{- define "orderflow.image" -}}
{{- $repository := .image.repository -}}
{{- if .image.registry -}}
{{- $repository = printf "%s/%s" .image.registry .image.repository -}}
{{- end -}}
{{- $tagged := splitList "@" (.image.tag | default .root.Chart.AppVersion | toString) -}}
{{- $digest := .image.digest | default (ternary (last $tagged) "" (gt (len $tagged) 1)) -}}
{{- $repository }}{{ with first $tagged }}:{{ . }}{{ end }}{{ with $digest }}@{{ . }}{{ end -}}
{{- end -}}

{{/* The version an image runs, for app.kubernetes.io/version and service.version: its tag without a digest, else
Chart.appVersion. Args: image, root. */}}
{{- define "orderflow.imageVersion" -}}
{{- first (splitList "@" (.image.tag | toString)) | default .root.Chart.AppVersion | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The values of one service: defaults, with services.<name> merged over them. Args: root, name. As YAML. */}}
{{- define "orderflow.serviceValues" -}}
{{- $defaults := deepCopy .root.Values.defaults -}}
{{- $own := deepCopy (get .root.Values.services .name) -}}
{{- toYaml (mustMergeOverwrite $defaults $own) -}}
{{- end -}}

{{/* Restricted-profile security contexts, shared by every pod of the chart. Args: uid. */}}
{{- define "orderflow.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
fsGroup: {{ .uid }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "orderflow.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}
