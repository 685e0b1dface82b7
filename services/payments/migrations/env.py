"""Alembic environment of the payments database; the URL comes from the config `eventkit.migrate` builds."""

from eventkit.migrate import run_env
from services.payments.repository import metadata

run_env(metadata)
