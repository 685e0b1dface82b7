"""`orderflow load` resends a POST whose connection broke or that met a gateway error, under the same
Idempotency-Key, so a pod replaced mid-run costs a retry instead of a lost order. The server here is a
scripted socket: what is under test is the client's side of the exchange."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from orderflow import load as load_module
from orderflow import loadclient, transient
from orderflow.load import LoadOptions, LoadRun

HANG = b"hang"


class ScriptedServer:
    """Answers each POST with the next step: b"" closes the connection unanswered, HANG never answers, else the
    bytes are sent."""

    def __init__(self, steps: Sequence[bytes]) -> None:
        self.steps = list(steps)
        self.keys: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while self.steps:
            head = await reader.readuntil(b"\r\n\r\n")
            headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:] if ": " in line)
            await reader.readexactly(int(headers["Content-Length"]))
            self.keys.append(headers["Idempotency-Key"])
            step = self.steps.pop(0)
            if not step:
                break
            if step == HANG:
                await reader.read()  # until the client gives up and closes
                break
            writer.write(step)
            await writer.drain()
        writer.close()


async def _run(steps: Sequence[bytes]) -> tuple[ScriptedServer, dict[str, object]]:
    scripted = ScriptedServer(steps)
    server = await asyncio.start_server(scripted.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        options = LoadOptions(orders=1, concurrency=1, url=f"http://127.0.0.1:{port}", wait=False, seed=1)
        summary = await LoadRun(options, lambda _: None).run()
    finally:
        server.close()
        await server.wait_closed()
    return scripted, summary.as_dict()


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transient, "BACKOFF_SECONDS", 0.0)


def _answer(status: bytes) -> bytes:
    return b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\n\r\n"


def test_a_broken_connection_and_a_503_are_retried_under_the_same_key() -> None:
    scripted, summary = asyncio.run(_run([b"", _answer(b"503 Service Unavailable"), _answer(b"202 Accepted")]))
    assert len(scripted.keys) == 3, scripted.keys
    assert len(set(scripted.keys)) == 1, scripted.keys
    assert (summary["accepted"], summary["rejected"], summary["retried"]) == (1, 0, 2)


def test_a_post_that_keeps_failing_is_rejected_with_its_last_reason() -> None:
    scripted, summary = asyncio.run(_run([_answer(b"503 Service Unavailable")] * transient.ATTEMPTS))
    assert len(scripted.keys) == transient.ATTEMPTS
    assert summary["rejected_by_status"] == {"503": 1}
    assert summary["retried"] == transient.ATTEMPTS - 1


def test_client_errors_are_not_retried() -> None:
    scripted, summary = asyncio.run(_run([_answer(b"422 Unprocessable Entity")]))
    assert len(scripted.keys) == 1
    assert (summary["rejected_by_status"], summary["retried"]) == ({"422": 1}, 0)


def test_a_post_without_an_answer_in_time_is_not_resent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load_module, "POST_TIMEOUT_SECONDS", 0.2)
    scripted, summary = asyncio.run(_run([HANG, _answer(b"202 Accepted")]))
    assert len(scripted.keys) == 1, "the service may still be placing it: no second POST"
    assert (summary["rejected_by_status"], summary["retried"]) == ({"error:NoAnswer": 1}, 0)


def test_a_connect_that_gets_no_answer_fails_in_bounded_time_and_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loadclient, "CONNECT_TIMEOUT_SECONDS", 0.05)
    real_open = loadclient.Connection._open
    calls = 0

    async def first_connect_hangs(self: loadclient.Connection) -> object:
        nonlocal calls
        calls += 1
        if calls == 1:  # a SYN to a vanished pod: nothing ever answers
            loop = asyncio.get_running_loop()
            original = loop.create_connection

            async def never(*args: object, **kwargs: object) -> None:
                await asyncio.Event().wait()

            monkeypatch.setattr(loop, "create_connection", never)
            try:
                return await real_open(self)
            finally:
                monkeypatch.setattr(loop, "create_connection", original)
        return await real_open(self)

    monkeypatch.setattr(loadclient.Connection, "_open", first_connect_hangs)
    scripted, summary = asyncio.run(_run([_answer(b"202 Accepted")]))
    assert calls >= 2
    assert len(scripted.keys) == 1
    assert (summary["accepted"], summary["retried"]) == (1, 1)
