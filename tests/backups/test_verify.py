"""``flask backup verify``: a checksum, then a real restore into a scratch database whose row
counts must equal the manifest's; every failure is one line and a non-zero exit."""

from __future__ import annotations

import hashlib
import json

from tests.backups.conftest import (
    admin_execute,
    assert_fails_with,
    created_name,
    rewrite_manifest,
)


def manifest_of(backup_dir, name) -> dict:
    return json.loads((backup_dir / f"{name}.json").read_text())


def backup_file(backup_dir, name):
    return backup_dir / manifest_of(backup_dir, name)["file"]


def test_verify_restores_the_backup_and_exits_0(backup):
    name = created_name(backup("create"))

    result = backup("verify", name)

    assert result.exit_code == 0, result.output
    assert f"verified {name}" in result.stdout
    assert "restored into a scratch database" in result.stdout


def test_verify_records_when_the_backup_was_verified(backup, backup_dir):
    name = created_name(backup("create"))

    assert backup("verify", name).exit_code == 0

    (entry,) = json.loads(backup("list", "--json").stdout)
    assert entry["verified_at"] is not None
    assert manifest_of(backup_dir, name)["verified_at"] == entry["verified_at"]


def test_verify_latest_verifies_the_newest_backup(backup, backup_dir):
    older = created_name(backup("create"))
    newest = created_name(backup("create"))

    result = backup("verify", "--latest")

    assert result.exit_code == 0, result.output
    assert manifest_of(backup_dir, newest)["verified_at"] is not None
    assert manifest_of(backup_dir, older)["verified_at"] is None


def test_verify_needs_a_name_or_latest(backup):
    assert_fails_with(backup("verify"), "NAME or --latest")


def test_verify_latest_without_any_backup_fails(backup):
    assert_fails_with(backup("verify", "--latest"), "no backups in")


def test_verify_of_a_missing_backup_fails_in_one_line(backup):
    assert_fails_with(backup("verify", "20200101T000000Z-sqlite-000000"), "no backup named")


def test_verify_refuses_a_name_that_is_a_path(backup):
    assert_fails_with(backup("verify", "../../etc/passwd"), "is not a backup name")


def test_verify_of_a_backup_whose_file_is_gone_fails(backup, backup_dir):
    name = created_name(backup("create"))
    backup_file(backup_dir, name).unlink()

    assert_fails_with(backup("verify", name), "has no file")


def test_verify_finds_a_truncated_file(backup, backup_dir):
    name = created_name(backup("create"))
    path = backup_file(backup_dir, name)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    assert_fails_with(backup("verify", name), "truncated or was changed")
    assert manifest_of(backup_dir, name)["verified_at"] is None


def test_verify_finds_a_flipped_byte(backup, backup_dir):
    name = created_name(backup("create"))
    path = backup_file(backup_dir, name)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))

    assert_fails_with(backup("verify", name), "failed its checksum")


def test_the_restore_finds_corruption_that_the_checksum_was_made_to_accept(backup, backup_dir):
    """Even with a manifest rewritten to the damaged file's checksum, the real restore fails."""
    name = created_name(backup("create"))
    path = backup_file(backup_dir, name)
    data = bytearray(path.read_bytes())
    for offset in range(4096, len(data), 512):  # past SQLite's header page, through every page
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    rewrite_manifest(backup_dir, name, sha256=hashlib.sha256(data).hexdigest())

    assert_fails_with(backup("verify", name), "pg_restore failed|not a valid SQLite|corrupt")


def test_verify_finds_a_manifest_whose_row_counts_do_not_match(backup, backup_dir):
    name = created_name(backup("create"))
    counts = manifest_of(backup_dir, name)["row_counts"]
    rewrite_manifest(backup_dir, name, row_counts={**counts, "users": counts["users"] + 1})

    assert_fails_with(backup("verify", name), "users: 3 rows restored, 4 in the manifest")


def test_verify_finds_a_manifest_whose_schema_revision_does_not_match(backup, backup_dir):
    name = created_name(backup("create"))
    rewrite_manifest(backup_dir, name, schema_revision="0000aaaa0000")

    assert_fails_with(backup("verify", name), "schema revision")


def test_verify_drops_its_scratch_database_whatever_the_outcome(backup, backup_dir, seeded):
    good = created_name(backup("create"))
    bad = created_name(backup("create"))
    rewrite_manifest(backup_dir, bad, row_counts={"users": 0})

    assert backup("verify", good).exit_code == 0
    assert backup("verify", bad).exit_code == 1

    if seeded.kind == "postgresql":
        name = seeded.url.rsplit("/", 1)[1]
        server = seeded.url.rsplit("/", 1)[0] + "/postgres"
        scratch = admin_execute(
            server, f"SELECT datname FROM pg_database WHERE datname LIKE '{name}\\_\\_%'"
        )
        assert scratch == []


def test_a_manifest_that_is_not_json_is_one_clear_error(backup, backup_dir):
    name = created_name(backup("create"))
    (backup_dir / f"{name}.json").write_text("[]")

    assert_fails_with(backup("verify", name), "is not valid: not a JSON object")
