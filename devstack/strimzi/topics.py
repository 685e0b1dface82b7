"""The Topic Operator's part (Strimzi's unidirectional operator, topic-operator `BatchingTopicController.java`):
a KafkaTopic made a topic, and kept one.

- the topic is `spec.topicName`, else the resource's name; renaming a managed topic is not supported;
- a missing topic is created (partitions and replicas, -1: the broker's defaults), an existing one adopted;
- configuration: keys that differ are set, dynamic topic settings the spec does not name are deleted;
- partitions may grow, never shrink; the replication factor cannot change without Cruise Control;
- the finalizer `strimzi.io/topic-operator` lets a deleted KafkaTopic delete its topic first, unless the
  resource says `strimzi.io/managed: "false"`.
Failures are `Ready` False with reason NotSupported or KafkaError, as Strimzi reports them.

Documented in Strimzi's "Deploying and Managing" guide, "Using the Topic Operator to manage Kafka topics" (only
topics with a KafkaTopic are managed; changes made outside it are reverted), "Configuring Kafka topics" (no
renaming, no fewer partitions, no change of replicas) and "Deleting managed topics" (the finalizer).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from devstack.strimzi import status
from devstack.strimzi.admin import Admin, AdminError
from devstack.strimzi.kube import Kube

FINALIZER = "strimzi.io/topic-operator"


def topic_name(kafka_topic: Mapping[str, Any]) -> str:
    return str((kafka_topic.get("spec") or {}).get("topicName") or kafka_topic["metadata"]["name"])


def config_value(value: Any) -> str:
    """A `spec.config` value as Kafka's string (TopicOperatorUtil.configValueAsString): booleans lower-case, a
    list joined with commas."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(config_value(item) for item in value)
    return str(value)


def config_changes(want: Mapping[str, Any], dynamic: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """(keys to set, keys to delete): the spec's values as Kafka's strings against the topic's dynamic settings."""
    wanted = {key: config_value(value) for key, value in want.items()}
    to_set = {key: value for key, value in wanted.items() if dynamic.get(key) != value}
    return to_set, sorted(key for key in dynamic if key not in wanted)


def unsupported(spec: Mapping[str, Any], partitions: int, replicas: int) -> str | None:
    if spec.get("partitions") is not None and int(spec["partitions"]) < partitions:
        return "Decreasing partitions not supported"
    if spec.get("replicas") is not None and int(spec["replicas"]) != replicas:
        return f"Replication factor change not supported, but required for partitions {list(range(partitions))}"
    return None


async def reconcile(kube: Kube, kafka_topic: dict[str, Any], admin: Admin) -> None:
    meta, spec = kafka_topic["metadata"], kafka_topic.get("spec") or {}
    previous = kafka_topic.get("status") or {}
    name = topic_name(kafka_topic)
    managed = (meta.get("annotations") or {}).get("strimzi.io/managed") != "false"
    finalizers = list(meta.get("finalizers") or [])
    if meta.get("deletionTimestamp"):
        if FINALIZER in finalizers:
            if managed:
                await asyncio.to_thread(admin.delete_topic, name)
            await kube.finalizers(kafka_topic, [f for f in finalizers if f != FINALIZER])
        return
    if FINALIZER not in finalizers:
        await kube.finalizers(kafka_topic, [*finalizers, FINALIZER])
    base = {"observedGeneration": meta.get("generation", 0), "topicName": previous.get("topicName") or name}
    if previous.get("topicName") and previous["topicName"] != name:
        failed = status.topic_failed(previous, "NotSupported", "Changing spec.topicName is not supported")
        await kube.status(kafka_topic, {**previous, **base, "conditions": [failed]})
        return
    try:
        topic_id = await asyncio.to_thread(_apply, admin, name, spec, previous.get("topicId"))
    except AdminError as error:
        await kube.status(
            kafka_topic, {**base, "conditions": [status.topic_failed(previous, "KafkaError", str(error))]}
        )
        return
    except ValueError as error:
        failed = status.topic_failed(previous, "NotSupported", str(error))
        await kube.status(kafka_topic, {**base, **_id(previous.get("topicId")), "conditions": [failed]})
        return
    await kube.status(kafka_topic, {**base, **_id(topic_id), "conditions": [status.ready(previous)]})


def _id(topic_id: str | None) -> dict[str, str]:
    return {"topicId": topic_id} if topic_id else {}


def _apply(admin: Admin, name: str, spec: Mapping[str, Any], topic_id: str | None) -> str | None:
    """Blocking: create or adopt and converge the topic; its id. ValueError for what Strimzi does not support
    (configuration changes in the same pass are still applied, as Strimzi does)."""
    config = spec.get("config") or {}
    existing = admin.topics().get(name)
    if existing is None:
        wanted = {k: config_value(v) for k, v in config.items()}
        return admin.create_topic(name, int(spec.get("partitions", -1)), int(spec.get("replicas", -1)), wanted)
    to_set, to_delete = config_changes(config, admin.dynamic_config(name))
    admin.alter_config(name, to_set, to_delete)
    problem = unsupported(spec, existing.partitions, existing.replicas)
    if problem:
        raise ValueError(problem)
    if spec.get("partitions") is not None and int(spec["partitions"]) > existing.partitions:
        admin.add_partitions(name, int(spec["partitions"]))
    return topic_id or admin.topic_id(name)
