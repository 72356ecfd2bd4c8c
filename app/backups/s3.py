"""Backups in any S3-compatible store, through boto3 (multipart uploads and downloads in chunks).

Credentials come the usual AWS ways (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a profile,
an instance role) and never appear in a message. A new backup is dumped into a local temporary
file, then uploaded; the manifest is written only after the upload completed, so a backup
whose upload failed does not exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from boto3.exceptions import S3TransferFailedError, S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
)

from app.backups.errors import BackupError, first_line
from app.backups.files import temporary_directory
from app.backups.manifest import MANIFEST_SUFFIX, Manifest, check_name
from app.backups.progress import Progress

PART_SIZE = 64 * 1024 * 1024  # multipart above this; memory per transfer thread is one part
CLIENT_CONFIG = Config(
    connect_timeout=5,
    read_timeout=60,
    retries={"max_attempts": 3, "mode": "standard"},
    s3={"addressing_style": "auto"},
)
MISSING = {"NoSuchBucket", "404", "NotFound"}
DENIED = {"AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"}


class S3Storage:
    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str = "") -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url or None
        self.client: Any = boto3.client("s3", endpoint_url=self.endpoint_url, config=CLIENT_CONFIG)
        self.transfer = TransferConfig(multipart_threshold=PART_SIZE, multipart_chunksize=PART_SIZE)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """boto3's exceptions as one line that names the bucket and never a credential."""
        try:
            yield
        except NoCredentialsError:
            raise BackupError(
                f"no AWS credentials for {self} while {action}: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (or a profile or instance role)"
            ) from None
        except EndpointConnectionError:
            where = self.endpoint_url or "the AWS endpoint"
            raise BackupError(f"S3 is unreachable at {where} while {action}") from None
        except ClientError as error:
            raise self._client_error(error, action) from None
        except (S3UploadFailedError, S3TransferFailedError) as error:
            cause = error.__context__
            if isinstance(cause, ClientError):
                raise self._client_error(cause, action) from None
            raise BackupError(
                f"S3 transfer failed while {action}: {first_line(str(error))}"
            ) from None
        except BotoCoreError as error:
            raise BackupError(f"S3 error while {action}: {first_line(str(error))}") from None

    def _client_error(self, error: ClientError, action: str) -> BackupError:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in MISSING:
            return BackupError(f"S3 bucket {self.bucket!r} does not exist (while {action})")
        if code in DENIED:
            return BackupError(f"S3 refused access to {self} ({code}) while {action}")
        message = error.response.get("Error", {}).get("Message", "") or code
        return BackupError(f"S3 error {code} while {action}: {first_line(message)}")

    def _key(self, filename: str) -> str:
        return f"{self.prefix}{filename}"

    # --- Storage ----------------------------------------------------------------------------

    def prepare(self) -> None:
        with self._errors("checking the bucket"):
            self.client.head_bucket(Bucket=self.bucket)

    @contextmanager
    def staging(self, filename: str) -> Iterator[Path]:
        with temporary_directory("conduit-backup-") as directory:
            yield directory / filename

    def store(self, staged: Path, manifest: Manifest) -> None:
        progress = Progress(f"uploading {manifest.name}", total=manifest.size)
        with self._errors(f"uploading {manifest.file}"):
            self.client.upload_file(
                str(staged),
                self.bucket,
                self._key(manifest.file),
                Config=self.transfer,
                Callback=progress.advance,
            )
            progress.finish()
            self.save_manifest(manifest)

    def manifests(self) -> tuple[list[Manifest], list[str]]:
        found: list[Manifest] = []
        problems: list[str] = []
        with self._errors("listing backups"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix, Delimiter="/"
            )
            keys = [
                item["Key"]
                for page in pages
                for item in page.get("Contents", [])
                if item["Key"].endswith(MANIFEST_SUFFIX)
            ]
            for key in sorted(keys):
                try:
                    found.append(self._read_manifest(key))
                except BackupError as error:
                    problems.append(str(error))
        return found, problems

    def manifest(self, name: str) -> Manifest:
        key = self._key(f"{check_name(name)}{MANIFEST_SUFFIX}")
        try:
            with self._errors(f"reading {key}"):
                return self._read_manifest(key)
        except BackupError:
            if not self._exists(key):
                raise BackupError(f"no backup named {name} in {self}") from None
            raise

    def _read_manifest(self, key: str) -> Manifest:
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return Manifest.from_json(body, f"{self}{key[len(self.prefix) :]}")

    def _exists(self, key: str) -> bool:
        with self._errors(f"looking for {key}"):
            try:
                self.client.head_object(Bucket=self.bucket, Key=key)
            except ClientError as error:
                if str(error.response.get("Error", {}).get("Code")) in MISSING:
                    return False
                raise
        return True

    def save_manifest(self, manifest: Manifest) -> None:
        with self._errors(f"writing the manifest of {manifest.name}"):
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._key(f"{manifest.name}{MANIFEST_SUFFIX}"),
                Body=manifest.to_json().encode(),
                ContentType="application/json",
            )

    @contextmanager
    def fetched(self, manifest: Manifest) -> Iterator[Path]:
        key = self._key(manifest.file)
        if not self._exists(key):
            raise BackupError(
                f"backup {manifest.name} has no file: {self}{manifest.file} is missing"
            )
        with temporary_directory("conduit-restore-") as directory:
            path = directory / manifest.file
            progress = Progress(f"downloading {manifest.name}", total=manifest.size)
            with self._errors(f"downloading {manifest.file}"):
                self.client.download_file(
                    self.bucket, key, str(path), Config=self.transfer, Callback=progress.advance
                )
            progress.finish()
            yield path

    def delete(self, manifest: Manifest) -> None:
        with self._errors(f"deleting {manifest.name}"):
            self.client.delete_object(
                Bucket=self.bucket, Key=self._key(f"{manifest.name}{MANIFEST_SUFFIX}")
            )
            self.client.delete_object(Bucket=self.bucket, Key=self._key(manifest.file))
