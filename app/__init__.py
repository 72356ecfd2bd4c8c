"""Application factory: ``create_app()`` builds a configured Flask app in small steps.

Nothing in the package imports this module: it is the top, and it imports the rest.
"""

from __future__ import annotations

import logging
import os

from flask import Flask

from app.api import blp as api_blueprint
from app.auth import blp as auth_blueprint
from app.cli import register_commands
from app.database import configure_database
from app.docs import register_docs
from app.errors import register_error_handlers
from app.extensions import db, jwt, migrate
from app.health import bp as health_blueprint
from app.logs import configure_logging
from app.observability.metrics_routes import register_metrics
from app.observability.sentry import configure_sentry
from app.openapi import create_api
from app.pipeline import register_request_pipeline
from app.schema import MIGRATIONS_DIR
from app.security.passwords import warm_up
from app.security.tokens import register_token_callbacks
from config import Config, get_config

log = logging.getLogger(__name__)


def create_app(config: Config | str | None = None) -> Flask:
    """Build the app from ``config``: a ``Config`` object (``get_config(name, environ=...)``),
    a config name, or None for ``APP_ENV``. Raises ``ConfigError`` if the settings are unsafe."""
    if not isinstance(config, Config):
        config = get_config(config)
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    app.config.from_object(config)
    app.json.sort_keys = False  # keep fields in the order the contract lists them

    configure_logging(app)
    configure_sentry(app)  # only with SENTRY_DSN
    _announce(app, config)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_request_pipeline(app)
    register_commands(app)
    return app


def _announce(app: Flask, config: Config) -> None:
    if config.uses_dev_secrets and not config.TESTING:
        log.warning("using fixed development-only secrets; never run this config in production")
    if config.APP_ENV == "production":
        if not config.REDIS_URL:
            log.warning("REDIS_URL is not set: rate limits are per process (memory://)")
        if config.SQLALCHEMY_DATABASE_URI.startswith("sqlite"):
            log.warning("production is running on SQLite; set DATABASE_URL to PostgreSQL")


def register_extensions(app: Flask) -> None:
    """The database, migrations and tokens; the request-path extensions (rate limits, CORS,
    security headers) are part of ``register_request_pipeline``."""
    os.makedirs(app.instance_path, exist_ok=True)  # SQLite's default home
    db.init_app(app)
    configure_database(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    jwt.init_app(app)
    register_token_callbacks(app)
    with app.app_context():
        warm_up()


def register_blueprints(app: Flask) -> None:
    api = create_api(app)
    for blueprint in (auth_blueprint, api_blueprint, health_blueprint):
        api.register_blueprint(blueprint)
    register_docs(app, api)
    register_metrics(app)  # GET /metrics, outside the OpenAPI document
