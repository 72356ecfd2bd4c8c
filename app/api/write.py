"""The write side: articles, tags, favorites, follows and comments. Rules and permissions live
here; duplicates are made impossible by the schema and absorbed with INSERT .. ON CONFLICT.
Each write returns the key of what it changed (a slug, a comment id, a username); the routes
answer with what the read side (``read.py``) finds under that key."""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from app.clock import utcnow
from app.errors import Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.models import Article, Comment, Favorite, Follow, Tag, User, article_tags
from app.models.article import SLUG_MAX
from app.models.counter import TAG_PREFIX, Counter
from app.models.queries import find_user_by, insert_ignoring_duplicates

_NON_WORD = re.compile(r"[^a-z0-9]+")
RESERVED_SLUGS = frozenset({"feed"})  # /api/articles/feed is a route, not an article
SLUG_BASE_MAX = SLUG_MAX - 16  # room for "-" and a random suffix


# Users ------------------------------------------------------------------------------------------


def get_user_by_username(username: str) -> User:
    user = find_user_by(User.username, username)
    if user is None:
        raise NotFound("profile")
    return user


def follow(follower: User, username: str) -> str:
    """Follow ``username`` (idempotent); returns the followee's username as stored."""
    followee = get_user_by_username(username)
    if followee.id == follower.id:
        raise ValidationFailed({"profile": ["can't follow yourself"]})
    insert_ignoring_duplicates(
        Follow.__table__,
        [{"follower_id": follower.id, "followee_id": followee.id, "created_at": utcnow()}],
    )
    name = followee.username
    db.session.commit()
    return name


def unfollow(follower: User, username: str) -> str:
    """Stop following ``username`` (idempotent); returns the followee's username as stored."""
    followee = get_user_by_username(username)
    name = followee.username
    db.session.execute(
        delete(Follow).where(Follow.follower_id == follower.id, Follow.followee_id == followee.id)
    )
    db.session.commit()
    return name


# Articles ---------------------------------------------------------------------------------------


def slugify(title: str) -> str:
    """``"How to Train Your Dragon!"`` → ``"how-to-train-your-dragon"`` (ASCII, never empty)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = _NON_WORD.sub("-", ascii_title.lower()).strip("-")[:SLUG_BASE_MAX].strip("-")
    return slug or "article"


def _unique_slug(title: str, force_suffix: bool) -> str:
    """The title's slug if it is free (and not a route name), else the slug with a random
    suffix."""
    base = slugify(title)
    if (
        not force_suffix
        and base not in RESERVED_SLUGS
        and db.session.scalar(select(Article.id).where(Article.slug == base)) is None
    ):
        return base
    return f"{base}-{secrets.token_hex(4)}"


def _retrying_slug_races(operation: Any) -> Any:
    """Run ``operation(force_suffix)``; if a concurrent request took the same slug between our
    check and our commit, roll back and run it again with a random suffix (never a 500)."""
    try:
        return operation(False)
    except IntegrityError:
        db.session.rollback()
        return operation(True)


def get_article(slug: str, for_update: bool = False) -> Article:
    statement = select(Article).where(Article.slug == slug)
    if for_update:
        # FOR NO KEY UPDATE: changes and deletes of this article wait for each other, while
        # favorites and comments (whose foreign keys take KEY SHARE) go on as before.
        statement = statement.with_for_update(key_share=True)
    article = db.session.scalar(statement)
    if article is None:
        raise NotFound("article")
    return article


# Lock order ---------------------------------------------------------------------------------
# The counting triggers (models/counter.py) update the counter rows of the tags a statement
# links or unlinks, in whatever order their plan takes. Two writes taking the same rows in
# different orders deadlock, and PostgreSQL aborts one (a 503): an update swapping tag x for y
# against one swapping y for x did. So every write takes its locks in one order: the article's
# row (FOR NO KEY UPDATE), the tags' rows (made in name order), the tags' counters (in name
# order), then the ``articles`` and author counters, which the article's own INSERT or DELETE
# moves.


def _tag_ids(names: list[str]) -> list[int]:
    """The ids of the tags named, made where missing."""
    if not names:
        return []
    insert_ignoring_duplicates(Tag.__table__, [{"name": name} for name in sorted(set(names))])
    return list(db.session.scalars(select(Tag.id).where(Tag.name.in_(names))))


def _links_of(article_id: int) -> Any:
    return article_tags.c.article_id == article_id


def _linked_tag_ids(article_id: int) -> list[int]:
    return list(db.session.scalars(select(article_tags.c.tag_id).where(_links_of(article_id))))


def _lock_tag_counters(tag_ids: set[int]) -> None:
    """Lock the counters these tags' links move, in name order (``FOR UPDATE`` locks the rows
    in the order the ``ORDER BY`` returns them; SQLite has one writer at a time anyway)."""
    if tag_ids:
        names = [f"{TAG_PREFIX}{tag_id}" for tag_id in tag_ids]
        db.session.execute(
            select(Counter.name)
            .where(Counter.name.in_(names))
            .order_by(Counter.name)
            .with_for_update()
        )


def _link_tags(article: Article, tag_ids: list[int]) -> None:
    # The link carries the article's created_at (never changed): a tag's list is read, in
    # order, from the links alone.
    created_at = article.created_at
    insert_ignoring_duplicates(
        article_tags,
        [
            {"article_id": article.id, "tag_id": tag_id, "created_at": created_at}
            for tag_id in tag_ids
        ],
    )


def create_article(author: User, data: dict[str, Any]) -> str:
    """Publish an article; returns its slug."""

    def operation(force_suffix: bool) -> str:
        now = utcnow()
        tag_ids = _tag_ids(data.get("tagList", []))
        _lock_tag_counters(set(tag_ids))
        article = Article(
            slug=_unique_slug(data["title"], force_suffix),
            title=data["title"],
            description=data["description"],
            body=data["body"],
            author_id=author.id,
            created_at=now,
            updated_at=now,
        )
        db.session.add(article)
        db.session.flush()
        _link_tags(article, tag_ids)
        slug = article.slug
        db.session.commit()
        return slug

    return _retrying_slug_races(operation)


def _owned_article(user: User, slug: str) -> Article:
    article = get_article(slug, for_update=True)
    if article.author_id != user.id:
        raise Forbidden("article")
    return article


def update_article(user: User, slug: str, changes: dict[str, Any]) -> str:
    """Change ``user``'s article; returns its slug, a new one if the title changed it."""

    def operation(force_suffix: bool) -> str:
        article = _owned_article(user, slug)
        if "tagList" in changes:
            tag_ids = _tag_ids(changes["tagList"])
            _lock_tag_counters({*tag_ids, *_linked_tag_ids(article.id)})
            db.session.execute(delete(article_tags).where(_links_of(article.id)))
            _link_tags(article, tag_ids)
        # A new title gives a new slug, unless it slugifies to the one the article already has.
        if "title" in changes and slugify(changes["title"]) != article.slug:
            article.slug = _unique_slug(changes["title"], force_suffix)
        for field in ("title", "description", "body"):
            if field in changes:
                setattr(article, field, changes[field])
        # updatedAt changes on every update, strictly increasing even within one clock tick.
        article.updated_at = max(utcnow(), article.updated_at + timedelta(milliseconds=1))
        new_slug = article.slug
        db.session.commit()
        return new_slug

    return _retrying_slug_races(operation)


def delete_article(user: User, slug: str) -> None:
    article = _owned_article(user, slug)
    _lock_tag_counters(set(_linked_tag_ids(article.id)))
    db.session.delete(article)  # comments, favorites and tag links go with it (ON DELETE CASCADE)
    db.session.commit()


@lru_cache(maxsize=2)
def _favorite_statement(dialect_name: str) -> Any:
    """INSERT .. SELECT: the article is found by its slug inside the insert itself."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    favorites = Favorite.__table__
    source = select(
        bindparam("user_id", type_=favorites.c.user_id.type),
        Article.id,
        bindparam("now", type_=favorites.c.created_at.type),
    ).where(Article.slug == bindparam("slug"))
    return (
        dialect.insert(favorites)
        .from_select(["user_id", "article_id", "created_at"], source)
        .on_conflict_do_nothing()
        .returning(favorites.c.article_id)
    )


_UNFAVORITE = (
    delete(Favorite)
    .where(
        Favorite.user_id == bindparam("user_id"),
        Favorite.article_id
        == select(Article.id).where(Article.slug == bindparam("slug")).scalar_subquery(),
    )
    .returning(Favorite.article_id)
)


def favorite(user_id: int, slug: str) -> str:
    """Favorite the article (idempotent); returns its slug. One statement when it changes
    something; a second only to tell "already a favorite" from "no such article". Not
    committed: the route reads its answer in the same transaction, then commits."""
    statement = _favorite_statement(db.session.get_bind().dialect.name)
    params = {"user_id": user_id, "slug": slug, "now": utcnow()}
    if db.session.execute(statement, params).first() is None:
        get_article(slug)  # 404 if there is no such article
    return slug


def unfavorite(user_id: int, slug: str) -> str:
    """Take the article out of the user's favorites (idempotent); returns its slug. Like
    ``favorite``: one statement, not committed."""
    if db.session.execute(_UNFAVORITE, {"user_id": user_id, "slug": slug}).first() is None:
        get_article(slug)  # 404 if there is no such article
    return slug


# Comments ---------------------------------------------------------------------------------------


def add_comment(user: User, slug: str, body: str) -> int:
    """Comment on the article; returns the new comment's id."""
    article = get_article(slug)
    now = utcnow()
    comment = Comment(
        article_id=article.id, author_id=user.id, body=body, created_at=now, updated_at=now
    )
    db.session.add(comment)
    db.session.flush()
    comment_id = comment.id
    db.session.commit()
    return comment_id


INT_MAX = 2_147_483_647


def delete_comment(user: User, slug: str, comment_id: str) -> None:
    article = get_article(slug)
    # Any id that cannot name a row ("abc", -1, 10**30) is simply an unknown comment.
    number = int(comment_id) if comment_id.isascii() and comment_id.isdigit() else 0
    comment = db.session.get(Comment, number) if 0 < number <= INT_MAX else None
    if comment is None or comment.article_id != article.id:
        raise NotFound("comment")
    if comment.author_id != user.id:
        raise Forbidden("comment")
    db.session.delete(comment)
    db.session.commit()
