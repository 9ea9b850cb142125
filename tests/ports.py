"""A loopback TCP port free right now, for a server a test starts (SMTP, API, worker metrics)."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
