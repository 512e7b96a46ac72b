"""`clerk serve` as a user starts it: a real uvicorn process answering on loopback."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from clerk.review.users import add_user
from clerk.store import Store


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_and_signs_in(store: Store, clerk_home: Path, workers: int) -> None:
    add_user(store, "dana@vendor.example", "csm", password="dana-pw-1")
    port = _free_port()
    env = {**os.environ, "CLERK_HOME": str(clerk_home), "CLERK_DATABASE_URL": store.url}
    server = subprocess.Popen(
        [sys.executable, "-m", "clerk.cli", "serve", "--port", str(port),
         "--workers", str(workers)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                login = httpx.get(f"{base}/login", timeout=2)
                break
            except httpx.HTTPError:
                assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
                assert time.monotonic() < deadline, "clerk serve did not start"
                time.sleep(0.3)
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert token
        with httpx.Client(base_url=base, cookies=login.cookies, follow_redirects=True) as client:
            signed_in = client.post(
                "/login",
                data={"email": "dana@vendor.example", "password": "dana-pw-1",
                      "csrf_token": token.group(1)},
            )  # fmt: skip
            assert signed_in.status_code == 200
            assert "dana@vendor.example" in signed_in.text
    finally:
        server.terminate()
        server.wait(20)
