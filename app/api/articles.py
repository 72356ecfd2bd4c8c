"""Articles, the feed and favorites."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask_jwt_extended import current_user

from app.api import read, write
from app.api.blueprint import blp
from app.api.cursor import next_link
from app.api.read import ArticleFilters
from app.api.schemas import (
    ArticleListResponse,
    ArticleQuery,
    ArticleResponse,
    NewArticleRequest,
    PageQuery,
    UpdateArticleRequest,
)
from app.api.viewer import viewer_id
from app.errors import NotFound
from app.extensions import db


def _article(slug: str) -> Response:
    """``{"article": ...}`` as the caller sees it, from the read side."""
    article = read.find_article(slug, viewer_id())
    if article is None:
        raise NotFound("article")
    return jsonify(article=article)


def _committed_article(slug: str) -> Response:
    """``_article`` for a write left open: its answer is read inside the write's transaction,
    then committed, which saves the BEGIN, and the ROLLBACK, of a read after the commit."""
    response = _article(slug)
    db.session.commit()
    return response


def _page(filters: ArticleFilters, query: dict[str, Any]) -> Response:
    limit = query["limit"]
    page = read.list_articles(filters, limit, query["offset"], viewer_id(), query.get("before"))
    response = jsonify(articles=page.articles, articlesCount=page.total)
    if page.last is not None and len(page.articles) == limit:  # a short page is the last one
        response.headers["Link"] = next_link(page.last)
    return response


@blp.route("/articles", methods=["GET"])
@blp.optional_token()
@blp.arguments(ArticleQuery, location="query")
@blp.response(200, ArticleListResponse)
@blp.alt_response(422, description="Bad limit, offset or before cursor")
def get_articles(query: dict[str, Any]) -> Response:
    """Articles, newest first, filtered by tag, author and/or favoriter"""
    filters = ArticleFilters(
        tag=query.get("tag"), author=query.get("author"), favorited=query.get("favorited")
    )
    return _page(filters, query)


@blp.route("/articles/feed", methods=["GET"])
@blp.requires_token()
@blp.arguments(PageQuery, location="query")
@blp.response(200, ArticleListResponse)
@blp.alt_response(422, description="Bad limit, offset or before cursor")
def get_feed(query: dict[str, Any]) -> Response:
    """Articles by the authors the caller follows, newest first"""
    return _page(ArticleFilters(feed_of=current_user.id), query)


@blp.route("/articles", methods=["POST"])
@blp.requires_token()
@blp.arguments(NewArticleRequest)
@blp.response(201, ArticleResponse)
@blp.alt_response(422, description="Validation failed")
def create_article(body: dict[str, Any]) -> tuple[Response, int]:
    """Publish an article"""
    return _article(write.create_article(current_user, body["article"])), 201


@blp.route("/articles/<slug>", methods=["GET"])
@blp.optional_token()
@blp.response(200, ArticleResponse)
@blp.alt_response(404, description="No such article")
def get_article(slug: str) -> Response:
    """One article, with its body"""
    return _article(slug)


@blp.route("/articles/<slug>", methods=["PUT"])
@blp.requires_token()
@blp.arguments(UpdateArticleRequest)
@blp.response(200, ArticleResponse)
@blp.alt_response(403, description="Not the article's author")
@blp.alt_response(404, description="No such article")
@blp.alt_response(422, description="Validation failed")
def update_article(body: dict[str, Any], slug: str) -> Response:
    """Change your article; a new title gives a new slug"""
    return _article(write.update_article(current_user, slug, body["article"]))


@blp.route("/articles/<slug>", methods=["DELETE"])
@blp.requires_token()
@blp.response(204)
@blp.alt_response(403, description="Not the article's author")
@blp.alt_response(404, description="No such article")
def delete_article(slug: str) -> None:
    """Delete your article with its comments and favorites"""
    write.delete_article(current_user, slug)


@blp.route("/articles/<slug>/favorite", methods=["POST"])
@blp.requires_token()
@blp.response(200, ArticleResponse)
@blp.alt_response(404, description="No such article")
def favorite_article(slug: str) -> Response:
    """Favorite an article (idempotent)"""
    return _committed_article(write.favorite(current_user.id, slug))


@blp.route("/articles/<slug>/favorite", methods=["DELETE"])
@blp.requires_token()
@blp.response(200, ArticleResponse)
@blp.alt_response(404, description="No such article")
def unfavorite_article(slug: str) -> Response:
    """Remove an article from your favorites (idempotent)"""
    return _committed_article(write.unfavorite(current_user.id, slug))
