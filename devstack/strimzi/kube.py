"""The stand-in's few Kubernetes calls, through lightkube: read the Strimzi resources and Secrets, apply what
it owns (server-side, as field manager `strimzi-standin`), write statuses, manage the topic finalizer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lightkube import ApiError, AsyncClient, codecs
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.core_v1 import Secret
from lightkube.types import PatchType

GROUP, VERSION = "kafka.strimzi.io", "v1"
Kafka = create_namespaced_resource(GROUP, VERSION, "Kafka", "kafkas")
KafkaNodePool = create_namespaced_resource(GROUP, VERSION, "KafkaNodePool", "kafkanodepools")
KafkaTopic = create_namespaced_resource(GROUP, VERSION, "KafkaTopic", "kafkatopics")
KafkaUser = create_namespaced_resource(GROUP, VERSION, "KafkaUser", "kafkausers")
KINDS = {"Kafka": Kafka, "KafkaNodePool": KafkaNodePool, "KafkaTopic": KafkaTopic, "KafkaUser": KafkaUser}
MANAGER = "strimzi-standin"


class Kube:
    def __init__(self, client: AsyncClient) -> None:
        self.client = client

    async def apply(self, manifest: Mapping[str, Any]) -> None:
        await self.client.apply(codecs.from_dict(dict(manifest)), field_manager=MANAGER, force=True)

    async def get(self, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
        try:
            found = await self.client.get(KINDS[kind], name, namespace=namespace)
        except ApiError as error:
            if error.status.code == 404:
                return None
            raise
        return _plain(found)

    async def select(self, kind: str, namespace: str, labels: Mapping[str, str]) -> list[dict[str, Any]]:
        """The resources of `kind` with `labels` in `namespace` ("*": every namespace)."""
        found = self.client.list(KINDS[kind], namespace=namespace, labels=dict(labels))
        return [_plain(item) async for item in found]

    async def secret(self, name: str, namespace: str) -> dict[str, bytes] | None:
        """A Secret's data, decoded; None when there is none."""
        import base64

        try:
            found = await self.client.get(Secret, name, namespace=namespace)
        except ApiError as error:
            if error.status.code == 404:
                return None
            raise
        return {key: base64.b64decode(value) for key, value in (found.data or {}).items()}

    async def delete_secret(self, name: str, namespace: str) -> None:
        try:
            await self.client.delete(Secret, name, namespace=namespace)
        except ApiError as error:
            if error.status.code != 404:
                raise

    async def status(self, resource: Mapping[str, Any], status: Mapping[str, Any]) -> None:
        """Replace the resource's status when it differs (an unchanged status is not written, so it wakes no
        watcher, this stand-in included)."""
        if resource.get("status") == status:
            return
        meta = resource["metadata"]
        patch = {"status": dict(status)}
        kind = KINDS[resource["kind"]]
        await self.client.patch(
            kind.Status, meta["name"], patch, namespace=meta["namespace"], patch_type=PatchType.MERGE
        )

    async def finalizers(self, resource: Mapping[str, Any], finalizers: list[str]) -> None:
        meta = resource["metadata"]
        patch = {"metadata": {"finalizers": finalizers, "resourceVersion": meta["resourceVersion"]}}
        await self.client.patch(
            KINDS[resource["kind"]], meta["name"], patch, namespace=meta["namespace"], patch_type=PatchType.MERGE
        )


def _plain(resource: Any) -> dict[str, Any]:
    return dict(resource.to_dict())
