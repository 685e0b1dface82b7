"""Local development infrastructure of orderflow: Kafka, PostgreSQL, the local Kubernetes, `orderflow up`."""
