"""Integration tests: one real adapter each (Kafka, SQLite, PostgreSQL); fixtures in tests/support."""
