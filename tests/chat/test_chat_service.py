"""Chat sequence numbers under concurrent senders, straight through the service."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat import service as chat_service
from app.chat.models import ChatMessage
from app.chat.sanitize import render
from tests.factories import make_event, make_registration


async def _room(db: AsyncSession) -> tuple[int, list[int]]:
    event = await make_event(db)
    regs = [await make_registration(db, event) for _ in range(4)]
    room = await chat_service.open_room(
        db, regs[0].account_id or 0, chat_service.Target(event_id=event.id)
    )
    await db.commit()
    return room.id, [r.account_id or 0 for r in regs]


async def _send(app: FastAPI, room_id: int, author: int, client_id: str) -> int:
    async with app.state.sessionmaker() as db, db.begin():
        sent = await chat_service.send(
            db, account_id=author, room_id=room_id, client_msg_id=client_id, text=client_id
        )
        return sent.message.seq


async def test_concurrent_senders_get_gapless_unique_seqs(app: FastAPI, db: AsyncSession) -> None:
    room_id, authors = await _room(db)
    jobs = [_send(app, room_id, authors[n % 4], f"m{n}") for n in range(40)]
    seqs = await asyncio.gather(*jobs)
    assert sorted(seqs) == list(range(1, 41))
    stored = (
        await db.execute(
            select(ChatMessage.seq, ChatMessage.body)
            .where(ChatMessage.room_id == room_id)
            .order_by(ChatMessage.seq)
        )
    ).all()
    assert [s for s, _ in stored] == list(range(1, 41))


async def test_concurrent_retries_of_one_send_store_it_once(app: FastAPI, db: AsyncSession) -> None:
    room_id, authors = await _room(db)
    seqs = await asyncio.gather(*[_send(app, room_id, authors[0], "same") for _ in range(10)])
    assert set(seqs) == {1}
    rows = (await db.execute(select(ChatMessage).where(ChatMessage.room_id == room_id))).all()
    assert len(rows) == 1


async def test_readers_never_see_a_later_seq_before_an_earlier_one(
    app: FastAPI, db: AsyncSession
) -> None:
    """A reader polling `after_seq` while senders commit must never skip a number."""
    room_id, authors = await _room(db)
    seen: list[int] = []
    done = asyncio.Event()

    async def reader() -> None:
        last = 0
        while not done.is_set() or last < 30:
            async with app.state.sessionmaker() as session:
                page = await chat_service.resume(
                    session, room_id=room_id, after_seq=last, window=500
                )
            for message in page["messages"]:  # type: ignore[attr-defined]
                assert message["seq"] == last + 1
                last = message["seq"]
                seen.append(last)
            await asyncio.sleep(0)

    task = asyncio.create_task(reader())
    await asyncio.gather(*[_send(app, room_id, authors[n % 4], f"m{n}") for n in range(30)])
    done.set()
    await asyncio.wait_for(task, 10)
    assert seen == list(range(1, 31))


def test_sanitizer_keeps_light_formatting_only() -> None:
    assert render("**b** *i* [x](https://ex.com)") == (
        '<p><strong>b</strong> <em>i</em> <a href="https://ex.com" '
        'rel="noopener noreferrer nofollow ugc">x</a></p>'
    )
    assert render("<script>alert(1)</script>") == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
    assert "href" not in render("[x](javascript:alert(1))")
