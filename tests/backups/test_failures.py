"""What goes wrong in real life, each answered with one line and a non-zero exit, nothing left
half-written, and no secret in the output: missing or old client tools, wrong credentials, an
unreachable database, a full disk, S3 unreachable or without its bucket."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask_migrate import upgrade

from app.extensions import db
from tests.backups.conftest import admin_execute, assert_fails_with, created_name, run_flask
from tests.conftest import register, service_unavailable
from tests.pg_cluster import Cluster, debian_bin_dir, free_port, private_cluster

DB_PASSWORD = "db-Secret-9f3c1a7e"


def migrated(make_app, cluster: Cluster) -> str:
    """A new database on a private cluster, at the head, with an account; its URL."""
    name = f"conduit_{uuid.uuid4().hex[:10]}"
    admin_execute(cluster.url(), f'CREATE DATABASE "{name}"')
    url = cluster.url(name)
    application = make_app("testing", TEST_DATABASE_URL=url)
    with application.app_context():
        upgrade()
    register(application.test_client())
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    return url


def pgserver_bin_dir() -> Path | None:
    """PostgreSQL 16 from the pgserver wheel: a newer major than the Debian client tools."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "pginstall" / "bin"


def started(bin_dir: Path | None, missing: str) -> Iterator[Cluster]:
    if bin_dir is None:
        service_unavailable(missing)
    with private_cluster(bin_dir, DB_PASSWORD) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def password_cluster() -> Iterator[Cluster]:
    """A server that checks passwords (scram-sha-256), unlike the shared one, which trusts."""
    yield from started(debian_bin_dir(), "no PostgreSQL server binaries under /usr/lib/postgresql")


@pytest.fixture(scope="module")
def newer_cluster() -> Iterator[Cluster]:
    yield from started(pgserver_bin_dir(), "the pgserver package (PostgreSQL 16) is not installed")


# --- client tools ---------------------------------------------------------------------------


@pytest.mark.parametrize("seeded", ["postgresql"], indirect=True)
def test_create_without_pg_dump_fails_in_one_line(service_app, tmp_path):
    empty = tmp_path / "no-tools"
    empty.mkdir()
    backup = service_app(BACKUP_PG_BIN_DIR=str(empty)).test_cli_runner()

    result = backup.invoke(args=["backup", "create"])

    assert_fails_with(result, r"pg_dump was not found in BACKUP_PG_BIN_DIR .*postgresql-client-1")


@pytest.mark.parametrize("seeded", ["postgresql"], indirect=True)
def test_create_with_no_pg_dump_on_path_fails_in_one_line(seeded, tmp_path):
    result = run_flask(
        "backup", "create", DATABASE_URL=seeded.url, BACKUP_DIR=str(tmp_path), PATH="/nonexistent"
    )

    assert_fails_with(result, "pg_dump was not found on PATH")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("seeded", ["postgresql"], indirect=True)
def test_verify_without_pg_restore_fails_in_one_line(backup, service_app, tmp_path):
    name = created_name(backup("create"))
    only_dump = tmp_path / "only-pg-dump"
    only_dump.mkdir()
    (only_dump / "pg_dump").symlink_to(subprocess.check_output(["which", "pg_dump"]).strip())
    runner = service_app(BACKUP_PG_BIN_DIR=str(only_dump)).test_cli_runner()

    result = runner.invoke(args=["backup", "verify", name])

    assert_fails_with(result, "pg_restore was not found")


def test_pg_dump_older_than_the_server_is_refused(newer_cluster, make_app, tmp_path):
    url = migrated(make_app, newer_cluster)

    result = run_flask("backup", "create", DATABASE_URL=url, BACKUP_DIR=str(tmp_path))

    assert_fails_with(
        result, rf"pg_dump 1[0-5][.0-9]* is older than the PostgreSQL {newer_cluster.major} server"
    )
    assert list(tmp_path.iterdir()) == []
    assert DB_PASSWORD not in result.stdout + result.stderr


def test_backup_pg_bin_dir_selects_tools_of_the_servers_version(newer_cluster, make_app, tmp_path):
    url = migrated(make_app, newer_cluster)
    env = {"DATABASE_URL": url, "BACKUP_DIR": str(tmp_path), "BACKUP_PG_BIN_DIR": ""}
    env["BACKUP_PG_BIN_DIR"] = str(pgserver_bin_dir())

    created = run_flask("backup", "create", **env)
    name = created.stdout.strip().splitlines()[-1]
    verified = run_flask("backup", "verify", name, **env)

    assert created.returncode == 0, created.stderr
    assert verified.returncode == 0, verified.stderr
    assert "pg_dump 16" in (tmp_path / f"{name}.json").read_text()


def test_pg_restore_older_than_the_server_is_refused(newer_cluster, make_app, tmp_path):
    url = migrated(make_app, newer_cluster)
    env = {"DATABASE_URL": url, "BACKUP_DIR": str(tmp_path)}
    created = run_flask("backup", "create", BACKUP_PG_BIN_DIR=str(pgserver_bin_dir()), **env)
    name = created.stdout.strip().splitlines()[-1]

    verify = run_flask("backup", "verify", name, **env)
    restore = run_flask("backup", "restore", name, "--yes", **env)

    assert_fails_with(verify, r"pg_restore 1[0-5][.0-9]* is older than the PostgreSQL 16")
    # A restore's first step is the safety backup, so pg_dump is the tool it refuses first.
    assert_fails_with(restore, r"pg_(dump|restore) 1[0-5][.0-9]* is older than the PostgreSQL 16")


# --- the database ---------------------------------------------------------------------------


def test_wrong_database_credentials_fail_in_one_line_without_the_password(
    password_cluster, tmp_path
):
    url = password_cluster.url(password="not-the-" + DB_PASSWORD)

    result = run_flask("backup", "create", DATABASE_URL=url, BACKUP_DIR=str(tmp_path))

    assert_fails_with(result, "password authentication failed")
    assert DB_PASSWORD not in result.stdout + result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_password_protected_server_is_backed_up_verified_and_restored(
    password_cluster, make_app, tmp_path
):
    """The password reaches pg_dump and pg_restore (through PGPASSWORD) and no output."""
    url = migrated(make_app, password_cluster)
    env = {"DATABASE_URL": url, "BACKUP_DIR": str(tmp_path)}

    results = [run_flask("backup", "create", **env)]
    name = results[0].stdout.strip().splitlines()[-1]
    results.append(run_flask("backup", "verify", name, **env))
    results.append(run_flask("backup", "restore", name, "--yes", **env))

    for result in results:
        assert result.returncode == 0, result.stderr
        assert DB_PASSWORD not in result.stdout + result.stderr


def test_an_unreachable_database_fails_in_one_line(tmp_path):
    url = f"postgresql://conduit:{DB_PASSWORD}@127.0.0.1:{free_port()}/conduit"

    result = run_flask("backup", "create", DATABASE_URL=url, BACKUP_DIR=str(tmp_path))

    assert_fails_with(result, "PostgreSQL database 'conduit': .*(refused|failed)")
    assert DB_PASSWORD not in result.stdout + result.stderr


def test_a_missing_sqlite_database_fails_in_one_line(tmp_path):
    url = f"sqlite:///{tmp_path}/nothing-here.db"

    result = run_flask("backup", "create", DATABASE_URL=url, BACKUP_DIR=str(tmp_path / "b"))

    assert_fails_with(result, "nothing-here.db does not exist")
    assert not (tmp_path / "nothing-here.db").exists()


# --- a full disk ----------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs: a real file system that fills up."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    # Root mounts it; elsewhere (a CI runner) passwordless sudo may.
    admin = [] if os.geteuid() == 0 else ["sudo", "-n"]
    options = f"size=1m,uid={os.geteuid()},gid={os.getegid()}"
    mounted = subprocess.run(
        [*admin, "mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        service_unavailable("mounting a small tmpfs needs root or passwordless sudo")
    try:
        yield mount_point
    finally:
        subprocess.run([*admin, "umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_fails_in_one_line_and_leaves_no_file(seeded, service_app, small_disk):
    # 3 MB of hex compresses to about half: more than the disk holds for either backend.
    seeded.execute(f"UPDATE articles SET body = '{os.urandom(1_500_000).hex()}'")
    runner = service_app(BACKUP_DIR=str(small_disk)).test_cli_runner()

    result = runner.invoke(args=["backup", "create"])

    assert_fails_with(result, "no space left on the device")
    assert list(small_disk.iterdir()) == []


# --- S3 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("seeded", ["sqlite"], indirect=True)
def test_an_unreachable_s3_fails_in_one_line_without_the_secret_key(service_app, s3_env):
    endpoint = f"http://127.0.0.1:{free_port()}"
    runner = service_app(**{**s3_env, "BACKUP_S3_ENDPOINT_URL": endpoint}).test_cli_runner()

    for args in (["create"], ["list"]):
        result = runner.invoke(args=["backup", *args])
        assert_fails_with(result, f"S3 is unreachable at {endpoint}")
        assert s3_env["AWS_SECRET_ACCESS_KEY"] not in result.output


@pytest.mark.parametrize("seeded", ["sqlite"], indirect=True)
def test_a_missing_bucket_fails_in_one_line(service_app, s3_env):
    runner = service_app(**{**s3_env, "BACKUP_S3_BUCKET": "no-such-bucket"}).test_cli_runner()

    for args in (["create"], ["list"], ["verify", "--latest"]):
        result = runner.invoke(args=["backup", *args])
        assert_fails_with(result, "S3 bucket 'no-such-bucket' does not exist")
