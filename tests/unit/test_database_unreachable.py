"""Which errors say the database could not be reached (a 503 to retry) and which say the request failed (a 500)."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import exc

from eventkit.host.http import unreachable


class DriverError(Exception):
    """A driver's error carrying its SQLSTATE, as asyncpg's and psycopg's do."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def wrapped(orig: BaseException, invalidated: bool = False) -> exc.DBAPIError:
    return exc.DBAPIError("SELECT 1", None, orig, connection_invalidated=invalidated)


def caused(error: BaseException, cause: BaseException) -> BaseException:
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        ConnectionResetError(104, "reset by peer"),
        socket.gaierror(-2, "Name or service not known"),
        TimeoutError(),
        exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"),
        wrapped(Exception("terminating connection"), invalidated=True),
        DriverError("57P01"),  # admin shutdown
        DriverError("57P03"),  # the database system is starting up
        DriverError("08006"),  # connection failure
        wrapped(DriverError("57P01")),
        caused(RuntimeError("while placing"), ConnectionRefusedError(111, "refused")),
    ],
    ids=repr,
)
def test_errors_of_reach_are_unreachable(error: BaseException) -> None:
    assert unreachable(error)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("bad"),
        RuntimeError("bug"),
        DriverError("23505"),  # unique violation
        DriverError("42P01"),  # undefined table: a migration missing, not an outage
        wrapped(DriverError("40001")),  # serialization failure
        exc.IntegrityError("INSERT", None, Exception("duplicate key")),
        caused(RuntimeError("while placing"), KeyError("x")),
    ],
    ids=repr,
)
def test_errors_of_the_request_are_not(error: BaseException) -> None:
    assert not unreachable(error)


def test_a_cause_chain_that_loops_ends() -> None:
    first, second = RuntimeError("a"), RuntimeError("b")
    first.__cause__, second.__cause__ = second, first
    assert not unreachable(first)
