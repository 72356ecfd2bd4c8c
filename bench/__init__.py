"""Load benchmark of the API against a bare reference app (see README.md)."""
