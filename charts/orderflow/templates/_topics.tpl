{{/*
Topics of an external Kafka (kafka.strimzi.enabled=false). With Strimzi the Topic Operator creates them from the
KafkaTopics; without it nothing would, and a broker that auto-creates topics makes them with its default
partition count on first use, after the consumers subscribed (the orders group then never read `inventory`).
So every service pod starts with an init container that creates each missing topic of the topology (every
service's topic, its retry topics and its dead-letter topic: eventkit.topics.topic_plan, what the services
themselves subscribe to) with kafka.external.topics.partitions, waits until each has a leader, and fails,
creating nothing, naming any existing topic with fewer partitions: `orderflow-service topics`, as compose runs
it. An init container rather than a hook Job, like the migrations: it works the same under `helm install`, skaffold and GitOps tools, and no consumer can start before its topics
exist. It uses the pod's own Kafka credentials, which then need Create on the topics (or create them
beforehand and set kafka.external.topics.provision=false).
*/}}

{{- define "orderflow.topics.enabled" -}}
{{- if and (not .Values.kafka.strimzi.enabled) .Values.kafka.external.topics.provision -}}true{{- end -}}
{{- end -}}

{{/* The init container. Args: the pod template's context (root, name, svc, role, component). */}}
{{- define "orderflow.topics.initContainer" -}}
{{- $root := .root -}}
{{- $topics := $root.Values.kafka.external.topics -}}
- name: topics
  image: {{ include "orderflow.image" (dict "image" .svc.image "root" $root) | quote }}
  imagePullPolicy: {{ .svc.image.pullPolicy }}
  # `orderflow-service topics` (eventkit.host.main): retry levels from ORDERFLOW_CONSUMER_RETRY_LEVELS.
  args: ["topics", "--partitions", {{ $topics.partitions | quote }}, "--replication-factor", {{ $topics.replicationFactor | quote }}]
  env:
    {{- include "orderflow.kafka.env" . | nindent 4 }}
  resources:
    requests: {cpu: 50m, memory: 64Mi}
    limits: {cpu: 500m, memory: 128Mi}
  securityContext:
    {{- include "orderflow.containerSecurityContext" . | nindent 4 }}
  {{- if include "orderflow.kafka.caVolume" . }}
  volumeMounts:
    - name: kafka-ca
      mountPath: {{ include "orderflow.kafka.caMountPath" . }}
      readOnly: true
  {{- end }}
{{- end -}}
