"""Where local runs keep their data and logs, for `orderflow up` and the commands that read what it wrote."""

from __future__ import annotations

import os
from pathlib import Path


def local_state_dir() -> Path:
    """ORDERFLOW_STATE_DIR, or ./.orderflow."""
    return Path(os.environ.get("ORDERFLOW_STATE_DIR") or ".orderflow")
