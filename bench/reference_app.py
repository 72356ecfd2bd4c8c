"""The benchmark's reference: bare Flask, nothing else, served by the same gunicorn settings.

    GET /json      a small JSON object: the floor for /ping (which crosses every middleware)
    GET /select1   one pooled ``SELECT 1`` on PostgreSQL: the floor for every database route
    GET /select1-redis  the same, then one Redis ``PING``: the floor for a route that is rate
                   limited, since the limiter makes one Redis call per request (its cheapest
                   possible form here: no script, no keys)

The engine is built from config.py as the app builds its own (same URL, pool size, overflow,
timeouts), one per gunicorn worker (no preload: each worker imports this), except that it keeps
the pool's pre-ping, as when the targets were set: the app replaced that round trip by a poll
of the socket (app/database.py), and the yardstick must not move with the thing it measures.

    gunicorn -c ops/gunicorn.conf.py bench.reference_app:app
"""

from __future__ import annotations

import redis
from flask import Flask, Response, abort, jsonify
from sqlalchemy import create_engine, text

from config import get_config

_config = get_config()
_options = {**_config.SQLALCHEMY_ENGINE_OPTIONS, "pool_pre_ping": True}
engine = create_engine(_config.SQLALCHEMY_DATABASE_URI, **_options)
# redis-py's own pool, with the app's timeouts; hiredis parses the reply, as in the app.
redis_client = (
    redis.Redis.from_url(
        _config.REDIS_URL,
        socket_timeout=_config.REDIS_SOCKET_TIMEOUT,
        socket_connect_timeout=_config.REDIS_SOCKET_TIMEOUT,
    )
    if _config.REDIS_URL
    else None
)
app = Flask(__name__)


@app.get("/json")
def bare_json() -> Response:
    return jsonify(status="ok")


@app.get("/select1")
def select_one() -> Response:
    with engine.connect() as connection:
        value = connection.scalar(text("SELECT 1"))
    return jsonify(value=value)


@app.get("/select1-redis")
def select_one_and_ping_redis() -> Response:
    if redis_client is None:
        abort(404)  # no REDIS_URL: nothing to measure
    with engine.connect() as connection:
        value = connection.scalar(text("SELECT 1"))
    redis_client.ping()
    return jsonify(value=value)
