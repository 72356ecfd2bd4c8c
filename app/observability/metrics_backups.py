"""The backup gauges: when the newest backup was made and when one was last verified, read
from the manifests in the configured backup storage (``app/backups``) at scrape time.

Listing a bucket on every scrape would cost a request per manifest each time, so the values
are read at most once a minute, in a thread of their own: a scrape never waits for a slow or
hung storage, except for the very first read of the process (at most ``FIRST_READ_WAIT``). A
storage that fails is logged as a WARNING and the last values stay. Until a read has
succeeded, both gauges are 0, as if there were no backup: a storage this process cannot read
at all then looks like missing backups, which is what the backup alerts should report.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from app.backups import BackupError
from app.backups.storage import Storage

log = logging.getLogger(__name__)

LAST_SUCCESS = "conduit_backup_last_success_timestamp_seconds"
LAST_VERIFIED = "conduit_backup_last_verified_timestamp_seconds"


class BackupTimes:
    """A Prometheus collector of the two backup timestamps of one storage."""

    MAX_AGE = 60.0  # seconds between two reads of the storage
    FIRST_READ_WAIT = 2.0  # how long the first scrape waits for the first read

    def __init__(
        self, open_storage: Callable[[], Storage], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._open_storage = open_storage
        self._storage: Storage | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self._last_success = 0.0
        self._last_verified = 0.0
        self._read_once = False
        self._started_at: float | None = None  # of the latest read
        self._reader: threading.Thread | None = None

    def collect(self) -> Iterator[Metric]:
        last_success, last_verified = self.values()
        yield GaugeMetricFamily(
            LAST_SUCCESS, "Unix time of the newest backup's creation (0: none)", last_success
        )
        yield GaugeMetricFamily(
            LAST_VERIFIED,
            "Unix time of the newest verification of a backup (0: none)",
            last_verified,
        )

    def values(self) -> tuple[float, float]:
        """(newest creation, newest verification) as Unix times; a read starts when due."""
        reader = self._start_read_if_due()
        if reader is not None and not self._read_once:
            reader.join(self.FIRST_READ_WAIT)
        return self._last_success, self._last_verified

    def _start_read_if_due(self) -> threading.Thread | None:
        with self._lock:
            if self._reader is not None and self._reader.is_alive():
                return self._reader  # one read at a time, however many scrapes arrive
            now = self._clock()
            if self._started_at is not None and now - self._started_at < self.MAX_AGE:
                return None
            self._started_at = now
            self._reader = threading.Thread(target=self._read, name="backup-metrics", daemon=True)
            self._reader.start()
            return self._reader

    def _read(self) -> None:
        try:
            if self._storage is None:
                self._storage = self._open_storage()
            manifests, _unreadable = self._storage.manifests()  # `flask backup list` names them
        except BackupError as error:  # one line, never a credential (app/backups/s3.py)
            log.warning("backup metrics: cannot read the backup storage: %s", error)
            return
        except Exception as error:
            log.warning("backup metrics: cannot read the backup storage: %s", type(error).__name__)
            return
        self._last_success = max((m.created_at.timestamp() for m in manifests), default=0.0)
        verified = (m.verified_at.timestamp() for m in manifests if m.verified_at is not None)
        self._last_verified = max(verified, default=0.0)
        self._read_once = True
