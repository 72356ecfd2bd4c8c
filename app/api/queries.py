"""The read side: every list and view is loaded in a constant number of statements.

Authors, ``following``, ``favorited`` and ``favoritesCount`` come back with the page in one
statement (joins and correlated sub-queries on indexed columns); tags in a second; the total in
a third. Page size never changes the number of statements (tests/test_query_counts.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, exists, func, literal, select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import Article, Comment, Favorite, Follow, Tag, User, article_tags


@dataclass(frozen=True)
class ArticleFilters:
    tag: str | None = None
    author: str | None = None
    favorited: str | None = None
    feed_of: int | None = None  # only authors this user follows


def profile_dict(user: Any, following: bool) -> dict[str, Any]:
    return {"username": user.username, "bio": user.bio, "image": user.image, "following": following}


def _following(viewer_id: int | None, author_id_column: Any) -> Any:
    if viewer_id is None:
        return literal(False)
    return exists().where(Follow.follower_id == viewer_id, Follow.followee_id == author_id_column)


def _favorited(viewer_id: int | None) -> Any:
    if viewer_id is None:
        return literal(False)
    return exists().where(Favorite.user_id == viewer_id, Favorite.article_id == Article.id)


def _favorites_count() -> Any:
    return (
        select(func.count())
        .select_from(Favorite)
        .where(Favorite.article_id == Article.id)
        .scalar_subquery()
    )


def _user_id_by_name(username: str) -> Any:
    return (
        select(User.id).where(func.lower(User.username) == func.lower(username)).scalar_subquery()
    )


def _filtered(statement: Select[Any], filters: ArticleFilters) -> Select[Any]:
    if filters.author is not None:
        statement = statement.where(Article.author_id == _user_id_by_name(filters.author))
    if filters.favorited is not None:
        statement = statement.where(
            exists().where(
                Favorite.article_id == Article.id,
                Favorite.user_id == _user_id_by_name(filters.favorited),
            )
        )
    if filters.tag is not None:
        statement = statement.where(
            exists().where(
                article_tags.c.article_id == Article.id,
                article_tags.c.tag_id
                == select(Tag.id).where(Tag.name == filters.tag).scalar_subquery(),
            )
        )
    if filters.feed_of is not None:
        statement = statement.where(
            Article.author_id.in_(
                select(Follow.followee_id).where(Follow.follower_id == filters.feed_of)
            )
        )
    return statement


def _article_rows(viewer_id: int | None, with_body: bool) -> Select[Any]:
    author = aliased(User, name="author")
    columns = [
        Article.id,
        Article.slug,
        Article.title,
        Article.description,
        Article.created_at,
        Article.updated_at,
        author.username,
        author.bio,
        author.image,
        _following(viewer_id, Article.author_id).label("following"),
        _favorited(viewer_id).label("favorited"),
        _favorites_count().label("favorites_count"),
    ]
    if with_body:
        columns.append(Article.body)
    return select(*columns).join(author, author.id == Article.author_id)


def _tags_by_article(article_ids: list[int]) -> dict[int, list[str]]:
    tags: dict[int, list[str]] = defaultdict(list)
    if not article_ids:
        return tags
    rows = db.session.execute(
        select(article_tags.c.article_id, Tag.name)
        .join(Tag, Tag.id == article_tags.c.tag_id)
        .where(article_tags.c.article_id.in_(article_ids))
    )
    for article_id, name in rows:
        tags[article_id].append(name)
    for names in tags.values():
        names.sort()  # in Python: the same order on every database, whatever its collation
    return tags


def _article_dict(row: Any, tags: list[str], with_body: bool) -> dict[str, Any]:
    article = {
        "slug": row.slug,
        "title": row.title,
        "description": row.description,
        "tagList": tags,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
        "favorited": bool(row.favorited),
        "favoritesCount": row.favorites_count,
        "author": profile_dict(row, bool(row.following)),
    }
    if with_body:
        article["body"] = row.body
    return article


def list_articles(
    filters: ArticleFilters, limit: int, offset: int, viewer_id: int | None
) -> tuple[list[dict[str, Any]], int]:
    """One page, newest first, without bodies, and the total number of matching articles."""
    page = db.session.execute(
        _filtered(_article_rows(viewer_id, with_body=False), filters)
        .order_by(Article.created_at.desc(), Article.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    total = db.session.scalar(_filtered(select(func.count()).select_from(Article), filters)) or 0
    tags = _tags_by_article([row.id for row in page])
    return [_article_dict(row, tags[row.id], with_body=False) for row in page], total


def find_article(slug: str, viewer_id: int | None) -> dict[str, Any] | None:
    """The full article (with body) as ``viewer_id`` sees it, or None."""
    if "\x00" in slug:  # PostgreSQL refuses NUL in text (a 500); no slug has one
        return None
    row = db.session.execute(
        _article_rows(viewer_id, with_body=True).where(Article.slug == slug)
    ).first()
    if row is None:
        return None
    return _article_dict(row, _tags_by_article([row.id])[row.id], with_body=True)


def comment_dict(comment: Any, author: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": comment.id,
        "createdAt": comment.created_at,
        "updatedAt": comment.updated_at,
        "body": comment.body,
        "author": author,
    }


def list_comments(article_id: int, viewer_id: int | None) -> list[dict[str, Any]]:
    """Every comment of the article, newest first, with authors, in one statement."""
    author = aliased(User, name="author")
    rows = db.session.execute(
        select(
            Comment.id,
            Comment.created_at,
            Comment.updated_at,
            Comment.body,
            author.username,
            author.bio,
            author.image,
            _following(viewer_id, Comment.author_id).label("following"),
        )
        .join(author, author.id == Comment.author_id)
        .where(Comment.article_id == article_id)
        .order_by(Comment.created_at.desc(), Comment.id.desc())
    )
    return [comment_dict(row, profile_dict(row, bool(row.following))) for row in rows]


def tags_in_use() -> list[str]:
    """Every tag that at least one article carries, alphabetically (an index probe per tag)."""
    used = exists().where(article_tags.c.tag_id == Tag.id)
    return sorted(db.session.scalars(select(Tag.name).where(used)))


def find_profile(username: str, viewer_id: int | None) -> dict[str, Any] | None:
    if "\x00" in username:  # PostgreSQL refuses NUL in text (a 500); no username has one
        return None
    row = db.session.execute(
        select(
            User.id,
            User.username,
            User.bio,
            User.image,
            _following(viewer_id, User.id).label("following"),
        ).where(func.lower(User.username) == func.lower(username))
    ).first()
    return None if row is None else profile_dict(row, bool(row.following))
