"""Typed SQLAlchemy 2.0 models. No HTTP here."""

from app.models.article import Article, Comment, Favorite, Tag, article_tags
from app.models.counter import Counter
from app.models.session import AuthSession
from app.models.social import Follow
from app.models.user import User

__all__ = [
    "Article",
    "AuthSession",
    "Comment",
    "Counter",
    "Favorite",
    "Follow",
    "Tag",
    "User",
    "article_tags",
]
