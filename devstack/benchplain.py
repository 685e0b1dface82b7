"""The orders service without its hot path (`services/orders/hotpath.py`), for `orderflow bench --hotpath`.

Development tooling only: the same spec and settings as `services.orders.app` with no middleware, served by
the same `orderflow-service serve` (uvicorn options, GC tuning, logging), so the two variants the bench
compares differ in the hot path alone. `python -m devstack.benchplain serve orders --port N` starts it.
"""

from __future__ import annotations

import dataclasses

from fastapi import FastAPI

from eventkit.host import app as host
from eventkit.host import main
from eventkit.host.registry import InstalledService
from services.orders.app import Settings, spec

__all__ = ["Settings", "create_app"]


def create_app() -> FastAPI:
    settings = Settings()
    return host.create_app(dataclasses.replace(spec(settings), middleware=()), settings)


if __name__ == "__main__":
    # `serve` finds the app factory through the registry; here it is this module's.
    main.find = lambda name: InstalledService("orders", "devstack.benchplain")  # type: ignore[attr-defined]
    main.app()
