"""Alembic environment of the orders database; the URL comes from the config `eventkit.migrate` builds."""

from eventkit.migrate import run_env
from services.orders.repository import metadata

run_env(metadata)
