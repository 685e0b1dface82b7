"""Process-wide telemetry of a service: its logs and its tracer provider, set up once before the app starts."""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version

from eventkit.observability.logs import configure_logging
from eventkit.observability.tracing import configure_tracing


def configure_process(service: str, log_level: str = "info") -> None:
    """`log_level` is a level name (`debug`, `info`, `warning`, ...), as `orderflow serve --log-level` takes."""
    configure_logging(service, level=logging.getLevelNamesMapping().get(log_level.upper(), logging.INFO))
    configure_tracing(service, _version())


def _version() -> str:
    """The release's one version, which every distribution carries; eventkit is in every service's image."""
    try:
        return version("orderflow-eventkit")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"
