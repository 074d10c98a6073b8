"""A plain server-sent events client for tests: a socket, GET /live/stream, events as they come.

    with EventStream(site.url) as stream:
        assert stream.status == 200
        event = stream.next_event(timeout=10)   # {"id": ..., "event": "live", "data": {...}}

Every wait has a deadline; nothing sleeps.
"""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit


class EventStream:
    def __init__(self, base_url: str, path: str = "/live/stream", headers: dict | None = None):
        parts = urlsplit(base_url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
        lines = [f"GET {path} HTTP/1.1", f"Host: {parts.hostname}", "Accept: text/event-stream"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buffer = b""
        head = self._until(b"\r\n\r\n", time.monotonic() + 10)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split()[1])
        self.headers = {
            name.strip().lower(): value.strip()
            for name, value in (line.split(":", 1) for line in header_lines if ":" in line)
        }
        self.chunked = self.headers.get("transfer-encoding") == "chunked"
        self.text = ""  # the decoded body so far, not yet parsed into events
        self.ended = False

    def _read(self, deadline: float) -> bool:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return False
        except OSError:
            data = b""
        if not data:
            self.ended = True
            return False
        self.buffer += data
        return True

    def _until(self, marker: bytes, deadline: float) -> bytes:
        while marker not in self.buffer:
            if not self._read(deadline):
                raise TimeoutError(f"no {marker!r} in time: {self.buffer[:200]!r}")
        head, self.buffer = self.buffer.split(marker, 1)
        return head

    def _decode_chunks(self) -> None:
        if not self.chunked:
            self.text += self.buffer.decode()
            self.buffer = b""
            return
        while b"\r\n" in self.buffer:
            size_line, rest = self.buffer.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                self.ended = True
                self.buffer = b""
                return
            if len(rest) < size + 2:
                return
            self.text += rest[:size].decode()
            self.buffer = rest[size + 2 :]

    def next_block(self, timeout: float = 10) -> str | None:
        """The next block (lines up to a blank line), or None when the stream ended or the
        deadline passed."""
        deadline = time.monotonic() + timeout
        while True:
            self._decode_chunks()
            if "\n\n" in self.text:
                block, self.text = self.text.split("\n\n", 1)
                return block
            if self.ended or not self._read(deadline):
                return None

    def next_event(self, timeout: float = 10) -> dict | None:
        """The next event (comments and `retry:` skipped), its data parsed as JSON."""
        deadline = time.monotonic() + timeout
        while (block := self.next_block(max(0.0, deadline - time.monotonic()))) is not None:
            fields = {}
            for line in block.split("\n"):
                if line.startswith(":") or ":" not in line:
                    continue
                name, value = line.split(":", 1)
                fields[name] = value[1:] if value.startswith(" ") else value
            if "data" in fields:
                return {"id": fields.get("id"), "event": fields.get("event"),
                        "data": json.loads(fields["data"])}  # fmt: skip
        return None

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
