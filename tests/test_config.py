"""Configuration: chosen by APP_ENV, filled from the environment, unsafe production refused.

``get_config`` gets explicit environments, so nothing here depends on the shell running pytest.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import QueuePool

import config as settings
from app.extensions import db
from config import (
    DEV_JWT_SECRET_KEY,
    DEV_SECRET_KEY,
    ConfigError,
    DevelopmentConfig,
    ProductionConfig,
    get_config,
    normalise_database_url,
)

ROOT = Path(__file__).resolve().parent.parent
PG = "postgresql://conduit@db.internal:5432/conduit"
LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def closed_port() -> int:
    """A local TCP port with nothing listening on it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def good_secrets() -> dict[str, str]:
    return {"SECRET_KEY": secrets.token_urlsafe(32), "JWT_SECRET_KEY": secrets.token_urlsafe(32)}


PRODUCTION_DATABASE = "postgresql://conduit@db.internal:5432/conduit"


def production(**env: str) -> dict[str, str]:
    """A complete production environment: random secrets and a database named."""
    return {**good_secrets(), "DATABASE_URL": PRODUCTION_DATABASE, **env}


# Choosing the environment ------------------------------------------------------------------------


def test_development_is_the_default_environment():
    assert type(get_config(environ={})) is DevelopmentConfig


def test_app_env_testing_selects_the_testing_config():
    assert type(get_config(environ={"APP_ENV": "testing"})) is settings.TestingConfig


def test_app_env_production_selects_the_production_config():
    assert type(get_config(environ=production(APP_ENV="production"))) is ProductionConfig


def test_explicit_name_wins_over_app_env():
    assert type(get_config("testing", environ={"APP_ENV": "production"})) is settings.TestingConfig


def test_unknown_app_env_is_a_config_error_naming_app_env():
    with pytest.raises(ConfigError, match="APP_ENV") as error:
        get_config(environ={"APP_ENV": "staging"})
    assert "staging" in str(error.value)


# Every setting comes from the environment --------------------------------------------------------


def _options(config) -> dict:
    return config.SQLALCHEMY_ENGINE_OPTIONS


@pytest.mark.parametrize(
    ("name", "raw", "read", "expected"),
    [
        ("DATABASE_URL", PG, lambda c: c.SQLALCHEMY_DATABASE_URI, normalise_database_url(PG)),
        ("REDIS_URL", "redis://cache:6379/2", lambda c: c.REDIS_URL, "redis://cache:6379/2"),
        ("SECRET_KEY", "k" * 40, lambda c: c.SECRET_KEY, "k" * 40),
        ("JWT_SECRET_KEY", "j" * 40, lambda c: c.JWT_SECRET_KEY, "j" * 40),
        (
            "JWT_ACCESS_TOKEN_EXPIRES",
            "900",
            lambda c: c.JWT_ACCESS_TOKEN_EXPIRES,
            timedelta(seconds=900),
        ),
        ("LOG_LEVEL", "warning", lambda c: c.LOG_LEVEL, "WARNING"),
        ("LOG_FORMAT", "JSON", lambda c: c.LOG_FORMAT, "json"),
        ("MAX_CONTENT_LENGTH", "4096", lambda c: c.MAX_CONTENT_LENGTH, 4096),
        ("DB_POOL_SIZE", "17", lambda c: _options(c)["pool_size"], 17),
        ("DB_MAX_OVERFLOW", "3", lambda c: _options(c)["max_overflow"], 3),
        ("DB_POOL_TIMEOUT", "7", lambda c: _options(c)["pool_timeout"], 7),
        ("DB_POOL_RECYCLE", "600", lambda c: _options(c)["pool_recycle"], 600),
        ("DB_CONNECT_TIMEOUT", "4", lambda c: _options(c)["connect_args"]["connect_timeout"], 4),
        (
            "DB_STATEMENT_TIMEOUT_MS",
            "1500",
            lambda c: _options(c)["connect_args"]["options"],
            "-c statement_timeout=1500",
        ),
        (
            "CORS_ORIGINS",
            "https://a.example, https://b.example",
            lambda c: c.CORS_ORIGINS,
            ["https://a.example", "https://b.example"],
        ),
    ],
)
def test_setting_is_read_from_the_environment(name, raw, read, expected):
    environ = {"DATABASE_URL": PG, name: raw}
    assert read(get_config("development", environ=environ)) == expected


@pytest.mark.parametrize(
    "name", ["JWT_ACCESS_TOKEN_EXPIRES", "MAX_CONTENT_LENGTH", "DB_POOL_SIZE", "DB_POOL_TIMEOUT"]
)
def test_non_integer_setting_is_a_config_error_naming_it(name):
    with pytest.raises(ConfigError, match=name):
        get_config("development", environ={"DATABASE_URL": PG, name: "ten"})


def test_unknown_log_format_is_a_config_error():
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        get_config("development", environ={"LOG_FORMAT": "xml"})


def test_unknown_log_level_is_a_config_error():
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        get_config("development", environ={"LOG_LEVEL": "verbose"})


@pytest.mark.parametrize("name", ["HEALTH_CHECK_TIMEOUT", "REDIS_SOCKET_TIMEOUT"])
@pytest.mark.parametrize("raw", ["soon", "0", "-1"])
def test_timeout_that_is_not_a_positive_number_is_a_config_error(name, raw):
    with pytest.raises(ConfigError, match=name):
        get_config("development", environ={name: raw})


@pytest.mark.parametrize("name", ["HEALTH_CHECK_TIMEOUT", "REDIS_SOCKET_TIMEOUT"])
def test_fractional_timeouts_are_read_from_the_environment(name):
    assert getattr(get_config("development", environ={name: "0.25"}), name) == 0.25


def test_production_logs_json_and_development_logs_text_by_default():
    assert get_config(environ=production(APP_ENV="production")).LOG_FORMAT == "json"
    assert get_config(environ={}).LOG_FORMAT == "text"


# Database URLs and engine options ----------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["postgres://u:p@h:5432/d", "postgresql://u:p@h:5432/d", "postgresql+psycopg://u:p@h/d"]
)
def test_postgres_urls_are_normalised_to_psycopg3(url):
    uri = get_config("development", environ={"DATABASE_URL": url}).SQLALCHEMY_DATABASE_URI
    assert uri.startswith("postgresql+psycopg://u:p@h")


def test_sqlite_urls_are_left_alone():
    assert normalise_database_url("sqlite:///conduit.db") == "sqlite:///conduit.db"


def test_postgres_engine_options_bound_every_wait():
    options = get_config("development", environ={"DATABASE_URL": PG}).SQLALCHEMY_ENGINE_OPTIONS
    assert options["pool_pre_ping"] is False  # replaced by a socket poll (app/database.py)
    assert options["pool_recycle"] > 0
    assert options["pool_size"] > 0
    assert options["max_overflow"] >= 0
    assert 0 < options["pool_timeout"] <= 30
    assert 0 < options["connect_args"]["connect_timeout"] <= 10
    assert options["connect_args"]["options"].startswith("-c statement_timeout=")
    assert int(options["connect_args"]["options"].rsplit("=", 1)[1]) > 0


def test_app_engine_on_postgres_is_a_queue_pool_of_the_configured_size(make_app):
    pooled = make_app(
        TEST_DATABASE_URL=LOCAL_PG,
        DB_POOL_SIZE="7",
        DB_MAX_OVERFLOW="2",
        DB_POOL_TIMEOUT="4",
        DB_POOL_RECYCLE="900",
    )
    with pooled.app_context():
        engine = db.engine
        assert engine.dialect.name == "postgresql"
        assert engine.dialect.driver == "psycopg"
        assert isinstance(engine.pool, QueuePool)
        assert engine.pool.size() == 7
        assert engine.pool._max_overflow == 2
        assert engine.pool._timeout == 4
        assert engine.pool._recycle == 900
        assert engine.pool._pre_ping is False
        engine.dispose()


def test_app_engine_passes_connect_and_statement_timeouts_to_the_driver(make_app, closed_port):
    app = make_app(
        TEST_DATABASE_URL=f"postgresql://postgres@127.0.0.1:{closed_port}/x",
        DB_CONNECT_TIMEOUT="3",
        DB_STATEMENT_TIMEOUT_MS="2500",
    )
    seen: dict = {}
    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "do_connect")
        def capture(dialect, conn_rec, cargs, cparams):
            seen.update(cparams)

        with pytest.raises(OperationalError):
            engine.connect()
        engine.dispose()
    assert seen["connect_timeout"] == 3
    assert seen["options"] == "-c statement_timeout=2500"


def test_postgres_sessions_run_with_the_configured_statement_timeout(make_app, postgres_server_url):
    app = make_app(TEST_DATABASE_URL=postgres_server_url, DB_STATEMENT_TIMEOUT_MS="1234")
    with app.app_context():
        assert db.session.execute(text("SHOW statement_timeout")).scalar() == "1234ms"


# Production secrets ------------------------------------------------------------------------------

BAD_SECRETS = {
    "missing": None,
    "empty": "",
    "changeme": "changeme",
    "changeme-shouting": "  CHANGEME ",
    "dev-default-secret": DEV_SECRET_KEY,
    "dev-default-jwt": DEV_JWT_SECRET_KEY,
    "31-bytes": "x" * 31,
}


@pytest.mark.parametrize("name", ["SECRET_KEY", "JWT_SECRET_KEY"])
@pytest.mark.parametrize("bad", BAD_SECRETS.values(), ids=BAD_SECRETS.keys())
def test_production_refuses_an_unsafe_secret_naming_it(name, bad):
    environ = production(APP_ENV="production")
    if bad is None:
        del environ[name]
    else:
        environ[name] = bad
    with pytest.raises(ConfigError) as error:
        get_config(environ=environ)
    message = str(error.value)
    assert message.split()[0] == name
    assert "\n" not in message
    if bad:
        assert bad.strip() not in message  # the refused value itself is not echoed


def test_production_accepts_two_random_secrets():
    environ = production(APP_ENV="production")
    config = get_config(environ=environ)
    assert environ["SECRET_KEY"] == config.SECRET_KEY
    assert environ["JWT_SECRET_KEY"] == config.JWT_SECRET_KEY


def test_production_accepts_random_secrets_of_exactly_32_bytes():
    key, jwt_key = secrets.token_hex(16), secrets.token_hex(16)
    environ = production(APP_ENV="production", SECRET_KEY=key, JWT_SECRET_KEY=jwt_key)
    config = get_config(environ=environ)
    assert (len(key), config.SECRET_KEY, config.JWT_SECRET_KEY) == (32, key, jwt_key)


@pytest.mark.parametrize("origins", ["*", "https://app.example.com,*"])
def test_production_refuses_wildcard_cors_origins(origins):
    with pytest.raises(ConfigError, match="CORS_ORIGINS"):
        get_config(environ=production(APP_ENV="production", CORS_ORIGINS=origins))


@pytest.mark.parametrize("value", [None, "", "   "])
def test_production_refuses_to_start_without_database_url(value):
    environ = production(APP_ENV="production")
    del environ["DATABASE_URL"]
    if value is not None:
        environ["DATABASE_URL"] = value

    with pytest.raises(ConfigError, match=r"^DATABASE_URL is not set"):
        get_config(environ=environ)


def test_development_still_defaults_to_sqlite_in_the_instance_folder():
    config = get_config("development", environ={})

    assert config.SQLALCHEMY_DATABASE_URI == "sqlite:///conduit.db"


def test_production_allows_no_cross_origin_callers_by_default():
    assert get_config(environ=production(APP_ENV="production")).CORS_ORIGINS == []


def test_development_uses_the_fixed_dev_secrets():
    config = get_config("development", environ={})
    assert (config.SECRET_KEY, config.JWT_SECRET_KEY) == (DEV_SECRET_KEY, DEV_JWT_SECRET_KEY)


def test_development_app_warns_that_it_uses_dev_secrets(
    make_app, database_url, monkeypatch, caplog
):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("JWT_SECRET_KEY", raising=False)
    caplog.set_level(logging.WARNING)
    dev = make_app("development", DATABASE_URL=database_url)
    assert dev.config["SECRET_KEY"] == DEV_SECRET_KEY
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("development-only secrets" in r.getMessage() for r in warnings)


# Tests never touch a developer's database ---------------------------------------------------------


def test_testing_config_ignores_database_url():
    config = get_config("testing", environ={"DATABASE_URL": PG})
    assert "db.internal" not in config.SQLALCHEMY_DATABASE_URI
    assert config.SQLALCHEMY_DATABASE_URI.startswith("sqlite")


def test_testing_config_uses_test_database_url():
    environ = {"DATABASE_URL": PG, "TEST_DATABASE_URL": "postgres://t@127.0.0.1/conduit_test"}
    uri = get_config("testing", environ=environ).SQLALCHEMY_DATABASE_URI
    assert uri == "postgresql+psycopg://t@127.0.0.1/conduit_test"


# wsgi refuses to start with one line, not a traceback -------------------------------------------


def import_wsgi(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "SYSTEMROOT"}}
    base["DATABASE_URL"] = f"sqlite:///{tmp_path}/prod.db"
    return subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env={**base, "APP_ENV": "production", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_wsgi_exits_4_with_one_line_naming_a_placeholder_secret_key(tmp_path):
    result = import_wsgi(tmp_path, SECRET_KEY="changeme", JWT_SECRET_KEY=secrets.token_hex(32))
    assert result.returncode == 4  # gunicorn: "app failed to load", no respawn
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("configuration error: SECRET_KEY ")
    assert "Traceback" not in result.stderr


def test_wsgi_exits_4_with_one_line_naming_a_short_jwt_secret_key(tmp_path):
    result = import_wsgi(tmp_path, SECRET_KEY=secrets.token_hex(32), JWT_SECRET_KEY="tooSmall9")
    assert result.returncode == 4  # gunicorn: "app failed to load", no respawn
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("configuration error: JWT_SECRET_KEY ")
    assert "tooSmall9" not in result.stderr
    assert "Traceback" not in result.stderr


def test_wsgi_exits_4_with_one_line_on_an_unknown_log_level(tmp_path):
    result = import_wsgi(
        tmp_path,
        SECRET_KEY=secrets.token_hex(32),
        JWT_SECRET_KEY=secrets.token_hex(32),
        LOG_LEVEL="verbose",
    )
    assert result.returncode == 4  # gunicorn: "app failed to load", no respawn
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("configuration error: LOG_LEVEL ")


def test_wsgi_imports_with_good_production_secrets(tmp_path):
    result = import_wsgi(
        tmp_path, SECRET_KEY=secrets.token_hex(32), JWT_SECRET_KEY=secrets.token_hex(32)
    )
    assert result.returncode == 0, result.stderr
    assert "configuration error" not in result.stderr
