"""The `/ws` endpoint: origin and cookie checks, one reader, one writer, a transaction per frame."""

from __future__ import annotations

import asyncio

import structlog
from fastapi import APIRouter, WebSocket
from pydantic import ValidationError

from app.auth.deps import SESSION_COOKIE, account_by_session
from app.auth.models import Account
from app.errors import AppError
from app.realtime import access, channels, presence
from app.realtime.connection import Connection
from app.realtime.protocol import (
    CLOSE_BAD_ORIGIN,
    CLOSE_RECONNECT,
    CLOSE_TOO_BIG,
    CLOSE_UNAUTHENTICATED,
    ProtocolInvalid,
    RateLimited,
    UnknownAction,
    error,
    parse_frame,
    success,
    validation_error,
)
from app.realtime.registry import COMMANDS, Context
from app.realtime.runtime import Realtime, origin_of
from app.realtime.wire import wire_of

log = structlog.get_logger()
router = APIRouter()


class Internal(AppError):
    code = "app.internal"
    status = 500

    @classmethod
    def default_message(cls) -> str:
        return "Something went wrong on our side. It has been logged; please try again."


async def account_for(rt: Realtime, token: str | None) -> Account | None:
    """The account behind a session cookie (the lookup of app/auth/deps.py), in a read session."""
    if not token:
        return None
    async with rt.reader()() as db:
        return await account_by_session(db, token)


async def dispatch(rt: Realtime, conn: Connection, raw: str | bytes) -> None:
    """Run one client frame; every outcome is answered on `conn`."""
    try:
        frame = parse_frame(raw)
    except ProtocolInvalid as exc:
        frame_id = exc.extra.get("id")
        conn.send(error(frame_id if isinstance(frame_id, int | str) else None, exc))
        return
    if not conn.take_token():
        conn.send(error(frame.id, RateLimited()))
        return
    if frame.action == "ping":
        conn.send(success(frame.id, {"pong": rt.clock()}))
        return
    command = COMMANDS.get(frame.action)
    if command is None:
        conn.send(error(frame.id, UnknownAction(action=frame.action)))
        return
    try:
        body = command.body.model_validate(frame.body)
    except ValidationError as exc:
        conn.send(error(frame.id, validation_error(exc)))
        return
    ctx = Context(conn=conn, realtime=rt, reads_only=command.reads_only)
    try:
        result = await command.handler(ctx, body)
        db = ctx.opened
        if db is not None and (db.in_transaction() or db.new or db.dirty or db.deleted):
            # One transaction per frame, committed before the answer and the publishes.
            await db.commit()
    except AppError as exc:
        conn.send(error(frame.id, exc))
        return
    except Exception:
        log.exception("ws.command_failed", action=frame.action)
        conn.send(error(frame.id, Internal()))
        return
    finally:
        db = ctx.opened
        if db is not None:
            await db.close()  # rolls back whatever did not commit
    conn.send(success(frame.id, result))
    for job in ctx._after:
        await job()


async def _read(rt: Realtime, conn: Connection, websocket: WebSocket) -> None:
    limit = rt.limits.max_frame_bytes
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            conn.close(None)
            return
        raw: str | bytes | None = message.get("text")
        if raw is None:
            raw = message.get("bytes") or b""
        size = len(raw) if isinstance(raw, bytes) else len(raw.encode())
        if size > limit:
            conn.close(CLOSE_TOO_BIG, "frame too big")
            return
        await dispatch(rt, conn, raw)


def _ended(conn: Connection, task: asyncio.Task[None]) -> None:
    if conn.closed.is_set() or task.cancelled():
        return
    failure = task.exception()
    if failure is not None:
        log.error("ws.task_failed", connection=conn.id, error=repr(failure))
        conn.close(1011, "internal error")
    else:
        conn.close(None)


@router.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    rt: Realtime = websocket.app.state.realtime
    origin = websocket.headers.get("origin")
    # Browsers always send Origin; its absence means a non-browser client, which CSRF cannot use.
    if origin is not None and origin_of(origin) not in rt.allowed_origins():
        await websocket.close(code=CLOSE_BAD_ORIGIN)
        return
    account = await account_for(rt, websocket.cookies.get(SESSION_COOKIE))
    if account is None:
        # Accepted first so that the browser sees the code and sends the visitor to log in.
        await websocket.accept()
        await websocket.close(code=CLOSE_UNAUTHENTICATED, reason="login required")
        return
    account_id = account.id
    await websocket.accept()
    limits = rt.limits
    conn = Connection(
        websocket,
        account_id=account_id,
        display_name=account.display_name,
        hub=rt.hub,
        queue_size=limits.send_queue,
        rate=limits.rate_per_second,
        burst=limits.rate_burst,
        wire=wire_of(websocket.scope),
    )
    conn.account = account
    conn.account_until = access._clock() + access.CACHE_SECONDS
    rt.connections.add(conn)
    writer = asyncio.create_task(conn.writer(), name=f"ws.writer.{conn.id}")
    reader = asyncio.create_task(_read(rt, conn, websocket), name=f"ws.reader.{conn.id}")
    # Whichever task ends first (a disconnect, a broken socket, a bug) ends the connection.
    for task in (reader, writer):
        task.add_done_callback(lambda t: _ended(conn, t))
    try:
        await conn.subscribe(channels.user(account_id))
        # A timer rather than wait_for: no extra task and future per open socket.
        lifetime = asyncio.get_running_loop().call_later(
            limits.lifetime_seconds, conn.close, CLOSE_RECONNECT, "reconnect"
        )
        try:
            await conn.closed.wait()
        finally:
            lifetime.cancel()
    finally:
        rt.connections.discard(conn)
        for task in (reader, writer):
            task.cancel()
        await asyncio.gather(reader, writer, return_exceptions=True)
        await conn.unsubscribe_all()
        try:
            await presence.leave_all(rt, conn)
        except Exception:
            log.exception("presence.leave_failed", connection=conn.id)
        if conn.close_code is not None:
            try:
                await asyncio.wait_for(
                    websocket.close(code=conn.close_code, reason=conn.close_reason), timeout=5
                )
            except Exception:  # noqa: S110 - the peer is already gone
                pass
