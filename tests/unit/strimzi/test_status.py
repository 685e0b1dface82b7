"""Strimzi's status conditions (/tmp/research/strimzi.md §1.7, §2, §3; StatusUtils): Kafka and KafkaUser are
`Ready` True or `NotReady` True with a reason; a KafkaTopic is `Ready` True or False. `lastTransitionTime` is
ISO-8601 UTC with milliseconds and changes only when the condition's type or status does."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from devstack.strimzi import status

OLD = "2026-01-01T00:00:00.000Z"
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def previous(**condition: Any) -> dict[str, Any]:
    return {"conditions": [condition], "observedGeneration": 1}


def parsed(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def test_ready_is_type_ready_status_true_with_a_transition_time_and_nothing_else() -> None:
    found = status.ready(None)
    assert set(found) == {"type", "status", "lastTransitionTime"}
    assert (found["type"], found["status"]) == ("Ready", "True")


def test_the_transition_time_is_now_in_utc_with_milliseconds() -> None:
    before = datetime.now(UTC)
    stamp = status.ready(None)["lastTransitionTime"]
    after = datetime.now(UTC)
    assert TIME.fullmatch(stamp)
    assert before - timedelta(milliseconds=1) <= parsed(stamp) <= after


def test_a_kafka_or_user_that_failed_is_not_ready_true_with_the_reason_and_message() -> None:
    """§1.7, §3: `type: NotReady, status: "True", reason: <Exception>, message`."""
    found = status.not_ready(None, "ValueError", "no KafkaNodePool")
    assert {k: v for k, v in found.items() if k != "lastTransitionTime"} == {
        "type": "NotReady",
        "status": "True",
        "reason": "ValueError",
        "message": "no KafkaNodePool",
    }


def test_a_topic_that_failed_is_ready_false_with_the_reason_and_message() -> None:
    """§2: failures are `Ready`/"False" with reason and message, unlike Kafka's NotReady."""
    found = status.topic_failed(None, "NotSupported", "Decreasing partitions not supported")
    assert {k: v for k, v in found.items() if k != "lastTransitionTime"} == {
        "type": "Ready",
        "status": "False",
        "reason": "NotSupported",
        "message": "Decreasing partitions not supported",
    }


def test_staying_ready_keeps_the_transition_time_and_the_condition() -> None:
    before = previous(type="Ready", status="True", lastTransitionTime=OLD)
    assert status.ready(before) == {"type": "Ready", "status": "True", "lastTransitionTime": OLD}


def test_becoming_ready_after_failing_is_a_new_transition() -> None:
    before = previous(type="NotReady", status="True", reason="Creating", message="waiting", lastTransitionTime=OLD)
    found = status.ready(before)
    assert found["lastTransitionTime"] != OLD
    assert "reason" not in found
    assert "message" not in found


def test_a_topic_going_from_ready_to_failed_is_a_new_transition() -> None:
    before = previous(type="Ready", status="True", lastTransitionTime=OLD)
    assert status.topic_failed(before, "KafkaError", "boom")["lastTransitionTime"] != OLD


def test_failing_for_another_reason_keeps_the_transition_time_but_says_the_new_reason() -> None:
    before = previous(type="NotReady", status="True", reason="Creating", message="waiting", lastTransitionTime=OLD)
    found = status.not_ready(before, "AdminError", "broker down")
    assert found == {
        "type": "NotReady",
        "status": "True",
        "reason": "AdminError",
        "message": "broker down",
        "lastTransitionTime": OLD,
    }


def test_an_unchanged_failure_is_returned_unchanged() -> None:
    """So the status patch is skipped (Kube.status writes only a different status)."""
    condition = {
        "type": "NotReady",
        "status": "True",
        "reason": "Creating",
        "message": "waiting",
        "lastTransitionTime": OLD,
    }
    assert status.not_ready(previous(**condition), "Creating", "waiting") == condition


def test_a_previous_condition_without_a_time_gets_one() -> None:
    before = previous(type="NotReady", status="True", reason="Creating", message="waiting")
    assert TIME.fullmatch(status.not_ready(before, "Creating", "waiting")["lastTransitionTime"])


def test_no_status_or_no_conditions_is_a_first_transition() -> None:
    empty: tuple[dict[str, Any] | None, ...] = (None, {}, {"conditions": []}, {"conditions": None})
    for before in empty:
        assert TIME.fullmatch(status.ready(before)["lastTransitionTime"])


kinds = st.sampled_from(["Ready", "NotReady"])
statuses = st.sampled_from(["True", "False"])
words = st.sampled_from(["", "Creating", "KafkaError", "NotSupported"])
conditions = st.fixed_dictionaries(
    {"type": kinds, "status": statuses},
    optional={"reason": words, "message": words, "lastTransitionTime": st.just(OLD)},
)


@given(before=st.one_of(st.none(), conditions), kind=kinds, state=statuses, reason=words, message=words)
@example(  # unchanged, but the previous condition had no time: it gets one
    before={"type": "NotReady", "status": "True", "reason": "Creating", "message": ""},
    kind="NotReady",
    state="True",
    reason="Creating",
    message="",
)
def test_the_transition_time_is_kept_exactly_when_type_and_status_are_unchanged(
    before: dict[str, Any] | None, kind: str, state: str, reason: str, message: str
) -> None:
    found = status.condition(None if before is None else previous(**before), kind, state, reason, message)
    assert (found["type"], found["status"]) == (kind, state)
    assert found.get("reason", "") == reason
    assert found.get("message", "") == message
    unchanged = before is not None and (before["type"], before["status"]) == (kind, state)
    if unchanged and before is not None and "lastTransitionTime" in before:
        assert found["lastTransitionTime"] == OLD
    else:
        assert found["lastTransitionTime"] != OLD
        assert TIME.fullmatch(found["lastTransitionTime"])


@given(kind=kinds, state=statuses, reason=words, message=words)
def test_a_condition_given_back_to_itself_does_not_change(kind: str, state: str, reason: str, message: str) -> None:
    first = status.condition(None, kind, state, reason, message)
    assert status.condition({"conditions": [first]}, kind, state, reason, message) == first


def test_only_ready_true_is_ready() -> None:
    assert status.is_ready({"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    assert status.is_ready(
        {"status": {"conditions": [{"type": "Warning", "status": "True"}, {"type": "Ready", "status": "True"}]}}
    )
    assert not status.is_ready({"status": {"conditions": [{"type": "Ready", "status": "False"}]}})
    assert not status.is_ready({"status": {"conditions": [{"type": "NotReady", "status": "True"}]}})
    assert not status.is_ready({"status": {"conditions": []}})
    assert not status.is_ready({"status": None})
    assert not status.is_ready({})
