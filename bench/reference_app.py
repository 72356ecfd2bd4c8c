"""The benchmark's reference: bare Flask, nothing else, served by the same gunicorn settings.

    GET /json      a small JSON object: the floor for /ping (which crosses every middleware)
    GET /select1   one pooled ``SELECT 1`` on PostgreSQL: the floor for every database route

The engine is built from config.py exactly as the app builds its own (same URL, pool size,
overflow, pre-ping, timeouts), one per gunicorn worker (no preload: each worker imports this).

    gunicorn -c ops/gunicorn.conf.py bench.reference_app:app
"""

from __future__ import annotations

from flask import Flask, Response, jsonify
from sqlalchemy import create_engine, text

from config import get_config

_config = get_config()
engine = create_engine(_config.SQLALCHEMY_DATABASE_URI, **_config.SQLALCHEMY_ENGINE_OPTIONS)
app = Flask(__name__)


@app.get("/json")
def bare_json() -> Response:
    return jsonify(status="ok")


@app.get("/select1")
def select_one() -> Response:
    with engine.connect() as connection:
        value = connection.scalar(text("SELECT 1"))
    return jsonify(value=value)
