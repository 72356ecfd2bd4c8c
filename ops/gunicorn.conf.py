"""gunicorn settings for the Conduit API (gunicorn 27.x).

Run from the repository root:  gunicorn -c ops/gunicorn.conf.py wsgi:app
Check without serving:         gunicorn -c ops/gunicorn.conf.py --check-config wsgi:app

Everything an operator tunes comes from the environment (12-factor), like config.py:

    BIND                 address to listen on            default 127.0.0.1:5000 (image 0.0.0.0:8000)
    WEB_CONCURRENCY      worker processes                default 2
    GUNICORN_THREADS     threads per worker (gthread)    default 4
    FORWARDED_ALLOW_IPS  peers trusted for X-Forwarded-Proto (IPs or CIDRs, comma separated)
                                                         default 127.0.0.1,::1
    GUNICORN_LOGLEVEL    gunicorn's own log level        default info
    GUNICORN_MAX_REQUESTS  recycle a worker after this many requests (0: never)   default 0
    GUNICORN_REUSE_PORT  1: a listening socket per worker (SO_REUSEPORT), 0: one shared   default 1
    PROMETHEUS_MULTIPROC_DIR  where workers keep their metrics for /metrics (emptied at start)
                                                         default a private temporary directory

Keep DB_POOL_SIZE + DB_MAX_OVERFLOW (config.py, 10 + 5) >= GUNICORN_THREADS: every thread of a
worker may hold one database connection at a time.
"""

from __future__ import annotations

import atexit
import errno
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

from gunicorn.workers.gthread import ThreadWorker


def _env_int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"gunicorn config: {name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SystemExit(f"gunicorn config: {name} must be >= {minimum}, got {value}")
    return value


# --- Metrics --------------------------------------------------------------------------------
# prometheus_client's multiprocess mode (app/observability/metrics.py): every worker keeps its
# values in files in this directory and a scrape of /metrics adds up the files of all workers.
# It must be in the environment before any process imports prometheus_client, which picks its
# value class at import; the master reads this file before it forks, and nothing here imports
# prometheus_client. Unset, it is a private directory (mkdtemp: 0700) of this master, which
# removes it when it exits, however it exits (atexit: also after a configuration error or
# --check-config); an operator's own directory is emptied at start, never removed.
_METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"
_METRICS_DIR_OWNER = "CONDUIT_METRICS_DIR_OWNER"  # the pid of the master that made it


def _make_private_metrics_dir() -> None:
    os.environ[_METRICS_DIR] = tempfile.mkdtemp(prefix="conduit-metrics-")
    os.environ[_METRICS_DIR_OWNER] = str(os.getpid())


def _remove_private_metrics_dir() -> None:
    # Workers run this too when they exit; only the master that made the directory removes it.
    if os.environ.get(_METRICS_DIR_OWNER) == str(os.getpid()):
        shutil.rmtree(os.environ[_METRICS_DIR], ignore_errors=True)


if not os.environ.get(_METRICS_DIR, "").strip():
    _make_private_metrics_dir()
atexit.register(_remove_private_metrics_dir)

# --- Socket ---------------------------------------------------------------------------------
bind = [os.environ.get("BIND", "").strip() or "127.0.0.1:5000"]

# --- Workers --------------------------------------------------------------------------------
# gthread: a few processes with a few threads each. Requests that wait on PostgreSQL or Redis
# overlap inside one process, and on SIGTERM every in-flight request finishes (with plain sync
# workers, requests queued behind a busy worker were reset; LIBRARY_NOTES §11).


class ListenerClosingThreadWorker(ThreadWorker):
    """gthread, whose listening sockets close as soon as a graceful stop (SIGTERM, HUP, a
    recycle) begins. gthread itself only stops accepting then, and closes them when it exits,
    up to ~2 s later (kept-alive connections linger that long): meanwhile the kernel still
    queues new connections on a socket nobody accepts from, and resets them all at the close.
    nginx has written a request on each: it retries a GET elsewhere but not a POST, whose
    client got a 503 (1-2 per instance restarted under load, tests/test_nginx.py). Closed at
    once, the port refuses new connections, and nginx passes those requests, POSTs too
    (nothing was sent), to another instance."""

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled)
        if not enabled and not self.alive:  # stopping, not just at its connection limit
            for listener in self.sockets:
                listener.close()  # gunicorn's own close: once only, the exit's is a no-op


worker_class = ListenerClosingThreadWorker
workers = _env_int("WEB_CONCURRENCY", 2)
threads = _env_int("GUNICORN_THREADS", 4)

# Each worker listens on its own SO_REUSEPORT socket and the kernel spreads new connections
# evenly over them. With one shared socket, whichever worker woke first accepted most of a burst
# of connections, and keep-alive connections (nginx's, wrk's) stay where they landed: one
# worker often served everything while the other idled — measured with 2 workers and 16
# connections, a list page at 450 or 850 req/s by chance; with this, 840-875 every time.
# Caveat: connections still waiting in a stopping worker's own queue are reset (a HUP or a
# scale-down) unless the kernel migrates them: sysctl net.ipv4.tcp_migrate_req=1 (Linux 5.14+).
# GUNICORN_REUSE_PORT=0 goes back to one shared socket.
reuse_port = _env_int("GUNICORN_REUSE_PORT", 1, minimum=0) == 1

# No preload_app. With preload the app (and so the SQLAlchemy engine and the limiter's Redis
# connection pool) is built once in the master and then forked: workers would share the
# master's sockets, and two workers were seen on the same PostgreSQL backend (LIBRARY_NOTES §8).
# Each worker builds its own app instead; the cost is a slower start, the gain is no shared
# connections, no post_fork dispose() hook to forget, and a plain HUP reloads new code (not a
# changed environment: the workers inherit the master's).
preload_app = False

# Worker heartbeat kill, and how long workers get to finish in-flight requests on SIGTERM/HUP.
timeout = 30
graceful_timeout = 30
# nginx keeps upstream connections alive (keepalive in the upstream block); only gthread
# honours this (sync workers ignore it).
keepalive = 5

# Workers are not recycled unless GUNICORN_MAX_REQUESTS asks for it (a guard against a slow
# leak; none is known). A recycle is not free: the new worker's start costs 1-2 s of CPU
# (imports, app, the password hasher's warm-up), and while it starts, the keep-alive
# connections of the old one (nginx keeps up to 16 per nginx worker) reconnect to the workers
# still running and stay there, so one worker then carries the load of two until the next
# recycle. Measured with 2 workers and 16 keep-alive connections: /api/tags fell from 1,800 to
# 960 req/s with every connection on one worker. If you set it, set it high (e.g. 50000); the
# jitter (a tenth) staggers the restarts.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 0, minimum=0)
max_requests_jitter = max_requests // 10

# The heartbeat file is fchmod-ed constantly; on a disk-backed /tmp (overlayfs in containers)
# that can stall workers. /dev/shm is tmpfs. gunicorn creates the file with mkstemp and unlinks
# it at once, so a shared directory is safe here.
_SHM = "/dev/shm"  # noqa: S108
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None

# --- Proxy ----------------------------------------------------------------------------------
# Which peers may set the scheme through X-Forwarded-Proto (wsgi.url_scheme). With nginx in a
# separate container set FORWARDED_ALLOW_IPS to its address or network. gunicorn never
# rewrites REMOTE_ADDR from X-Forwarded-For: that is ProxyFix's job inside the app.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "").strip() or "127.0.0.1,::1"

# --- Logging --------------------------------------------------------------------------------
# No access log: the app already logs one line per request (method, path, status, duration,
# request id) in its own JSON/text format. gunicorn's own messages go to stderr.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info").strip().lower() or "info"

# --- Control socket -------------------------------------------------------------------------
# gunicorn >= 25.1 opens a control socket by default under $XDG_RUNTIME_DIR or ~/.gunicorn/,
# which fails or litters on read-only, rootless images. Nothing here uses gunicornc.
control_socket_disable = True

proc_name = "conduit"


# --- Hooks ----------------------------------------------------------------------------------
def on_starting(server):  # type: ignore[no-untyped-def]
    """Refuse to start on an unsafe configuration, in the master, before any worker forks.

    wsgi.py already exits a worker with status 4 (gunicorn's "App failed to load", which halts
    the master instead of respawning workers). Checking the settings here as well (config.py
    only: no app, no connections, so this is not preloading) fails before any worker forks,
    with one log line, so a supervisor or container runtime sees the failure at once.
    """
    from config import ConfigError, get_config

    try:
        get_config()
    except ConfigError as error:
        server.log.error("configuration error: %s", error)
        raise SystemExit(4) from None
    finally:
        # Workers are forked from this master: left imported, config.py would reach them as it
        # was at the master's start, so a HUP after a deploy would run new code on old settings.
        sys.modules.pop("config", None)
    _refuse_a_taken_address(server)
    _prepare_metrics_dir(server)


def _refuse_a_taken_address(server):  # type: ignore[no-untyped-def]
    """Exit with one line if another process already listens on a bind address.

    With reuse_port the master binds nothing and each worker binds its own SO_REUSEPORT
    socket, so without this a second instance on a port held by another SO_REUSEPORT listener
    (another gunicorn of the same user) starts silently and takes half its connections, and
    one on a port held by an ordinary socket respawns workers forever ("Address already in
    use"). A probe bound without SO_REUSEPORT fails on any listener; SO_REUSEADDR lets it pass
    over connections left in TIME_WAIT. Runs once per master: a HUP does not call on_starting
    again, and a USR2 re-exec (``master_pid`` set) must share the old generation's port.
    """
    if server.master_pid:
        return
    for address in server.cfg.address:
        if not isinstance(address, tuple):
            continue  # a unix socket path: gunicorn itself refuses one in use
        host, port = address[0], address[1]
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise
                server.log.error("cannot listen on %s: another process uses it", _url(address))
                raise SystemExit(3) from None


def when_ready(server):  # type: ignore[no-untyped-def]
    """Say where it listens: with reuse_port the master binds nothing, so gunicorn's own line
    reads "Listening at:  (<pid>)"; the workers bind these addresses as they start."""
    shown = [_url(address) for address in server.cfg.address]
    cfg = server.cfg
    server.log.info(
        "serving on %s (%d workers x %d threads)", ", ".join(shown), cfg.workers, cfg.threads
    )


def _url(address):  # type: ignore[no-untyped-def]
    if not isinstance(address, tuple):
        return f"unix:{address}"
    host, port = address[0], address[1]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _prepare_metrics_dir(server):  # type: ignore[no-untyped-def]
    """Start the metrics from zero: a previous run's files would be added to this run's."""
    owner = os.environ.get(_METRICS_DIR_OWNER)
    if owner and owner != str(os.getpid()):
        # A USR2 re-exec inherited the old master's private directory, which the old master
        # removes when it exits: this generation of workers gets its own.
        _make_private_metrics_dir()
    elif server.master_pid:
        return  # USR2 re-exec sharing an operator's directory: the old workers still write there
    directory = Path(os.environ[_METRICS_DIR])
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    """A worker is gone: drop its live gauges (in-flight requests, pool connections, the
    rate-limit fallback); its counters stay in the totals, as they should."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
