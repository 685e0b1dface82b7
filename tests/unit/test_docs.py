"""The docs name every setting (docs/configuration.md), every command (docs/cli.md) and every option of
`orderflow load` (docs/local.md) that exists, so they cannot drift from the code."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest
import typer
from pydantic_settings import BaseSettings
from typer.core import TyperOption

from eventkit.consumer import ConsumerOptions
from eventkit.host.settings import ServiceSettings, consumer_variable
from eventkit.settings import KafkaSettings
from operators.scaler.config import OperatorConfig
from orderflow.load import load
from services.orders.settings import OrdersSettings
from services.payments.settings import PaymentsSettings

DOCS = Path(__file__).resolve().parents[2] / "docs"
CONFIGURATION = (DOCS / "configuration.md").read_text()
COMMANDS = (DOCS / "cli.md").read_text()
LOCAL = (DOCS / "local.md").read_text()


def variables(settings: type[BaseSettings]) -> list[str]:
    prefix = settings.model_config.get("env_prefix", "")
    names = []
    for name, field in settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, str):
            names.append(alias)
        elif name == "consumer":
            names += [consumer_variable(option) for option in ConsumerOptions.model_fields]
        else:
            names.append(f"{prefix}{name.upper()}")
    return names


@pytest.mark.parametrize("settings", [ServiceSettings, KafkaSettings, OrdersSettings, PaymentsSettings, OperatorConfig])
def test_every_setting_is_documented(settings: type[BaseSettings]) -> None:
    missing = [name for name in variables(settings) if f"`{name}`" not in CONFIGURATION]
    assert missing == []


@pytest.mark.parametrize(
    ("group", "command"), [("orderflow.commands", "orderflow"), ("orderflow.scaler.commands", "orderflow scaler")]
)
def test_every_orderflow_command_is_documented(group: str, command: str) -> None:
    missing = [ep.name for ep in entry_points(group=group) if f"`{command} {ep.name}" not in COMMANDS]
    assert missing == []


def test_every_load_option_is_documented() -> None:
    single = typer.Typer(add_completion=False)
    single.command()(load)
    params = typer.main.get_command(single).params
    flags = [f for p in params if isinstance(p, TyperOption) and not p.hidden for f in p.opts if f.startswith("--")]
    assert "--orders-url" in flags
    assert [flag for flag in flags if f"`{flag}" not in LOCAL] == []
