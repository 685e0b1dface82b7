"""The `orderflow` operations command line: load, verify, dlq, trace, lag, schemas, topology, scaler."""
