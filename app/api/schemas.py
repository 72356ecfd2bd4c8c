"""Request and response schemas for the Conduit resources (they also feed the OpenAPI document).

Views build plain dicts; the response schemas dump them, so the documented shape is the shape.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from app.api.cursor import CursorField
from app.models.article import (
    BODY_MAX,
    COMMENT_MAX,
    DESCRIPTION_MAX,
    TAG_MAX,
    TAGS_PER_ARTICLE_MAX,
    TITLE_MAX,
)
from app.validation import RequestSchema, Text, envelope

LIMIT_DEFAULT = 20
LIMIT_MAX = 100
OFFSET_MAX = 2_147_483_647  # beyond a 32-bit offset no database has rows to skip


class Timestamp(ma.fields.String):
    """ISO 8601 UTC with milliseconds, always: ``2026-11-25T10:00:00.000Z`` (``read.py`` writes
    them with ``app.clock.isoformat_ms``)."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"format": "date-time", "example": "2026-11-25T10:00:00.000Z"}
        super().__init__(metadata=metadata, **kwargs)


class TagList(ma.fields.List):
    """A list of tag names: strings, no blanks, no duplicates (kept once), at most 20."""

    default_error_messages = {"invalid": "must be a list of strings", "null": "can't be null"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(Text(max_length=TAG_MAX), allow_none=False, **kwargs)

    def json_schema_rules(self) -> dict[str, Any]:
        """The cap, for the OpenAPI document (a repeated tag is kept once, so it may be sent
        more often)."""
        return {"maxItems": TAGS_PER_ARTICLE_MAX}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        tags = super()._deserialize(value, attr, data, **kwargs)
        unique = sorted({tag.strip() for tag in tags})
        if len(unique) > TAGS_PER_ARTICLE_MAX:
            raise ma.ValidationError(f"has too many tags (maximum is {TAGS_PER_ARTICLE_MAX})")
        return unique


# Requests ---------------------------------------------------------------------------------------


class NewArticle(RequestSchema):
    title = Text(max_length=TITLE_MAX, required=True)
    description = Text(max_length=DESCRIPTION_MAX, required=True)
    body = Text(max_length=BODY_MAX, required=True)
    tagList = TagList()  # noqa: N815 - the contract's field name


class NewArticleRequest(RequestSchema):
    article = envelope(NewArticle)


class ArticleChanges(RequestSchema):
    title = Text(max_length=TITLE_MAX)
    description = Text(max_length=DESCRIPTION_MAX)
    body = Text(max_length=BODY_MAX)
    tagList = TagList()  # noqa: N815


class UpdateArticleRequest(RequestSchema):
    article = envelope(ArticleChanges)


class NewComment(RequestSchema):
    body = Text(max_length=COMMENT_MAX, required=True)


class NewCommentRequest(RequestSchema):
    comment = envelope(NewComment)


class PageQuery(ma.Schema):
    """``limit`` (0-100, larger values are capped at 100; 0 gives only ``articlesCount``) and
    ``offset``. The RealWorld spec's minimum is 1; 0 is a count-only query this service has
    always answered (the contract calls only bad values 422), and the document says so."""

    class Meta:
        unknown = ma.EXCLUDE

    limit = ma.fields.Integer(
        load_default=LIMIT_DEFAULT,
        validate=ma.validate.Range(min=0, error="must be 0 or more"),
        error_messages={"invalid": "must be an integer"},
        metadata={
            "description": f"page size, default {LIMIT_DEFAULT}; larger values count as "
            f"{LIMIT_MAX}; 0 answers only articlesCount"
        },
    )
    offset = ma.fields.Integer(
        load_default=0,
        validate=ma.validate.Range(min=0, max=OFFSET_MAX, error="must be between 0 and 2147483647"),
        error_messages={"invalid": "must be an integer"},
    )
    before = CursorField()  # keyset pagination, opt-in (docs/adr/0009)

    @ma.post_load
    def _cap(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        data["limit"] = min(data["limit"], LIMIT_MAX)
        return data


class ArticleQuery(PageQuery):
    # An empty filter (``?tag=``, as some clients send) means no filter.
    tag = Text(max_length=TAG_MAX, allow_blank=True, metadata={"description": "only this tag"})
    author = Text(max_length=64, allow_blank=True, metadata={"description": "only this author"})
    favorited = Text(
        max_length=64, allow_blank=True, metadata={"description": "only favorites of this user"}
    )

    @ma.post_load
    def _blank_is_absent(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        for key in ("tag", "author", "favorited"):
            if key in data and not data[key].strip():
                del data[key]
        return data


# Responses --------------------------------------------------------------------------------------


class Profile(ma.Schema):
    username = ma.fields.String(required=True)
    bio = ma.fields.String(allow_none=True, required=True)
    image = ma.fields.String(allow_none=True, required=True)
    following = ma.fields.Boolean(required=True)


class ProfileResponse(ma.Schema):
    profile = ma.fields.Nested(Profile, required=True)


class ArticleSummary(ma.Schema):
    """An article in a list: everything but ``body``."""

    slug = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    tagList = ma.fields.List(ma.fields.String(), required=True)  # noqa: N815
    createdAt = Timestamp(required=True)  # noqa: N815
    updatedAt = Timestamp(required=True)  # noqa: N815
    favorited = ma.fields.Boolean(required=True)
    favoritesCount = ma.fields.Integer(required=True)  # noqa: N815
    author = ma.fields.Nested(Profile, required=True)


class Article(ArticleSummary):
    body = ma.fields.String(required=True)


class ArticleResponse(ma.Schema):
    article = ma.fields.Nested(Article, required=True)


class ArticleListResponse(ma.Schema):
    articles = ma.fields.List(ma.fields.Nested(ArticleSummary), required=True)
    articlesCount = ma.fields.Integer(required=True)  # noqa: N815


class Comment(ma.Schema):
    id = ma.fields.Integer(required=True)
    createdAt = Timestamp(required=True)  # noqa: N815
    updatedAt = Timestamp(required=True)  # noqa: N815
    body = ma.fields.String(required=True)
    author = ma.fields.Nested(Profile, required=True)


class CommentResponse(ma.Schema):
    comment = ma.fields.Nested(Comment, required=True)


class CommentListResponse(ma.Schema):
    comments = ma.fields.List(ma.fields.Nested(Comment), required=True)


class TagListResponse(ma.Schema):
    tags = ma.fields.List(ma.fields.String(), required=True)
