"""Install CustomResourceDefinitions from YAML files and wait until the apiserver serves them."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import yaml

_CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


class CrdError(RuntimeError):
    """A CRD was rejected or did not become Established in time."""


def load_crds(directory: Path) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition in the folder's YAML files."""
    if not directory.is_dir():
        raise CrdError(f"no CRD folder at {directory}")
    return read_crds(sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]))


def read_crds(files: Sequence[Path]) -> list[dict[str, Any]]:
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise CrdError(f"no CRD file at {', '.join(missing)}")
    docs = [
        doc
        for path in files
        for doc in yaml.safe_load_all(path.read_text())
        if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"
    ]
    if not docs:
        raise CrdError(f"{', '.join(map(str, files)) or 'no file'} holds no CustomResourceDefinition")
    return docs


def apply_crd(client: httpx.Client, crd: dict[str, Any]) -> None:
    # Server-side apply creates or updates in one call, and unlike a client-side apply it stores no
    # last-applied annotation, which Strimzi's ~330 kB Kafka CRD would push past the 256 kB annotation limit.
    name = crd["metadata"]["name"]
    response = client.patch(
        f"{_CRDS}/{name}",
        params={"fieldManager": "orderflow", "force": "true"},
        headers={"Content-Type": "application/apply-patch+yaml"},
        content=json.dumps(crd),  # JSON is YAML, and much faster to emit
    )
    if response.is_error:
        raise CrdError(f"applying CRD {name} failed: {response.status_code} {response.text[:500]}")


def _conditions(client: httpx.Client, name: str) -> dict[str, str]:
    response = client.get(f"{_CRDS}/{name}")
    if response.is_error:
        return {}
    conditions = (response.json().get("status") or {}).get("conditions") or []
    return {c["type"]: c["status"] for c in conditions}


def _nudge(client: httpx.Client, name: str) -> None:
    # The apiserver queues a CRD for its Established condition only on an update event. One whose
    # apiserver was stopped in between (kept in etcd across restarts) never gets another, and an identical
    # re-apply is no write at all; any metadata change is an update.
    patch = {"metadata": {"annotations": {"orderflow.local/establish-requested": str(time.time())}}}
    headers = {"Content-Type": "application/merge-patch+json"}
    client.patch(f"{_CRDS}/{name}", content=json.dumps(patch), headers=headers).raise_for_status()


def _served(client: httpx.Client, crd: dict[str, Any]) -> bool:
    # Established can precede discovery by a moment; clients (helm, kopf) resolve kinds through discovery.
    group = crd["spec"]["group"]
    served = [v["name"] for v in crd["spec"]["versions"] if v.get("served")]
    return all(client.get(f"/apis/{group}/{version}").is_success for version in served)


def install_crds(client: httpx.Client, crds: list[dict[str, Any]], timeout: float = 60.0) -> list[str]:
    """Apply the CRDs (from `load_crds`) and wait until all are Established and discoverable; returns names."""
    for crd in crds:
        apply_crd(client, crd)
    pending = {crd["metadata"]["name"]: crd for crd in crds}
    started = time.monotonic()
    nudged: set[str] = set()
    while pending:
        for name, crd in list(pending.items()):
            conditions = _conditions(client, name)
            if conditions.get("Established") == "True" and _served(client, crd):
                del pending[name]
            elif conditions.get("NamesAccepted") == "True" and name not in nudged and time.monotonic() > started + 3:
                _nudge(client, name)
                nudged.add(name)
        if pending and time.monotonic() > started + timeout:
            raise CrdError(f"CRDs not Established after {timeout:.0f}s: {', '.join(pending)}")
        if pending:
            time.sleep(0.2)
    return [crd["metadata"]["name"] for crd in crds]
