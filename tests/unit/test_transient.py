"""The CLI clients' retry policy (orderflow.transient): how long their tries span."""

from __future__ import annotations

from orderflow import loadclient, transient


def test_backoff_doubles_from_a_quarter_second_up_to_its_cap() -> None:
    waits = [transient.backoff(attempt) for attempt in range(transient.ATTEMPTS)]
    assert waits == [0.0, 0.25, 0.5, 1.0, 2.0] + [4.0] * 7
    # The window of a dead node's endpoints (~50 s) is what the tries must span, connects included.
    assert sum(waits) + transient.ATTEMPTS * loadclient.CONNECT_TIMEOUT_SECONDS >= 50
