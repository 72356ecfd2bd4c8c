"""The read side: every response body of the Conduit resources is built here, from rows, and
every list and view is loaded in a constant number of statements. Nothing here writes.

A page of articles is one statement — the page's ids first (filters, order, ``offset`` and the
``before`` cursor on the articles alone, or a tag's links alone: an index walk), then those
articles joined to their authors, with ``following``, ``favorited``, ``favoritesCount`` and the
tag list as correlated sub-queries on indexed keys, for the page's rows only — and the total
with it (app/api/matching.py: which articles match, and how many). Page
size never changes the number of statements (tests/test_query_counts.py); a deep ``offset``
skips index entries, not built rows (tests/test_list_plans.py).

These are hot paths, so the statements are built once per shape (which filters, anonymous or
not, which database) with bound parameters, executed on the session's connection without the
ORM layer, and rows become response dicts directly.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Integer, Select, bindparam, exists, false, func, select, tuple_
from sqlalchemy.orm import aliased

from app.api.cursor import Cursor
from app.api.matching import (
    TAG_ONLY,
    ArticleFilters,
    count_statement,
    counter_statement,
    filtered,
    tag_id,
    total_column,
)
from app.clock import isoformat_ms
from app.extensions import db
from app.models import Article, Comment, Favorite, Follow, Tag, User, article_tags
from app.models.queries import equal_ignoring_case
from app.models.types import UTCDateTime


def profile_dict(user: Any, following: bool) -> dict[str, Any]:
    return {"username": user.username, "bio": user.bio, "image": user.image, "following": following}


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _run(statement: Any, params: dict[str, Any]) -> Any:
    """Execute a Core statement on the session's connection (same transaction, no ORM layer)."""
    return db.session.connection().execute(statement, params)


def _following(has_viewer: bool, author_id_column: Any) -> Any:
    if not has_viewer:
        return false()
    return exists().where(
        Follow.follower_id == bindparam("viewer_id"), Follow.followee_id == author_id_column
    )


def _tag_names(dialect: str) -> Any:
    """The article's tag names as one array: a native one on PostgreSQL (psycopg reads it
    straight into a list; json_agg cost a JSON parse per row), a JSON array on SQLite."""
    aggregate = func.array_agg if dialect == "postgresql" else func.json_group_array
    return (
        select(aggregate(Tag.name))
        .select_from(article_tags.join(Tag, Tag.id == article_tags.c.tag_id))
        .where(article_tags.c.article_id == Article.id)
        .scalar_subquery()
    )


def _keyset(created_at: Any, id_: Any) -> Any:
    """Strictly after the ``before`` cursor's position in the list order (newest first)."""
    position = tuple_(
        bindparam("before_at", type_=UTCDateTime()), bindparam("before_id", type_=Integer())
    )
    return tuple_(created_at, id_) < position


def _page_ids(shape: tuple[bool, ...], keyset: bool) -> Any:
    """The ids of one page, in list order: filters, cursor, order, limit and offset on the
    articles alone (a tag alone: on its links alone), so skipped rows cost an index entry each
    and nothing is built for them."""
    if shape == TAG_ONLY:
        # One range of the links' (tag_id, created_at, article_id) index, in list order:
        # walking the articles newest first probing each for the tag cost 1.7 s for a tag
        # only one old article of a million carries.
        links = article_tags.c
        ids = select(links.article_id.label("id"), links.created_at).where(links.tag_id == tag_id())
        if keyset:
            ids = ids.where(_keyset(links.created_at, links.article_id))
        order = (links.created_at.desc(), links.article_id.desc())
    else:
        ids = filtered(select(Article.id, Article.created_at), shape)
        if keyset:
            ids = ids.where(_keyset(Article.created_at, Article.id))
        order = (Article.created_at.desc(), Article.id.desc())
    return (
        ids.order_by(*order).limit(bindparam("limit")).offset(bindparam("offset")).subquery("page")
    )


@lru_cache(maxsize=128)
def _article_statement(
    dialect: str,
    has_viewer: bool,
    with_body: bool,
    shape: tuple[bool, ...] | None,
    keyset: bool = False,
) -> Select[Any]:
    """Articles with author, flags, count and tags; a page (``shape`` given, after a cursor
    with ``keyset``) or one by slug."""
    author = aliased(User, name="author")
    favorited = (
        exists().where(
            Favorite.user_id == bindparam("viewer_id"), Favorite.article_id == Article.id
        )
        if has_viewer
        else false()
    )
    favorites_count = (
        select(func.count())
        .select_from(Favorite)
        .where(Favorite.article_id == Article.id)
        .scalar_subquery()
    )
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
        _following(has_viewer, Article.author_id).label("following"),
        favorited.label("favorited"),
        favorites_count.label("favorites_count"),
        _tag_names(dialect).label("tag_names"),
    ]
    if with_body:
        columns.append(Article.body)
    if shape is None:
        statement = select(*columns).join(author, author.id == Article.author_id)
        return statement.where(Article.slug == bindparam("slug"))
    page = _page_ids(shape, keyset)
    columns.append(total_column(shape).label("total"))
    return (
        select(*columns)
        .select_from(page)
        .join(Article, Article.id == page.c.id)
        .join(author, author.id == Article.author_id)
        .order_by(page.c.created_at.desc(), page.c.id.desc())
    )


def _tag_list(value: Any) -> list[str]:
    names = json.loads(value) if isinstance(value, str) else value
    # Sorted in Python: the same order on every database, whatever its collation.
    return sorted(name for name in names or () if name is not None)


def _article_dict(row: Any, with_body: bool) -> dict[str, Any]:
    article = {
        "slug": row.slug,
        "title": row.title,
        "description": row.description,
        "tagList": _tag_list(row.tag_names),
        "createdAt": isoformat_ms(row.created_at),
        "updatedAt": isoformat_ms(row.updated_at),
        "favorited": bool(row.favorited),
        "favoritesCount": row.favorites_count,
        "author": profile_dict(row, bool(row.following)),
    }
    if with_body:
        article["body"] = row.body
    return article


class Page(NamedTuple):
    articles: list[dict[str, Any]]
    total: int  # every matching article, wherever the page starts
    last: Cursor | None  # the position of the page's last article: where the next one starts


def list_articles(
    filters: ArticleFilters,
    limit: int,
    offset: int,
    viewer_id: int | None,
    before: Cursor | None = None,
) -> Page:
    """One page, newest first, without bodies — the ``offset``-th article after ``before``
    (or after the start) onwards — and the total number of matching articles."""
    shape = filters.shape()
    params = {**filters.params(), "viewer_id": viewer_id, "limit": limit, "offset": offset}
    if before is not None:
        params |= {"before_at": before.created_at, "before_id": before.id}
    statement = _article_statement(
        _dialect(), viewer_id is not None, False, shape, before is not None
    )
    rows = _run(statement, params).all()
    articles = [_article_dict(row, with_body=False) for row in rows]
    last = Cursor(rows[-1].created_at, rows[-1].id) if rows else None
    total = rows[0].total if rows else None
    return Page(articles, _total(shape, filters) if total is None else int(total), last)


def _total(shape: tuple[bool, ...], filters: ArticleFilters) -> int:
    """Matching articles, for a page with no rows to carry the total (past the end, or a
    missing counter row). Unfiltered, by one tag or by one author: a trigger-kept counter, not
    a count of every matching article on every page. Otherwise the indexes bound the count."""
    statement = counter_statement(shape)
    if statement is not None:
        found = _run(statement, filters.params()).first()
        if found is None:  # no such tag or author: nothing matches
            return 0
        if found[0] is not None:
            return int(found[0])
        # The row is missing only if someone deleted it by hand; `flask counters repair`
        # puts it back. Until then, count.
    return int(_run(count_statement(shape), filters.params()).scalar_one())


def find_article(slug: str, viewer_id: int | None) -> dict[str, Any] | None:
    """The full article (with body) as ``viewer_id`` sees it, or None."""
    statement = _article_statement(_dialect(), viewer_id is not None, True, None)
    row = _run(statement, {"slug": slug, "viewer_id": viewer_id}).first()
    return None if row is None else _article_dict(row, with_body=True)


def comment_dict(comment: Any, author: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": comment.id,
        "createdAt": isoformat_ms(comment.created_at),
        "updatedAt": isoformat_ms(comment.updated_at),
        "body": comment.body,
        "author": author,
    }


def _comment_columns(has_viewer: bool, author: Any) -> list[Any]:
    return [
        Comment.article_id,
        Comment.id,
        Comment.created_at,
        Comment.updated_at,
        Comment.body,
        author.username,
        author.bio,
        author.image,
        _following(has_viewer, Comment.author_id).label("following"),
    ]


@lru_cache(maxsize=4)
def _comments_statement(has_viewer: bool) -> Select[Any]:
    # The article LEFT JOIN its comments: no row means no such article, one row with a null
    # comment id means an article without comments. One round trip instead of two.
    author = aliased(User, name="author")
    comments = (
        select(*_comment_columns(has_viewer, author))
        .join(author, author.id == Comment.author_id)
        .subquery("comment")
    )
    return (
        select(comments)
        .select_from(Article)
        .outerjoin(comments, comments.c.article_id == Article.id)
        .where(Article.slug == bindparam("slug"))
        .order_by(comments.c.created_at.desc(), comments.c.id.desc())
    )


def list_comments(slug: str, viewer_id: int | None) -> list[dict[str, Any]] | None:
    """Every comment of the article, newest first, with authors, in one statement; ``None``
    when there is no such article."""
    rows = _run(_comments_statement(viewer_id is not None), {"slug": slug, "viewer_id": viewer_id})
    found = False
    comments = []
    for row in rows:
        found = True
        if row.id is not None:
            comments.append(comment_dict(row, profile_dict(row, bool(row.following))))
    return comments if found else None


@lru_cache(maxsize=4)
def _comment_statement(has_viewer: bool) -> Select[Any]:
    author = aliased(User, name="author")
    return (
        select(*_comment_columns(has_viewer, author))
        .join(author, author.id == Comment.author_id)
        .where(Comment.id == bindparam("comment_id"))
    )


def find_comment(comment_id: int, viewer_id: int | None) -> dict[str, Any] | None:
    """One comment with its author as ``viewer_id`` sees them, or None."""
    params = {"comment_id": comment_id, "viewer_id": viewer_id}
    row = _run(_comment_statement(viewer_id is not None), params).first()
    return None if row is None else comment_dict(row, profile_dict(row, bool(row.following)))


@lru_cache(maxsize=1)
def _tags_statement() -> Select[Any]:
    return select(Tag.name).where(exists().where(article_tags.c.tag_id == Tag.id))


def tags_in_use() -> list[str]:
    """Every tag that at least one article carries, alphabetically (an index probe per tag)."""
    # Sorted in Python, as tag lists are: code-point order whatever the database's collation.
    return sorted(row[0] for row in _run(_tags_statement(), {}))


@lru_cache(maxsize=4)
def _profile_statement(has_viewer: bool) -> Select[Any]:
    return select(
        User.username, User.bio, User.image, _following(has_viewer, User.id).label("following")
    ).where(equal_ignoring_case(User.username, bindparam("username")))


def find_profile(username: str, viewer_id: int | None) -> dict[str, Any] | None:
    params = {"username": username, "viewer_id": viewer_id}
    row = _run(_profile_statement(viewer_id is not None), params).first()
    return None if row is None else profile_dict(row, bool(row.following))
