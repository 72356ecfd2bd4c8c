"""The ``health`` blueprint: probes for load balancers and operators (outside ``/api``)."""

from app.health.routes import bp

__all__ = ["bp"]
