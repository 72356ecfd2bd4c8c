"""The ``api`` blueprint: the Conduit resources (profiles, articles, comments, tags).

``read.py`` builds every response body from the database; ``write.py`` applies the rules and
returns the key of what it changed; the route modules join the two to HTTP.
"""

from app.api import articles, comments, profiles, tags  # noqa: F401 - they attach their routes
from app.api.blueprint import blp

__all__ = ["blp"]
