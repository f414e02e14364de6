"""Websocket actions of the transport itself: subscribing to channels."""

from __future__ import annotations

from pydantic import Field

from app.realtime import access
from app.realtime.registry import Body, Context, command


class ChannelBody(Body):
    channel: str = Field(max_length=64)


@command("realtime.subscribe", ChannelBody, reads_only=True)
async def subscribe(ctx: Context, body: ChannelBody) -> dict[str, object]:
    await access.check_listen(ctx.db, ctx.conn, body.channel, ctx.realtime.remembered)
    await ctx.conn.subscribe(body.channel)
    return {"channel": body.channel}


@command("realtime.unsubscribe", ChannelBody)
async def unsubscribe(ctx: Context, body: ChannelBody) -> dict[str, object]:
    await ctx.conn.unsubscribe(body.channel)
    return {"channel": body.channel}
