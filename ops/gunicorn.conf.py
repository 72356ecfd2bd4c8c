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

Keep DB_POOL_SIZE + DB_MAX_OVERFLOW (config.py, 10 + 5) >= GUNICORN_THREADS: every thread of a
worker may hold one database connection at a time.
"""

from __future__ import annotations

import os


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


# --- Socket ---------------------------------------------------------------------------------
bind = [os.environ.get("BIND", "").strip() or "127.0.0.1:5000"]

# --- Workers --------------------------------------------------------------------------------
# gthread: a few processes with a few threads each. Requests that wait on PostgreSQL or Redis
# overlap inside one process, and on SIGTERM every in-flight request finishes (with plain sync
# workers, requests queued behind a busy worker were reset; LIBRARY_NOTES §11).
worker_class = "gthread"
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
# connections, no post_fork dispose() hook to forget, and a plain HUP reloads new code.
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
