"""Accounts of the fuzz run, registered over HTTP as any client would."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def register(base: str, username: str, password: str) -> dict[str, Any]:
    """POST /api/users; the ``user`` of the 201 answer (``token``, ``refreshToken``, ``email``)."""
    user = {"username": username, "email": f"{username}@example.com", "password": password}
    request = urllib.request.Request(
        f"{base}/api/users",
        data=json.dumps({"user": user}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, Any] = json.loads(response.read())["user"]
    return answer
