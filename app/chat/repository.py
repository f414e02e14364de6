"""Every chat query: rooms, the per-room sequence, messages and mutes."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.chat.models import ChatMessage, ChatRoom, RoomMute

MessageRow = tuple[ChatMessage, str | None]


async def get_room(db: AsyncSession, room_id: int) -> ChatRoom | None:
    return await db.get(ChatRoom, room_id, populate_existing=True)


async def get_or_create_room(db: AsyncSession, *, key: str, **values: object) -> ChatRoom:
    """The room with this key; created once even when two workers race to create it."""
    query = select(ChatRoom).where(ChatRoom.key == key)
    found = (await db.execute(query)).scalar_one_or_none()
    if found is not None:
        return found
    try:
        async with db.begin_nested():
            room = ChatRoom(key=key, next_seq=0, **values)
            db.add(room)
        return room
    except IntegrityError:
        return (await db.execute(query)).scalar_one()


async def lock_room(db: AsyncSession, room_id: int) -> bool:
    """Take the room's row lock (PostgreSQL) or the write lock (SQLite) before reading anything.

    Sends, edits and deletes in one room then run one after another, so sequence numbers are
    handed out in commit order: a reader that saw number N has already seen every change below.
    """
    result = await db.execute(
        update(ChatRoom)
        .where(ChatRoom.id == room_id)
        .values(next_seq=ChatRoom.next_seq)
        .returning(ChatRoom.id)
    )
    return result.scalar_one_or_none() is not None


async def lock_room_of(db: AsyncSession, message_id: int) -> int | None:
    """`lock_room` for the room holding `message_id`, in one write statement; its room id."""
    room_of = select(ChatMessage.room_id).where(ChatMessage.id == message_id).scalar_subquery()
    result = await db.execute(
        update(ChatRoom)
        .where(ChatRoom.id == room_of)
        .values(next_seq=ChatRoom.next_seq)
        .returning(ChatRoom.id)
    )
    return result.scalar_one_or_none()


async def allocate_seq(db: AsyncSession, room_id: int) -> int:
    result = await db.execute(
        update(ChatRoom)
        .where(ChatRoom.id == room_id)
        .values(next_seq=ChatRoom.next_seq + 1)
        .returning(ChatRoom.next_seq)
    )
    return int(result.scalar_one())


async def last_seq(db: AsyncSession, room_id: int) -> int:
    found = await db.scalar(select(ChatRoom.next_seq).where(ChatRoom.id == room_id))
    return int(found or 0)


async def find_sent(
    db: AsyncSession, *, room_id: int, author_id: int, client_msg_id: str
) -> ChatMessage | None:
    return (
        await db.execute(
            select(ChatMessage).where(
                ChatMessage.room_id == room_id,
                ChatMessage.author_id == author_id,
                ChatMessage.client_msg_id == client_msg_id,
            )
        )
    ).scalar_one_or_none()


async def get_message(db: AsyncSession, message_id: int) -> ChatMessage | None:
    return await db.get(ChatMessage, message_id, populate_existing=True)


def _with_author() -> Select[ChatMessage, str | None]:
    return select(ChatMessage, Account.display_name).outerjoin(
        Account, Account.id == ChatMessage.author_id
    )


async def messages_after(
    db: AsyncSession, room_id: int, after_seq: int, limit: int
) -> Sequence[MessageRow]:
    """Messages sent, edited or deleted after room sequence number `after_seq`, in that order."""
    rows = await db.execute(
        _with_author()
        .where(ChatMessage.room_id == room_id, ChatMessage.changed_seq > after_seq)
        .order_by(ChatMessage.changed_seq)
        .limit(limit)
    )
    return [(m, name) for m, name in rows.all()]


async def messages_before(
    db: AsyncSession, room_id: int, before_seq: int | None, limit: int
) -> Sequence[MessageRow]:
    query = _with_author().where(ChatMessage.room_id == room_id)
    if before_seq is not None:
        query = query.where(ChatMessage.seq < before_seq)
    rows = await db.execute(query.order_by(ChatMessage.seq.desc()).limit(limit))
    return [(m, name) for m, name in reversed(rows.all())]


async def author_name(db: AsyncSession, account_id: int | None) -> str | None:
    if account_id is None:
        return None
    return await db.scalar(select(Account.display_name).where(Account.id == account_id))


async def is_muted(db: AsyncSession, room_id: int, account_id: int) -> bool:
    found = await db.scalar(
        select(RoomMute.id).where(RoomMute.room_id == room_id, RoomMute.account_id == account_id)
    )
    return found is not None


async def mute(db: AsyncSession, *, room_id: int, account_id: int, by: int) -> None:
    if await is_muted(db, room_id, account_id):
        return
    db.add(RoomMute(room_id=room_id, account_id=account_id, muted_by_id=by))
    await db.flush()


async def unmute(db: AsyncSession, *, room_id: int, account_id: int) -> None:
    await db.execute(
        delete(RoomMute).where(RoomMute.room_id == room_id, RoomMute.account_id == account_id)
    )
