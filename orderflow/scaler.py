"""`orderflow scaler`: the Kafka lag autoscaler's commands, all added by other distributions.

Its commands are the `orderflow.scaler.commands` entry points: the dev tools (orderflow-devstack) add `compare`
(the simulation against a model of KEDA) and `bench` (the real binaries on real pods), so this package imports
neither the simulation nor the bench.
"""

from __future__ import annotations

import typer

from orderflow.cli import LazyCommands


class ScalerCommands(LazyCommands):
    plugins = "orderflow.scaler.commands"


app = typer.Typer(cls=ScalerCommands, help="The Kafka lag autoscaler (ConsumerScaler).", no_args_is_help=True)
