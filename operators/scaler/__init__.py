"""The ConsumerScaler operator: scales Kafka consumers on lag and inflow rate (see operators/README.md)."""
