"""Unbound extension singletons; ``create_app`` binds them to an app in ``register_extensions``.

The rate limiter is not one of them: each app builds its own (``app/security/ratelimit.py``).
"""

from __future__ import annotations

from flask_cors import CORS
from flask_jwt_extended import JWTManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from sqlalchemy.orm import DeclarativeBase

from app.openapi import Api


class Base(DeclarativeBase):
    """Declarative base for every model (SQLAlchemy 2.0 typed style)."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
jwt = JWTManager()
cors = CORS()
talisman = Talisman()  # only its @talisman(...) view decorator; apps get their own instance
api = Api()
