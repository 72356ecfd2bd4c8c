"""Backups kept in S3 (a real S3 HTTP server on loopback): the same commands, the same promises."""

from __future__ import annotations

import json
import os

import boto3
import pytest

from app.backups import s3 as s3_storage
from tests.backups.conftest import change_everything, created_name, s3_keys


def test_create_uploads_the_file_and_its_manifest_under_the_prefix(service_app, s3_env, backup_dir):
    runner = service_app(**s3_env).test_cli_runner()

    name = created_name(runner.invoke(args=["backup", "create"]))

    keys = s3_keys(s3_env)
    assert f"conduit/prod/{name}.json" in keys
    assert len(keys) == 2 and all(key.startswith(f"conduit/prod/{name}.") for key in keys)
    assert not backup_dir.exists()  # nothing kept on the host


def test_the_uploaded_manifest_describes_the_uploaded_file(service_app, s3_env):
    runner = service_app(**s3_env).test_cli_runner()
    name = created_name(runner.invoke(args=["backup", "create"]))

    client = boto3.client("s3", endpoint_url=s3_env["BACKUP_S3_ENDPOINT_URL"])
    bucket, prefix = s3_env["BACKUP_S3_BUCKET"], "conduit/prod/"
    manifest = json.loads(
        client.get_object(Bucket=bucket, Key=f"{prefix}{name}.json")["Body"].read()
    )
    stored = client.head_object(Bucket=bucket, Key=f"{prefix}{manifest['file']}")
    assert stored["ContentLength"] == manifest["size"]


def test_round_trip_through_s3_restores_every_row(service_app, s3_env, seeded):
    runner = service_app(**s3_env).test_cli_runner()
    before = seeded.snapshot()

    name = created_name(runner.invoke(args=["backup", "create"]))
    listed = json.loads(runner.invoke(args=["backup", "list", "--json"]).stdout)
    verified = runner.invoke(args=["backup", "verify", name])
    change_everything(seeded)
    restored = runner.invoke(args=["backup", "restore", name, "--yes"])

    assert [entry["name"] for entry in listed] == [name]
    assert verified.exit_code == 0, verified.output
    assert restored.exit_code == 0, restored.output
    assert seeded.snapshot() == before


def test_verify_records_its_time_in_the_s3_manifest(service_app, s3_env):
    runner = service_app(**s3_env).test_cli_runner()
    name = created_name(runner.invoke(args=["backup", "create"]))

    assert runner.invoke(args=["backup", "verify", "--latest"]).exit_code == 0

    (entry,) = json.loads(runner.invoke(args=["backup", "list", "--json"]).stdout)
    assert entry["name"] == name and entry["verified_at"] is not None


def test_prune_deletes_both_objects_of_a_backup_in_s3(service_app, s3_env):
    runner = service_app(**s3_env).test_cli_runner()
    older = created_name(runner.invoke(args=["backup", "create"]))
    newest = created_name(runner.invoke(args=["backup", "create"]))

    result = runner.invoke(
        args=["backup", "prune", "--keep-daily", "0", "--keep-weekly", "0", "--keep-monthly", "0"]
    )

    assert result.exit_code == 0, result.output
    assert f"deleted {older}" in result.stdout
    assert [key.rsplit("/", 1)[1].split(".")[0] for key in s3_keys(s3_env)] == [newest, newest]


def test_a_file_without_its_manifest_is_not_a_backup_in_s3(service_app, s3_env):
    """An upload interrupted before its manifest was written leaves no backup behind."""
    client = boto3.client("s3", endpoint_url=s3_env["BACKUP_S3_ENDPOINT_URL"])
    client.put_object(
        Bucket=s3_env["BACKUP_S3_BUCKET"],
        Key="conduit/prod/20261130T000000Z-sqlite-abcdef.sqlite3",
        Body=b"half an upload",
    )
    runner = service_app(**s3_env).test_cli_runner()

    result = runner.invoke(args=["backup", "list", "--json"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []


@pytest.mark.parametrize("seeded", ["sqlite"], indirect=True)
def test_large_backups_are_uploaded_in_parts(service_app, s3_env, seeded, monkeypatch):
    # S3's smallest part (5 MiB) instead of 64 MiB, so that a 12 MB backup takes three parts.
    monkeypatch.setattr(s3_storage, "PART_SIZE", 5 * 2**20)
    seeded.execute(f"UPDATE articles SET body = '{os.urandom(2_000_000).hex()}'")
    runner = service_app(**s3_env).test_cli_runner()

    name = created_name(runner.invoke(args=["backup", "create"]))

    client = boto3.client("s3", endpoint_url=s3_env["BACKUP_S3_ENDPOINT_URL"])
    key = next(key for key in s3_keys(s3_env) if not key.endswith(".json"))
    etag = client.head_object(Bucket=s3_env["BACKUP_S3_BUCKET"], Key=key)["ETag"]
    assert etag.strip('"').endswith("-3")  # a multipart upload's ETag counts its parts
    assert runner.invoke(args=["backup", "verify", name]).exit_code == 0
