{{/*
Topics of an external Kafka (kafka.strimzi.enabled=false). With Strimzi the Topic Operator creates them from the
KafkaTopics; without it nothing would, and a broker that auto-creates topics makes them with its default
partition count on first use, after the consumers subscribed (the orders group then never read `inventory`).
So every service pod starts with an init container that creates each missing topic of the topology (every
service's topic, its retry topics and its dead-letter topic: eventkit.topics.topic_plan, what the services
themselves subscribe to) with kafka.external.topics.partitions, waits until each has a leader, and fails naming
any existing topic with fewer partitions. An init container rather than a hook Job, like the migrations: it
works the same under `helm install`, skaffold and GitOps tools, and no consumer can start before its topics
exist. It uses the pod's own Kafka credentials, which then need Create on the topics (or create them
beforehand and set kafka.external.topics.provision=false).
*/}}

{{- define "orderflow.topics.enabled" -}}
{{- if and (not .Values.kafka.strimzi.enabled) .Values.kafka.external.topics.provision -}}true{{- end -}}
{{- end -}}

{{- define "orderflow.topics.script" -}}
import asyncio, os, sys
from aiokafka.admin import AIOKafkaAdminClient
from eventkit.settings import KafkaSettings
from eventkit.topics import create_topics, topic_plan

async def main():
    settings = KafkaSettings()
    partitions = int(os.environ["TOPIC_PARTITIONS"])
    plan = topic_plan(settings, partitions, int(os.environ["ORDERFLOW_CONSUMER__RETRY_LEVELS"]))
    admin = AIOKafkaAdminClient(**settings.client_options(), request_timeout_ms=30000)
    await admin.start()
    try:
        described = await admin.describe_topics(list(plan))
    finally:
        await admin.close()
    short = {t["topic"]: len(t["partitions"]) for t in described if t["error_code"] == 0 and len(t["partitions"]) < partitions}
    if short:
        sys.exit(f"topics with fewer than kafka.external.topics.partitions={partitions} partitions: {short}")
    await create_topics(settings, plan, replication_factor=int(os.environ["TOPIC_REPLICATION_FACTOR"]), timeout=120)
    print("topics ready:", ", ".join(f"{name} ({count})" for name, count in sorted(plan.items())))

asyncio.run(main())
{{- end -}}

{{/* The init container. Args: the pod template's context (root, name, svc, role, component). */}}
{{- define "orderflow.topics.initContainer" -}}
{{- $root := .root -}}
{{- $topics := $root.Values.kafka.external.topics -}}
- name: topics
  image: {{ include "orderflow.image" (dict "image" .svc.image "defaultTag" $root.Chart.AppVersion) | quote }}
  imagePullPolicy: {{ .svc.image.pullPolicy }}
  command: ["python", "-c", {{ include "orderflow.topics.script" . | quote }}]
  env:
    {{- include "orderflow.kafka.env" . | nindent 4 }}
    - name: TOPIC_PARTITIONS
      value: {{ $topics.partitions | quote }}
    - name: TOPIC_REPLICATION_FACTOR
      value: {{ $topics.replicationFactor | quote }}
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
