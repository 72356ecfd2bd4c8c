"""Passwords, tokens and rate-limit keys: the security primitives, free of HTTP routing."""
