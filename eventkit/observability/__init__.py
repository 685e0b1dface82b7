"""Traces, metrics and logs of the services: one tracing layer shared by HTTP, the outbox and Kafka."""
