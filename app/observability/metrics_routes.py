"""``GET /metrics``: the Prometheus text of every worker's metrics, for ``METRICS_ALLOW`` only.

Any other client gets the same JSON 404 as an unknown path, for every common method, and like
one it is not rate-limited (no ``X-RateLimit-*`` headers; ``security/ratelimit.py``). The route is
left out of the OpenAPI document: it is for operators, and nginx refuses it
(``ops/nginx.conf``). Scrapes are counted in ``conduit_http_requests_total`` like any request
(``route="/metrics"``): their rate is Prometheus's own, and the series shows they arrive.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4

from app.backups import storage_for
from app.observability.metrics import exposition, publish
from app.observability.metrics_access import metrics_client_allowed
from app.observability.metrics_backups import BackupTimes

EXTENSION_KEY = "conduit_metrics_backups"
# Every common method, so that a refused client gets a 404, never a telling 405.
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
SCRAPE_METHODS = ["GET", "HEAD"]

bp = Blueprint("metrics", __name__)


@bp.route("/metrics", methods=METHODS)
def scrape() -> Response:
    """Every metric, in the classic Prometheus text format (0.0.4)."""
    if not metrics_client_allowed():
        abort(404)
    if request.method not in SCRAPE_METHODS:
        abort(405, valid_methods=SCRAPE_METHODS)
    backups: BackupTimes = current_app.extensions[EXTENSION_KEY]
    publish()  # this worker's values up to now; the other workers publish every second
    return Response(exposition(backups), content_type=CONTENT_TYPE_PLAIN_0_0_4)


def register_metrics(app: Flask) -> None:
    """Serve ``/metrics`` when ``METRICS_ENABLED``; without it the path is an unknown one."""
    if not app.config["METRICS_ENABLED"]:
        return
    app.extensions[EXTENSION_KEY] = BackupTimes(lambda: storage_for(app))
    app.register_blueprint(bp)
