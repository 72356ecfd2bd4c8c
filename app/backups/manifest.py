"""A backup's manifest: the JSON document stored beside its file that says what the file holds.

A backup is exactly its file and its manifest. The manifest is written last, so a backup exists
only once it is complete; ``verified_at`` is written into the manifest itself by ``verify``.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from app.backups.errors import BackupError

FORMAT = 1
MANIFEST_SUFFIX = ".json"
# Names reach file paths and S3 keys: letters, digits, dot, dash and underscore only.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def new_name(kind: str, now: datetime) -> str:
    """``20261130T140102Z-postgresql-3f9a2c``: sorts by time, unique, safe in paths and keys."""
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{kind}-{secrets.token_hex(3)}"


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name) or name.endswith(MANIFEST_SUFFIX):
        raise BackupError(f"{name!r} is not a backup name (see `flask backup list`)")
    return name


def _timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _parse_timestamp(value: Any) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("timestamp without a time zone")
    return parsed.astimezone(UTC)


@dataclass
class Manifest:
    name: str
    created_at: datetime
    database: str  # "postgresql" or "sqlite"
    file: str
    size: int
    sha256: str
    schema_revision: str | None
    row_counts: dict[str, int]
    tool_version: str
    server_version: str
    app_version: str
    duration_seconds: float
    reason: str = "manual"
    verified_at: datetime | None = None
    format: int = FORMAT
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def total_rows(self) -> int:
        return sum(self.row_counts.values())

    def as_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        data["created_at"] = _timestamp(self.created_at)
        data["verified_at"] = _timestamp(self.verified_at)
        return {**self.extra, **data}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, source: str) -> Manifest:
        """Parse a stored manifest; anything malformed is a ``BackupError`` naming ``source``."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            known = {f.name for f in fields(cls)} - {"extra"}
            missing = known - set(data) - {"reason", "verified_at", "format"}
            if missing:
                raise ValueError(f"missing {', '.join(sorted(missing))}")
            values = {name: data[name] for name in known if name in data}
            values["created_at"] = _parse_timestamp(data["created_at"])
            values["verified_at"] = _parse_timestamp(data.get("verified_at"))
            values["row_counts"] = {str(k): int(v) for k, v in data["row_counts"].items()}
            values["size"] = int(data["size"])
            manifest = cls(**values, extra={k: v for k, v in data.items() if k not in known})
            check_name(manifest.name)
            if not NAME_PATTERN.fullmatch(manifest.file):
                raise ValueError(f"file {manifest.file!r} is not a plain file name")
        except (ValueError, TypeError, AttributeError, BackupError) as error:
            raise BackupError(f"manifest {source} is not valid: {error}") from None
        return manifest
