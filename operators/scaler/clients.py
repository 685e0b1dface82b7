"""Kafka clients of the operator, shared per endpoint and credentials, closed when no scaler uses them.

KEDA built clients per scaler and leaked them (#7453, #3151); here one `OffsetReader` serves every scaler that
points at the same cluster as the same user. Each scaler is the owner of the connection it last used: when its
credentials rotate (a new KafkaUser password), or it is deleted, the old client is closed once no other scaler
still uses it, instead of staying open with the old password for the operator's lifetime.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from aiokafka.errors import KafkaError

from eventkit.offsets import LagReadError, OffsetReader
from operators.scaler.connection import KafkaConnection

ReaderFactory = Callable[[Mapping[str, Any], float], OffsetReader]


class ClientPool:
    """One started `OffsetReader` per distinct connection in use, created on first use."""

    def __init__(self, request_timeout: float = 10.0, factory: ReaderFactory = OffsetReader) -> None:
        self._readers: dict[KafkaConnection, OffsetReader] = {}
        self._owners: dict[Hashable, KafkaConnection] = {}
        self._lock = asyncio.Lock()
        self._request_timeout = request_timeout
        self._factory = factory

    def __len__(self) -> int:
        return len(self._readers)

    async def get(self, connection: KafkaConnection, owner: Hashable | None = None) -> OffsetReader:
        """The reader of `connection`; an `owner` (a scaler) that used another connection before gives it up."""
        async with self._lock:
            reader = self._readers.get(connection)
            if reader is None:
                reader = self._factory(connection.client_options(), self._request_timeout)
                try:
                    async with asyncio.timeout(self._request_timeout):
                        await reader.start()
                except (TimeoutError, KafkaError, OSError) as error:
                    # A reader that never started is not kept: the next poll tries afresh.
                    raise LagReadError(
                        f"cannot connect to Kafka at {connection.bootstrap_servers}: {error!r}"
                    ) from error
                self._readers[connection] = reader
            if owner is not None:
                previous = self._owners.get(owner)
                self._owners[owner] = connection
                if previous is not None and previous != connection:
                    await self._close_unused(previous)
            return reader

    async def release(self, owner: Hashable) -> None:
        """The owner is gone (its scaler was deleted): close its client unless another scaler shares it."""
        async with self._lock:
            previous = self._owners.pop(owner, None)
            if previous is not None:
                await self._close_unused(previous)

    async def _close_unused(self, connection: KafkaConnection) -> None:
        if connection in self._owners.values():
            return
        reader = self._readers.pop(connection, None)
        if reader is not None:
            await reader.close()

    async def close(self) -> None:
        async with self._lock:
            readers, self._readers, self._owners = list(self._readers.values()), {}, {}
        for reader in readers:
            await reader.close()
