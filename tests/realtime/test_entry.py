"""`/ws` is served straight from the app's ASGI entry point (app/main.py: ExpohallApp)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from fastapi import FastAPI

from app.realtime.protocol import CLOSE_BAD_ORIGIN, CLOSE_UNAUTHENTICATED


async def _open(app: FastAPI, path: str, *, root_path: str = "", origin: str) -> list[Any]:
    """Open a websocket at the ASGI level; returns what the app sent back."""
    sent: list[Any] = []
    incoming = [{"type": "websocket.connect"}]

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "websocket.disconnect", "code": 1000}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": path,
        "raw_path": path.encode(),
        "root_path": root_path,
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"origin", origin.encode())],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "subprotocols": [],
        "state": {},
    }
    await app(scope, receive, send)
    return sent


async def test_a_foreign_origin_is_refused_on_ws(app: FastAPI) -> None:
    sent = await _open(app, "/ws", origin="https://evil.example")
    assert sent[-1] == {"type": "websocket.close", "code": CLOSE_BAD_ORIGIN, "reason": ""}


async def test_ws_behind_a_proxy_path_still_reaches_the_endpoint(app: FastAPI) -> None:
    base = app.state.settings.base_url.rstrip("/")
    sent = await _open(app, "/expo/ws", root_path="/expo", origin=base)
    # Our endpoint's answer to a visitor without a session: accepted, then closed with 4401.
    assert sent[0]["type"] == "websocket.accept"
    assert sent[-1]["type"] == "websocket.close"
    assert sent[-1]["code"] == CLOSE_UNAUTHENTICATED
