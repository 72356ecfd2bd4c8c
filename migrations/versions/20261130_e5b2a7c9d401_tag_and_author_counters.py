"""tag and author counters; article_tags carries its article's created_at

Per-tag and per-author article counts in ``counters`` (rows ``tag:<id>``, ``author:<id>``),
kept exact by triggers like the ``articles`` row, so a tag's or an author's ``articlesCount``
is one row read instead of a count of 60,000 index entries at a million articles. A row is
made (at zero) with its tag or user and removed with it; the counting triggers only update
rows, so a row deleted by hand stays missing (the API counts around it) until
``flask counters repair``.

``article_tags.created_at`` (a copy of the article's, which never changes) with the index
``(tag_id, created_at, article_id)``: a tag's page is one range of that index, newest first,
instead of a walk down all the articles probing each for the tag (1.7 s for the first page of
a tag only one old article of a million carries). It replaces the index on ``tag_id`` alone.

Revision ID: e5b2a7c9d401
Revises: c3d9a1f4e2b7
Create Date: 2026-11-30 21:00:00

"""

# ruff: noqa: S608 - the SQL is built from the constants below only, never from input

import sqlalchemy as sa
from alembic import op

revision = "e5b2a7c9d401"
down_revision = "c3d9a1f4e2b7"
branch_labels = None
depends_on = None

# (table, the counted key's column, the counter name's prefix, the table whose rows own them)
COUNTED = (
    ("articles", "author_id", "author:", "users"),
    ("article_tags", "tag_id", "tag:", "tags"),
)

# Statement-level with transition tables: one grouped statement per statement, also for COPY.
PG_FUNCTIONS = """
CREATE FUNCTION count_{table}_by_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE counters SET value = counters.value + changes.delta
    FROM (
        SELECT '{prefix}' || {key} AS name,
               CASE TG_OP WHEN 'INSERT' THEN count(*) ELSE -count(*) END AS delta
        FROM changed GROUP BY {key}
    ) AS changes
    WHERE counters.name = changes.name;
    RETURN NULL;
END $$;
CREATE FUNCTION make_{owner}_counters() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN  -- new: nothing counted yet (a stale row of a reused id too)
        INSERT INTO counters (name, value) SELECT '{prefix}' || id, 0 FROM changed ORDER BY 1
        ON CONFLICT (name) DO UPDATE SET value = 0;
    ELSE
        DELETE FROM counters WHERE name IN (SELECT '{prefix}' || id FROM changed);
    END IF;
    RETURN NULL;
END $$
"""


def _pg_triggers(table: str, key: str, prefix: str, owner: str) -> None:
    op.execute(PG_FUNCTIONS.format(table=table, key=key, prefix=prefix, owner=owner))
    for on, name, function in (
        (table, f"{table}_counted_by_key", f"count_{table}_by_key"),
        (owner, f"{owner}_counters", f"make_{owner}_counters"),
    ):
        for event, transition in (("INSERT", "NEW"), ("DELETE", "OLD")):
            op.execute(
                f"CREATE TRIGGER {name}_{event.lower()} AFTER {event} ON {on} REFERENCING"
                f" {transition} TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            )


def _sqlite_triggers(table: str, key: str, prefix: str, owner: str) -> None:
    for name, event, body in (
        (f"{table}_counted_by_key_insert", f"INSERT ON {table}",
         f"UPDATE counters SET value = value + 1 WHERE name = '{prefix}' || NEW.{key}"),
        (f"{table}_counted_by_key_delete", f"DELETE ON {table}",
         f"UPDATE counters SET value = value - 1 WHERE name = '{prefix}' || OLD.{key}"),
        (f"{owner}_counters_insert", f"INSERT ON {owner}",
         f"INSERT OR REPLACE INTO counters (name, value) VALUES ('{prefix}' || NEW.id, 0)"),
        (f"{owner}_counters_delete", f"DELETE ON {owner}",
         f"DELETE FROM counters WHERE name = '{prefix}' || OLD.id"),
    ):  # fmt: skip
        op.execute(f"CREATE TRIGGER {name} AFTER {event} BEGIN {body}; END")


def upgrade():
    with op.batch_alter_table("article_tags") as batch:  # SQLite: the table is rebuilt
        batch.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE article_tags SET created_at ="
        " (SELECT created_at FROM articles WHERE articles.id = article_tags.article_id)"
    )
    with op.batch_alter_table("article_tags") as batch:
        batch.alter_column("created_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch.create_index(
            "ix_article_tags_tag_id_created_at_article_id",
            ["tag_id", "created_at", "article_id"],
        )
        batch.drop_index("ix_article_tags_tag_id")
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, key, prefix, owner in COUNTED:
        # Every tag and user gets its row, with what it counts today (zero if nothing).
        op.execute(
            f"INSERT INTO counters (name, value) SELECT '{prefix}' || {owner}.id,"
            f" (SELECT count(*) FROM {table} WHERE {table}.{key} = {owner}.id) FROM {owner}"
        )
        (_pg_triggers if postgres else _sqlite_triggers)(table, key, prefix, owner)


def downgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, _key, prefix, owner in COUNTED:
        for name, on in (
            (f"{table}_counted_by_key_insert", table),
            (f"{table}_counted_by_key_delete", table),
            (f"{owner}_counters_insert", owner),
            (f"{owner}_counters_delete", owner),
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {on}" if postgres else ""))
        if postgres:
            op.execute(f"DROP FUNCTION IF EXISTS count_{table}_by_key()")
            op.execute(f"DROP FUNCTION IF EXISTS make_{owner}_counters()")
        op.execute(f"DELETE FROM counters WHERE name LIKE '{prefix}%'")
    with op.batch_alter_table("article_tags") as batch:
        batch.create_index("ix_article_tags_tag_id", ["tag_id"])
        batch.drop_index("ix_article_tags_tag_id_created_at_article_id")
        batch.drop_column("created_at")
