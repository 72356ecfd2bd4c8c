"""Articles, the feed and favorites."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask_jwt_extended import current_user, jwt_required

from app.api import blp, service
from app.api.queries import ArticleFilters, find_article, list_articles
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
from app.openapi import OPTIONAL_TOKEN_AUTH, TOKEN_AUTH


def _article_envelope(slug: str) -> Response:
    # Hot read paths answer with the read side's dicts as they are (they match the response
    # schemas: tests/test_response_shapes.py), skipping a second serialisation pass.
    article = find_article(slug, viewer_id())
    if article is None:
        raise NotFound("article")
    return jsonify(article=article)


@blp.route("/articles", methods=["GET"])
@jwt_required(optional=True)
@blp.arguments(ArticleQuery, location="query")
@blp.response(200, ArticleListResponse)
@blp.alt_response(422, description="Bad limit or offset")
@blp.doc(security=OPTIONAL_TOKEN_AUTH)
def get_articles(query: dict[str, Any]) -> Response:
    """Articles, newest first, filtered by tag, author and/or favoriter"""
    filters = ArticleFilters(
        tag=query.get("tag"), author=query.get("author"), favorited=query.get("favorited")
    )
    articles, total = list_articles(filters, query["limit"], query["offset"], viewer_id())
    return jsonify(articles=articles, articlesCount=total)


@blp.route("/articles/feed", methods=["GET"])
@jwt_required()
@blp.arguments(PageQuery, location="query")
@blp.response(200, ArticleListResponse)
@blp.alt_response(401, description="Missing or invalid token")
@blp.alt_response(422, description="Bad limit or offset")
@blp.doc(security=TOKEN_AUTH)
def get_feed(query: dict[str, Any]) -> Response:
    """Articles by the authors the caller follows, newest first"""
    filters = ArticleFilters(feed_of=current_user.id)
    articles, total = list_articles(filters, query["limit"], query["offset"], current_user.id)
    return jsonify(articles=articles, articlesCount=total)


@blp.route("/articles", methods=["POST"])
@jwt_required()
@blp.arguments(NewArticleRequest)
@blp.response(201, ArticleResponse)
@blp.alt_response(401, description="Missing or invalid token")
@blp.alt_response(422, description="Validation failed")
@blp.doc(security=TOKEN_AUTH)
def create_article(body: dict[str, Any]) -> tuple[Response, int]:
    """Publish an article"""
    article = service.create_article(current_user, body["article"])
    return _article_envelope(article.slug), 201


@blp.route("/articles/<slug>", methods=["GET"])
@jwt_required(optional=True)
@blp.response(200, ArticleResponse)
@blp.alt_response(404, description="No such article")
@blp.doc(security=OPTIONAL_TOKEN_AUTH)
def get_article(slug: str) -> Response:
    """One article, with its body"""
    return _article_envelope(slug)


@blp.route("/articles/<slug>", methods=["PUT"])
@jwt_required()
@blp.arguments(UpdateArticleRequest)
@blp.response(200, ArticleResponse)
@blp.alt_response(401, description="Missing or invalid token")
@blp.alt_response(403, description="Not the article's author")
@blp.alt_response(404, description="No such article")
@blp.alt_response(422, description="Validation failed")
@blp.doc(security=TOKEN_AUTH)
def update_article(body: dict[str, Any], slug: str) -> Response:
    """Change your article; a new title gives a new slug"""
    article = service.update_article(current_user, slug, body["article"])
    return _article_envelope(article.slug)


@blp.route("/articles/<slug>", methods=["DELETE"])
@jwt_required()
@blp.response(204)
@blp.alt_response(401, description="Missing or invalid token")
@blp.alt_response(403, description="Not the article's author")
@blp.alt_response(404, description="No such article")
@blp.doc(security=TOKEN_AUTH)
def delete_article(slug: str) -> None:
    """Delete your article with its comments and favorites"""
    service.delete_article(current_user, slug)


@blp.route("/articles/<slug>/favorite", methods=["POST"])
@jwt_required()
@blp.response(200, ArticleResponse)
@blp.alt_response(401, description="Missing or invalid token")
@blp.alt_response(404, description="No such article")
@blp.doc(security=TOKEN_AUTH)
def favorite_article(slug: str) -> Response:
    """Favorite an article (idempotent)"""
    return _article_envelope(service.favorite(current_user, slug).slug)


@blp.route("/articles/<slug>/favorite", methods=["DELETE"])
@jwt_required()
@blp.response(200, ArticleResponse)
@blp.alt_response(401, description="Missing or invalid token")
@blp.alt_response(404, description="No such article")
@blp.doc(security=TOKEN_AUTH)
def unfavorite_article(slug: str) -> Response:
    """Remove an article from your favorites (idempotent)"""
    return _article_envelope(service.unfavorite(current_user, slug).slug)
