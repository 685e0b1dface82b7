"""Where orderflow keeps large downloaded or built artifacts: ~/.cache/orderflow/<name>-<version>/."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(name: str, version: str) -> Path:
    """The cache folder of one artifact; ORDERFLOW_CACHE_DIR (or XDG_CACHE_HOME) moves the root."""
    root = os.environ.get("ORDERFLOW_CACHE_DIR")
    base = Path(root) if root else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "orderflow"
    return base / f"{name}-{version}"


class ToolMissing(RuntimeError):
    """A program orderflow needs is not installed; the message names the fix."""
