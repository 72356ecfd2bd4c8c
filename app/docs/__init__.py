"""The ``docs`` blueprint: interactive API docs (Swagger UI) at ``/api/docs``, served offline."""

from app.docs.routes import bp, register_docs

__all__ = ["bp", "register_docs"]
