"""Every service setting has one flat name; the consumer's nested names of before the first release are still read,
with a notice naming the new one, and lose to it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from eventkit.consumer import ConsumerOptions
from eventkit.host.main import app
from eventkit.host.settings import DEPRECATED_CONSUMER_PREFIX, ServiceSettings, consumer_variable, deprecated_settings

OPTIONS = sorted(ConsumerOptions.model_fields)
DATABASE = {"ORDERFLOW_DATABASE_URL": "sqlite+aiosqlite:///unused.db"}


def environment(monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]) -> None:
    for name in [consumer_variable(o) for o in OPTIONS] + [DEPRECATED_CONSUMER_PREFIX + o.upper() for o in OPTIONS]:
        monkeypatch.delenv(name, raising=False)
    for name, value in {**DATABASE, **environ}.items():
        monkeypatch.setenv(name, value)


def settings(monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]) -> ServiceSettings:
    environment(monkeypatch, environ)
    return ServiceSettings()


@pytest.mark.parametrize("option", OPTIONS)
def test_each_consumer_option_is_read_from_its_flat_name(monkeypatch: pytest.MonkeyPatch, option: str) -> None:
    assert consumer_variable(option) == f"ORDERFLOW_CONSUMER_{option.upper()}"
    read = settings(monkeypatch, {consumer_variable(option): "7"})
    assert getattr(read.consumer, option) == 7
    others = [o for o in OPTIONS if o != option]
    assert [getattr(read.consumer, o) for o in others] == [ConsumerOptions.model_fields[o].default for o in others]


@given(option=st.sampled_from(OPTIONS), both=st.booleans())
def test_a_deprecated_name_is_read_with_a_notice_and_loses_to_the_new_one(option: str, both: bool) -> None:
    old, new = DEPRECATED_CONSUMER_PREFIX + option.upper(), consumer_variable(option)
    environ = {old: "3", **({new: "5"} if both else {})}
    with pytest.MonkeyPatch.context() as monkeypatch:
        read = settings(monkeypatch, environ)
    assert getattr(read.consumer, option) == (5 if both else 3)
    [notice] = deprecated_settings(environ)
    assert notice.startswith(f"{old} is deprecated and read until release 0.2.0: set {new} instead")
    assert ("ignored" in notice) == both


def test_without_deprecated_names_there_is_no_notice() -> None:
    assert deprecated_settings({consumer_variable(o): "1" for o in OPTIONS} | DATABASE) == []


def test_settings_given_in_code_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(consumer_variable("retry_levels"), "9")
    monkeypatch.setenv("ORDERFLOW_DATABASE_URL", DATABASE["ORDERFLOW_DATABASE_URL"])
    assert ServiceSettings(consumer=ConsumerOptions(retry_levels=1)).consumer.retry_levels == 1


def test_serve_names_the_variable_of_a_bad_consumer_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    environment(monkeypatch, {consumer_variable("batch_size"): "many"})
    done = CliRunner().invoke(app, ["serve", "inventory"])
    assert done.exit_code == 2
    assert "error: inventory: ORDERFLOW_CONSUMER_BATCH_SIZE: Input should be a valid integer" in done.output
