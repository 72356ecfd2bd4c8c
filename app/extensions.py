"""The extensions, unbound: ``create_app`` binds them to each app it builds.

Only third-party objects live here, so every layer of the app may import this module. Flask-
Limiter, Flask-Talisman and the OpenAPI ``Api`` are built per app instead (``app/pipeline.py``,
``app/openapi.py``): they keep their settings on the instance, and the tests build apps with
different settings in one process. ``talisman`` here only provides the per-view decorator
(``@talisman(content_security_policy=...)``), which tags the view and reads no settings.
"""

from __future__ import annotations

from flask_cors import CORS
from flask_jwt_extended import JWTManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base for every model (SQLAlchemy 2.0 typed style)."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
jwt = JWTManager()
cors = CORS()
talisman = Talisman()
