"""Stand-ins for Sentry on loopback: a receiver that records the envelopes the SDK really POSTs
(decompressed and parsed), and the two ways Sentry can be unreachable (a closed port, and a
listener that accepts connections and never answers)."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

try:  # the SDK compresses with brotli when the Brotli package is importable, else gzip
    import brotli
except ImportError:  # pragma: no cover - depends on the environment
    brotli = None


@dataclass
class Envelope:
    """One POSTed envelope: its raw (decompressed) bytes, its header, and its items as
    (item header, payload bytes)."""

    raw: bytes
    header: dict[str, Any]
    items: list[tuple[dict[str, Any], bytes]] = field(default_factory=list)

    def of_type(self, item_type: str) -> list[dict[str, Any]]:
        return [json.loads(payload) for head, payload in self.items if head["type"] == item_type]


def parse_envelope(raw: bytes) -> Envelope:
    """Sentry's envelope format: a JSON header line, then per item a JSON header line and its
    payload (``length`` bytes when the header gives it, else up to the next newline)."""
    header_line, _, rest = raw.partition(b"\n")
    envelope = Envelope(raw=raw, header=json.loads(header_line))
    while rest.strip():
        item_line, _, rest = rest.partition(b"\n")
        head = json.loads(item_line)
        if "length" in head:
            payload, rest = rest[: head["length"]], rest[head["length"] :]
            rest = rest.removeprefix(b"\n")
        else:
            payload, _, rest = rest.partition(b"\n")
        envelope.items.append((head, payload))
    return envelope


def decompress(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "br":
        if brotli is None:
            raise AssertionError("the SDK sent brotli but the Brotli package is not importable")
        return bytes(brotli.decompress(body))
    if encoding in ("", "identity"):
        return body
    raise AssertionError(f"unexpected Content-Encoding {encoding!r}")


class SentryReceiver:
    """An HTTP server on 127.0.0.1 (a free port) that answers every envelope POST with 200 and
    keeps it. ``dsn`` points the SDK at it."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.paths: list[str] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                raw = decompress(body, self.headers.get("Content-Encoding", ""))
                with receiver._lock:
                    receiver.paths.append(self.path)
                    receiver.envelopes.append(parse_envelope(raw))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *_args: Any) -> None:
                pass  # keep the test output quiet

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def dsn(self) -> str:
        return f"http://public@127.0.0.1:{self.port}/1"

    def items(self, item_type: str) -> list[dict[str, Any]]:
        """Every received item of ``item_type`` ("event", "transaction"...), in arrival order."""
        with self._lock:
            return [item for envelope in self.envelopes for item in envelope.of_type(item_type)]

    def events(self) -> list[dict[str, Any]]:
        return self.items("event")

    def raw_bytes(self) -> bytes:
        """Everything received, decompressed: what a secret must never be found in."""
        with self._lock:
            return b"\n".join(envelope.raw for envelope in self.envelopes)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released): connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class Blackhole:
    """A listener that completes TCP handshakes (the kernel's backlog) but never reads or
    answers: a Sentry that hangs. Closing it resets the connections it holds."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.port: int = self.socket.getsockname()[1]

    @property
    def dsn(self) -> str:
        return f"http://public@127.0.0.1:{self.port}/1"

    def close(self) -> None:
        self.socket.close()
