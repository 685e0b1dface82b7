"""Kafka clients of the operator, shared per endpoint and credentials.

KEDA built clients per scaler and leaked them (#7453, #3151); here one `OffsetReader` serves every scaler that
points at the same cluster as the same user, and lives until shutdown.
"""

from __future__ import annotations

import asyncio

from aiokafka.errors import KafkaError

from eventkit.offsets import LagReadError, OffsetReader
from operators.scaler.connection import KafkaConnection


class ClientPool:
    """One started `OffsetReader` per distinct connection, created on first use."""

    def __init__(self, request_timeout: float = 10.0) -> None:
        self._readers: dict[KafkaConnection, OffsetReader] = {}
        self._lock = asyncio.Lock()
        self._request_timeout = request_timeout

    def __len__(self) -> int:
        return len(self._readers)

    async def get(self, connection: KafkaConnection) -> OffsetReader:
        async with self._lock:
            reader = self._readers.get(connection)
            if reader is None:
                reader = OffsetReader(connection.client_options(), self._request_timeout)
                try:
                    async with asyncio.timeout(self._request_timeout):
                        await reader.start()
                except (TimeoutError, KafkaError, OSError) as error:
                    # A reader that never started is not kept: the next poll tries afresh.
                    raise LagReadError(
                        f"cannot connect to Kafka at {connection.bootstrap_servers}: {error!r}"
                    ) from error
                self._readers[connection] = reader
            return reader

    async def close(self) -> None:
        async with self._lock:
            readers, self._readers = list(self._readers.values()), {}
        for reader in readers:
            await reader.close()
