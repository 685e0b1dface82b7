"""One decision (pure): the replicas the group's load asks for (policy.recommend), then named rules.

The rules are two ordered lists of one kind. Each rule sees the target so far and either holds it elsewhere (a
`Hold`: the count and a note for the message) or says nothing; the last rule that held names the decision's
`reason`, which is the scaler's status reason and Event reason. SIZING rules shape the recommendation, which the
windows remember; PACING rules decide how fast to get there. Adding a rule is one function and one line in
either list. Before them, the first look of a scaler (or of a new leader) may end the decision: nothing is known
yet (reason MeasuringInflow).

    FellBehindBefore  more than a count whose scale-down the lag undid at an inflow as high as this one
    Inactive          minReplicas (or 0) for a group with no lag above activationLag and no inflow
    ScaleUpWindow     up only to what every recommendation in the up window allows (the HPA's behavior)
    ScaleDownWindow   down only to the highest recommendation in the down window
    MaxStepUp         at most scaleUp.maxStep replicas more per decision
    InflowRising      no scale-down while the inflow rises: the lag has not caught up with it yet
    HotPartition      no scale-down while one partition alone needs more than a replica
    MaxStepDown       at most scaleDown.maxStep replicas fewer per decision
    OutOfBounds       minReplicas .. min(maxReplicas, partitions) win over windows and steps
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from operators.scaler.policy import (
    EPSILON,
    Observation,
    Policy,
    active,
    clamp,
    more_than,
    needs,
    recommend,
    rising,
    sized,
)


@dataclass(frozen=True)
class Recommendation:
    at: float
    replicas: int


@dataclass(frozen=True)
class Decision:
    desired: int
    recommended: int  # before the rules
    reason: str  # CamelCase, for conditions and Events
    message: str
    history: tuple[Recommendation, ...]  # the recommendations the windows remember, this one last


@dataclass(frozen=True)
class Hold:
    replicas: int
    note: str  # appended to the decision's message


@dataclass(frozen=True)
class Step:
    """What a rule sees: the target so far, and what it was decided from."""

    policy: Policy
    obs: Observation
    earlier: tuple[Recommendation, ...]  # the recommendations of the longest window, before this one
    now: float
    target: int

    def recent(self, seconds: float) -> list[int]:
        """The recommendations of the last `seconds` (a window of 0 s: none), this one included."""
        return [self.target, *(r.replicas for r in self.earlier if self.now - r.at < seconds)]


def fell_behind_before(step: Step) -> Hold | None:
    # A group that keeps up shows no lag, so lag alone would try the same scale-down every window.
    obs = step.obs
    if not obs.too_few:
        return None
    floor = sized(more_than(obs.too_few, obs.partitions), step.policy, obs.partitions)
    note = f"; {obs.too_few} replicas fell behind this inflow before"
    return Hold(floor, note) if floor > step.target else None


def inactive(step: Step) -> Hold | None:
    # Held even at the same count: the reason says why a group with a little lag is not woken.
    if active(step.policy, step.obs):
        return None
    note = f"; idle: lag within activationLag {step.policy.activation_lag}, no inflow"
    return Hold(clamp(0, step.policy, step.obs.partitions), note)


def scale_up_window(step: Step) -> Hold | None:
    current = step.obs.current
    if step.target <= current:
        return None
    held = max(current, min(step.recent(step.policy.scale_up.stabilization_seconds)))
    return _window(step, held)


def scale_down_window(step: Step) -> Hold | None:
    current = step.obs.current
    if step.target >= current:
        return None
    held = min(current, max(step.recent(step.policy.scale_down.stabilization_seconds)))
    return _window(step, held)


def _window(step: Step, held: int) -> Hold | None:
    return Hold(held, f"; held at {held} by the stabilization window") if held != step.target else None


def max_step_up(step: Step) -> Hold | None:
    most = step.obs.current + step.policy.scale_up.max_step
    return Hold(most, f"; limited to +{step.policy.scale_up.max_step}") if step.target > most else None


def inflow_rising(step: Step) -> Hold | None:
    # Lag lags the inflow: removing replicas now would be undone at the next poll, after a rebalance.
    obs = step.obs
    if step.target >= obs.current or obs.previous_inflow is None or not rising(obs.previous_inflow, obs.inflow):
        return None
    return Hold(obs.current, f"; inflow rising ({obs.previous_inflow:.1f} -> {obs.inflow:.1f}/s), not scaling down")


def hot_partition(step: Step) -> Hold | None:
    # A partition one replica cannot keep up with (a hot key) lags whatever the count; which of its neighbours
    # lag with it depends on the assignment, so the lag term steps down and up with every rebalance, and every
    # rebalance pauses the hot partition too. Hold until it is within one replica.
    obs = step.obs
    if step.target >= obs.current or not obs.per_replica_rate or not obs.partitions:
        return None
    hottest = needs(obs, step.policy.drain_seconds, obs.per_replica_rate)[0]
    if hottest <= 1 + EPSILON:
        return None
    return Hold(obs.current, f"; a partition alone needs {hottest:.1f} replicas, not scaling down")


def max_step_down(step: Step) -> Hold | None:
    least = step.obs.current - step.policy.scale_down.max_step
    return Hold(least, f"; limited to -{step.policy.scale_down.max_step}") if step.target < least else None


def out_of_bounds(step: Step) -> Hold | None:
    # A lowered maxReplicas applies at once.
    bounded = clamp(step.target, step.policy, step.obs.partitions)
    return Hold(bounded, f"; bounds move it to {bounded}") if bounded != step.target else None


Rule = Callable[[Step], Hold | None]
Rules = tuple[tuple[str, Rule], ...]
SIZING: Rules = (
    ("FellBehindBefore", fell_behind_before),
    ("Inactive", inactive),
)
PACING: Rules = (
    ("ScaleUpWindow", scale_up_window),
    ("ScaleDownWindow", scale_down_window),
    ("MaxStepUp", max_step_up),
    ("InflowRising", inflow_rising),
    ("HotPartition", hot_partition),
    ("MaxStepDown", max_step_down),
    ("OutOfBounds", out_of_bounds),
)


def first_look(policy: Policy, obs: Observation, history: tuple[Recommendation, ...]) -> Decision | None:
    """A scaler seen for the first time (or by a new leader) waits a full window before scaling an active group
    down; an inactive one (no lag, no inflow) may go to zero at once, as KEDA's does. But the first look has no
    inflow yet, and a group keeping up with steady traffic shows no lag either: neither active nor idle is known
    until a poll has measured the inflow, so this one holds (within the bounds) and remembers no history."""
    if history or obs.measured or active(policy, obs):
        return None
    held = clamp(obs.current, policy, obs.partitions)
    return Decision(held, held, "MeasuringInflow", "first look: the inflow is measured before scaling", ())


def decide(policy: Policy, obs: Observation, history: tuple[Recommendation, ...], now: float) -> Decision:
    """`history`: the recommendations of earlier decisions (empty before the first)."""
    if (looking := first_look(policy, obs, history)) is not None:
        return looking
    if not history and active(policy, obs):
        # As if the current count had just been recommended: no scale-down before a full window of evidence.
        history = (Recommendation(now, obs.current),)
    keep = max(policy.scale_up.stabilization_seconds, policy.scale_down.stabilization_seconds)
    earlier = tuple(r for r in history if now - r.at < keep)
    asked, reason, message = recommend(policy, obs)
    step = Step(policy, obs, earlier, now, asked)
    recommended, reason, message = _apply(SIZING, step, reason, message)
    desired, reason, message = _apply(PACING, replace(step, target=recommended), reason, message)
    return Decision(desired, recommended, reason, message, (*earlier, Recommendation(now, recommended)))


def _apply(rules: Rules, step: Step, reason: str, message: str) -> tuple[int, str, str]:
    target = step.target
    for name, rule in rules:
        hold = rule(replace(step, target=target))
        if hold is not None:
            target, reason, message = hold.replicas, name, message + hold.note
    return target, reason, message
