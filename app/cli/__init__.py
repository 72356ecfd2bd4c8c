"""``flask`` CLI commands beyond Flask-Migrate's ``db`` group."""

from __future__ import annotations

import click
from flask import Flask, current_app
from sqlalchemy.engine import make_url

from app.cli.backup import backup_group
from app.cli.counters import counters_group
from app.cli.seed import seed_command
from app.cli.sessions import sessions_group


@click.command("config-check")
def config_check() -> None:
    """Print the effective configuration without secrets (exit 1 if invalid)."""
    config = current_app.config
    url = make_url(config["SQLALCHEMY_DATABASE_URI"])
    click.echo(f"environment: {config['APP_ENV']}")
    click.echo(f"database: {url.get_backend_name()} ({url.database})")
    click.echo(f"redis: {'configured' if config['REDIS_URL'] else 'not configured'}")
    click.echo(f"log: {config['LOG_FORMAT']} at {config['LOG_LEVEL']}")
    click.echo(f"rate limits: {'on' if config['RATELIMIT_ENABLED'] else 'off'}")
    click.echo(f"trusted proxy hops: {config['TRUSTED_PROXY_HOPS']}")
    click.echo(f"cors origins: {', '.join(config['CORS_ORIGINS']) or 'none'}")


def register_commands(app: Flask) -> None:
    app.cli.add_command(config_check)
    app.cli.add_command(backup_group)
    app.cli.add_command(counters_group)
    app.cli.add_command(seed_command)
    app.cli.add_command(sessions_group)
