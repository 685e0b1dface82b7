"""`orderflow verify` reads through a broken connection or a gateway error, as `load` places through them."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from orderflow import transient
from orderflow.verify import _json


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transient, "BACKOFF_SECONDS", 0.0)


def _read(answers: list[httpx.Response | Exception]) -> tuple[object, int]:
    calls = 0

    def handle(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def run() -> object:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
            return await _json(client, "http://orders/orders/1")

    return asyncio.run(run()), calls


def test_a_read_error_and_a_503_are_read_through() -> None:
    found, calls = _read([httpx.ReadError("reset"), httpx.Response(503), httpx.Response(200, json={"ok": 1})])
    assert (found, calls) == ({"ok": 1}, 3)


def test_a_service_that_stays_unreachable_fails_after_the_last_try() -> None:
    with pytest.raises(httpx.ReadError):
        _read([httpx.ReadError("reset")] * transient.ATTEMPTS)


def test_a_404_is_an_answer_not_a_failure() -> None:
    assert _read([httpx.Response(404)]) == (None, 1)
