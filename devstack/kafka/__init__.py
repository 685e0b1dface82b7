"""A local Apache Kafka broker (KRaft, combined broker+controller) for development and tests, no Docker."""
