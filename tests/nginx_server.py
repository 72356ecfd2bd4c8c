"""A real nginx (the distribution's binary) serving ops/nginx.conf in front of the upstreams a
test names: the config is rendered by ops/render_nginx.py (the documented step, the same one
ops/check_nginx.sh uses) onto free loopback ports, with a throwaway self-signed certificate.
nginx runs in the foreground as a child process and is stopped by its PID."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import service_unavailable
from tests.pg_cluster import free_port

ROOT = Path(__file__).resolve().parent.parent
RENDER = ROOT / "ops" / "render_nginx.py"
START_TIMEOUT = 10
INSTALL_HINT = "apt-get install -y nginx openssl"


def nginx_binary() -> str:
    """nginx from ``NGINX``, PATH or /usr/sbin (often not on a non-root PATH); a missing one
    fails the test in CI and skips it elsewhere. openssl is needed too, for the certificate."""
    found = os.environ.get("NGINX") or shutil.which("nginx")
    if not found and os.access("/usr/sbin/nginx", os.X_OK):
        found = "/usr/sbin/nginx"
    if not found:
        service_unavailable(f"nginx is not installed ({INSTALL_HINT})")
    if shutil.which("openssl") is None:
        service_unavailable(f"openssl is not installed ({INSTALL_HINT})")
    return str(found)


def self_signed_certificate(certs_dir: Path) -> Path:
    """fullchain.pem and privkey.pem for CN=localhost, valid for a day, in ``certs_dir``."""
    certs_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-keyout", str(certs_dir / "privkey.pem")),
            *("-out", str(certs_dir / "fullchain.pem")),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return certs_dir


@dataclass(frozen=True)
class Nginx:
    """A running nginx: its ports on 127.0.0.1, its directory and its master's PID."""

    http_port: int
    https_port: int
    directory: Path
    pid: int

    @property
    def access_log(self) -> Path:
        return self.directory / "logs" / "access.log"

    @property
    def error_log(self) -> Path:
        return self.directory / "logs" / "error.log"


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def render(directory: Path, upstreams: list[str], certs_dir: Path, ports: tuple[int, int]) -> Path:
    """ops/render_nginx.py as an operator runs it; the main config's path."""
    http_port, https_port = ports
    result = subprocess.run(
        [sys.executable, str(RENDER), "--out", str(directory), "--certs-dir", str(certs_dir)]
        + [arg for upstream in upstreams for arg in ("--upstream", upstream)]
        + ["--http-listen", f"127.0.0.1:{http_port}", "--https-listen", f"127.0.0.1:{https_port}"]
        # One worker: one round-robin state, so consecutive requests alternate the upstreams.
        + ["--worker-processes", "1"],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return Path(result.stdout.strip())


@contextlib.contextmanager
def nginx(binary: str, upstreams: list[str], certs_dir: Path) -> Iterator[Nginx]:
    """nginx with ops/nginx.conf in front of ``upstreams`` until the block ends."""
    # Not under pytest's 0700 tmp_path: when the master runs as root its workers run as
    # "nobody" and write request bodies under temp/.
    directory = Path(tempfile.mkdtemp(prefix="conduit-nginx-"))
    directory.chmod(0o755)
    ports = (free_port(), free_port())
    main_conf = render(directory, upstreams, certs_dir, ports)
    error_log = directory / "logs" / "error.log"
    command = [binary, "-p", f"{directory}/", "-e", str(error_log), "-c", str(main_conf)]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(
        [*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not all(_listening(port) for port in ports):
            assert process.poll() is None, f"nginx exited: {process.stderr.read().decode()}"  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "nginx did not listen within 10 s"
            time.sleep(0.05)
        yield Nginx(ports[0], ports[1], directory, process.pid)
    finally:
        process.send_signal(signal.SIGQUIT)  # graceful: finish open requests, then exit
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)
