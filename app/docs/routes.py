"""``GET /api/docs``: Swagger UI for ``/api/openapi.json``, with every asset served from here.

The Swagger UI files come from the ``flask-swagger-ui`` package's ``dist/`` folder (only the
files, not its blueprint, whose page has an inline script); our own ``swagger-initializer.js``
starts it. Nothing is loaded from another origin, so the docs work without internet access and
the page's Content-Security-Policy can stay narrow: scripts and styles from this origin only.
"""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    render_template,
    send_from_directory,
    url_for,
)

from app.extensions import talisman
from app.openapi import Api

SWAGGER_UI_DIST = Path(flask_swagger_ui.__file__).resolve().parent / "dist"
OWN_STATIC = Path(__file__).resolve().parent / "static"

# The only files served under /api/docs/assets/: name -> (folder, content type).
ASSETS: dict[str, tuple[Path, str]] = {
    "swagger-ui.css": (SWAGGER_UI_DIST, "text/css"),
    "index.css": (SWAGGER_UI_DIST, "text/css"),
    "swagger-ui-bundle.js": (SWAGGER_UI_DIST, "text/javascript"),
    "favicon-32x32.png": (SWAGGER_UI_DIST, "image/png"),
    "favicon-16x16.png": (SWAGGER_UI_DIST, "image/png"),
    "swagger-initializer.js": (OWN_STATIC, "text/javascript"),
}

# The docs page only; the API keeps "default-src 'none'; frame-ancestors 'none'".
# img-src data: is for the icons inlined in swagger-ui.css; connect-src 'self' fetches the
# document and sends "Try it out" requests to this origin.
DOCS_CSP: dict[str, str] = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "base-uri": "'none'",
    "form-action": "'none'",
    "frame-ancestors": "'none'",
}

bp = Blueprint("docs", __name__, url_prefix="/api/docs", template_folder="templates")


@bp.get("")
@talisman(content_security_policy=DOCS_CSP)
def page() -> str:
    """The Swagger UI page: markup and same-origin script tags, no inline code."""
    return render_template(
        "docs/swagger_ui.html",
        title=current_app.config["API_TITLE"],
        spec_url=url_for("api-docs.openapi_json"),
    )


@bp.get("/assets/<name>")
def asset(name: str) -> Response:
    """One of ``ASSETS``; anything else is the usual JSON 404."""
    if name not in ASSETS:
        abort(404)
    folder, mimetype = ASSETS[name]
    return send_from_directory(folder, name, mimetype=mimetype)


def register_docs(app: Flask, api: Api) -> None:
    """Serve the docs, and describe ``/api/openapi.json`` and ``/api/docs`` in the document."""
    app.register_blueprint(bp)
    api.spec.tag({"name": "docs", "description": "This document and its interactive viewer"})
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    api.spec.path(
        rule=rules["api-docs.openapi_json"],
        operations={
            "get": {
                "tags": ["docs"],
                "summary": "This OpenAPI document",
                "responses": {
                    "200": {
                        "description": "The OpenAPI 3 document, generated from the code",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    )
    api.spec.path(
        rule=rules["docs.page"],
        operations={
            "get": {
                "tags": ["docs"],
                "summary": "Interactive docs (Swagger UI) for this document",
                "responses": {
                    "200": {
                        "description": "An HTML page; its assets are served by this service",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    )
