"""The `orderflow` command: every operation on the platform, each subcommand imported only when it runs.

Subcommands are the `orderflow.commands` entry points of the installed distributions: the operations CLI's own
(load, verify, dlq, ...) and, in a development checkout, the dev tools' (up, kafka, k8s). `orderflow load` thus
imports the load generator and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import typer

# Typer carries its own copy of click since 0.20: its commands and contexts are these, not the click package's.
from typer._click import Command, Context
from typer.core import TyperCommand, TyperGroup

GROUP = "orderflow.commands"


@cache
def _commands(group: str = GROUP) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group)}


def _as_click(name: str, target: Callable[..., Any] | typer.Typer) -> Command:
    """A Typer app (a group, even of one command) or a plain function (one command), as a click command `name`."""
    if isinstance(target, typer.Typer):
        command: Command = typer.main.get_group(target)
    else:
        # Shell completion is installed once, by `orderflow --install-completion`, not per subcommand.
        single = typer.Typer(add_completion=False)
        single.command(name=name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyCommands(TyperGroup):
    """A group's own commands plus those other distributions add through the entry-point group `plugins`."""

    plugins = GROUP

    def list_commands(self, ctx: Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_commands(self.plugins)})

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        own = super().get_command(ctx, cmd_name)
        entry = _commands(self.plugins).get(cmd_name)
        if own is not None or entry is None:
            return own
        try:
            target = entry.load()
        except ImportError as error:
            return _unavailable(cmd_name, entry, error)
        return _as_click(cmd_name, target)


def _unavailable(name: str, entry: EntryPoint, error: ImportError) -> Command:
    """A command whose module cannot be imported still lists, and says why when run, instead of breaking --help."""
    problem = f"{entry.value} cannot be imported: {error}"

    def fail() -> None:
        typer.echo(f"error: `orderflow {name}` is unavailable: {problem}", err=True)
        raise typer.Exit(1)

    return TyperCommand(name, callback=fail, help=f"(unavailable: {problem})")


app = typer.Typer(
    cls=LazyCommands,
    help="orderflow: an event-driven order platform on Kafka and Kubernetes.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def main() -> None:
    """orderflow: an event-driven order platform on Kafka and Kubernetes."""


if __name__ == "__main__":
    app()
