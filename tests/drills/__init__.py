"""Fault drills: the real service under load while its dependencies fail (docs/DRILLS.md)."""
