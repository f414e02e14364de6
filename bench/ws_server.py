"""Servers for bench/ws_fanout.py: Expohall with bench limits, or a bare `websockets` broadcaster.

python -m bench.ws_server expohall PORT [WS]  # env: EXPOHALL_* (database, secret, redis)
python -m bench.ws_server baseline PORT

WS is how uvicorn serves `/ws`: `wire` (app.realtime.wire.FanoutProtocol, the default),
`websockets-sansio`, `websockets` or `wsproto`.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
import uvicorn
import uvloop
from fastapi import FastAPI
from websockets.asyncio.server import ServerConnection, broadcast, serve

from app.realtime import channels
from app.realtime.protocol import push
from app.realtime.registry import Body, Context, command


class PublishBody(Body):
    room_id: int
    body: str


@command("bench.publish", PublishBody)
async def bench_publish(ctx: Context, body: PublishBody) -> dict[str, object]:
    """Bench only: a push to a room's subscribers without storing it (transport cost alone)."""
    ctx.publish(
        channels.room(body.room_id),
        push("chat.message", {"room_id": body.room_id, "body": body.body}),
    )
    return {}


def expohall(port: int, ws: str) -> None:
    from app.main import create_app
    from app.realtime.runtime import Limits
    from app.realtime.wire import FanoutProtocol

    app = create_app()
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[None]:
        async with inner(a):
            # The sender must not be rate-limited, and queues must hold a burst.
            a.state.realtime.limits = Limits(
                rate_per_second=1e6, rate_burst=1_000_000, send_queue=4096
            )
            yield

    app.router.lifespan_context = lifespan
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws=FanoutProtocol if ws == "wire" else ws,
        ws_per_message_deflate=False,
        access_log=False,
        backlog=4096,
    )


async def baseline(port: int) -> None:
    """The Python ceiling: channels, presence counts and `broadcast()`, nothing else.

    Frames: `["sub", id, {"channel"}]`, `["pub", id, {"channel", "body"}]` (pushed to the
    channel as `["chat.message", null, {"body"}]`), `["enter", id, {"place"}]` (distinct
    connections per place, pushed as `["presence.count", null, {"place", "count"}]` on every
    arrival and departure). Each is answered `["success", id, {}]`, as Expohall answers.
    """
    subscribers: dict[str, set[ServerConnection]] = {}
    places: dict[str, set[ServerConnection]] = {}

    def count(place: str) -> None:
        body = {"place": place, "count": len(places.get(place, ()))}
        broadcast(subscribers.get(place, ()), orjson.dumps(["presence.count", None, body]).decode())

    async def handler(ws: ServerConnection) -> None:
        mine: list[str] = []
        entered: list[str] = []
        try:
            async for message in ws:
                action, frame_id, body = orjson.loads(message)
                if action == "pub":
                    out = orjson.dumps(["chat.message", None, {"body": body["body"]}]).decode()
                    broadcast(subscribers.get(body["channel"], ()), out)
                elif action == "sub":
                    subscribers.setdefault(body["channel"], set()).add(ws)
                    mine.append(body["channel"])
                elif action == "enter":
                    places.setdefault(body["place"], set()).add(ws)
                    entered.append(body["place"])
                    count(body["place"])
                await ws.send(orjson.dumps(["success", frame_id, {}]).decode())
        finally:
            for channel in mine:
                subscribers[channel].discard(ws)
            for place in entered:
                places[place].discard(ws)
                count(place)

    async with serve(handler, "127.0.0.1", port, compression=None, max_queue=None, backlog=4096):
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    kind, port_text = sys.argv[1], sys.argv[2]
    if kind == "expohall":
        expohall(int(port_text), sys.argv[3] if len(sys.argv) > 3 else "wire")
    else:
        # The same event loop uvicorn picks for Expohall (loop="auto" finds uvloop).
        uvloop.run(baseline(int(port_text)))
