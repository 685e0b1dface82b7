"""Alembic environment of the inventory database; the URL comes from the config `eventkit.migrate` builds."""

from eventkit.migrate import run_env
from services.inventory.repository import metadata

run_env(metadata)
