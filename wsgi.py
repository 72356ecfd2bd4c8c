"""WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi ...``.

An unsafe configuration stops the process with one line naming the setting, not a traceback,
and exit code 4, which gunicorn treats as "cannot load the app" and does not retry.
"""

import sys

from app import create_app
from config import ConfigError

try:
    app = create_app()
except ConfigError as error:
    print(f"configuration error: {error}", file=sys.stderr)
    sys.exit(4)  # gunicorn halts on 4 (application load error) instead of respawning workers
