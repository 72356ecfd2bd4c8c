"""``flask backup create`` and ``flask backup list``, on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import stat
import threading
from datetime import UTC, datetime, timedelta

from app.schema import migration_head
from tests.backups.conftest import created_name

MANIFEST_KEYS = {
    "name",
    "created_at",
    "database",
    "file",
    "size",
    "sha256",
    "schema_revision",
    "row_counts",
    "tool_version",
    "server_version",
    "verified_at",
}


def listed(backup) -> list[dict]:
    result = backup("list", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_create_prints_the_new_backups_name_as_its_last_line(backup, backup_dir):
    result = backup("create")

    name = created_name(result)
    assert (backup_dir / f"{name}.json").is_file()
    assert [entry["name"] for entry in listed(backup)] == [name]


def test_create_writes_the_file_and_a_manifest_that_describes_it(backup, backup_dir, seeded):
    name = created_name(backup("create"))

    manifest = json.loads((backup_dir / f"{name}.json").read_text())
    data = (backup_dir / manifest["file"]).read_bytes()
    assert set(manifest) >= MANIFEST_KEYS
    assert manifest["name"] == name
    assert manifest["database"] == seeded.kind
    assert manifest["size"] == len(data)
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["schema_revision"] == migration_head()
    assert manifest["verified_at"] is None
    assert manifest["tool_version"] and manifest["server_version"]


def test_the_manifest_counts_the_rows_of_every_table(backup, backup_dir, seeded):
    name = created_name(backup("create"))

    manifest = json.loads((backup_dir / f"{name}.json").read_text())
    expected = {table: len(rows) for table, rows in seeded.snapshot().items()}
    assert manifest["row_counts"] == expected
    assert manifest["row_counts"]["users"] == 3
    assert manifest["row_counts"]["auth_sessions"] == 3


def test_the_manifest_time_is_utc_and_now(backup, backup_dir):
    before = datetime.now(UTC)
    name = created_name(backup("create"))

    created = json.loads((backup_dir / f"{name}.json").read_text())["created_at"]
    assert created.endswith("Z")
    moment = datetime.fromisoformat(created.replace("Z", "+00:00"))
    assert before - timedelta(seconds=1) <= moment <= datetime.now(UTC)


def test_create_leaves_only_the_file_and_its_manifest(backup, backup_dir):
    name = created_name(backup("create"))

    assert sorted(p.name for p in backup_dir.iterdir()) == sorted(
        [f"{name}.json", json.loads((backup_dir / f"{name}.json").read_text())["file"]]
    )


def test_backups_are_readable_by_their_owner_only(backup, backup_dir):
    """They hold password hashes and email addresses."""
    created_name(backup("create"))

    assert stat.S_IMODE(backup_dir.stat().st_mode) == 0o700
    assert {stat.S_IMODE(path.stat().st_mode) for path in backup_dir.iterdir()} == {0o600}


def test_the_counts_match_the_dump_while_the_service_writes(backup, seeded):
    """The counts come from the dump's own snapshot: rows written during the dump are in
    neither, so the backup verifies."""
    stop = threading.Event()
    engine = seeded.engine()

    def write_tags() -> None:
        n = 0
        while not stop.is_set():
            with engine.begin() as connection:
                connection.exec_driver_sql(f"INSERT INTO tags (name) VALUES ('during-{n}')")
            n += 1

    writer = threading.Thread(target=write_tags)
    writer.start()
    try:
        name = created_name(backup("create"))
    finally:
        stop.set()
        writer.join()
        engine.dispose()

    result = backup("verify", name)
    assert result.exit_code == 0, result.output


def test_list_json_prints_only_a_json_array_newest_first(backup):
    first = created_name(backup("create"))
    second = created_name(backup("create"))

    result = backup("list", "--json")

    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)
    assert [entry["name"] for entry in entries] == [second, first]
    assert all(set(entry) >= MANIFEST_KEYS for entry in entries)
    assert all(entry["verified_at"] is None for entry in entries)


def test_list_json_of_no_backups_is_an_empty_array(backup):
    result = backup("list", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []


def test_list_shows_one_line_per_backup_newest_first(backup):
    first = created_name(backup("create"))
    second = created_name(backup("create"))

    lines = backup("list").stdout.splitlines()

    assert lines[0].split()[:3] == ["NAME", "CREATED", "(UTC)"]
    assert [line.split()[0] for line in lines[1:]] == [second, first]


def test_a_file_without_its_manifest_is_not_a_backup(backup, backup_dir):
    name = created_name(backup("create"))
    (backup_dir / f"{name}.json").unlink()

    assert listed(backup) == []


def test_list_reports_an_unreadable_manifest_and_lists_the_others(backup, backup_dir):
    good = created_name(backup("create"))
    bad = created_name(backup("create"))
    (backup_dir / f"{bad}.json").write_text("{not json")

    result = backup("list", "--json")

    assert result.exit_code == 0
    assert [entry["name"] for entry in json.loads(result.stdout)] == [good]
    assert f"{bad}.json is not valid" in result.stderr
