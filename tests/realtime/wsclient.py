"""A small websocket test client speaking the `[action, id, body]` protocol, and a live server."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect

from app.auth.deps import SESSION_COOKIE
from app.realtime.wire import FanoutProtocol

ORIGIN = "http://127.0.0.1:8000"  # the test settings' base_url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """Serve `app` (its lifespan already running) with uvicorn in this event loop; yields ws://."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        ws=FanoutProtocol,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"ws://127.0.0.1:{port}/ws"
    finally:
        server.should_exit = True
        await task


class ServerError(Exception):
    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body.get("code"))
        self.body = body
        self.code: str = body.get("code", "")


class Client:
    """One tab: requests wait for their answer; pushes are kept in arrival order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.pushes: list[list[Any]] = []
        self.answers: dict[Any, list[Any]] = {}

    async def _read_one(self, within: float) -> list[Any]:
        raw = await asyncio.wait_for(self.ws.recv(), within)
        frame: list[Any] = json.loads(raw)
        if frame[1] is None and frame[0] not in ("success", "error"):
            self.pushes.append(frame)
        else:
            self.answers[frame[1]] = frame
        return frame

    async def raw(self, text: str | bytes, within: float = 5) -> list[Any]:
        """Send anything; return the next answer frame."""
        await self.ws.send(text)
        while True:
            frame = await self._read_one(within)
            if frame[0] in ("success", "error"):
                self.answers.pop(frame[1], None)
                return frame

    async def frame(self, action: str, body: dict[str, Any] | None = None) -> list[Any]:
        frame_id = next(self.ids)
        await self.ws.send(json.dumps([action, frame_id, body or {}]))
        while frame_id not in self.answers:
            await self._read_one(5)
        return self.answers.pop(frame_id)

    async def call(self, action: str, body: dict[str, Any] | None = None) -> Any:
        kind, _id, data = await self.frame(action, body)
        if kind == "error":
            raise ServerError(data)
        return data

    async def push(self, event: str, within: float = 5) -> list[Any]:
        """The next push named `event` (earlier ones of other names stay queued)."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            for i, frame in enumerate(self.pushes):
                if frame[0] == event:
                    return self.pushes.pop(i)
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"no {event} push; got {[p[0] for p in self.pushes]}")
            await self._read_one(left)

    async def no_push(self, event: str, wait: float = 0.3) -> None:
        try:
            frame = await self.push(event, within=wait)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected push {frame}")


@asynccontextmanager
async def client(
    url: str, token: str | None, origin: str | None = ORIGIN, **kwargs: Any
) -> AsyncIterator[Client]:
    headers = {}
    if token is not None:
        headers["Cookie"] = f"{SESSION_COOKIE}={token}"
    if origin is not None:
        headers["Origin"] = origin
    async with connect(url, additional_headers=headers, open_timeout=5, **kwargs) as ws:
        yield Client(ws)
