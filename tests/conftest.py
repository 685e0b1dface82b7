"""Fixtures every test folder may use: a real Kafka broker, a real PostgreSQL server, a service's database."""

pytest_plugins = ["tests.support.kafka", "tests.support.postgres", "tests.support.databases"]
