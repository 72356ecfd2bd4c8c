"""schemathesis hooks of the fuzz run (loaded through SCHEMATHESIS_HOOKS by tests/fuzz/run.py):
who is logged in for each generated request.

Most operations use the main user's access token (FUZZ_TOKEN). Refresh, logout and logout-all
end sessions, so each of their requests gets a session of its own, of a second user
(FUZZ_SESSION_EMAIL / FUZZ_SESSION_PASSWORD), logged in just for it: logout-all ends every
session of that user, never the main one, and refresh gets a refresh token not yet spent.
"""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any

import schemathesis

SESSION_ENDING = {"/api/auth/refresh", "/api/auth/logout", "/api/auth/logout-all"}
REFRESH = "/api/auth/refresh"


def _login(base_url: str, email: str, password: str) -> dict[str, Any]:
    """POST /api/users/login; the ``user`` of the answer (with ``token`` and ``refreshToken``)."""
    body = json.dumps({"user": {"email": email, "password": password}}).encode()
    request = urllib.request.Request(
        f"{base_url}/api/users/login",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        user: dict[str, Any] = json.loads(response.read())["user"]
    return user


# No caching (refresh_interval=None) and no retry on 401: a token is chosen for every case, and
# a 401 the server answers is the answer under test.
@schemathesis.auth(refresh_interval=None, retry_on=[])
class FuzzAuth:
    def get(self, case: Any, _ctx: Any) -> str:
        if case.operation.path not in SESSION_ENDING:
            return os.environ["FUZZ_TOKEN"]
        user = _login(
            os.environ["FUZZ_BASE_URL"],
            os.environ["FUZZ_SESSION_EMAIL"],
            os.environ["FUZZ_SESSION_PASSWORD"],
        )
        return user["refreshToken"] if case.operation.path == REFRESH else user["token"]

    def set(self, case: Any, data: str, _ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Token {data}"}
