"""Two gunicorn instances of the app in production mode on one database and Redis, as the
upstreams of an nginx: started, stopped and restarted on their own ports, each one's log lines
(the app's JSON request log, on stderr) kept in a file across restarts."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from config import CHEAP_PASSWORD_HASHING
from tests.serving import GunicornProcess, migrate


def production_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """APP_ENV=production behind one proxy (nginx), fresh secrets, cheap password hashing;
    the database is migrated here, once, as a deploy's migration job does."""
    base = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    env = {
        **base,
        **CHEAP_PASSWORD_HASHING,
        "APP_ENV": "production",
        "TRUSTED_PROXY_HOPS": "1",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": secrets.token_hex(32),
        "JWT_SECRET_KEY": secrets.token_hex(32),
        "GUNICORN_THREADS": "4",
        **extra,
    }
    migrate(env)
    return env


class Pair:
    """The two gunicorn instances behind nginx; each one's stderr (the app's JSON log lines)
    goes to a file that keeps every run's lines."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.logs = [logs / "a.log", logs / "b.log"]
        self.files = [path.open("ab") for path in self.logs]
        self.instances = [GunicornProcess(env, stderr=file) for file in self.files]

    @property
    def addresses(self) -> list[str]:
        return [instance.address for instance in self.instances]

    def ensure_running(self) -> None:
        stopped = [i for i in self.instances if i not in self.running()]
        for instance in stopped:
            instance.start()
        for instance in stopped:
            instance.wait_ready()

    def running(self) -> list[GunicornProcess]:
        return [i for i in self.instances if i.process is not None and i.process.poll() is None]

    def stop(self) -> None:
        """SIGTERM to both at once; each must exit 0 (a graceful stop) within 30 s, and none
        is left running whatever happens."""
        running = self.running()
        for instance in running:
            instance.terminate()
        try:
            statuses = [instance.wait_stopped() for instance in running]
        finally:
            for instance in self.running():
                instance.process.kill()  # type: ignore[union-attr]
                instance.wait_stopped()
            for file in self.files:
                file.close()
        assert statuses == [0] * len(running)

    def logged(self, request_ids: set[str]) -> list[list[dict[str, Any]]]:
        """Each instance's request log lines (one per request served) for these request ids."""
        found = []
        for path in self.logs:
            lines = [line for line in path.read_text().splitlines() if line.startswith("{")]
            records = [json.loads(line) for line in lines]
            found.append(
                [
                    record
                    for record in records
                    if record.get("logger") == "app.request"
                    and record.get("request_id") in request_ids
                ]
            )
        return found
