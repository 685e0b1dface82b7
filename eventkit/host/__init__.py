"""The service host: what turns a service's spec into a running process (settings, context, app, health, CLI)."""
