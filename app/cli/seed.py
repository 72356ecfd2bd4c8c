"""``flask seed``: fill a development database with realistic fake data, quickly.

Everything goes in inside one transaction, table by table: a binary COPY on PostgreSQL (rows
stream to the server while later ones are still being made), Core ``insert()`` in batches
elsewhere. Every seeded user shares one argon2 hash (hashing is slow on purpose), computed once;
the password is printed. Ids are assigned here, after the highest existing id, so relationships
are known without reading rows back; PostgreSQL's sequences are moved past them at the end.
Timestamps are distinct to the microsecond within each table, by construction (see
``_Faker.moment``), and articles are made in time order, so memory stays flat whatever the size
(a million articles: about 100 MB). With ``--seed`` the content is reproducible.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import Connection, Table, func, insert, select, text

from app.api.write import slugify
from app.cli.seed_words import FIRST_NAMES, LAST_NAMES, TAG_POOL, WORDS
from app.clock import utcnow
from app.extensions import db
from app.models import Article, Comment, Favorite, Follow, Tag, User, article_tags
from app.security.passwords import PASSWORD_MIN, hash_password

DEFAULT_PASSWORD = "password123"  # noqa: S105 - printed on purpose: it is development data
BATCH_SIZE = 2000  # rows per INSERT statement off PostgreSQL
# From this many articles on, PostgreSQL's foreign keys are dropped for the load and re-created
# after it (its "Populating a Database" advice): one validating join per key instead of a trigger
# per row. Below it, re-validating a large existing table could cost more than it saves.
DROP_FOREIGN_KEYS_FROM = 10_000
SEEDED_TABLES = ("users", "follows", "tags", "articles", "article_tags", "favorites", "comments")
PG_BINARY_TYPES = {int: "int4", str: "text", datetime: "timestamptz"}
DAY_US = 86_400 * 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Row = tuple[Any, ...]


def _words(text: str) -> list[str]:
    return text.split()


COLUMNS = {  # the order of the values in the rows made below
    "users": _words("id username email password_hash bio image created_at updated_at"),
    "follows": _words("follower_id followee_id created_at"),
    "articles": _words("id slug title description body author_id created_at updated_at"),
    "article_tags": _words("article_id tag_id created_at"),
    "favorites": _words("user_id article_id created_at"),
    "comments": _words("article_id author_id body created_at updated_at"),
}


def _at(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


class _Faker:
    """Words, sentences and timestamps (µs since the epoch) from one seeded ``random.Random``."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now_us = (now - EPOCH) // timedelta(microseconds=1)
        self.serial, self.spread = 0, 1
        # Bodies are drawn from a pool of sentences: as varied to the eye, many times faster.
        self.sentences = [self.sentence() for _ in range(5000)]

    def sentence(self, low: int = 6, high: int = 16) -> str:
        words = " ".join(self.rng.choices(WORDS, k=self.rng.randint(low, high)))
        return words[0].upper() + words[1:] + self.rng.choice(".....?!")

    def title(self) -> str:
        return " ".join(self.rng.choices(WORDS, k=self.rng.randint(3, 8))).title()

    def paragraphs(self, low: int, high: int) -> str:
        rng, pool = self.rng, self.sentences
        count = rng.randint(low, high)
        return "\n\n".join(" ".join(rng.choices(pool, k=rng.randint(2, 6))) for _ in range(count))

    def distinct(self, most: int) -> None:
        """Start a table of at most ``most`` rows: ``moment`` is distinct within it from now."""
        self.serial, self.spread = 0, max(1, most)

    def moment(self, low_us: int, high_us: int | None = None) -> int:
        """A time in ``[low_us, high_us or now]``, distinct from every other one since
        ``distinct``: a random multiple of the table's ``spread`` plus the row's serial number,
        which is below ``spread`` (no set of every time handed out: a million articles' rows
        made that 700 MB). Times are as coarse as a µs per row of the table (5 s for 5 million
        rows); a window narrower than two spreads is overrun by up to that much."""
        high_us = self.now_us if high_us is None else high_us
        spread, serial = self.spread, self.serial
        self.serial += 1
        high_us = max(high_us, low_us + 2 * spread + 1)
        drawn = low_us + spread + int(self.rng.random() * (high_us - low_us - 2 * spread))
        return drawn - drawn % spread + serial


def _spaced(rng: random.Random, count: int, low_us: int, high_us: int) -> Iterator[int]:
    """``count`` increasing times in ``[low_us, high_us)``: one at random in each of ``count``
    equal slots, made one by one (sorting a million random times held them all at once)."""
    width = max(1, (high_us - low_us) // max(1, count))
    for slot in range(count):
        yield low_us + slot * width + rng.randrange(width)


def _binary_type(column_type: Any) -> str:
    """The PostgreSQL type a binary COPY sends for a column (custom types: what they store)."""
    return PG_BINARY_TYPES[getattr(column_type, "impl_instance", column_type).python_type]


def bulk_insert(
    connection: Connection, table: Table, columns: Sequence[str], rows: Iterable[Row]
) -> int:
    """Insert ``rows`` (tuples in ``columns`` order) and return how many there were.

    PostgreSQL: one binary COPY (text-format COPY spends most of its time formatting
    timestamps). Elsewhere: Core ``insert()`` with lists of ``BATCH_SIZE`` dicts.
    """
    count = 0
    if connection.dialect.name == "postgresql":
        quote = connection.dialect.identifier_preparer.quote
        names = ", ".join(map(quote, columns))
        types = [_binary_type(table.c[name].type) for name in columns]
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        copy_sql = f"COPY {quote(table.name)} ({names}) FROM STDIN (FORMAT BINARY)"
        with cursor, cursor.copy(copy_sql) as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    statement, pending = insert(table), iter(rows)
    while chunk := [
        dict(zip(columns, row, strict=True)) for row in itertools.islice(pending, BATCH_SIZE)
    ]:
        connection.execute(statement, chunk)
        count += len(chunk)
    return count


def _max_id(connection: Connection, table: Table) -> int:
    return connection.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0


def _drop_foreign_keys(connection: Connection) -> list[Row]:
    """Drop the foreign keys of the seeded tables; return what re-creates them identically."""
    found = connection.execute(
        text(
            "SELECT conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE contype = 'f'"
            " AND conrelid = ANY(CAST(:tables AS regclass[])) ORDER BY conname"
        ),
        {"tables": list(SEEDED_TABLES)},
    ).all()
    for table, name, _definition in found:
        connection.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {name}"))
    return [tuple(row) for row in found]


def _tag_ids(connection: Connection, names: Sequence[str]) -> list[int]:
    tags = Tag.__table__
    existing = set(connection.scalars(select(tags.c.name).where(tags.c.name.in_(names))))
    missing = [{"name": name} for name in names if name not in existing]
    if missing:
        connection.execute(insert(tags), missing)
    ids = select(tags.c.id).where(tags.c.name.in_(names)).order_by(tags.c.id)
    return list(connection.scalars(ids))  # in a stable order: --seed samples from it


def _user_rows(fake: _Faker, ids: Sequence[int], password_hash: str) -> Iterator[Row]:
    rng, start = fake.rng, fake.now_us - 2 * 365 * DAY_US
    fake.distinct(len(ids))
    joined = sorted(fake.moment(start, start + 364 * DAY_US) for _ in ids)
    for user_id, created in zip(ids, joined, strict=True):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        bio = fake.sentence() if rng.random() < 0.6 else None
        image = f"https://example.com/avatars/{user_id}.png" if rng.random() < 0.5 else None
        username, email = f"{first}_{last}{user_id}", f"{first}.{last}{user_id}@example.com"
        yield user_id, username, email, password_hash, bio, image, _at(created), _at(created)


def _follow_rows(fake: _Faker, user_ids: Sequence[int], most: int) -> Iterator[Row]:
    rng, start = fake.rng, fake.now_us - 365 * DAY_US
    fake.distinct(len(user_ids) * most)
    for follower in user_ids:
        count = rng.randint(0, min(most, len(user_ids) - 1))
        candidates = rng.sample(user_ids, min(count + 1, len(user_ids)))
        for followee in [other for other in candidates if other != follower][:count]:
            yield follower, followee, _at(fake.moment(start))


def _article_rows(
    fake: _Faker, articles: Iterable[Row], authors: Sequence[int], cum_weights: Sequence[float]
) -> Iterator[Row]:
    rng = fake.rng
    for article_id, created in articles:
        title = fake.title()
        slug = f"{slugify(title)}-{article_id}"  # the id makes it unique
        description, body = fake.sentence(8, 20), fake.paragraphs(2, 6)
        author = rng.choices(authors, cum_weights=cum_weights)[0]
        updated = fake.moment(created) if rng.random() < 0.2 else created
        yield article_id, slug, title, description, body, author, _at(created), _at(updated)


def _tag_rows(fake: _Faker, articles: Iterable[Row], tag_ids: Sequence[int]) -> Iterator[Row]:
    for article_id, created in articles:
        for tag_id in fake.rng.sample(tag_ids, fake.rng.randint(0, min(5, len(tag_ids)))):
            yield article_id, tag_id, _at(created)  # the article's: tag lists are read by it


def _favorite_rows(
    fake: _Faker, articles: Iterable[Row], users: Sequence[int], most: int
) -> Iterator[Row]:
    for article_id, created in articles:
        for user_id in fake.rng.sample(users, fake.rng.randint(0, min(most, len(users)))):
            yield user_id, article_id, _at(fake.moment(created))


def _comment_rows(
    fake: _Faker, articles: Iterable[Row], users: Sequence[int], most: int
) -> Iterator[Row]:
    rng = fake.rng
    for article_id, created in articles:
        for _ in range(rng.randint(0, most)):
            posted = _at(fake.moment(created))
            body = fake.paragraphs(1, 2) if rng.random() < 0.2 else fake.sentence()
            yield article_id, rng.choice(users), body, posted, posted


@click.command("seed")
@click.option("--users", default=100, show_default=True, type=click.IntRange(1))
@click.option("--articles", default=1000, show_default=True, type=click.IntRange(0))
@click.option("--follows-per-user", default=10, show_default=True, type=click.IntRange(0))
@click.option("--favorites-per-article", default=5, show_default=True, type=click.IntRange(0))
@click.option("--comments-per-article", default=5, show_default=True, type=click.IntRange(0))
@click.option("--seed", "seed_value", type=int, help="Random seed, for reproducible content.")
@click.option("--password", default=DEFAULT_PASSWORD, show_default=True, help="Shared password.")
@click.option("--force", is_flag=True, help="Seed even when APP_ENV=production.")
@with_appcontext
def seed_command(
    users: int,
    articles: int,
    follows_per_user: int,
    favorites_per_article: int,
    comments_per_article: int,
    seed_value: int | None,
    password: str,
    force: bool,
) -> None:
    """Add fake users, follows, articles, tags, favorites and comments to the database.

    Each user follows 0 to --follows-per-user others; each article has 0-5 tags, 0 to
    --favorites-per-article favorites and 0 to --comments-per-article comments (uniformly at
    random). Rows are added to what is there; nothing is deleted.
    """
    if current_app.config["APP_ENV"] == "production" and not force:
        raise click.ClickException(
            "refusing to seed: APP_ENV=production. Pass --force if you really mean it."
        )
    if len(password) < PASSWORD_MIN:
        raise click.BadParameter(f"at least {PASSWORD_MIN} characters", param_hint="--password")
    if seed_value is None:
        seed_value = random.SystemRandom().randrange(2**31)
    started = time.perf_counter()
    counts, example = seed_database(
        db.engine.connect(),
        users=users,
        articles=articles,
        follows_per_user=follows_per_user,
        favorites_per_article=favorites_per_article,
        comments_per_article=comments_per_article,
        rng=random.Random(seed_value),
        password_hash=hash_password(password),
    )
    elapsed = time.perf_counter() - started
    click.echo("inserted " + ", ".join(f"{count} {name}" for name, count in counts.items()))
    click.echo(f"seeded in {elapsed:.1f} s (--seed {seed_value})")
    click.echo(f"every seeded user's password: {password}")
    click.echo(f"log in as e.g. {example} / {password}")


def seed_database(
    connection: Connection,
    *,
    users: int,
    articles: int,
    follows_per_user: int,
    favorites_per_article: int,
    comments_per_article: int,
    rng: random.Random,
    password_hash: str,
) -> tuple[dict[str, int], str]:
    """Insert everything in one transaction on ``connection`` (closed afterwards), then VACUUM.

    Returns the row count per table and the email of the first seeded user.
    """
    fake = _Faker(rng, utcnow())
    favorites, comments = favorites_per_article, comments_per_article
    postgres = connection.dialect.name == "postgresql"
    with connection, connection.begin():
        if postgres:  # concurrent writers wait instead of colliding with the ids chosen here
            connection.execute(text("LOCK TABLE users, articles IN SHARE ROW EXCLUSIVE MODE"))
            # A load is one long COPY per table: the app's per-statement limit (meant for
            # requests) cancelled a million articles' COPY half-way.
            connection.execute(text("SET LOCAL statement_timeout = 0"))
        dropped = (
            _drop_foreign_keys(connection)
            if postgres and articles >= DROP_FOREIGN_KEYS_FROM
            else []
        )
        first_user = _max_id(connection, User.__table__) + 1
        user_ids = list(range(first_user, first_user + users))

        def load(table: Table, rows: Iterable[Row]) -> int:
            return bulk_insert(connection, table, COLUMNS[table.name], rows)

        counts = {
            "users": load(User.__table__, _user_rows(fake, user_ids, password_hash)),
            "follows": load(Follow.__table__, _follow_rows(fake, user_ids, follows_per_user)),
        }
        tag_ids = _tag_ids(connection, TAG_POOL)
        # A few prolific authors and a long tail, like a real blog platform.
        weights = [1 / (rank + 1) ** 0.8 for rank in range(users)]
        rng.shuffle(weights)
        cum_weights = list(itertools.accumulate(weights))
        first_article = _max_id(connection, Article.__table__) + 1
        start = fake.now_us - 365 * DAY_US
        times_seed = rng.random()

        def numbered() -> Iterator[Row]:
            """(id, created µs) of every new article, oldest first; made anew for each stage."""
            published = _spaced(random.Random(times_seed), articles, start, fake.now_us - DAY_US)
            return zip(itertools.count(first_article), published)

        stages = (  # each with the most rows it can have: distinct times within each table
            (
                "articles",
                Article.__table__,
                articles,
                lambda a: _article_rows(fake, a, user_ids, cum_weights),
            ),
            ("article tags", article_tags, 0, lambda a: _tag_rows(fake, a, tag_ids)),
            (
                "favorites",
                Favorite.__table__,
                articles * favorites,
                lambda a: _favorite_rows(fake, a, user_ids, favorites),
            ),
            (
                "comments",
                Comment.__table__,
                articles * comments,
                lambda a: _comment_rows(fake, a, user_ids, comments),
            ),
        )
        for label, table, most, make_rows in stages:
            fake.distinct(most)
            with click.progressbar(numbered(), length=articles, label=f"{label:<12}") as bar:
                counts[label] = load(table, make_rows(bar))
        if postgres:
            for owner, name, definition in dropped:  # validated here, all rows at once
                connection.execute(text(f"ALTER TABLE {owner} ADD CONSTRAINT {name} {definition}"))
            for name in ("users", "articles"):  # the API's next ids come after the seeded ones
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                        f"(SELECT max(id) FROM {name}))"
                    )
                )
        # The triggers on articles keep this total; set it outright anyway, so a load that
        # bypassed them (or a counter row emptied by hand) leaves it exact.
        connection.execute(
            text(
                "UPDATE counters SET value = (SELECT count(*) FROM articles)"
                " WHERE name = 'articles'"
            )
        )
        email = connection.scalar(select(User.email).where(User.id == first_user))
    if postgres:  # outside the transaction: planner statistics and the visibility map, so the
        # first queries after a load use the indexes (counts become index-only scans) at once
        # instead of whenever autovacuum gets to it.
        with connection.engine.connect() as vacuum:
            vacuum.execution_options(isolation_level="AUTOCOMMIT")
            vacuum.execute(text("SET statement_timeout = 0"))  # this session only
            vacuum.execute(text(f"VACUUM (ANALYZE) {', '.join(SEEDED_TABLES)}"))
            vacuum.execute(text("RESET statement_timeout"))  # back to the pool as it came
    return counts, email or ""
