"""The bench waits for every group to hold its members, through a fresh broker that has no coordinator yet."""

from __future__ import annotations

from typing import cast

import pytest
from aiokafka.errors import GroupCoordinatorNotAvailableError, GroupLoadInProgressError

from devstack.scalerbench.observe import Target
from devstack.scalerbench.run import _joined
from eventkit.offsets import OffsetReader

Members = list[frozenset[tuple[str, int]]]


class FreshBroker:
    """Answers as a broker does that makes __consumer_offsets on the first lookup, then loads the group."""

    def __init__(self, members: Members) -> None:
        self.answers: list[Exception | tuple[str, Members]] = [
            GroupCoordinatorNotAvailableError(),
            GroupLoadInProgressError(),
            ("PreparingRebalance", []),
            ("Stable", members),
        ]

    async def describe(self, group: str) -> tuple[str, Members]:
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


async def test_a_group_behind_a_fresh_coordinator_is_waited_for() -> None:
    broker = FreshBroker([frozenset({("t", 0)}), frozenset({("t", 1)})])
    await _joined(cast(OffsetReader, broker), [Target("ours", "g", "t")], replicas=2, timeout=30)
    assert len(broker.answers) == 1, "it read on until the group was stable with both members"


async def test_a_group_that_never_joins_times_out_naming_it() -> None:
    broker = FreshBroker([frozenset({("t", 0)})])
    with pytest.raises(TimeoutError, match="group g has 1 members \\(Stable\\), not 2"):
        await _joined(cast(OffsetReader, broker), [Target("ours", "g", "t")], replicas=2, timeout=4)
