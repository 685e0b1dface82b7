"""The simulated broker outage: what the world does while the broker is away, and what each scaler does."""

from __future__ import annotations

from dataclasses import dataclass, field

from devstack.scalerbench import keda
from devstack.scalerbench.compare import Ours
from devstack.scalerbench.simulate import GroupView, World, run
from devstack.scalerbench.traces import broker_restart
from eventkit.lag import PartitionLag

DOWN = (100, 130)


@dataclass
class Probe:
    """Scales nothing; remembers what it saw each second."""

    name: str = "probe"
    views: dict[int, GroupView] = field(default_factory=dict)

    def step(self, t: int, view: GroupView) -> int | None:
        self.views[t] = view
        return None


def _ends(view: GroupView) -> int:
    assert view.lags is not None
    return sum(p.log_end for p in view.lags)


def _positions(view: GroupView) -> int:
    assert view.lags is not None
    return sum(p.position for p in view.lags)


def test_while_the_broker_is_down_nothing_is_read_or_consumed_and_no_record_is_lost() -> None:
    world = World()  # one replica of 100 records/s, a 3 s rebalance
    probe = Probe()
    run(broker_restart(length=300, down=DOWN, seconds=200), probe, world)
    views = probe.views
    assert [t for t, view in views.items() if view.lags is None] == list(range(*DOWN))
    # 3 pods' worth, 300 records/s; each second's arrive before the scaler looks. The producer held the outage's.
    assert _ends(views[DOWN[0] - 1]) == 300 * DOWN[0]
    assert _ends(views[DOWN[1]]) == 300 * (DOWN[1] + 1)
    # The second before the outage consumed 100 records; then nothing until the group has rejoined (3 s).
    assert _positions(views[DOWN[1]]) == _positions(views[DOWN[0] - 1]) + 100
    rejoined = DOWN[1] + world.rebalance_seconds
    assert _positions(views[rejoined]) == _positions(views[DOWN[1]])
    assert _positions(views[rejoined + 1]) == _positions(views[rejoined]) + 100


def _kafka(answers: bool) -> GroupView:
    """Three replicas of an idle group, as the scalers see it; Kafka answering or not."""
    lags = [PartitionLag("sim", p, 0, 0, 0, "committed") for p in range(12)]
    return GroupView(lags if answers else None, 3, ())


def _polls(scaler: Ours, answers: bool, seconds: int = 200) -> list[int]:
    """The seconds at which `scaler` read the group (each sets its next poll)."""
    polls = []
    for t in range(seconds):
        before = scaler.next_poll
        scaler.step(t, _kafka(answers))
        if scaler.next_poll != before:
            polls.append(t)
    return polls


def test_ours_keeps_its_replicas_forgets_the_rate_snapshot_and_backs_off_as_the_operator_does() -> None:
    interval = Ours().spec.poll_interval_seconds
    assert _polls(Ours(phase=0), answers=True)[:3] == [0, interval, 2 * interval]
    down = Ours(phase=0)
    # 20, 40, 80 s after each failure (reconcile._backoff), and no decision meanwhile.
    assert _polls(down, answers=False)[:4] == [0, 2 * interval, 6 * interval, 14 * interval]
    assert down.memory.rate.snapshot is None
    assert all(down.step(t, _kafka(answers=False)) is None for t in range(200, 400))


def test_keda_and_its_hpa_change_nothing_while_kafka_does_not_answer() -> None:
    for config in (keda.defaults(100, 12), keda.tuned(100, 12), keda.best("broker-restart", 100, 12)):
        scaler = keda.KedaHpa(config)
        assert all(scaler.step(t, _kafka(answers=False)) is None for t in range(600))
        assert scaler.recommendations == []
