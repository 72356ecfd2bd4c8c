"""Application factory: ``create_app()`` builds a configured Flask app in small steps."""

from __future__ import annotations

import logging

from flask import Flask

from config import Config, get_config

__version__ = "0.1.0"

log = logging.getLogger(__name__)


def create_app(config_name: str | None = None) -> Flask:
    """Build the app for ``config_name`` (else ``APP_ENV``); raises ``ConfigError`` if unsafe."""
    config = get_config(config_name)
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    app.config.from_object(config)
    app.json.sort_keys = False  # keep fields in the order the contract lists them

    from app.logs import configure_logging

    configure_logging(app)
    _announce(app, config)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_request_hooks(app)
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
    from app.database import configure_database
    from app.extensions import api, db, jwt, migrate
    from app.schema import MIGRATIONS_DIR
    from app.security.headers import register_cors, register_security_headers
    from app.security.passwords import warm_up
    from app.security.ratelimit import init_rate_limiting
    from app.security.tokens import register_token_callbacks

    _ensure_instance_folder(app)
    db.init_app(app)
    configure_database(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    jwt.init_app(app)
    register_token_callbacks(app)
    with app.app_context():
        warm_up()
    init_rate_limiting(app)  # this app's own limiter and its per-class limits
    register_cors(app)
    register_security_headers(app)
    api.init_app(app)
    api.spec.components.security_scheme(
        "Token",
        {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <jwt>` (or `Bearer <jwt>`)",
        },
    )


def register_blueprints(app: Flask) -> None:
    from app.api import blp as api_blp
    from app.auth import blp as auth_blp
    from app.docs import register_docs
    from app.extensions import api
    from app.health import bp as health_bp

    api.register_blueprint(auth_blp)
    api.register_blueprint(api_blp)
    api.register_blueprint(health_bp)
    register_docs(app)


def register_error_handlers(app: Flask) -> None:
    from app.errors import register_error_handlers as register

    register(app)


def register_request_hooks(app: Flask) -> None:
    from app.middleware import register_request_hooks as register

    register(app)


def register_commands(app: Flask) -> None:
    from app.cli import register_commands as register

    register(app)


def _ensure_instance_folder(app: Flask) -> None:
    import os

    os.makedirs(app.instance_path, exist_ok=True)
