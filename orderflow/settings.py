"""Settings of the local tooling, from the same environment variables the services and the chart use."""

from __future__ import annotations

import os
from pathlib import Path


def external_bootstrap_servers() -> str | None:
    """KAFKA_BOOTSTRAP_SERVERS, when set, replaces the local broker everywhere."""
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or None


def local_state_dir() -> Path:
    """Where `orderflow up` and `orderflow kafka` keep data and logs: ORDERFLOW_STATE_DIR or ./.orderflow."""
    return Path(os.environ.get("ORDERFLOW_STATE_DIR") or ".orderflow")
