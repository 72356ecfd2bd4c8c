"""HTTP(S) calls as a client of nginx makes them, from a chosen loopback source address (so
the address nginx sees, and forwards, is the test's own), and a load of such calls from
several threads that records every outcome."""

from __future__ import annotations

import http.client
import json
import ssl
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# The certificate is a throwaway self-signed one: encryption without verification.
UNVERIFIED = ssl.create_default_context()
UNVERIFIED.check_hostname = False
UNVERIFIED.verify_mode = ssl.CERT_NONE


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """One keep-alive connection to 127.0.0.1:``port`` from ``source`` (any 127.0.0.0/8
    address: Linux answers the whole block on loopback); reconnects after any failure."""

    def __init__(
        self, port: int, *, tls: bool = True, source: str = "127.0.0.1", timeout: float = 30
    ) -> None:
        self.port, self.tls, self.source, self.timeout = port, tls, source, timeout
        self.connection: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        if self.tls:
            return http.client.HTTPSConnection(
                "127.0.0.1",
                self.port,
                timeout=self.timeout,
                source_address=(self.source, 0),
                context=UNVERIFIED,
            )
        return http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=self.timeout, source_address=(self.source, 0)
        )

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """``body``: bytes as they are, anything else as JSON."""
        payload = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
        sent = {"Content-Type": "application/json", **(headers or {})}
        if self.connection is None:
            self.connection = self._connect()
        try:
            self.connection.request(method, path, body=payload, headers=sent)
            response = self.connection.getresponse()
            reply = Reply(response.status, response.headers, response.read())
        except Exception:
            self.close()
            raise
        if response.will_close:
            self.close()
        return reply

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def call(
    port: int,
    method: str,
    path: str,
    *,
    tls: bool = True,
    source: str = "127.0.0.1",
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """One request on a connection of its own."""
    client = Client(port, tls=tls, source=source)
    try:
        return client.request(method, path, body, headers)
    finally:
        client.close()


@dataclass
class Load:
    """Threads sending ``requests`` (method, path, body) in turn, each thread on its own
    keep-alive connection from its own source address, until ``stop()``. Every outcome is
    kept: a status, or the name of the exception the client got."""

    port: int
    requests: list[tuple[str, str, Any]]
    headers: dict[str, str] = field(default_factory=dict)
    threads: int = 4
    sources: str = "127.0.1.{}"  # thread n sends from 127.0.1.<n+1>
    outcomes: Counter[tuple[str, int | str]] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(self.threads)
        ]

    def _run(self, n: int) -> None:
        client = Client(self.port, source=self.sources.format(n + 1))
        sent = 0
        while not self._stop.is_set():
            method, path, body = self.requests[sent % len(self.requests)]
            sent += 1
            try:
                outcome: int | str = client.request(method, path, body, self.headers).status
            except Exception as error:  # a client-side failure is an outcome too
                outcome = type(error).__name__
            with self._lock:
                self.outcomes[(method, outcome)] += 1
        client.close()

    def start(self) -> Load:
        for worker in self._workers:
            worker.start()
        return self

    def stop(self) -> Counter[tuple[str, int | str]]:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=60)
        return self.outcomes

    def count(self) -> int:
        with self._lock:
            return sum(self.outcomes.values())

    def failures(self) -> dict[tuple[str, int | str], int]:
        """Outcomes other than a 2xx status."""
        return {
            key: n
            for key, n in self.outcomes.items()
            if not (isinstance(key[1], int) and 200 <= key[1] < 300)
        }
