"""``flask sessions prune``: delete login sessions that can never be used again.

An ended session is kept for a while (who was signed out, when, why: ``revoked_reason``) and
then deleted; run this daily, e.g. from cron or a Kubernetes CronJob. Live sessions are never
touched, so it is safe to run at any time, on any number of hosts.
"""

from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import AppGroup

from app.auth.sessions import prune_sessions

sessions_group = AppGroup("sessions", help="Login sessions (the rows behind refresh tokens).")


@sessions_group.command("prune")
@click.option(
    "--older-than-days",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    help="Delete sessions that expired or were revoked more than this many days ago.",
)
def prune_command(older_than_days: int) -> None:
    """Delete expired and revoked sessions older than N days."""
    deleted = prune_sessions(timedelta(days=older_than_days))
    click.echo(f"deleted {deleted} session(s) expired or revoked over {older_than_days} day(s) ago")
