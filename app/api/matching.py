"""Which articles a list holds: its filters (tag, author, favorited, feed) as SQL, and how many
articles match them — for the unfiltered list, one tag or one author a counter row kept by
triggers (migrations e5b2a7c9d401 and 7a41c0d2e9b3), otherwise a count the indexes bound.

The total rides on the page's own statement (``total_column``: an uncorrelated sub-query, run
once per statement, not per row), so a page is one round trip; ``counter_statement`` and
``count_statement`` answer on their own when the page has no rows to carry it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, exists, func, select

from app.models import Article, Counter, Favorite, Follow, Tag, User, article_tags
from app.models.counter import ARTICLES, AUTHOR_PREFIX, TAG_PREFIX, keyed_name
from app.models.queries import equal_ignoring_case

NO_FILTERS = (False, False, False, False)
TAG_ONLY = (True, False, False, False)
AUTHOR_ONLY = (False, True, False, False)
FAVORITED_ONLY = (False, False, True, False)


@dataclass(frozen=True)
class ArticleFilters:
    tag: str | None = None
    author: str | None = None
    favorited: str | None = None
    feed_of: int | None = None  # only authors this user follows

    def params(self) -> dict[str, Any]:
        return {
            name: value
            for name, value in (
                ("tag", self.tag),
                ("author", self.author),
                ("favorited", self.favorited),
                ("feed_of", self.feed_of),
            )
            if value is not None
        }

    def shape(self) -> tuple[bool, ...]:
        return (self.tag is not None, self.author is not None, self.favorited is not None,
                self.feed_of is not None)  # fmt: skip


def user_id_by_name(param: str) -> Any:
    return (
        select(User.id)
        .where(equal_ignoring_case(User.username, bindparam(param)))
        .scalar_subquery()
    )


def tag_id() -> Any:
    return select(Tag.id).where(Tag.name == bindparam("tag")).scalar_subquery()


def filtered(statement: Select[Any], shape: tuple[bool, ...]) -> Select[Any]:
    by_tag, by_author, by_favoriter, feed = shape
    if by_author:
        statement = statement.where(Article.author_id == user_id_by_name("author"))
    if by_favoriter:
        statement = statement.where(
            exists().where(
                Favorite.article_id == Article.id, Favorite.user_id == user_id_by_name("favorited")
            )
        )
    if by_tag:
        statement = statement.where(
            exists().where(
                article_tags.c.article_id == Article.id, article_tags.c.tag_id == tag_id()
            )
        )
    if feed:
        followed = select(Follow.followee_id).where(Follow.follower_id == bindparam("feed_of"))
        statement = statement.where(Article.author_id.in_(followed))
    return statement


@lru_cache(maxsize=32)
def count_statement(shape: tuple[bool, ...]) -> Select[Any]:
    # One filter alone is a count of one index range: every tag link and every favorite
    # belongs to an existing article (foreign keys, ON DELETE CASCADE), so the join to the
    # articles that the general form needs adds nothing but a probe per row.
    if shape == TAG_ONLY:
        return (
            select(func.count()).select_from(article_tags).where(article_tags.c.tag_id == tag_id())
        )
    if shape == FAVORITED_ONLY:
        return (
            select(func.count())
            .select_from(Favorite)
            .where(Favorite.user_id == user_id_by_name("favorited"))
        )
    return filtered(select(func.count()).select_from(Article), shape)


def _counter_owner(shape: tuple[bool, ...]) -> tuple[str, Select[Any]] | None:
    """The per-key counter of a one-tag or one-author list: its name prefix and the owner's id
    by the request's parameter; None for every other shape."""
    if shape == TAG_ONLY:
        return TAG_PREFIX, select(Tag.id).where(Tag.name == bindparam("tag"))
    if shape == AUTHOR_ONLY:
        return AUTHOR_PREFIX, select(User.id).where(
            equal_ignoring_case(User.username, bindparam("author"))
        )
    return None


def total_column(shape: tuple[bool, ...]) -> Any:
    """The total as a scalar sub-query: the counter where there is one (NULL if its row is
    missing, or if the tag or author does not exist), otherwise the count."""
    owner = _counter_owner(shape)
    if owner is not None:
        name: Any = keyed_name(owner[0], owner[1].scalar_subquery())
    elif shape == NO_FILTERS:
        name = ARTICLES
    else:
        return count_statement(shape).scalar_subquery()
    return select(Counter.value).where(Counter.name == name).scalar_subquery()


@lru_cache(maxsize=4)
def counter_statement(shape: tuple[bool, ...]) -> Select[Any] | None:
    """One row with the counter's value (None: the row is missing), or no row when the tag
    or author does not exist; None for shapes without a counter."""
    if shape == NO_FILTERS:
        return select(select(Counter.value).where(Counter.name == ARTICLES).scalar_subquery())
    owner = _counter_owner(shape)
    if owner is None:
        return None
    prefix, found = owner[0], owner[1].subquery("owner")
    value = select(Counter.value).where(Counter.name == keyed_name(prefix, found.c.id))
    return select(value.scalar_subquery()).select_from(found)
