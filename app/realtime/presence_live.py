"""Websocket actions for presence: enter, heartbeat, leave, list."""

from __future__ import annotations

from pydantic import Field

from app.realtime import presence
from app.realtime.registry import Body, Context, command


class PlaceBody(Body):
    place: str = Field(max_length=64, description="booth:{id} or session:{id}")


@command("presence.enter", PlaceBody, reads_only=True)
async def enter(ctx: Context, body: PlaceBody) -> dict[str, object]:
    count, publishes = await presence.enter(ctx.realtime, ctx.db, ctx.conn, body.place)
    for channel, data in publishes:
        ctx.publish(channel, data)
    return {"place": body.place, "count": count}


@command("presence.heartbeat", PlaceBody, reads_only=True)
async def heartbeat(ctx: Context, body: PlaceBody) -> dict[str, object]:
    count, publishes = await presence.enter(ctx.realtime, ctx.db, ctx.conn, body.place)
    for channel, data in publishes:
        ctx.publish(channel, data)
    return {"place": body.place, "count": count}


@command("presence.leave", PlaceBody)
async def leave(ctx: Context, body: PlaceBody) -> dict[str, object]:
    count, publishes = await presence.leave(ctx.realtime, ctx.db, ctx.conn, body.place)
    for channel, data in publishes:
        ctx.publish(channel, data)
    return {"place": body.place, "count": count}


@command("presence.list", PlaceBody, reads_only=True)
async def list_(ctx: Context, body: PlaceBody) -> dict[str, object]:
    return await presence.snapshot(ctx.realtime, ctx.db, ctx.conn, body.place)
