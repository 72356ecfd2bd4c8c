"""The backup gauges of GET /metrics, read from the manifests of real backups (``flask backup
create`` and ``verify`` on a SQLite database of the test's own), in a directory or in S3 (a real
S3 HTTP server on loopback)."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import boto3
import pytest
from flask import Flask
from flask_migrate import upgrade
from prometheus_client.parser import text_string_to_metric_families

from app.backups.s3 import S3Storage
from app.extensions import db
from app.observability.metrics_backups import BackupTimes
from tests.conftest import build_app
from tests.s3_server import CREDENTIALS, moto_server

LAST_SUCCESS = "conduit_backup_last_success_timestamp_seconds"
LAST_VERIFIED = "conduit_backup_last_verified_timestamp_seconds"


def backup_gauges(app: Flask) -> dict[str, float]:
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    families = text_string_to_metric_families(response.get_data(as_text=True))
    return {
        family.name: family.samples[0].value
        for family in families
        if family.name in (LAST_SUCCESS, LAST_VERIFIED)
    }


def unix_time(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


@pytest.fixture
def source(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Apps on a migrated SQLite database of this test's own, whose backups ``backup(app, ...)``
    makes with the real commands; ``env`` says where they are kept."""
    url = f"sqlite:///{tmp_path / 'source.db'}"
    built: list[Flask] = []

    def build(**env: str) -> Flask:
        app = build_app(url, **env)
        with app.app_context():
            upgrade()
        built.append(app)
        return app

    yield build
    for app in built:
        with app.app_context():
            db.engine.dispose()


def backup(app: Flask, *args: str) -> str:
    """Run ``flask backup <args>``; the last line of its output (``create``: the name)."""
    result = app.test_cli_runner().invoke(args=["backup", *args])
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


def test_the_gauges_are_the_newest_creation_and_the_newest_verification(source, make_app, tmp_path):
    backup_dir = tmp_path / "backups"
    app = source(BACKUP_DIR=str(backup_dir))
    older = backup(app, "create")
    newer = backup(app, "create")
    backup(app, "verify", older)
    manifests = {
        name: json.loads((backup_dir / f"{name}.json").read_text()) for name in (older, newer)
    }

    gauges = backup_gauges(make_app(BACKUP_DIR=str(backup_dir)))

    assert gauges[LAST_SUCCESS] == pytest.approx(unix_time(manifests[newer]["created_at"]))
    assert gauges[LAST_VERIFIED] == pytest.approx(unix_time(manifests[older]["verified_at"]))
    assert manifests[newer]["verified_at"] is None


def test_the_gauges_are_zero_when_there_is_no_backup(make_app, tmp_path):
    gauges = backup_gauges(make_app(BACKUP_DIR=str(tmp_path / "empty")))
    assert gauges == {LAST_SUCCESS: 0.0, LAST_VERIFIED: 0.0}


def test_the_storage_is_read_at_most_once_a_minute(source, make_app, tmp_path):
    backup_dir = tmp_path / "backups"
    app = source(BACKUP_DIR=str(backup_dir))
    backup(app, "create")
    metrics_app = make_app(BACKUP_DIR=str(backup_dir))
    first = backup_gauges(metrics_app)

    time.sleep(1.1)  # manifests name their creation to the microsecond; a second apart is sure
    backup(app, "create")

    assert backup_gauges(metrics_app) == first  # the cached read, not a new listing
    assert first[LAST_SUCCESS] > 0


# A storage that fails --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new bucket on the loopback S3 server; boto3 finds the test credentials as it would
    find real ones, in the environment."""
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    name = f"metrics-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=name)
    return name


def remove_bucket(endpoint: str, name: str) -> None:
    client = boto3.client("s3", endpoint_url=endpoint)
    for item in client.list_objects_v2(Bucket=name).get("Contents", []):
        client.delete_object(Bucket=name, Key=item["Key"])
    client.delete_bucket(Bucket=name)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING and record.name.endswith("metrics_backups")
    ]


def wait_for_warning(caplog: pytest.LogCaptureFixture) -> str:
    deadline = time.monotonic() + 20
    while not warnings_of(caplog):
        assert time.monotonic() < deadline, "no warning about the backup storage in 20 s"
        time.sleep(0.05)
    return warnings_of(caplog)[0]


def test_a_storage_that_fails_keeps_the_last_values_and_logs_a_warning(
    source, s3_endpoint, bucket, caplog
):
    app = source(BACKUP_S3_BUCKET=bucket, BACKUP_S3_ENDPOINT_URL=s3_endpoint)
    backup(app, "create")
    now = [1000.0]
    times = BackupTimes(lambda: S3Storage(bucket, "", s3_endpoint), clock=lambda: now[0])
    read = times.values()
    assert read[0] > 0

    remove_bucket(s3_endpoint, bucket)
    now[0] += BackupTimes.MAX_AGE + 1  # the next scrape starts a new read
    with caplog.at_level(logging.WARNING):
        assert times.values() == read  # answered at once, from the last read
        warning = wait_for_warning(caplog)
    assert times.values() == read
    assert bucket in warning
    assert CREDENTIALS["AWS_SECRET_ACCESS_KEY"] not in warning


def test_metrics_answer_while_the_backup_storage_cannot_be_read(
    make_app, s3_endpoint, bucket, caplog
):
    missing = f"{bucket}-missing"
    app = make_app(BACKUP_S3_BUCKET=missing, BACKUP_S3_ENDPOINT_URL=s3_endpoint)
    with caplog.at_level(logging.WARNING):
        gauges = backup_gauges(app)
        wait_for_warning(caplog)
    assert gauges == {LAST_SUCCESS: 0.0, LAST_VERIFIED: 0.0}
