"""``flask counters repair``: put the article counter right after it was damaged by hand.

Triggers keep ``counters.articles`` exact for every writer (app/models/counter.py). Only a
hand-made ``DELETE FROM counters`` or ``UPDATE`` can break it; until this runs, lists count the
articles themselves instead (slower, still correct).
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.models.counter import repair_article_counter

counters_group = AppGroup("counters", help="Totals kept by database triggers.")


@counters_group.command("repair")
def repair_command() -> None:
    """Recount the articles and store the total in the counter."""
    before, now = repair_article_counter()
    shown = "missing" if before is None else str(before)
    click.echo(f"articles counter: {now} (was {shown})")
