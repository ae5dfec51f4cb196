"""``python -m nornir_peering.lab.wait URL [SECONDS]``: wait until a lab server answers.

Scripts use it instead of a fixed sleep after starting a server.
"""

from __future__ import annotations

import sys
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


if __name__ == "__main__":
    target = sys.argv[1]
    limit = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
    if not wait_for(target, limit):
        sys.exit(f"no answer from {target} within {limit:g}s")
