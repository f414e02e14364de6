"""The frame protocol and the connection's limits, over a real websocket."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession
from websockets.exceptions import ConnectionClosed, InvalidStatus

from app.events.models import RoleName
from app.realtime import access, channels
from app.realtime.connection import Connection
from app.realtime.hub import hub_from_url
from app.realtime.protocol import push
from tests.factories import grant, make_account, make_event, make_exhibitor, session_token
from tests.realtime.wsclient import ServerError, client


async def _token(db: AsyncSession) -> str:
    return await session_token(db, await make_account(db))


async def test_bad_json_answers_protocol_invalid(ws_url: str, db: AsyncSession) -> None:
    async with client(ws_url, await _token(db)) as c:
        kind, frame_id, body = await c.raw("{not json")
    assert (kind, frame_id, body["code"]) == ("error", None, "protocol.invalid")


async def test_wrong_shape_answers_protocol_invalid_with_its_id(
    ws_url: str, db: AsyncSession
) -> None:
    async with client(ws_url, await _token(db)) as c:
        kind, frame_id, body = await c.raw(json.dumps(["chat.send", 7, "not an object"]))
        assert (kind, frame_id, body["code"]) == ("error", 7, "protocol.invalid")
        kind, frame_id, body = await c.raw(json.dumps({"action": "ping"}))
        assert (kind, frame_id, body["code"]) == ("error", None, "protocol.invalid")


async def test_unknown_action_answers_unknown_action(ws_url: str, db: AsyncSession) -> None:
    async with client(ws_url, await _token(db)) as c:
        kind, frame_id, body = await c.frame("nope.nothing", {})
    assert (kind, frame_id, body["code"]) == ("error", 1, "protocol.unknown_action")


async def test_invalid_body_names_the_fields(ws_url: str, db: AsyncSession) -> None:
    async with client(ws_url, await _token(db)) as c:
        with pytest.raises(ServerError) as caught:
            await c.call("chat.send", {"room_id": "x", "surprise": 1})
    assert caught.value.code == "protocol.invalid"
    fields = {f["field"] for f in caught.value.body["fields"]}
    assert {"room_id", "surprise", "client_msg_id", "body"} <= fields


async def test_ping_answers_pong(ws_url: str, db: AsyncSession) -> None:
    async with client(ws_url, await _token(db)) as c:
        data = await c.call("ping")
    assert "pong" in data


async def test_oversized_frame_closes_1009(ws_url: str, db: AsyncSession) -> None:
    async with client(ws_url, await _token(db)) as c:
        await c.ws.send(json.dumps(["ping", 1, {"pad": "x" * 20_000}]))
        with pytest.raises(ConnectionClosed) as caught:
            await asyncio.wait_for(c.ws.recv(), 5)
    assert caught.value.rcvd is not None
    assert caught.value.rcvd.code == 1009


async def test_no_session_closes_4401(ws_url: str) -> None:
    async with client(ws_url, None) as c:
        with pytest.raises(ConnectionClosed) as caught:
            await asyncio.wait_for(c.ws.recv(), 5)
    assert caught.value.rcvd is not None
    assert caught.value.rcvd.code == 4401


async def test_expired_or_unknown_cookie_closes_4401(ws_url: str) -> None:
    async with client(ws_url, "not-a-session") as c:
        with pytest.raises(ConnectionClosed) as caught:
            await asyncio.wait_for(c.ws.recv(), 5)
    assert caught.value.rcvd is not None
    assert caught.value.rcvd.code == 4401


async def test_foreign_origin_is_refused_at_the_handshake(ws_url: str, db: AsyncSession) -> None:
    token = await _token(db)
    with pytest.raises(InvalidStatus) as caught:
        async with client(ws_url, token, origin="https://evil.example"):
            pass
    assert caught.value.response.status_code == 403


async def test_trusted_origin_is_accepted(app: FastAPI, db: AsyncSession) -> None:
    from tests.realtime.wsclient import serve

    app.state.settings.trusted_origins = ["https://partner.example"]
    token = await _token(db)
    async with serve(app) as url, client(url, token, origin="https://partner.example") as c:
        assert "pong" in await c.call("ping")


async def test_too_many_frames_are_rate_limited(
    app: FastAPI, ws_url: str, db: AsyncSession
) -> None:
    app.state.realtime.limits.rate_burst = 5
    app.state.realtime.limits.rate_per_second = 0.01
    async with client(ws_url, await _token(db)) as c:
        answers = [await c.frame("ping") for _ in range(7)]
    codes = [a[2].get("code") if a[0] == "error" else "ok" for a in answers]
    assert codes == ["ok"] * 5 + ["protocol.rate_limited"] * 2


async def test_connection_lifetime_ends_with_4000_reconnect(
    app: FastAPI, ws_url: str, db: AsyncSession
) -> None:
    app.state.realtime.limits.lifetime_seconds = 0.3
    async with client(ws_url, await _token(db)) as c:
        with pytest.raises(ConnectionClosed) as caught:
            await asyncio.wait_for(c.ws.recv(), 5)
    assert caught.value.rcvd is not None
    assert (caught.value.rcvd.code, caught.value.rcvd.reason) == (4000, "reconnect")


async def test_attendee_cannot_follow_a_staff_channel(ws_url: str, db: AsyncSession) -> None:
    event = await make_event(db)
    exhibitor = await make_exhibitor(db, event)
    attendee = await make_account(db)
    await grant(db, attendee, event, RoleName.attendee)
    staff = await make_account(db)
    await grant(db, staff, event, RoleName.staff, exhibitor.id)
    attendee_token = await session_token(db, attendee)
    staff_token = await session_token(db, staff)
    channel = channels.staff(exhibitor.id)
    async with client(ws_url, attendee_token) as a, client(ws_url, staff_token) as s:
        with pytest.raises(ServerError) as caught:
            await a.call("realtime.subscribe", {"channel": channel})
        assert caught.value.code == "realtime.denied"
        assert await s.call("realtime.subscribe", {"channel": channel}) == {"channel": channel}
        with pytest.raises(ServerError) as caught:
            await a.call("realtime.subscribe", {"channel": channels.user(staff.id)})
        assert caught.value.code == "realtime.denied"


class _StuckSocket:
    """A peer that never reads: every send blocks."""

    async def send_text(self, data: str) -> None:
        await asyncio.Event().wait()


class _Socket:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_text(self, data: str) -> None:
        self.sent.append(data)


async def test_slow_consumer_is_closed_1013_and_never_stalls_others() -> None:
    hub = hub_from_url(None)
    slow = Connection(_StuckSocket(), account_id=1, hub=hub, queue_size=4)
    sockets = [_Socket(), _Socket()]
    fast = [
        Connection(sock, account_id=2 + n, hub=hub, queue_size=4) for n, sock in enumerate(sockets)
    ]
    conns = [slow, *fast]
    writers = [asyncio.create_task(c.writer()) for c in conns]
    for conn in conns:
        await conn.subscribe("event:1")
    try:
        for n in range(10):
            await hub.publish("event:1", push("announce", {"n": n}))
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)
        assert slow.closed.is_set()
        assert slow.close_code == 1013
        assert not any(c.closed.is_set() for c in fast)
        first, second = (sock.sent for sock in sockets)
        assert [json.loads(s)[2]["n"] for s in first] == list(range(10))
        # Serialised once: every recipient was handed the very same string object.
        assert all(a is b for a, b in zip(first, second, strict=True))
    finally:
        for conn in conns:
            conn.close(None)
            await conn.unsubscribe_all()
        for task in writers:
            task.cancel()
        await asyncio.gather(*writers, return_exceptions=True)


async def test_a_revoked_role_reaches_an_open_connection_within_a_minute(
    ws_url: str, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(access, "_clock", lambda: now[0])
    event = await make_event(db)
    attendee = await make_account(db)
    role = await grant(db, attendee, event, RoleName.attendee)
    token = await session_token(db, attendee)
    channel = channels.event(event.id)
    async with client(ws_url, token) as tab:
        assert await tab.call("realtime.subscribe", {"channel": channel}) == {"channel": channel}
        await db.delete(role)
        await db.commit()
        # Remembered by the connection for CACHE_SECONDS: still a member.
        await tab.call("realtime.unsubscribe", {"channel": channel})
        assert await tab.call("realtime.subscribe", {"channel": channel}) == {"channel": channel}
        now[0] += access.CACHE_SECONDS + 1
        with pytest.raises(ServerError) as caught:
            await tab.call("realtime.subscribe", {"channel": channels.event(event.id)})
        assert caught.value.code == "realtime.denied"
    # A new connection sees it at once.
    async with client(ws_url, token) as fresh:
        with pytest.raises(ServerError) as caught:
            await fresh.call("realtime.subscribe", {"channel": channel})
        assert caught.value.code == "realtime.denied"


async def test_a_remembered_event_outlives_a_rollback_of_the_session_that_read_it(
    app: FastAPI, db: AsyncSession
) -> None:
    event = await make_event(db)
    await db.commit()
    remembered = access.Remembered()
    async with app.state.sessionmaker() as session:
        first = await access.cached_event(session, event.id, remembered)
        await session.rollback()  # as a failed flush does: the session's rows expire
    async with app.state.sessionmaker() as session:
        again = await access.cached_event(session, event.id, remembered)
    assert again is not None
    assert again is first  # from the cache, and still readable
    assert (again.id, again.slug) == (event.id, event.slug)
