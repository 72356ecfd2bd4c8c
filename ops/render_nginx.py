#!/usr/bin/env python3
"""Render ops/nginx.conf for a machine other than the compose stack: a host install, CI's
``nginx -t`` (ops/check_nginx.sh) and the end-to-end test (tests/test_nginx.py).

docker-compose.yml mounts ops/nginx.conf unchanged into the official nginx image; everywhere
else this is the one documented substitution step, so every nginx that runs is built from the
same file. It changes only what must differ per machine, and fails (exit 2, naming the
directive) when the file no longer has what it replaces, rather than render a config that
would silently keep the compose values:

    upstream conduit_app { server app:8000 ...; } -> one "server" line per --upstream, each
                                                   with the parameters of the original line
    listen 80 / listen 443 ssl                  -> --http-listen / --https-listen (if given)
    /etc/nginx/certs/                           -> --certs-dir
    /var/log/nginx/                             -> <out>/logs/

It writes <out>/conduit.conf (the site) and <out>/nginx.conf, a main file like the official
image's (events{}, http{} including the site) with the pid file, error log and temp paths
under <out>, so nginx runs as any user with ``-p <out> -e <out>/logs/error.log``:

    python3 ops/render_nginx.py --out /tmp/conduit-nginx --certs-dir /etc/ssl/conduit \\
        --upstream 127.0.0.1:5000 --http-listen 127.0.0.1:8080 --https-listen 127.0.0.1:8443
    nginx -p /tmp/conduit-nginx -e /tmp/conduit-nginx/logs/error.log \\
        -c /tmp/conduit-nginx/nginx.conf

Standard library only: it runs with the system python3 as well as the venv's.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

SITE_CONF = Path(__file__).resolve().parent / "nginx.conf"
UPSTREAM_BLOCK = re.compile(r"^(upstream conduit_app \{\n)(.*?)(^\})", re.MULTILINE | re.DOTALL)
SERVER_LINE = re.compile(r"^[ \t]*server[ \t]+(\S+)([^;]*);[ \t]*\n", re.MULTILINE)
HTTP_LISTEN = re.compile(r"^([ \t]*listen[ \t]+)80([ \t;])", re.MULTILINE)
HTTPS_LISTEN = re.compile(r"^([ \t]*listen[ \t]+)443([ \t]+ssl)", re.MULTILINE)
CERTS_DIR = "/etc/nginx/certs/"
LOGS_DIR = "/var/log/nginx/"

MAIN_CONF = """\
# Rendered by ops/render_nginx.py; do not edit (edit ops/nginx.conf).
worker_processes {worker_processes};
pid {out}/nginx.pid;
error_log {out}/logs/error.log;

events {{
    worker_connections 1024;
}}

http {{
    default_type application/octet-stream;
    sendfile on;
    keepalive_timeout 65;
    access_log {out}/logs/access.log;
    client_body_temp_path {out}/temp/body;
    proxy_temp_path {out}/temp/proxy;
    fastcgi_temp_path {out}/temp/fastcgi;
    uwsgi_temp_path {out}/temp/uwsgi;
    scgi_temp_path {out}/temp/scgi;
    include {out}/conduit.conf;
}}
"""


class RenderError(Exception):
    """ops/nginx.conf no longer has a directive this script replaces."""


def _substitute(pattern: re.Pattern[str], replacement: str, text: str, what: str) -> str:
    rendered, count = pattern.subn(replacement, text)
    if count == 0:
        raise RenderError(f"no {what} found in the site config")
    return rendered


def _replace_literal(text: str, old: str, new: str) -> str:
    if old not in text:
        raise RenderError(f"no {old} path found in the site config")
    return text.replace(old, new)


def render_site(
    site: str,
    upstreams: list[str],
    certs_dir: Path,
    logs_dir: Path,
    http_listen: str | None = None,
    https_listen: str | None = None,
) -> str:
    """The site config with the machine-specific values above replaced. Each upstream is an
    address, optionally followed by more parameters (``backup``); each gets the parameters of
    the file's first ``server`` line (``max_fails=0``) before its own."""
    block = UPSTREAM_BLOCK.search(site)
    if block is None:
        raise RenderError("no 'upstream conduit_app {' block found in the site config")
    body = block.group(2)
    first = SERVER_LINE.search(body)
    if first is None or not upstreams:
        raise RenderError("the upstream block has no server line, or no --upstream was given")
    params = first.group(2)
    servers = ""
    for upstream in upstreams:
        address, _, extra = upstream.strip().partition(" ")
        servers += f"    server {address}{params}{' ' + extra if extra else ''};\n"
    body = body[: first.start()] + servers + SERVER_LINE.sub("", body[first.start() :])
    site = site[: block.start(2)] + body + site[block.end(2) :]
    if http_listen:
        site = _substitute(HTTP_LISTEN, rf"\g<1>{http_listen}\g<2>", site, "'listen 80'")
    if https_listen:
        site = _substitute(HTTPS_LISTEN, rf"\g<1>{https_listen}\g<2>", site, "'listen 443 ssl'")
    site = _replace_literal(site, CERTS_DIR, f"{certs_dir}/")
    return _replace_literal(site, LOGS_DIR, f"{logs_dir}/")


def render(
    out: Path,
    upstreams: list[str],
    certs_dir: Path,
    http_listen: str | None = None,
    https_listen: str | None = None,
    worker_processes: str = "auto",
    site_conf: Path = SITE_CONF,
) -> Path:
    """Write <out>/conduit.conf and <out>/nginx.conf (and make logs/, temp/); returns the
    main file's path, for ``nginx -c``."""
    out = out.resolve()
    for directory in (out, out / "logs", out / "temp"):
        directory.mkdir(parents=True, exist_ok=True)
    site = render_site(
        site_conf.read_text(),
        upstreams,
        certs_dir.resolve(),
        out / "logs",
        http_listen,
        https_listen,
    )
    (out / "conduit.conf").write_text(site)
    main = out / "nginx.conf"
    main.write_text(MAIN_CONF.format(out=out, worker_processes=worker_processes))
    return main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="directory to render into")
    parser.add_argument(
        "--upstream",
        action="append",
        required=True,
        help="a gunicorn address (host:port, optionally with parameters); repeat for each",
    )
    parser.add_argument(
        "--certs-dir", type=Path, required=True, help="has fullchain.pem, privkey.pem"
    )
    parser.add_argument("--http-listen", help="replaces 'listen 80', e.g. 127.0.0.1:8080")
    parser.add_argument("--https-listen", help="replaces 'listen 443', e.g. 127.0.0.1:8443")
    parser.add_argument("--worker-processes", default="auto")
    parser.add_argument("--conf", type=Path, default=SITE_CONF, help="the site config to render")
    args = parser.parse_args(argv)
    try:
        main_conf = render(
            args.out,
            args.upstream,
            args.certs_dir,
            args.http_listen,
            args.https_listen,
            args.worker_processes,
            args.conf,
        )
    except (RenderError, OSError) as error:
        print(f"render_nginx: {error}", file=sys.stderr)
        return 2
    print(main_conf)
    return 0


if __name__ == "__main__":
    sys.exit(main())
