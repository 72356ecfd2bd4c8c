"""Observability: how the running service reports on itself (errors to Sentry: sentry.py;
metrics: metrics*.py)."""
