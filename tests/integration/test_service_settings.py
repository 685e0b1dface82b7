"""A service started with a deprecated setting says so in its log, naming the variable that replaces it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.processes import free_port

pytestmark = [pytest.mark.timeout(120)]


def test_serve_logs_each_deprecated_setting(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ORDERFLOW_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'inventory.db'}",
        "ORDERFLOW_CONSUMER__BATCH_SIZE": "50",
        "ORDERFLOW_CONSUMER_ENABLED": "false",
        "ORDERFLOW_RELAY_ENABLED": "false",
    }
    argv = [sys.executable, "-m", "eventkit.host.main", "serve", "inventory", "--port", str(free_port())]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:  # the notice comes before the server starts; the process serves until stopped
            lines.append(line)
            if "deprecated" in line:
                break
        record = json.loads(lines[-1])
        assert record["level"] == "warning"
        assert record["event"].startswith("ORDERFLOW_CONSUMER__BATCH_SIZE is deprecated")
        assert "set ORDERFLOW_CONSUMER_BATCH_SIZE instead" in record["event"]
    finally:
        process.terminate()
        process.wait(timeout=30)
