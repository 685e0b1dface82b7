"""The operator's few Kubernetes API calls: /scale, HPAs, Events, and the Strimzi objects it reads."""

from __future__ import annotations

from typing import Any

import httpx

from operators.scaler.builders import scale_patch
from operators.scaler.spec import ScaleTargetRef


class TargetNotFound(LookupError):
    """The scale target, or its kind, does not exist."""


def _api_root(api_version: str) -> str:
    return "/api/v1" if api_version == "v1" else f"/apis/{api_version}"


def _group(api_version: str) -> str:
    return api_version.split("/")[0] if "/" in api_version else ""


class KubeApi:
    """Thin calls over one shared httpx client; discovery of a kind's plural is cached."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self._plurals: dict[tuple[str, str], str] = {}

    async def get(self, path: str) -> dict[str, Any] | None:
        response = await self.http.get(path)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    async def _plural(self, ref: ScaleTargetRef) -> str:
        key = (ref.api_version, ref.kind)
        if key not in self._plurals:
            discovery = await self.get(_api_root(ref.api_version))
            resources = (discovery or {}).get("resources", [])
            plural = next((r["name"] for r in resources if r["kind"] == ref.kind and "/" not in r["name"]), None)
            if plural is None:
                raise TargetNotFound(f"the API server serves no kind {ref.kind} in {ref.api_version}")
            self._plurals[key] = plural
        return self._plurals[key]

    async def _scale_path(self, namespace: str, ref: ScaleTargetRef) -> str:
        plural = await self._plural(ref)
        return f"{_api_root(ref.api_version)}/namespaces/{namespace}/{plural}/{ref.name}/scale"

    async def replicas(self, namespace: str, ref: ScaleTargetRef) -> int:
        scale = await self.get(await self._scale_path(namespace, ref))
        if scale is None:
            raise TargetNotFound(f"{ref.kind} {namespace}/{ref.name} not found")
        return int(scale.get("spec", {}).get("replicas", 0))

    async def scale(self, namespace: str, ref: ScaleTargetRef, replicas: int) -> None:
        response = await self.http.patch(
            await self._scale_path(namespace, ref),
            json=scale_patch(replicas),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        if response.status_code == 404:
            raise TargetNotFound(f"{ref.kind} {namespace}/{ref.name} not found")
        response.raise_for_status()

    async def competing_hpa(self, namespace: str, ref: ScaleTargetRef) -> str | None:
        """The name of an HPA that scales the same object: two controllers must not fight over it."""
        hpas = await self.get(f"/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers")
        for hpa in (hpas or {}).get("items", []):
            target = hpa["spec"]["scaleTargetRef"]
            same_group = _group(target.get("apiVersion", "")) == _group(ref.api_version)
            if target["kind"] == ref.kind and target["name"] == ref.name and same_group:
                return str(hpa["metadata"]["name"])
        return None

    async def post_event(self, event: dict[str, Any]) -> None:
        namespace = event["metadata"]["namespace"]
        response = await self.http.post(f"/api/v1/namespaces/{namespace}/events", json=event)
        response.raise_for_status()
