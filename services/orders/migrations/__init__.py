"""Alembic migrations of the orders database."""

from pathlib import Path

from eventkit import migrate

SCRIPT_LOCATION = Path(__file__).parent


def upgrade(url: str) -> None:
    """Bring the orders database at `url` to the latest revision (blocking: call it off the event loop)."""
    migrate.upgrade(SCRIPT_LOCATION, url)
