"""orderflow command line and local development tooling."""
