"""Servers for bench/ws_fanout.py: Expohall with bench limits, or a bare `websockets` broadcaster.

python -m bench.ws_server expohall PORT     # env: EXPOHALL_* (database, secret, redis)
python -m bench.ws_server baseline PORT
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI
from websockets.asyncio.server import ServerConnection, broadcast, serve


def expohall(port: int) -> None:
    from app.main import create_app
    from app.realtime.runtime import Limits

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
        ws="websockets-sansio",
        access_log=False,
    )


async def baseline(port: int) -> None:
    """The Python ceiling: every text frame received is broadcast() to every other client."""
    clients: set[ServerConnection] = set()

    async def handler(ws: ServerConnection) -> None:
        clients.add(ws)
        try:
            async for message in ws:
                broadcast(clients, message)
        finally:
            clients.discard(ws)

    async with serve(handler, "127.0.0.1", port, compression=None, max_queue=None):
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    kind, port_text = sys.argv[1], sys.argv[2]
    if kind == "expohall":
        expohall(int(port_text))
    else:
        asyncio.run(baseline(int(port_text)))
