"""``flask backup restore NAME --yes``: every row of every table back as it was, after a safety
backup; refusals change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.schema import migration_head
from tests.backups.conftest import (
    PASSWORD,
    admin_execute,
    assert_fails_with,
    change_everything,
    created_name,
    rewrite_manifest,
)
from tests.conftest import auth_header


def names(backup) -> list[str]:
    return [entry["name"] for entry in json.loads(backup("list", "--json").stdout)]


def test_restore_brings_back_every_row_of_every_table(backup, seeded):
    before = seeded.snapshot()
    name = created_name(backup("create"))
    change_everything(seeded)
    assert seeded.snapshot() != before

    result = backup("restore", name, "--yes")

    assert result.exit_code == 0, result.output
    assert f"restored {name}" in result.stdout
    assert seeded.snapshot() == before


def test_restore_first_takes_a_safety_backup_of_what_it_replaces(backup, seeded):
    name = created_name(backup("create"))
    change_everything(seeded)
    changed = seeded.snapshot()

    result = backup("restore", name, "--yes")

    listed = json.loads(backup("list", "--json").stdout)
    safety = next(entry for entry in listed if entry["reason"] == "pre-restore")
    assert f"safety backup of the replaced data: {safety['name']}" in result.stdout
    assert backup("restore", safety["name"], "--yes").exit_code == 0
    assert seeded.snapshot() == changed


def test_the_service_works_on_the_restored_data(backup, service_app, seeded):
    """Sessions, passwords and id sequences come back: log in, then write a new article."""
    name = created_name(backup("create"))
    change_everything(seeded)
    assert backup("restore", name, "--yes").exit_code == 0
    client = service_app().test_client()

    login = client.post(
        "/api/users/login", json={"user": {"email": "alice@example.com", "password": PASSWORD}}
    )
    assert login.status_code == 200, login.get_json()
    token = login.get_json()["user"]["token"]
    article = {"title": "After the restore", "description": "d", "body": "b", "tagList": []}
    created = client.post("/api/articles", json={"article": article}, headers=auth_header(token))
    assert created.status_code == 201, created.get_json()
    assert client.get("/api/articles").get_json()["articlesCount"] == 4


def test_restore_without_yes_changes_nothing(backup, seeded):
    name = created_name(backup("create"))
    change_everything(seeded)
    changed = seeded.snapshot()

    assert_fails_with(backup("restore", name), "run again with --yes")

    assert seeded.snapshot() == changed
    assert names(backup) == [name]


def test_restore_refuses_a_backup_that_fails_its_checksum(backup, backup_dir, seeded):
    name = created_name(backup("create"))
    manifest = json.loads((backup_dir / f"{name}.json").read_text())
    path = backup_dir / manifest["file"]
    data = bytearray(path.read_bytes())
    data[-10] ^= 0x01
    path.write_bytes(bytes(data))
    change_everything(seeded)
    changed = seeded.snapshot()

    assert_fails_with(backup("restore", name, "--yes"), "failed its checksum")

    assert seeded.snapshot() == changed
    assert names(backup) == [name]  # no safety backup either: nothing was touched


def test_restore_refuses_a_backup_from_a_newer_schema(backup, backup_dir, seeded):
    name = created_name(backup("create"))
    rewrite_manifest(backup_dir, name, schema_revision="ffffffffffff")
    before = seeded.snapshot()

    assert_fails_with(backup("restore", name, "--yes"), "newer release")

    assert seeded.snapshot() == before
    assert names(backup) == [name]


def test_restore_refuses_a_backup_of_the_other_kind_of_database(backup, backup_dir, seeded):
    name = created_name(backup("create"))
    other = "sqlite" if seeded.kind == "postgresql" else "postgresql"
    rewrite_manifest(backup_dir, name, database=other)

    assert_fails_with(backup("restore", name, "--yes"), f"is a {other} backup")


def test_restore_refuses_a_backup_whose_contents_differ_from_its_manifest(
    backup, backup_dir, seeded
):
    name = created_name(backup("create"))
    rewrite_manifest(backup_dir, name, row_counts={"users": 99})
    change_everything(seeded)
    changed = seeded.snapshot()

    assert_fails_with(backup("restore", name, "--yes"), "does not match its manifest")

    assert seeded.snapshot() == changed


def test_restore_of_an_older_schema_says_to_upgrade(backup, seeded):
    seeded.execute("UPDATE alembic_version SET version_num = '68ce68ca3062'")
    older = created_name(backup("create"))
    seeded.execute(f"UPDATE alembic_version SET version_num = '{migration_head()}'")

    result = backup("restore", older, "--yes")

    assert result.exit_code == 0, result.output
    assert "run `flask --app wsgi db upgrade`" in result.stderr
    assert seeded.scalar("SELECT version_num FROM alembic_version") == "68ce68ca3062"


@pytest.mark.parametrize("seeded", ["postgresql"], indirect=True)
def test_restore_keeps_the_databases_own_settings(backup, seeded):
    """pg_dump carries no ALTER DATABASE ... SET; the swap must not lose it."""
    database = seeded.url.rsplit("/", 1)[1]
    server = seeded.url.rsplit("/", 1)[0] + "/postgres"
    admin_execute(server, f"ALTER DATABASE \"{database}\" SET statement_timeout = '7s'")
    name = created_name(backup("create"))

    assert backup("restore", name, "--yes").exit_code == 0

    settings = admin_execute(
        server,
        "SELECT unnest(setconfig) FROM pg_db_role_setting s JOIN pg_database d "
        f"ON d.oid = s.setdatabase WHERE d.datname = '{database}'",
    )
    assert settings == [("statement_timeout=7s",)]


@pytest.mark.parametrize("seeded", ["postgresql"], indirect=True)
def test_restore_onto_a_new_server_creates_the_database(backup, seeded):
    before = seeded.snapshot()
    name = created_name(backup("create"))
    database = seeded.url.rsplit("/", 1)[1]
    server = seeded.url.rsplit("/", 1)[0] + "/postgres"
    admin_execute(server, f'DROP DATABASE "{database}" WITH (FORCE)')

    result = backup("restore", name, "--yes")

    assert result.exit_code == 0, result.output
    assert "safety backup" not in result.stdout  # there was nothing to keep
    assert seeded.snapshot() == before


@pytest.mark.parametrize("seeded", ["sqlite"], indirect=True)
def test_restore_onto_a_new_host_creates_the_sqlite_file(backup, seeded):
    before = seeded.snapshot()
    name = created_name(backup("create"))
    path = seeded.url.removeprefix("sqlite:///")
    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)

    result = backup("restore", name, "--yes")

    assert result.exit_code == 0, result.output
    assert seeded.snapshot() == before
