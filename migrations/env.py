"""Alembic environment, driven by Flask-Migrate (``flask --app wsgi db ...``).

Logging is the app's (no fileConfig here: it would disable the app's loggers). On PostgreSQL
the migration runs under an advisory lock, so replicas that all run ``db upgrade`` at start
take turns instead of racing.
"""

import logging
import warnings

from alembic import context
from flask import current_app
from sqlalchemy import text
from sqlalchemy.types import TypeDecorator

config = context.config
logger = logging.getLogger("alembic.env")
# SQLite cannot reflect the expression indexes (lower(email)...), so autogenerate skips them.
warnings.filterwarnings("ignore", message="autogenerate skipping metadata-specified expression")
MIGRATION_LOCK_ID = 7_301_946_118  # arbitrary, constant: identifies "schema migration" locks

target_db = current_app.extensions["migrate"].db


def get_engine():
    return target_db.engine


def get_metadata():
    return target_db.metadata


def run_migrations_offline() -> None:
    """Emit SQL to stdout (``flask db upgrade --sql``) instead of running it."""
    url = get_engine().url.render_as_string(hide_password=False)
    context.configure(url=url, target_metadata=get_metadata(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def render_item(type_, obj, autogen_context):
    """Write our column types (UTCDateTime...) as the plain SQLAlchemy type they store."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def run_migrations_online() -> None:
    def process_revision_directives(context, revision, directives):
        # Never write an empty migration when autogenerate finds no change.
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    conf_args.setdefault("render_item", render_item)

    with get_engine().connect() as connection:
        is_postgres = connection.dialect.name == "postgresql"
        if is_postgres:
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            connection.commit()
        try:
            context.configure(connection=connection, target_metadata=get_metadata(), **conf_args)
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if is_postgres:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID}
                )
                connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
