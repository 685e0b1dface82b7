"""The objects of one bench run (pure): a consumer Deployment per autoscaler and the autoscaler's own object,
from the same configurations the simulation uses (devstack.scalerbench.compare.our_spec,
keda.defaults/tuned/best).

Every Deployment runs the same image at the same per-pod rate; only what scales it differs.
"""

from __future__ import annotations

from typing import Any

from devstack.images.app_images import ImageSpec
from devstack.scalerbench import keda
from operators.scaler.spec import GROUP, KIND, VERSION, ScalerSpec

CONSUMER = ImageSpec("orderflow.local/scaler-bench-consumer", "devstack/scalerbench/Dockerfile", "devstack/scalerbench")
IMAGE = CONSUMER.ref("local")

Manifest = dict[str, Any]


def consumer_deployment(
    name: str, namespace: str, *, replicas: int, bootstrap: str, group: str, topic: str, rate: float, reset: str
) -> Manifest:
    labels = {"app.kubernetes.io/name": "scaler-bench-consumer", "scaler-bench/scaler": name}
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "BENCH_GROUP": group,
        "BENCH_TOPIC": topic,
        "BENCH_RATE": str(rate),
        "BENCH_RESET": reset,
    }
    container = {
        "name": "consumer",
        "image": IMAGE,
        "imagePullPolicy": "Never",
        "env": [{"name": k, "value": v} for k, v in env.items()],
        "resources": {"requests": {"cpu": "10m", "memory": "48Mi"}, "limits": {"memory": "160Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "runAsGroup": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    # The consumer leaves its group on SIGTERM at once; nothing to drain.
                    "terminationGracePeriodSeconds": 10,
                    "containers": [container],
                },
            },
        },
    }


def consumer_scaler(spec: ScalerSpec, name: str, namespace: str) -> Manifest:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": KIND,
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec.model_dump(mode="json", by_alias=True, exclude_none=True),
    }


def scaled_object(
    config: keda.KedaConfig, name: str, namespace: str, *, bootstrap: str, group: str, topic: str
) -> Manifest:
    """A ScaledObject with KEDA's Kafka trigger, exactly as `config` says (the simulation's model of it)."""
    spec: dict[str, Any] = {
        "scaleTargetRef": {"name": name},
        "pollingInterval": config.polling_interval,
        "cooldownPeriod": config.cooldown_period,
        "minReplicaCount": config.min_replica_count,
        "maxReplicaCount": config.max_replica_count,
        "triggers": [
            {
                "type": "kafka",
                "useCachedMetrics": config.use_cached_metrics,
                "metadata": {
                    "bootstrapServers": bootstrap,
                    "consumerGroup": group,
                    "topic": topic,
                    "lagThreshold": str(config.lag_threshold),
                    "activationLagThreshold": str(config.activation_lag_threshold),
                    "offsetResetPolicy": config.offset_reset_policy,
                    # The trigger's boolean options, only those set (KEDA's defaults are false).
                    **keda.options(config),
                },
            }
        ],
    }
    if config.behavior is not None:
        b = config.behavior
        spec["advanced"] = {
            "horizontalPodAutoscalerConfig": {
                "behavior": {
                    "scaleUp": {
                        "stabilizationWindowSeconds": b.up_window,
                        "policies": [{"type": "Pods", "value": b.up_pods, "periodSeconds": b.up_period}],
                    },
                    "scaleDown": {
                        "stabilizationWindowSeconds": b.down_window,
                        "policies": [{"type": "Percent", "value": b.down_percent, "periodSeconds": b.down_period}],
                    },
                }
            }
        }
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
