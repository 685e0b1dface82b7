"""The services installed in this environment, found through the `orderflow.services` entry points.

Each service package declares one (`orders = "services.orders.app"`): a module with `create_app` and
`Settings`. An image installs one service, so it knows that one only; a development checkout knows all three.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from eventkit.host.settings import ServiceSettings

GROUP = "orderflow.services"


class UnknownService(LookupError):
    """No installed service has that name; the message lists those that are."""


@dataclass(frozen=True)
class InstalledService:
    name: str
    module: str  # e.g. services.orders.app

    @property
    def factory(self) -> str:
        """The app factory as uvicorn imports it (also in each worker process)."""
        return f"{self.module}:create_app"

    @property
    def package(self) -> str:
        return self.module.rpartition(".")[0]

    def migrations(self) -> Path:
        """`<package>/migrations`, found without importing the service."""
        spec = importlib.util.find_spec(self.package)
        if spec is None or spec.origin is None:
            raise UnknownService(f"the package {self.package} of service {self.name} is not importable")
        return Path(spec.origin).parent / "migrations"

    def settings_class(self) -> type[ServiceSettings]:
        settings: type[ServiceSettings] = importlib.import_module(self.module).Settings
        return settings


def installed() -> dict[str, InstalledService]:
    return {ep.name: InstalledService(ep.name, ep.value) for ep in sorted(entry_points(group=GROUP), key=str)}


def find(name: str | None) -> InstalledService:
    """The service called `name`; with None, the only one installed (as in every image)."""
    services = installed()
    if name is None and len(services) == 1:
        return next(iter(services.values()))
    if name in services:
        return services[name]
    known = ", ".join(services) or "none"
    what = "name a service" if name is None else f"no service {name!r} is installed"
    raise UnknownService(f"{what}; installed: {known}")
