"""The ``api`` blueprint object, on its own so that the route modules can import it without
importing the package that imports them."""

from typing import Any

from app.errors import NotFound
from app.links import API_LINKS
from app.openapi import DATABASE_UNAVAILABLE, RATE_LIMITED, Blueprint

blp = Blueprint(
    "api",
    __name__,
    url_prefix="/api",
    description="Conduit resources",
    shared_errors=(RATE_LIMITED, DATABASE_UNAVAILABLE),
    links=API_LINKS,
)


@blp.url_value_preprocessor
def _refuse_nul_in_path(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    """No username or slug contains NUL, and PostgreSQL refuses it in a query (a 500): such a
    path names nothing, so it is the resource's 404 before any query runs."""
    for name, resource in (("username", "profile"), ("slug", "article")):
        if "\x00" in (values or {}).get(name, ""):
            raise NotFound(resource)
