"""Fixtures every test folder may use: a real Kafka broker, a real PostgreSQL server, a service's database; and
the Go builds of a cold machine started in the background (tests.support.prebuild)."""

from hypothesis import settings

pytest_plugins = [
    "tests.support.kafka",
    "tests.support.postgres",
    "tests.support.databases",
    "tests.support.prebuild",
    "tests.support.tracing",
]

# Properties are judged on their results, never on how fast a shared machine computed them.
settings.register_profile("orderflow", deadline=None)
settings.load_profile("orderflow")
