"""A real browser for the tests: Debian's Chromium, headless, without any outside network."""

from __future__ import annotations

import shutil
import subprocess
import tempfile

from tests.support.infrastructure import unavailable

# Without the background-networking flags Chromium keeps trying hosts this machine cannot reach.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def rendered_dom(url: str, budget_ms: int = 20_000) -> str:
    """The DOM after the page's scripts ran (virtual time, so it waits exactly as long as the page needs)."""
    chromium = shutil.which("chromium")
    if chromium is None:
        unavailable("Chromium", "not installed; run scripts/install-browser.sh")
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        result = subprocess.run(
            [chromium, *FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}", "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout
