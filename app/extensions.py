"""Unbound extension singletons; ``create_app`` binds them to an app in ``register_extensions``."""

from __future__ import annotations

from flask_cors import CORS
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from sqlalchemy.orm import DeclarativeBase

from app.openapi import Api
from app.security.ratelimit import rate_limit_key


class Base(DeclarativeBase):
    """Declarative base for every model (SQLAlchemy 2.0 typed style)."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
jwt = JWTManager()
limiter = Limiter(key_func=rate_limit_key)
cors = CORS()
talisman = Talisman()
api = Api()
