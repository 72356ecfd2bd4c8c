"""Configuration classes, chosen by ``APP_ENV`` and filled from the environment (12-factor).

Every setting is read when a config object is built, from the environment mapping it is given
(``os.environ`` by default), never at import: tests build apps from
``get_config(name, environ={...})`` without touching the process's environment.
``ProductionConfig.validate()`` refuses unsafe settings with one line that names the setting.
The parsers are a few lines each; environs or pydantic-settings would not make this file
shorter while keeping every variable, default and one-line error.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any, TypeVar

from limits import parse_many

N = TypeVar("N", int, float)

# Fixed, public, development-only secrets: stable across workers and restarts, refused in
# production (they are listed as placeholders below).
DEV_SECRET_KEY = "dev-only-secret-key-not-for-production-use-0000"  # noqa: S105
DEV_JWT_SECRET_KEY = "dev-only-jwt-secret-key-not-for-production-use-0"  # noqa: S105

# Values pasted from tutorials or .env templates; production refuses them whatever their length.
PLACEHOLDER_SECRETS = frozenset(
    {
        "",
        "changeme",
        "change-me",
        "change_me",
        "changethis",
        "secret",
        "secret-key",
        "secret_key",
        "your-secret-key",
        "your_secret_key",
        "supersecret",
        "super-secret",
        "please-change-me",
        "replace-me",
        "xxx",
        "dev",
        "development",
        "test",
        "password",
        DEV_SECRET_KEY,
        DEV_JWT_SECRET_KEY,
    }
)
MIN_SECRET_BYTES = 32
# One browser origin exactly as browsers send it: no path, no trailing slash, no wildcard.
# Flask-CORS compiles an entry with regex characters ("*", "[", "$"...) into a prefix-matched
# regex, so "https://*.example.com" would also admit "https://xexample.com.evil.net".
_ORIGIN = re.compile(r"https?://[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::[0-9]{1,5})?")


# Test and benchmark settings only: argon2id at its cheapest, so that suites stay fast. The
# production parameters are tested on their own (tests/test_auth_register.py).
CHEAP_PASSWORD_HASHING = {
    "PASSWORD_HASH_TIME_COST": "1",
    "PASSWORD_HASH_MEMORY_COST": "1024",
    "PASSWORD_HASH_PARALLELISM": "1",
}


@cache
def project_version() -> str:
    """The version written once, in pyproject.toml (through the installed metadata if the
    project was installed as a package)."""
    try:
        return version("conduit-api")
    except PackageNotFoundError:
        with (Path(__file__).resolve().parent / "pyproject.toml").open("rb") as stream:
            return str(tomllib.load(stream)["project"]["version"])


class ConfigError(RuntimeError):
    """A setting is missing or unsafe; the message is one line naming the setting."""


def normalise_database_url(url: str) -> str:
    """Accept Heroku-style ``postgres://`` and plain ``postgresql://``; always use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _number(environ: Mapping[str, str], name: str, default: N, kind: type[N], what: str) -> N:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be {what}, got {raw!r}") from None


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    return _number(environ, name, default, int, "an integer")


def _float(environ: Mapping[str, str], name: str, default: float) -> float:
    return _number(environ, name, default, float, "a number of seconds")


def _fraction(environ: Mapping[str, str], name: str) -> float:
    """A sample rate from 0 to 1 (0 when unset); the range is checked by ``validate``."""
    return _number(environ, name, 0.0, float, "a number from 0 to 1")


# Rate limits per endpoint class (applied by app/security/ratelimit.py), each a `limits` string;
# ";" stacks a burst and a sustained limit on the same endpoint (checked together).
RATE_LIMIT_DEFAULTS: dict[str, str] = {
    "RATELIMIT_READ": "20/second;600/minute",  # GET/HEAD, per user (token) else per IP
    "RATELIMIT_WRITE": "5/second;60/minute",  # other methods, per user else per IP
    "RATELIMIT_LOGIN": "10/minute;60/hour",  # POST /api/users/login, per client IP
    "RATELIMIT_LOGIN_EMAIL": "5/minute;20/hour",  # the same, per submitted email (hashed)
    "RATELIMIT_REGISTER": "5/minute;20/hour",  # POST /api/users, per client IP
    "RATELIMIT_AUTH": "10/minute;100/hour",  # refresh and logout endpoints, per user else IP
}


def check_rate_limit(name: str, value: str) -> None:
    """Refuse a limit string Flask-Limiter would fail on at request time, or one that allows
    nothing (``0/minute``), with one line naming the setting."""
    try:
        items = parse_many(value)
    except ValueError:
        raise ConfigError(
            f"{name} must be a rate limit like '10/second;300/minute', got {value!r}"
        ) from None
    if any(item.amount < 1 for item in items):
        raise ConfigError(f"{name} must allow at least 1 request per window, got {value!r}")


def _networks(
    environ: Mapping[str, str], name: str, default: str
) -> tuple[IPv4Network | IPv6Network, ...]:
    """Comma-separated IP addresses and CIDR networks (an address alone is a /32 or /128)."""
    raw = (environ.get(name) or "").strip() or default
    try:
        return tuple(ip_network(item.strip()) for item in raw.split(",") if item.strip())
    except ValueError:
        raise ConfigError(f"{name} must list IP addresses or CIDR networks, got {raw!r}") from None


class Config:
    """Settings shared by every environment; subclasses change defaults, never the names."""

    ENV_NAME = "base"
    DEBUG = False
    TESTING = False
    DEFAULT_LOG_FORMAT = "text"
    DEFAULT_LOG_LEVEL = "INFO"
    DEFAULT_DATABASE_URL = "sqlite:///conduit.db"  # relative to the app's instance/ folder

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.APP_ENV = self.ENV_NAME
        self.APP_VERSION = env.get("APP_VERSION", "").strip() or project_version()

        self.SECRET_KEY = env.get("SECRET_KEY", DEV_SECRET_KEY if self.uses_dev_secrets else "")
        self.JWT_SECRET_KEY = env.get(
            "JWT_SECRET_KEY", DEV_JWT_SECRET_KEY if self.uses_dev_secrets else ""
        )
        # The key before a rotation: still verifies tokens, never signs (security/signing_keys.py).
        self.JWT_SECRET_KEY_PREVIOUS = env.get("JWT_SECRET_KEY_PREVIOUS", "")
        self.JWT_ACCESS_TOKEN_EXPIRES = timedelta(
            seconds=_int(env, "JWT_ACCESS_TOKEN_EXPIRES", 3600)
        )
        # A session (and its refresh token) ends after this long without a refresh.
        self.JWT_REFRESH_TOKEN_EXPIRES = timedelta(
            seconds=_int(env, "JWT_REFRESH_TOKEN_EXPIRES", 30 * 24 * 3600)
        )
        # RealWorld clients send "Token <jwt>"; "Bearer" is rewritten to it by the middleware.
        self.JWT_TOKEN_LOCATION = ["headers"]
        self.JWT_HEADER_TYPE = "Token"
        self.JWT_ALGORITHM = "HS256"
        self.JWT_DECODE_ALGORITHMS = ["HS256"]  # pinned: never trust the token's own "alg"
        self.JWT_ERROR_MESSAGE_KEY = "message"
        self.JWT_COOKIE_CSRF_PROTECT = False  # tokens travel in headers only: no csrf claim

        self.database_url_given = bool((env.get("DATABASE_URL") or "").strip())
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(
            env.get("DATABASE_URL") or self.DEFAULT_DATABASE_URL
        )
        self.SQLALCHEMY_ENGINE_OPTIONS = self._engine_options(env)
        self.SQLALCHEMY_TRACK_MODIFICATIONS = False
        self.DB_UNAVAILABLE_RETRY_AFTER = _int(env, "DB_UNAVAILABLE_RETRY_AFTER", 5)
        self.HEALTH_CHECK_TIMEOUT = _float(env, "HEALTH_CHECK_TIMEOUT", 2.0)

        self.REDIS_URL = env.get("REDIS_URL", "")
        self.REDIS_SOCKET_TIMEOUT = _float(env, "REDIS_SOCKET_TIMEOUT", 0.5)

        self.MAX_CONTENT_LENGTH = _int(env, "MAX_CONTENT_LENGTH", 1024 * 1024)
        self.LOG_LEVEL = (env.get("LOG_LEVEL") or self.DEFAULT_LOG_LEVEL).upper()
        self.LOG_FORMAT = (env.get("LOG_FORMAT") or self.DEFAULT_LOG_FORMAT).lower()
        # Error reports to Sentry (app/observability/sentry.py): off unless SENTRY_DSN is set.
        self.SENTRY_DSN = env.get("SENTRY_DSN", "").strip()
        self.SENTRY_TRACES_SAMPLE_RATE = _fraction(env, "SENTRY_TRACES_SAMPLE_RATE")
        self.SENTRY_PROFILES_SAMPLE_RATE = _fraction(env, "SENTRY_PROFILES_SAMPLE_RATE")
        # GET /metrics (app/observability/), answered only to clients in METRICS_ALLOW.
        self.METRICS_ENABLED = _bool(env.get("METRICS_ENABLED"), True)
        self.METRICS_ALLOW = _networks(env, "METRICS_ALLOW", "127.0.0.1/32,::1/128")

        self.PASSWORD_HASH_TIME_COST = _int(env, "PASSWORD_HASH_TIME_COST", 3)
        self.PASSWORD_HASH_MEMORY_COST = _int(env, "PASSWORD_HASH_MEMORY_COST", 65536)
        self.PASSWORD_HASH_PARALLELISM = _int(env, "PASSWORD_HASH_PARALLELISM", 4)

        self.RATELIMIT_ENABLED = _bool(env.get("RATELIMIT_ENABLED"), self.default_ratelimit)
        # Redis behind FailoverStorage (app/security/ratelimit_storage.py), else this process.
        self.RATELIMIT_STORAGE_URI = f"failover+{self.REDIS_URL}" if self.REDIS_URL else "memory://"
        self.RATELIMIT_STORAGE_OPTIONS = {
            "socket_timeout": self.REDIS_SOCKET_TIMEOUT,
            "socket_connect_timeout": self.REDIS_SOCKET_TIMEOUT,
        }
        self.RATELIMIT_STRATEGY = "sliding-window-counter"
        self.RATELIMIT_HEADERS_ENABLED = True
        # Off: the storage fails over to memory itself (failover+redis://, above).
        # Flask-Limiter's fallback would also flip on any key-function error and log tracebacks.
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = False
        self.RATELIMIT_SWALLOW_ERRORS = True  # last resort: an unexpected error fails open
        self.RATELIMIT_DEFAULT = env.get("RATELIMIT_DEFAULT", "").strip()
        self.RATELIMIT_KEY_PREFIX = env.get("RATELIMIT_KEY_PREFIX", "conduit").strip()
        for name, default in RATE_LIMIT_DEFAULTS.items():
            setattr(self, name, (env.get(name) or "").strip() or default)

        origins = env.get("CORS_ORIGINS", self.default_cors_origins)
        self.CORS_ORIGINS = [o.strip() for o in origins.split(",") if o.strip()]
        # Proxies in front of the app whose X-Forwarded-For/-Proto are believed (nginx alone: 1).
        # Each one appends an X-Forwarded-For entry; entries before the trusted ones are the
        # client's to forge, so this must match the deployment exactly (docs/SECURITY.md).
        self.TRUSTED_PROXY_HOPS = _int(env, "TRUSTED_PROXY_HOPS", self.default_proxy_hops)

        # Backups (`flask backup ...`, app/backups/): a local directory, or S3 when a bucket is set.
        self.BACKUP_DIR = env.get("BACKUP_DIR", "").strip()  # empty: <instance>/backups
        self.BACKUP_S3_BUCKET = env.get("BACKUP_S3_BUCKET", "").strip()
        self.BACKUP_S3_PREFIX = env.get("BACKUP_S3_PREFIX", "").strip()
        self.BACKUP_S3_ENDPOINT_URL = env.get("BACKUP_S3_ENDPOINT_URL", "").strip()
        self.BACKUP_KEEP_DAILY = _int(env, "BACKUP_KEEP_DAILY", 7)
        self.BACKUP_KEEP_WEEKLY = _int(env, "BACKUP_KEEP_WEEKLY", 4)
        self.BACKUP_KEEP_MONTHLY = _int(env, "BACKUP_KEEP_MONTHLY", 12)
        # Where pg_dump/pg_restore live when PATH's are not the server's major version.
        self.BACKUP_PG_BIN_DIR = env.get("BACKUP_PG_BIN_DIR", "").strip()
        # The database the restore connects to while it swaps the configured one.
        maintenance_db = env.get("BACKUP_PG_MAINTENANCE_DB", "").strip()
        self.BACKUP_PG_MAINTENANCE_DB = maintenance_db or "postgres"

        self.API_TITLE = "Conduit API"
        self.API_VERSION = "v2"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api"
        self.OPENAPI_JSON_PATH = "openapi.json"

    # Defaults that differ per environment -------------------------------------------------------
    uses_dev_secrets = True
    default_ratelimit = True
    default_cors_origins = "*"
    default_proxy_hops = 0  # served directly (flask run, tests): no proxy to believe
    # Strict-Transport-Security (sent on HTTPS requests only); never on local or test hosts,
    # whose browsers would then refuse plain HTTP to that host name for a year.
    HSTS_ENABLED = False

    def _engine_options(self, env: Mapping[str, str]) -> dict[str, Any]:
        # Never echo bound parameters (emails, hashes) into exception messages or logs.
        options: dict[str, Any] = {"hide_parameters": True}
        if self.SQLALCHEMY_DATABASE_URI.startswith("postgresql"):
            statement_timeout_ms = _int(env, "DB_STATEMENT_TIMEOUT_MS", 30000)
            options.update(
                # No pre-ping round trip: app/database.py discards connections the server
                # has closed at checkout, by a poll of their socket.
                pool_pre_ping=False,
                pool_recycle=_int(env, "DB_POOL_RECYCLE", 1800),
                pool_size=_int(env, "DB_POOL_SIZE", 10),
                max_overflow=_int(env, "DB_MAX_OVERFLOW", 5),
                pool_timeout=_int(env, "DB_POOL_TIMEOUT", 5),
                connect_args={
                    # Bounded so a dead or unreachable database gives a fast 503, never a hang.
                    "connect_timeout": _int(env, "DB_CONNECT_TIMEOUT", 2),
                    "options": f"-c statement_timeout={statement_timeout_ms}",
                    "application_name": env.get("DB_APPLICATION_NAME", "conduit"),
                },
            )
        else:
            # SQLite: writers queue on the file lock; under load 2 s was too short (20 concurrent
            # favorites got "database is locked" → 503), so wait longer before giving up.
            options["connect_args"] = {"timeout": _int(env, "DB_CONNECT_TIMEOUT", 15)}
        return options

    def validate(self) -> None:
        """Refuse settings that would be unsafe; each failure is one line naming the setting."""
        if self.LOG_FORMAT not in {"json", "text"}:
            raise ConfigError(f"LOG_FORMAT must be 'json' or 'text', got {self.LOG_FORMAT!r}")
        if self.LOG_LEVEL not in logging.getLevelNamesMapping():
            raise ConfigError(f"LOG_LEVEL must be a logging level name, got {self.LOG_LEVEL!r}")
        for name in ("HEALTH_CHECK_TIMEOUT", "REDIS_SOCKET_TIMEOUT"):
            if not getattr(self, name) > 0:  # zero would fail every check at once
                raise ConfigError(f"{name} must be a positive number of seconds")
        for name in ("SENTRY_TRACES_SAMPLE_RATE", "SENTRY_PROFILES_SAMPLE_RATE"):
            if not 0.0 <= getattr(self, name) <= 1.0:  # also refuses nan
                raise ConfigError(f"{name} must be a number from 0 to 1, got {getattr(self, name)}")
        if self.SENTRY_DSN:
            from sentry_sdk.utils import BadDsn, Dsn  # only when set: the SDK's own parser

            try:
                Dsn(self.SENTRY_DSN)  # a DSN it cannot parse would crash every worker at start
            except BadDsn as error:
                raise ConfigError(f"SENTRY_DSN is not a Sentry DSN: {error}") from None
        if self.MAX_CONTENT_LENGTH <= 0:
            raise ConfigError("MAX_CONTENT_LENGTH must be a positive number of bytes")
        if self.TRUSTED_PROXY_HOPS < 0:
            raise ConfigError("TRUSTED_PROXY_HOPS must be 0 or more (proxies in front of the app)")
        for origin in self.CORS_ORIGINS:
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise ConfigError(
                    f"CORS_ORIGINS entries must look like https://host[:port], got {origin!r}"
                )
        for name in [*RATE_LIMIT_DEFAULTS, "RATELIMIT_DEFAULT"]:
            if getattr(self, name):  # only RATELIMIT_DEFAULT may be empty (no extra limit)
                check_rate_limit(name, getattr(self, name))
        for name in ("BACKUP_KEEP_DAILY", "BACKUP_KEEP_WEEKLY", "BACKUP_KEEP_MONTHLY"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be 0 or more backups")
        if self.JWT_ACCESS_TOKEN_EXPIRES.total_seconds() <= 0:
            raise ConfigError("JWT_ACCESS_TOKEN_EXPIRES must be a positive number of seconds")
        if self.JWT_REFRESH_TOKEN_EXPIRES.total_seconds() <= 0:
            raise ConfigError("JWT_REFRESH_TOKEN_EXPIRES must be a positive number of seconds")
        # An access token outliving its session would be refused as invalid before it expires.
        if self.JWT_REFRESH_TOKEN_EXPIRES < self.JWT_ACCESS_TOKEN_EXPIRES:
            raise ConfigError("JWT_REFRESH_TOKEN_EXPIRES must be at least JWT_ACCESS_TOKEN_EXPIRES")


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEBUG = False  # the debugger stays off; `flask run --debug` turns it on deliberately


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    DEFAULT_LOG_LEVEL = "DEBUG"
    DEFAULT_DATABASE_URL = "sqlite:///conduit-test.db"
    default_ratelimit = False

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = dict(os.environ if environ is None else environ)
        # Tests never touch the developer's database: only TEST_DATABASE_URL is honoured.
        env["DATABASE_URL"] = env.get("TEST_DATABASE_URL", "")
        for name, value in CHEAP_PASSWORD_HASHING.items():
            env.setdefault(name, value)
        super().__init__(env)


class ProductionConfig(Config):
    ENV_NAME = "production"
    DEFAULT_LOG_FORMAT = "json"
    uses_dev_secrets = False
    default_cors_origins = ""
    default_proxy_hops = 1  # nginx (ops/nginx.conf)
    HSTS_ENABLED = True

    def validate(self) -> None:
        super().validate()
        if not self.database_url_given:
            raise ConfigError("DATABASE_URL is not set; production needs its database named")
        for name in ("SECRET_KEY", "JWT_SECRET_KEY", "JWT_SECRET_KEY_PREVIOUS"):
            value: str = getattr(self, name)
            if not value and name == "JWT_SECRET_KEY_PREVIOUS":
                continue  # set only during a key rotation
            if not value:
                raise ConfigError(f"{name} is not set; production needs a random secret")
            if value.strip().lower() in PLACEHOLDER_SECRETS:
                raise ConfigError(f"{name} is a known placeholder; set a random secret")
            if len(value.encode()) < MIN_SECRET_BYTES:
                raise ConfigError(f"{name} is shorter than {MIN_SECRET_BYTES} bytes")
        if self.JWT_SECRET_KEY_PREVIOUS == self.JWT_SECRET_KEY:
            raise ConfigError("JWT_SECRET_KEY_PREVIOUS equals JWT_SECRET_KEY; set the old key")
        if "*" in self.CORS_ORIGINS:
            raise ConfigError("CORS_ORIGINS may not contain '*' in production; list the origins")


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def get_config(name: str | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Build the config for ``name`` (else ``APP_ENV``, else development) and validate it."""
    env = os.environ if environ is None else environ
    chosen = (name or env.get("APP_ENV") or "development").strip().lower()
    if chosen not in CONFIGS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(CONFIGS)}, got {chosen!r}")
    config = CONFIGS[chosen](env)
    config.validate()
    return config
