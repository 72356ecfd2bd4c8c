"""OpenAPI links: which operation a client can call next with a value from an answer (the
created article's slug, the new comment's id, the registered username). They document the API's
flows, and schemathesis's stateful phase follows them (tests/fuzz/run.py).

Keys are view names (each operation's ``operationId``) and response statuses; each blueprint
gets its table (``Blueprint(links=...)``).
"""

from __future__ import annotations

from typing import Any

ARTICLE_SLUG = "$response.body#/article/slug"


def link(operation_id: str, **parameters: str) -> dict[str, Any]:
    """A link to ``operation_id``, its parameters as runtime expressions."""
    return {"operationId": operation_id, "parameters": parameters}


def _by_slug(slug: str, *operation_ids: str) -> dict[str, dict[str, Any]]:
    return {operation_id: link(operation_id, slug=slug) for operation_id in operation_ids}


_ARTICLE_OPERATIONS = (
    "get_article",
    "update_article",
    "delete_article",
    "favorite_article",
    "unfavorite_article",
    "get_comments",
    "add_comment",
)

API_LINKS: dict[str, dict[int, dict[str, dict[str, Any]]]] = {
    "create_article": {201: _by_slug(ARTICLE_SLUG, *_ARTICLE_OPERATIONS)},
    # A new title gives a new slug: the answer's slug is the one to use from now on.
    "update_article": {200: _by_slug(ARTICLE_SLUG, *_ARTICLE_OPERATIONS)},
    "add_comment": {
        201: {
            "delete_comment": link(
                "delete_comment",
                slug="$request.path.slug",
                comment_id="$response.body#/comment/id",
            )
        }
    },
}

_USERNAME = "$response.body#/user/username"
AUTH_LINKS: dict[str, dict[int, dict[str, dict[str, Any]]]] = {
    "register": {
        201: {
            name: link(name, username=_USERNAME)
            for name in ("get_profile", "follow_user", "unfollow_user")
        }
    },
}
