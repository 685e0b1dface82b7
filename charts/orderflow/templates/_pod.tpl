{{/* Pod spec pieces of the services: environment, probes, migrations init container, volumes, scheduling. */}}

{{/* Environment of a service container. Args: root, name, svc (merged values), role (service|consumer|relay). */}}
{{- define "orderflow.service.env" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{ include "orderflow.database.env" . }}
{{ include "orderflow.kafka.env" . }}
{{ include "orderflow.otel.env" . }}
- name: ORDERFLOW_RELAY_ENABLED
  value: {{ or (eq .role "relay") (eq .svc.relay.mode "inline") | quote }}
- name: ORDERFLOW_CONSUMER_ENABLED
  value: {{ or (eq .role "consumer") (and (eq .role "service") (eq .svc.consumer.mode "inline")) | quote }}
{{- range $name, $value := .svc.env }}
- name: {{ $name }}
{{- if kindIs "map" $value }}
  valueFrom:
    {{- toYaml $value.valueFrom | nindent 4 }}
{{- else }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Startup, readiness and liveness probes on the service's HTTP port. Args: svc. */}}
{{- define "orderflow.service.probes" -}}
{{- $p := .svc.probes -}}
startupProbe:
  httpGet: {path: /livez, port: http}
  periodSeconds: {{ $p.startup.periodSeconds }}
  failureThreshold: {{ $p.startup.failureThreshold }}
  timeoutSeconds: {{ $p.startup.timeoutSeconds }}
readinessProbe:
  httpGet: {path: /readyz, port: http}
  periodSeconds: {{ $p.readiness.periodSeconds }}
  failureThreshold: {{ $p.readiness.failureThreshold }}
  timeoutSeconds: {{ $p.readiness.timeoutSeconds }}
livenessProbe:
  httpGet: {path: /livez, port: http}
  periodSeconds: {{ $p.liveness.periodSeconds }}
  failureThreshold: {{ $p.liveness.failureThreshold }}
  timeoutSeconds: {{ $p.liveness.timeoutSeconds }}
{{- end -}}

{{/*
The whole pod template of a service or of its dedicated consumer or relay. Args: root, name, svc, role, component.
Topics (external Kafka, _topics.tpl) and migrations run in init containers: a pod never serves code newer than
its schema nor consumes before its topics exist, it works the same under
`helm install`, `skaffold dev` and GitOps tools (no hook ordering: hooks would run before the chart's own
PostgreSQL exists), and Alembic makes the run a no-op once the schema is current.
*/}}
{{- define "orderflow.service.podTemplate" -}}
{{- $root := .root -}}
{{- $svc := .svc -}}
metadata:
  labels:
    {{- include "orderflow.labels" (dict "root" $root "component" .component "image" $svc.image) | nindent 4 }}
    orderflow.io/service: {{ .name }}
    {{- with $svc.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $svc.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "orderflow.componentName" (dict "root" $root "suffix" .name) }}
  automountServiceAccountToken: false
  enableServiceLinks: false
  terminationGracePeriodSeconds: {{ $svc.terminationGracePeriodSeconds }}
  securityContext:
    {{- include "orderflow.podSecurityContext" (dict "uid" 10001) | nindent 4 }}
  {{- with $svc.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if or $root.Values.migrations.enabled (include "orderflow.topics.enabled" $root) }}
  initContainers:
  {{- end }}
  {{- if include "orderflow.topics.enabled" $root }}
    {{- include "orderflow.topics.initContainer" . | nindent 4 }}
  {{- end }}
  {{- if $root.Values.migrations.enabled }}
    - name: migrate
      image: {{ include "orderflow.image" (dict "image" $svc.image "root" $root) | quote }}
      imagePullPolicy: {{ $svc.image.pullPolicy }}
      args: ["migrate", {{ .name | quote }}]
      env:
        {{- include "orderflow.database.env" . | nindent 8 }}
      resources:
        {{- toYaml $root.Values.migrations.resources | nindent 8 }}
      securityContext:
        {{- include "orderflow.containerSecurityContext" . | nindent 8 }}
      volumeMounts:
        - {name: tmp, mountPath: /tmp}
  {{- end }}
  containers:
    - name: {{ .name }}
      image: {{ include "orderflow.image" (dict "image" $svc.image "root" $root) | quote }}
      imagePullPolicy: {{ $svc.image.pullPolicy }}
      args: ["serve", {{ .name | quote }}, "--host", "0.0.0.0", "--port", "8000", "--log-level", {{ $svc.logLevel | quote }}]
      ports:
        - name: http
          containerPort: 8000
          protocol: TCP
      env:
        {{- include "orderflow.service.env" . | nindent 8 }}
      {{- with $svc.envFrom }}
      envFrom:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- include "orderflow.service.probes" . | nindent 6 }}
      {{- if $svc.preStopSeconds }}
      lifecycle:
        preStop:
          exec:
            command: ["python", "-c", "import time; time.sleep({{ $svc.preStopSeconds }})"]
      {{- end }}
      resources:
        {{- if eq .role "service" }}
        {{- toYaml $svc.resources | nindent 8 }}
        {{- else }}
        {{- toYaml (get $svc .role).resources | nindent 8 }}
        {{- end }}
      securityContext:
        {{- include "orderflow.containerSecurityContext" . | nindent 8 }}
      volumeMounts:
        {{- include "orderflow.pod.volumeMounts" . | nindent 8 }}
  volumes:
    {{- include "orderflow.pod.volumes" . | nindent 4 }}
  {{- with $svc.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $svc.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with include "orderflow.pod.spread" . }}
  {{- . | trim | nindent 2 }}
  {{- end }}
{{- end -}}

{{/*
The writable /tmp of a read-only root filesystem and the CA of the Kafka brokers, if any: the volume mounts of a
Kafka client container (a service's, the operations pod's). Args: root.
*/}}
{{- define "orderflow.pod.volumeMounts" -}}
- {name: tmp, mountPath: /tmp}
{{- if include "orderflow.kafka.caVolume" . }}
- name: kafka-ca
  mountPath: {{ include "orderflow.kafka.caMountPath" . }}
  readOnly: true
{{- end }}
{{- end -}}

{{/* The volumes behind orderflow.pod.volumeMounts. Args: root. */}}
{{- define "orderflow.pod.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- with include "orderflow.kafka.caVolume" . }}
{{ . }}
{{- end }}
{{- end -}}

{{/*
`affinity` and `topologySpreadConstraints` of a Deployment's pods. Args: root, svc, component (the Deployment's
own, whose selector labels the terms match). With svc.topologySpread (the default) the replicas spread over
nodes: a ScheduleAnyway constraint on kubernetes.io/hostname counting only the pods of the same rollout
(pod-template-hash: a rolling update's old pods do not skew the new ones), and a preferred podAntiAffinity that
the scheduler also weighs where the constraint is already met. Neither ever keeps a pod from being scheduled
(one node, or more replicas than nodes). A user's own `affinity` or `topologySpreadConstraints` replaces the
respective default.
*/}}
{{- define "orderflow.pod.spread" -}}
{{- $selector := include "orderflow.selectorLabels" (dict "root" .root "component" .component) | fromYaml -}}
{{- $affinity := .svc.affinity -}}
{{- $constraints := .svc.topologySpreadConstraints -}}
{{- if .svc.topologySpread -}}
{{- if not $affinity -}}
{{- $term := dict "topologyKey" "kubernetes.io/hostname" "labelSelector" (dict "matchLabels" $selector) -}}
{{- $affinity = dict "podAntiAffinity" (dict "preferredDuringSchedulingIgnoredDuringExecution" (list (dict "weight" 100 "podAffinityTerm" $term))) -}}
{{- end -}}
{{- if not $constraints -}}
{{- $constraints = list (dict
  "maxSkew" 1
  "topologyKey" "kubernetes.io/hostname"
  "whenUnsatisfiable" "ScheduleAnyway"
  "labelSelector" (dict "matchLabels" $selector)
  "matchLabelKeys" (list "pod-template-hash")
) -}}
{{- end -}}
{{- end -}}
{{- with $affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $constraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
