"""One flag vocabulary across `orderflow`: the same name for the same thing in every command."""

from __future__ import annotations

from collections.abc import Iterator

import typer
from typer._click import Command, Context
from typer.core import TyperGroup, TyperOption
from typer.testing import CliRunner

from devstack.processes import free_port
from orderflow.cli import app
from orderflow.demo import seed

API_FLAGS = {"--orders-url", "--inventory-url", "--payments-url"}
# Commands that read Kafka, and those that print a result a script may want.
KAFKA_COMMANDS = {"dlq list", "dlq replay", "lag"}
RESULT_COMMANDS = {"load", "verify", "seed", "dlq list", "dlq replay", "lag", "scaler compare"}


def _commands(command: Command, path: str = "") -> Iterator[tuple[str, Command]]:
    if isinstance(command, TyperGroup):
        context = Context(command)
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            assert sub is not None, name
            yield from _commands(sub, f"{path} {name}".strip())
    else:
        yield path, command


def _flags(command: Command, *, hidden: bool = False) -> set[str]:
    return {
        flag
        for param in command.params
        if isinstance(param, TyperOption) and param.hidden == hidden
        for flag in param.opts
    }


COMMANDS = dict(_commands(typer.main.get_command(app)))


def test_every_url_flag_names_the_api_it_calls() -> None:
    for name, command in COMMANDS.items():
        urls = {flag for flag in _flags(command) if flag.endswith("-url") or flag == "--url"}
        assert urls <= API_FLAGS, f"orderflow {name}: {sorted(urls - API_FLAGS)}"


def test_kafka_is_reached_with_kafkas_own_flag_and_results_come_as_json() -> None:
    assert set(COMMANDS) >= KAFKA_COMMANDS | RESULT_COMMANDS
    for name in KAFKA_COMMANDS:
        assert "--bootstrap-server" in _flags(COMMANDS[name]), name
    for name in RESULT_COMMANDS:
        assert "--json" in _flags(COMMANDS[name]), name


def test_the_old_url_flag_still_works_for_one_release_with_a_warning() -> None:
    assert _flags(COMMANDS["load"], hidden=True) == _flags(COMMANDS["seed"], hidden=True) == {"--url"}
    single = typer.Typer()
    single.command()(seed)
    nobody = f"http://127.0.0.1:{free_port()}"
    done = CliRunner().invoke(single, ["--url", nobody])
    assert done.exit_code == 1
    assert "warning: --url is deprecated and goes in the next release; use --inventory-url" in done.output
    assert f"error: inventory at {nobody}" in done.output  # the old flag's value was used
    assert "Check --inventory-url" in done.output
