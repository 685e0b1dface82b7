"""Leader election on a coordination.k8s.io Lease, so two operator replicas never scale at once.

As in client-go, expiry is judged by the local monotonic clock since this process last saw the Lease
change, never by comparing timestamps written by another machine's clock. A leader stops acting a margin
before its own lease could expire, so a successor cannot overlap it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

log = logging.getLogger(__name__)


def _micro_time() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaseElector:
    def __init__(
        self,
        http: httpx.AsyncClient,
        namespace: str,
        name: str,
        identity: str,
        duration: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`clock` is the monotonic clock expiry is judged by; tests pass one they move by hand."""
        self._http = http
        self._path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}"
        self._collection = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
        self._name = name
        self.identity = identity
        self.duration = duration
        self._renewed_at: float | None = None  # monotonic time of our last successful write as holder
        self._observed: tuple[Any, ...] | None = None  # the other holder's record, and when it last changed
        self._observed_at = 0.0
        self.term = 0  # bumps on every acquisition: per-object state from an older term is stale
        self._clock = clock

    @property
    def is_leader(self) -> bool:
        # Act only while a successor would still wait: one third of the duration is the safety margin.
        return self._renewed_at is not None and self._clock() - self._renewed_at < self.duration * 2 / 3

    def _spec(self) -> dict[str, Any]:
        now = _micro_time()
        return {"holderIdentity": self.identity, "leaseDurationSeconds": round(self.duration), "renewTime": now}

    async def try_acquire_or_renew(self) -> bool:
        response = await self._http.get(self._path)
        if response.status_code == 404:
            body = {"metadata": {"name": self._name}, "spec": {**self._spec(), "acquireTime": _micro_time()}}
            created = await self._http.post(self._collection, json=body)
            return self._won(created, new_term=True)
        response.raise_for_status()
        lease = response.json()
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity")
        if holder != self.identity:
            self._renewed_at = None
            record = (holder, spec.get("renewTime"), spec.get("leaseDurationSeconds"))
            if record != self._observed:
                self._observed, self._observed_at = record, self._clock()
                if holder:  # a fresh record of someone else's: wait out a full duration from now
                    return False
            expired = self._clock() - self._observed_at > float(spec.get("leaseDurationSeconds") or 0)
            if holder and not expired:
                return False
        mine = holder == self.identity
        lease["spec"] = {**spec, **self._spec()}
        if not mine:
            lease["spec"]["acquireTime"] = _micro_time()
            lease["spec"]["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
        # The resourceVersion in the body makes this a compare-and-swap: a 409 means someone else won.
        return self._won(await self._http.put(self._path, json=lease), new_term=not mine)

    def _won(self, response: httpx.Response, new_term: bool) -> bool:
        if response.status_code == 409:
            self._renewed_at = None
            return False
        response.raise_for_status()
        if new_term or self._renewed_at is None:
            self.term += 1
            log.info("acquired the lease as %s (term %d)", self.identity, self.term)
        self._renewed_at = self._clock()
        return True

    async def run(self) -> None:
        """Keep trying: renew three times per duration; API errors just mean not leading for a while."""
        while True:
            try:
                await self.try_acquire_or_renew()
            except httpx.HTTPError as error:
                log.warning("lease %s: %r", self._path, error)
            await asyncio.sleep(self.duration / 3)

    async def release(self) -> None:
        """Hand over at once on shutdown instead of making the successor wait out the lease."""
        if self._renewed_at is None:
            return
        self._renewed_at = None
        response = await self._http.get(self._path)
        if response.is_success and (lease := response.json())["spec"].get("holderIdentity") == self.identity:
            lease["spec"]["holderIdentity"] = None
            await self._http.put(self._path, json=lease)
