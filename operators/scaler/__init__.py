"""The ConsumerScaler operator: scales Kafka consumers on lag and inflow rate (see docs/scaler.md)."""
