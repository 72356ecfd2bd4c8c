"""``flask counters repair``: put the article counters right after they were damaged by hand.

Triggers keep ``counters`` exact for every writer (app/models/counter.py): the total, and the
articles of each tag and of each author. Only a hand-made ``DELETE FROM counters`` or
``UPDATE`` can break them; lists count around a missing row (slower, still correct), not
around a wrong value, which is what this is for.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.models.counter import (
    AUTHOR_PREFIX,
    TAG_PREFIX,
    repair_article_counter,
    repair_keyed_counters,
)

counters_group = AppGroup("counters", help="Totals kept by database triggers.")


@counters_group.command("repair")
def repair_command() -> None:
    """Recount the articles, in all, per tag and per author, and store the counts."""
    before, now = repair_article_counter()
    shown = "missing" if before is None else str(before)
    click.echo(f"articles counter: {now} (was {shown})")
    corrected = repair_keyed_counters()
    click.echo(f"tag counters: {corrected[TAG_PREFIX]} corrected")
    click.echo(f"author counters: {corrected[AUTHOR_PREFIX]} corrected")
