# syntax=docker/dockerfile:1
# Conduit API image: gunicorn (ops/gunicorn.conf.py) serving wsgi:app on port 8000.
#
#   docker build -t conduit-api .
#   docker run --rm -p 8000:8000 -e SECRET_KEY=... -e JWT_SECRET_KEY=... \
#       -e DATABASE_URL=postgresql://... conduit-api
#
# Schema migrations are not run here: run `flask --app wsgi db upgrade` once per release as
# a one-shot container (docker-compose.yml's "migrate" service), never in every replica.

# Minor version and Debian release pinned by tag; pin a digest (python:...@sha256:...) in the
# release pipeline for byte-for-byte reproducible builds.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: resolve and download/build every wheel -----------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /build
COPY requirements.lock .
# The lock pins every package with its hashes (`make lock`), so the image gets exactly what CI
# tested. Every one ships manylinux wheels for amd64 and arm64 (psycopg-binary,
# argon2-cffi-bindings, cffi, SQLAlchemy...), so no compiler is needed. If one ever needs to be
# built from source, install build-essential here: this stage is thrown away.
RUN pip download --require-hashes --only-binary=:all: --dest /wheels -r requirements.lock

# --- runtime: the interpreter, a venv built from those wheels, the code -----------------------
FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    APP_ENV=production \
    BIND=0.0.0.0:8000

# pg_dump/pg_restore for `flask backup` (ops/backup_cron.sh), of the server's major version
# (docker-compose.yml runs postgres:15; bookworm's client is 15).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 conduit \
    && useradd --system --uid 10001 --gid conduit --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin conduit

# Install from the builder's wheels only (--no-index): nothing is fetched or compiled here, and
# the wheels are bind-mounted, so they never become a layer of this image.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    --mount=type=bind,source=requirements.lock,target=/tmp/requirements.lock \
    python -m venv /opt/venv \
    && pip install --no-index --find-links=/wheels --require-hashes -r /tmp/requirements.lock

WORKDIR /app
# Code stays owned by root and read-only for the app user; only instance/ is writable.
COPY config.py wsgi.py pyproject.toml ./
COPY app/ app/
COPY migrations/ migrations/
COPY ops/gunicorn.conf.py ops/backup_cron.sh ops/
# instance/ (SQLite, local backups) and /backups (the compose "backup" service's volume).
RUN mkdir -p /app/instance /backups && chown conduit:conduit /app/instance /backups

# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
EXPOSE 8000

# Liveness only (/ping touches no dependency). No curl in the image: the stdlib is enough. The
# port follows BIND, so overriding BIND does not break the check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('BIND', '0.0.0.0:8000').rsplit(':', 1)[1]; urllib.request.urlopen(f'http://127.0.0.1:{port}/ping', timeout=4)"]

# gunicorn is PID 1: it handles SIGTERM (graceful, up to 30 s; give `docker stop -t 35`) and
# reaps its own workers.
CMD ["gunicorn", "-c", "ops/gunicorn.conf.py", "wsgi:app"]
