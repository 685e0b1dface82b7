"""kopf handlers: wiring only. `python -m kopf run -m operators.scaler.handlers --all-namespaces` runs them.

A timer ticks every second per ConsumerScaler; a poll runs when the scaler's own interval (or its backoff)
has elapsed, and only in the replica holding the Lease.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import kopf
import prometheus_client

from operators.scaler import kube, metrics, reconcile
from operators.scaler.clients import ClientPool
from operators.scaler.config import OperatorConfig
from operators.scaler.leader import LeaseElector
from operators.scaler.reconcile import Deps, LeadershipLost, ScalerState
from operators.scaler.scaling import KubeApi
from operators.scaler.spec import GROUP, PLURAL, VERSION

# The granularity of every scaler's pollIntervalSeconds; fixed at import because kopf's timer is.
TICK_SECONDS = float(os.environ.get("ORDERFLOW_SCALER_TICK_SECONDS", "1"))
_PREFIX = "scaler.orderflow.io"


@kopf.on.login()
def login(settings: kopf.OperatorSettings, **_: Any) -> kopf.ConnectionInfo:
    # kopf would fall back to these two logins by itself; declared so that kopf and the operator's own API
    # client (kube.py) provably log in alike.
    return kube.login(settings)


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    config: OperatorConfig = memo.get("config") or OperatorConfig()
    settings.peering.standalone = True  # the Lease decides who acts; kopf's peering would need its own CRD
    settings.posting.level = logging.WARNING  # our own Events say what happened; kopf's would be noise
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=_PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix=_PREFIX)
    http = kube.client(kube.login(settings))
    leader = LeaseElector(http, config.lease_namespace, config.lease_name, config.identity, config.lease_seconds)
    memo.http = http
    memo.deps = Deps(KubeApi(http), ClientPool(config.kafka_timeout_seconds), leader, config)
    memo.lease_task = asyncio.create_task(leader.run(), name="scaler-lease")
    memo.metrics_server = None
    if config.metrics_port:
        server, _thread = prometheus_client.start_http_server(config.metrics_port, registry=metrics.REGISTRY)
        memo.metrics_server = server


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    deps: Deps = memo.deps
    memo.lease_task.cancel()
    await deps.leader.release()
    await deps.pool.close()
    await memo.http.aclose()
    if memo.metrics_server is not None:
        memo.metrics_server.shutdown()
        memo.metrics_server.server_close()


@kopf.timer(GROUP, VERSION, PLURAL, interval=TICK_SECONDS)
async def tick(body: kopf.Body, memo: kopf.Memo, patch: kopf.Patch, **_: Any) -> None:
    deps: Deps = memo.deps
    metrics.LEADER.set(1 if deps.leader.is_leader else 0)
    if not deps.leader.is_leader:
        return
    state: ScalerState | None = memo.get("scaler")
    if state is None or state.term != deps.leader.term:
        state = memo["scaler"] = ScalerState(deps.leader.term)
    now = time.monotonic()
    if now < state.next_poll_at:
        return
    try:
        status = await reconcile.poll(body, state, deps, now, datetime.now(UTC))
    except LeadershipLost:
        return
    except httpx.HTTPError as error:
        raise kopf.TemporaryError(f"Kubernetes API: {error!r}", delay=TICK_SECONDS * 5) from error
    patch.status.update(status)


@kopf.on.delete(GROUP, VERSION, PLURAL, optional=True)
async def deleted(namespace: str | None, name: str, memo: kopf.Memo, **_: Any) -> None:
    metrics.forget(namespace or "", name)
    deps: Deps = memo.deps
    await deps.pool.release((namespace or "", name))
