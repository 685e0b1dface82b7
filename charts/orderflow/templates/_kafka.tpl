{{/* Kafka: the saga's topology, topic names, least-privilege ACLs and the client settings of the services. */}}

{{/*
Which topic each service writes and which it reads: topology.yaml, generated from eventkit/topology.py (the one
declaration of the event topology) by `orderflow topology export`. As YAML {<service>: {topic, reads}}.
*/}}
{{- define "orderflow.kafka.topology" -}}
{{- toYaml (.Files.Get "topology.yaml" | fromYaml).services -}}
{{- end -}}

{{/* The topics a service's consumer group reads: its inputs and their retry topics. Args: root, name. As YAML {topics: []}. */}}
{{- define "orderflow.kafka.groupTopics" -}}
{{- $root := .root -}}
{{- $topics := list -}}
{{- range $input := (get (include "orderflow.kafka.topology" $root | fromYaml) .name).reads -}}
{{- $topics = append $topics (include "orderflow.kafka.topic" (dict "root" $root "name" $input)) -}}
{{- end -}}
{{- range $input := (get (include "orderflow.kafka.topology" $root | fromYaml) .name).reads -}}
{{- $topics = concat $topics (include "orderflow.kafka.failureTopics" (dict "root" $root "name" $input) | fromYaml).retry -}}
{{- end -}}
{{- toYaml (dict "topics" $topics) -}}
{{- end -}}

{{- define "orderflow.kafka.cluster" -}}
{{- .Values.kafka.strimzi.clusterName | default (include "orderflow.componentName" (dict "root" . "suffix" "kafka")) -}}
{{- end -}}

{{/* The physical topic or group name. Args: root, name. */}}
{{- define "orderflow.kafka.topic" -}}
{{- printf "%s%s" .root.Values.kafka.topicPrefix .name -}}
{{- end -}}

{{/* The retry and dead-letter topics of a topic (eventkit.retry.failure_topics). Args: root, name. As YAML. */}}
{{- define "orderflow.kafka.failureTopics" -}}
{{- $topic := include "orderflow.kafka.topic" . -}}
{{- $names := list -}}
{{- range $level := until (int .root.Values.kafka.retryLevels) -}}
{{- $names = append $names (printf "%s.retry.%d" $topic (add1 $level)) -}}
{{- end -}}
{{- toYaml (dict "retry" $names "dlq" (printf "%s.dlq" $topic)) -}}
{{- end -}}

{{/* Every topic the chart creates: {name, kind: main|retry|dlq}. As YAML {topics: [...]}. */}}
{{- define "orderflow.kafka.topics" -}}
{{- $root := . -}}
{{- $topics := list -}}
{{- range $service := include "orderflow.kafka.topology" . | fromYaml -}}
{{- $name := $service.topic -}}
{{- $topics = append $topics (dict "name" (include "orderflow.kafka.topic" (dict "root" $root "name" $name)) "kind" "main") -}}
{{- $failure := include "orderflow.kafka.failureTopics" (dict "root" $root "name" $name) | fromYaml -}}
{{- range $failure.retry -}}
{{- $topics = append $topics (dict "name" . "kind" "retry") -}}
{{- end -}}
{{- $topics = append $topics (dict "name" $failure.dlq "kind" "dlq") -}}
{{- end -}}
{{- toYaml (dict "topics" $topics) -}}
{{- end -}}

{{/* One literal ACL entry. Args: type, name, operations. */}}
{{- define "orderflow.kafka.acl" -}}
- resource:
    type: {{ .type }}
    name: {{ .name | quote }}
    patternType: literal
  operations: {{ toJson .operations }}
  host: "*"
{{- end -}}

{{/*
The ACLs of one service's KafkaUser (Args: root, name):
- its consumer group: Read;
- each input topic and its retry topics: Describe + Read (the consumer reads retries back);
- the retry and dead-letter topics of each input: Describe + Write (failed records go there);
- the one topic it publishes (the outbox relay): Describe + Write.
No Create, Delete, Alter or cluster rights: the Topic Operator owns topics. Idempotent producers need only
Write on a topic (KIP-679).
*/}}
{{- define "orderflow.kafka.acls" -}}
{{- $root := .root -}}
{{- $flow := get (include "orderflow.kafka.topology" $root | fromYaml) .name -}}
{{ include "orderflow.kafka.acl" (dict "type" "group" "name" (include "orderflow.kafka.topic" (dict "root" $root "name" .name)) "operations" (list "Read")) }}
{{- range $input := $flow.reads }}
{{- $failure := include "orderflow.kafka.failureTopics" (dict "root" $root "name" $input) | fromYaml }}
{{ include "orderflow.kafka.acl" (dict "type" "topic" "name" (include "orderflow.kafka.topic" (dict "root" $root "name" $input)) "operations" (list "Describe" "Read")) }}
{{- range $failure.retry }}
{{ include "orderflow.kafka.acl" (dict "type" "topic" "name" . "operations" (list "Describe" "Read" "Write")) }}
{{- end }}
{{ include "orderflow.kafka.acl" (dict "type" "topic" "name" $failure.dlq "operations" (list "Describe" "Write")) }}
{{- end }}
{{ include "orderflow.kafka.acl" (dict "type" "topic" "name" (include "orderflow.kafka.topic" (dict "root" $root "name" $flow.topic)) "operations" (list "Describe" "Write")) }}
{{- end -}}

{{/*
The ACLs of the operations KafkaUser (Args: root): exactly what `orderflow dlq list`, `orderflow dlq replay` and
`orderflow lag` send (orderflow/dlq.py, orderflow/lag.py, eventkit/offsets.py), for every topic of the topology:
- its dead-letter topic: Describe + Read. `dlq list` reads it from the beginning to the end offsets with a
  consumer without a group (manual assignment, nothing committed): metadata and offsets need Describe, fetches
  Read; no group right.
- its first retry topic: Describe + Write. `dlq replay` sends each dead letter to <original topic>.retry.1 for
  the group that failed it; an idempotent producer needs only Write on a topic, no IdempotentWrite (KIP-679).
- its other retry topics and the topic itself: Describe. `lag` lists their partitions and log start/end
  offsets (Metadata, ListOffsets) and the group's commits in them (OffsetFetch); it reads no record.
And every service's consumer group: Describe, for `lag` (FindCoordinator, OffsetFetch); never Read, so it
cannot commit offsets or join a group. No Create, Delete, Alter or cluster rights.
*/}}
{{- define "orderflow.kafka.opsAcls" -}}
{{- $root := .root -}}
{{- range $service, $flow := include "orderflow.kafka.topology" $root | fromYaml }}
{{- $failure := include "orderflow.kafka.failureTopics" (dict "root" $root "name" $flow.topic) | fromYaml }}
{{ include "orderflow.kafka.acl" (dict "type" "group" "name" (include "orderflow.kafka.topic" (dict "root" $root "name" $service)) "operations" (list "Describe")) }}
{{ include "orderflow.kafka.acl" (dict "type" "topic" "name" (include "orderflow.kafka.topic" (dict "root" $root "name" $flow.topic)) "operations" (list "Describe")) }}
{{- range $index, $retry := $failure.retry }}
{{ include "orderflow.kafka.acl" (dict "type" "topic" "name" $retry "operations" (eq $index 0 | ternary (list "Describe" "Write") (list "Describe"))) }}
{{- end }}
{{ include "orderflow.kafka.acl" (dict "type" "topic" "name" $failure.dlq "operations" (list "Describe" "Read")) }}
{{- end }}
{{- end -}}

{{- define "orderflow.kafka.userName" -}}
{{- include "orderflow.componentName" (dict "root" .root "suffix" .name) -}}
{{- end -}}

{{/* host:port list the services connect to. */}}
{{- define "orderflow.kafka.bootstrap" -}}
{{- if .Values.kafka.bootstrapServers -}}
{{- .Values.kafka.bootstrapServers -}}
{{- else -}}
{{- printf "%s-kafka-bootstrap.%s.svc:9093" (include "orderflow.kafka.cluster" .) .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/* Ports of the bootstrap servers, for the egress NetworkPolicy to an external Kafka. As YAML {ports: []}. */}}
{{- define "orderflow.kafka.externalPorts" -}}
{{- $ports := list -}}
{{- range $server := splitList "," .Values.kafka.bootstrapServers -}}
{{- $port := regexFind "[0-9]+$" (trim $server) -}}
{{- if and $port (not (has (atoi $port) $ports)) -}}
{{- $ports = append $ports (atoi $port) -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "ports" $ports) -}}
{{- end -}}

{{- define "orderflow.kafka.caMountPath" -}}/etc/orderflow/kafka-ca{{- end -}}

{{/* The KAFKA_* and ORDERFLOW_KAFKA_* environment of a service container. Args: root, name. */}}
{{- define "orderflow.kafka.env" -}}
{{- $root := .root -}}
{{- $kafka := $root.Values.kafka -}}
- name: KAFKA_BOOTSTRAP_SERVERS
  value: {{ include "orderflow.kafka.bootstrap" $root | quote }}
- name: ORDERFLOW_KAFKA_NAMESPACE
  value: {{ $kafka.topicPrefix | quote }}
- name: ORDERFLOW_CONSUMER_RETRY_LEVELS
  value: {{ $kafka.retryLevels | quote }}
{{- if $kafka.strimzi.enabled }}
{{- $user := include "orderflow.kafka.userName" . }}
- name: KAFKA_SECURITY_PROTOCOL
  value: SASL_SSL
- name: KAFKA_SASL_MECHANISM
  value: SCRAM-SHA-512
- name: KAFKA_SASL_USERNAME
  value: {{ $user | quote }}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      # Created by Strimzi's User Operator for the KafkaUser of the same name.
      name: {{ $user }}
      key: password
- name: KAFKA_SSL_CAFILE
  value: {{ include "orderflow.kafka.caMountPath" . }}/ca.crt
{{- else }}
- name: KAFKA_SECURITY_PROTOCOL
  value: {{ $kafka.external.securityProtocol | quote }}
{{- if $kafka.external.saslMechanism }}
- name: KAFKA_SASL_MECHANISM
  value: {{ $kafka.external.saslMechanism | quote }}
- name: KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ $kafka.external.credentialsSecret }}
      key: {{ .name }}-username
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $kafka.external.credentialsSecret }}
      key: {{ .name }}-password
{{- end }}
{{- if $kafka.external.caSecret.name }}
- name: KAFKA_SSL_CAFILE
  value: {{ include "orderflow.kafka.caMountPath" . }}/{{ $kafka.external.caSecret.key }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The volume with the CA that signed the brokers' certificates, if any. Args: root. */}}
{{- define "orderflow.kafka.caVolume" -}}
{{- $kafka := .root.Values.kafka -}}
{{- if $kafka.strimzi.enabled -}}
- name: kafka-ca
  secret:
    # Strimzi's cluster CA certificate (public part only).
    secretName: {{ include "orderflow.kafka.cluster" .root }}-cluster-ca-cert
    items:
      - key: ca.crt
        path: ca.crt
{{- else if $kafka.external.caSecret.name -}}
- name: kafka-ca
  secret:
    secretName: {{ $kafka.external.caSecret.name }}
    items:
      - key: {{ $kafka.external.caSecret.key }}
        path: {{ $kafka.external.caSecret.key }}
{{- end -}}
{{- end -}}

{{/* Comma-separated names of the services with autoscaler.enabled, or "". */}}
{{- define "orderflow.autoscaled" -}}
{{- $root := . -}}
{{- $names := list -}}
{{- range $name := keys .Values.services | sortAlpha -}}
{{- $svc := include "orderflow.serviceValues" (dict "root" $root "name" $name) | fromYaml -}}
{{- if $svc.autoscaler.enabled -}}
{{- $names = append $names $name -}}
{{- end -}}
{{- end -}}
{{- join "," $names -}}
{{- end -}}
