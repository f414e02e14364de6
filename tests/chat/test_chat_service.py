"""Chat sequence numbers under concurrent senders and editors, straight through the service."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat import service as chat_service
from app.chat.errors import MessageDeleted
from app.chat.models import ChatMessage, ChatRoom
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


async def _sent(app: FastAPI, room_id: int, author: int, text: str) -> ChatMessage:
    async with app.state.sessionmaker() as db, db.begin():
        sent = await chat_service.send(
            db, account_id=author, room_id=room_id, client_msg_id=text, text=text
        )
        return sent.message


async def _edit(app: FastAPI, message_id: int, author: int, text: str) -> int:
    async with app.state.sessionmaker() as db, db.begin():
        message = await chat_service.edit(db, account_id=author, message_id=message_id, text=text)
        return message.changed_seq


async def _delete(app: FastAPI, message_id: int, author: int) -> int:
    async with app.state.sessionmaker() as db, db.begin():
        message = await chat_service.delete(db, account_id=author, message_id=message_id)
        return message.changed_seq


async def _resume(app: FastAPI, room_id: int, after_seq: int | None) -> dict[str, Any]:
    async with app.state.sessionmaker() as db:
        return await chat_service.resume(db, room_id=room_id, after_seq=after_seq, window=500)


async def test_resume_replays_edits_and_deletes_of_messages_already_seen(
    app: FastAPI, db: AsyncSession
) -> None:
    room_id, authors = await _room(db)
    one, two, _three = [await _sent(app, room_id, authors[n], f"m{n + 1}") for n in range(3)]
    assert await _resume(app, room_id, 3) == {"last_seq": 3, "gap": False, "messages": []}

    assert await _edit(app, one.id, authors[0], "m1, edited") == 4
    assert await _delete(app, two.id, authors[1]) == 5
    missed = await _resume(app, room_id, 3)
    assert (missed["last_seq"], missed["gap"]) == (5, False)
    assert [
        (m["id"], m["seq"], m["changed_seq"], m["body"], m["deleted"]) for m in missed["messages"]
    ] == [(one.id, 1, 4, "m1, edited", False), (two.id, 2, 5, "", True)]
    assert missed["messages"][0]["html"] == "<p>m1, edited</p>"
    assert missed["messages"][0]["edited_at"] is not None
    assert await _resume(app, room_id, 5) == {"last_seq": 5, "gap": False, "messages": []}
    # History still pages by the messages' places, showing their current state.
    async with app.state.sessionmaker() as session:
        page: dict[str, Any] = await chat_service.history(
            session, room_id=room_id, before_seq=3, limit=50
        )
    assert [(m["seq"], m["body"]) for m in page["messages"]] == [(1, "m1, edited"), (2, "")]


async def test_concurrent_sends_edits_and_deletes_never_share_a_number(
    app: FastAPI, db: AsyncSession
) -> None:
    room_id, authors = await _room(db)
    first = [await _sent(app, room_id, authors[n % 4], f"first{n}") for n in range(15)]
    edits = [
        _edit(app, m.id, m.author_id or 0, f"{m.body} v{round_}")
        for round_ in range(2)
        for m in first[:10]
    ]
    deletes = [_delete(app, m.id, m.author_id or 0) for m in first[10:]]
    sends = [_send(app, room_id, authors[n % 4], f"later{n}") for n in range(20)]
    numbers = await asyncio.gather(*edits, *deletes, *sends)
    assert sorted(numbers) == list(range(16, 61))
    stored = (
        await db.execute(
            select(ChatMessage.seq, ChatMessage.changed_seq).where(ChatMessage.room_id == room_id)
        )
    ).all()
    changed = [c for _, c in stored]
    assert len(changed) == len(set(changed)) == 35
    assert sorted(s for s, _ in stored) == list(range(1, 16)) + sorted(numbers[25:])
    assert await db.scalar(select(ChatRoom.next_seq).where(ChatRoom.id == room_id)) == 60


async def test_an_edit_racing_a_delete_never_lands_after_it(app: FastAPI, db: AsyncSession) -> None:
    """Both read the message under the room lock: an edit either precedes the delete or fails."""
    room_id, authors = await _room(db)
    outcomes: list[tuple[int, int | BaseException, int | BaseException]] = []
    for n in range(10):
        message = await _sent(app, room_id, authors[0], f"m{n}")
        edited, deleted = await asyncio.gather(
            _edit(app, message.id, authors[0], "edited"),
            _delete(app, message.id, authors[0]),
            return_exceptions=True,
        )
        outcomes.append((message.id, edited, deleted))
    stored = dict(
        (
            await db.execute(
                select(ChatMessage.id, ChatMessage.changed_seq).where(
                    ChatMessage.room_id == room_id, ChatMessage.deleted_at.is_not(None)
                )
            )
        ).all()
    )
    for message_id, edited, deleted in outcomes:
        assert isinstance(deleted, int)
        assert isinstance(edited, MessageDeleted) or (isinstance(edited, int) and edited < deleted)
        assert stored[message_id] == deleted


async def test_a_reader_resuming_while_others_send_and_edit_ends_with_their_state(
    app: FastAPI, db: AsyncSession
) -> None:
    """Polling resume from the highest `changed_seq` seen never misses a send or an edit."""
    room_id, authors = await _room(db)
    first = [await _sent(app, room_id, authors[n % 4], f"m{n}") for n in range(10)]
    seen: dict[int, tuple[int, str]] = {}
    done = asyncio.Event()

    async def reader() -> None:
        last = 0
        while True:
            finished = done.is_set()
            page = await _resume(app, room_id, last)
            numbers = [m["changed_seq"] for m in page["messages"]]
            assert numbers == sorted(numbers)
            assert all(n > last for n in numbers)
            for message in page["messages"]:
                seen[message["id"]] = (message["changed_seq"], message["body"])
                last = message["changed_seq"]
            if finished:
                return
            await asyncio.sleep(0)

    task = asyncio.create_task(reader())
    await asyncio.gather(
        *[_send(app, room_id, authors[n % 4], f"n{n}") for n in range(20)],
        *[_edit(app, m.id, m.author_id or 0, f"{m.body} edited") for m in first],
    )
    done.set()
    await asyncio.wait_for(task, 10)
    stored = (
        await db.execute(
            select(ChatMessage.id, ChatMessage.changed_seq, ChatMessage.body).where(
                ChatMessage.room_id == room_id
            )
        )
    ).all()
    assert seen == {i: (c, b) for i, c, b in stored}
    assert sum(b.endswith(" edited") for _, b in seen.values()) == 10


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
