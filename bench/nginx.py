"""nginx for the benchmarks: the real ops/nginx.conf, rendered by ops/render_nginx.py (the
documented step, as tests/nginx_server.py runs it), in front of given upstreams on free loopback
ports, with a throwaway self-signed certificate; run in the foreground and stopped by its PID."""

from __future__ import annotations

import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.client import HTTPSConnection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.harness import ROOT, free_port

RENDER = ROOT / "ops" / "render_nginx.py"


@dataclass(frozen=True)
class Endpoint:
    """What harness.wrk needs of a server: its URL (here nginx's, over HTTPS)."""

    name: str
    url: str


def certificate(directory: Path) -> Path:
    """A throwaway self-signed certificate, as tests/nginx_server.py makes one."""
    directory.mkdir(parents=True)
    subprocess.run(  # noqa: S603
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-keyout", str(directory / "privkey.pem")),
            *("-out", str(directory / "fullchain.pem")),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return directory


@contextmanager
def nginx(upstreams: list[str], certs: Path, workdir: Path, name: str) -> Iterator[Endpoint]:
    """nginx (ops/nginx.conf, rendered) in front of ``upstreams``, on a free HTTPS port."""
    binary = os.environ.get("NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
    directory = workdir / name
    directory.mkdir()
    directory.chmod(0o755)  # run as root, nginx's workers are "nobody" and write under temp/
    https_port = free_port()
    rendered = subprocess.run(  # noqa: S603
        [sys.executable, str(RENDER), "--out", str(directory), "--certs-dir", str(certs)]
        + [arg for upstream in upstreams for arg in ("--upstream", upstream)]
        + ["--http-listen", f"127.0.0.1:{free_port()}"]
        + ["--https-listen", f"127.0.0.1:{https_port}"],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    command = [binary, "-p", f"{directory}/", "-e", str(directory / "logs" / "error.log")]
    command += ["-c", rendered.stdout.strip(), "-g", "daemon off;"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
    endpoint = Endpoint(name, f"https://127.0.0.1:{https_port}")
    try:
        give_up = time.monotonic() + 10
        while True:
            try:
                if http_status(endpoint.url + "/ping") == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > give_up:
                raise SystemExit(f"nginx {name} did not start: {process.stderr.read()!r}")  # type: ignore[union-attr]
            time.sleep(0.1)
        yield endpoint
    finally:
        process.send_signal(signal.SIGQUIT)  # graceful: the PID we started, nothing else
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def http_status(url: str, body: dict[str, Any] | None = None, source: str = "127.0.0.1") -> int:
    """The status of one request from the loopback address ``source`` (the client address
    nginx forwards, so the rate-limit budget is that address's own); the certificate is our
    throwaway one and is not checked."""
    parts = urlsplit(url)
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    connection = HTTPSConnection(
        parts.hostname or "127.0.0.1",
        parts.port,
        timeout=10,
        context=context,
        source_address=(source, 0),
    )
    try:
        data = None if body is None else json.dumps(body)
        connection.request(
            "POST" if data else "GET",
            parts.path,
            body=data,
            headers={"Content-Type": "application/json"},
        )
        return connection.getresponse().status
    finally:
        connection.close()
