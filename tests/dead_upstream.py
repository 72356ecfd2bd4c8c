"""An upstream that dies with every request: it accepts the connection, reads the request head
and resets the connection without answering, as a gunicorn worker killed mid-request would.
It records what it received, so a test can tell which requests nginx sent it."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator


class DeadUpstream:
    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.settimeout(0.1)  # so the loop sees stop() soon
        self.port: int = self.listener.getsockname()[1]
        self.received: list[str] = []  # the request lines, in order
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self.listener.close()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(5)
                head = b""
                with contextlib.suppress(OSError):
                    while b"\r\n\r\n" not in head:
                        chunk = connection.recv(65536)
                        if not chunk:
                            break
                        head += chunk
                if head:
                    self.received.append(head.split(b"\r\n", 1)[0].decode("latin-1"))
                # SO_LINGER 0: close() sends a reset, not a clean end of stream.
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@contextlib.contextmanager
def dead_upstream() -> Iterator[DeadUpstream]:
    upstream = DeadUpstream()
    upstream.start()
    try:
        yield upstream
    finally:
        upstream.stop()
