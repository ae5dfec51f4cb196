"""Waiting until a lab server answers, by polling instead of a fixed sleep."""

from __future__ import annotations

import socket
import time

import httpx


def wait_for(url: str, seconds: float = 30.0) -> bool:
    """Poll ``url`` until it answers (any HTTP status) or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return True
        except httpx.TransportError:
            time.sleep(0.05)
    return False


def wait_for_port(host: str, port: int, seconds: float = 30.0) -> bool:
    """Poll until a TCP connection to ``host:port`` succeeds or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return True
        except OSError:
            time.sleep(0.05)
    return False
