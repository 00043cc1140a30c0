"""Fixtures of the server tests: an app on the fake backend, a live uvicorn server."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from consona.server import ServerConfig, create_app
from consona.testing import FakeBackend, FakeNLI

pytest.importorskip("fastapi")

ASK = [{"role": "user", "content": "Do you have a cat?"}]


def make_app(tmp_path: Any = None, *, replies: Any = None, nli: Any = "fake", **kw: Any) -> Any:
    backend = kw.pop("backend", None) or FakeBackend(replies or ["Yes, my grey cat Pepper."])
    return create_app(
        ServerConfig(
            backend=backend,
            nli=FakeNLI() if nli == "fake" else nli,
            data_dir=tmp_path,
            candidates=kw.pop("candidates", 2),
            **kw,
        )
    )


@pytest.fixture
def client(tmp_path):
    from fastapi.testclient import TestClient

    return TestClient(make_app(tmp_path / "data"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Run ``app`` under uvicorn on a free local port in a thread; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def sse_events(text: str) -> list[Any]:
    """The ``data:`` payloads of an SSE body (``[DONE]`` kept as the string)."""
    out: list[Any] = []
    for block in text.split("\n\n"):
        for line in block.splitlines():
            if line.startswith("data:"):
                data = line[5:].strip()
                out.append(data if data == "[DONE]" else json.loads(data))
    return out
