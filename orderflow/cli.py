"""The `orderflow` command: one entry point for every operation on the platform."""

import typer

from orderflow import dlq, lag_cli, load, scaler_cli, schemas, serve, stack, trace, verify
from orderflow.devkafka import cli as kafka_cli
from orderflow.k8s import cli as k8s_cli

app = typer.Typer(
    help="orderflow: an event-driven order platform on Kafka and Kubernetes.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.command()(stack.up)
app.command()(serve.serve)
app.command()(serve.migrate)
app.command()(load.load)
app.command()(lag_cli.lag)
app.command()(trace.trace)
app.command()(verify.verify)
app.add_typer(kafka_cli.app, name="kafka")
app.add_typer(schemas.app, name="schemas")
app.add_typer(dlq.app, name="dlq")
app.add_typer(k8s_cli.app, name="k8s")
app.add_typer(scaler_cli.app, name="scaler")

if __name__ == "__main__":  # `python -m orderflow.cli`, as `orderflow up` starts the services
    app()
