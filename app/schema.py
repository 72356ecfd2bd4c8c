"""Where the Alembic migrations live and what they know: the head and every known revision."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config)


def migration_head() -> str | None:
    """The newest migration in ``migrations/`` (read once per process)."""
    return _script().get_current_head()


def known_revisions() -> frozenset[str]:
    """Every revision this code's migrations contain; a schema at any other one is newer."""
    return frozenset(script.revision for script in _script().walk_revisions())
