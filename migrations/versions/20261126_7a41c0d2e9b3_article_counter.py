"""article counter: counters table kept exact by triggers on articles

Revision ID: 7a41c0d2e9b3
Revises: 68ce68ca3062
Create Date: 2026-11-26 04:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "7a41c0d2e9b3"
down_revision = "68ce68ca3062"
branch_labels = None
depends_on = None

PG_FUNCTION = """
CREATE FUNCTION count_articles() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE counters SET value = value + (SELECT count(*) FROM changed) WHERE name = 'articles';
    ELSE
        UPDATE counters SET value = value - (SELECT count(*) FROM changed) WHERE name = 'articles';
    END IF;
    RETURN NULL;
END $$
"""


def upgrade():
    op.create_table(
        "counters",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.execute("INSERT INTO counters (name, value) SELECT 'articles', count(*) FROM articles")
    if op.get_bind().dialect.name == "postgresql":
        # Statement-level with transition tables: one UPDATE per statement, also for COPY.
        op.execute(PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER articles_counted_insert AFTER INSERT ON articles "
            "REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_articles()"
        )
        op.execute(
            "CREATE TRIGGER articles_counted_delete AFTER DELETE ON articles "
            "REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_articles()"
        )
    else:
        op.execute(
            "CREATE TRIGGER articles_counted_insert AFTER INSERT ON articles BEGIN "
            "UPDATE counters SET value = value + 1 WHERE name = 'articles'; END"
        )
        op.execute(
            "CREATE TRIGGER articles_counted_delete AFTER DELETE ON articles BEGIN "
            "UPDATE counters SET value = value - 1 WHERE name = 'articles'; END"
        )


def downgrade():
    op.execute("DROP TRIGGER IF EXISTS articles_counted_insert" + _on_articles())
    op.execute("DROP TRIGGER IF EXISTS articles_counted_delete" + _on_articles())
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS count_articles()")
    op.drop_table("counters")


def _on_articles() -> str:
    return " ON articles" if op.get_bind().dialect.name == "postgresql" else ""
