"""Chat rules: who reads and moderates which room, sending (idempotent, ordered), edits, resume."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import Membership
from app.booths.models import Booth
from app.chat import repository as repo
from app.chat.errors import (
    ChatDenied,
    MessageDeleted,
    MessageInvalid,
    MessageNotFound,
    Muted,
    NotModerator,
    RoomNotFound,
)
from app.chat.models import ChatMessage, ChatRoom, RoomKind
from app.chat.sanitize import render
from app.db import utcnow
from app.realtime import access
from app.sessions.models import ProgramSession

MAX_LENGTH = 4000

# The account's roles in an event as its connection remembers them (app/realtime/access.py).
MemberOf = Callable[[int], Awaitable[Membership | None]]


@dataclass(frozen=True, slots=True)
class Target:
    """Which room to open: a booth's public room or private thread, a session, a DM, a lounge."""

    booth_id: int | None = None
    private: bool = False
    visitor_id: int | None = None
    session_id: int | None = None
    event_id: int | None = None
    account_id: int | None = None


def room_dict(room: ChatRoom) -> dict[str, object]:
    return {
        "id": room.id,
        "kind": room.kind,
        "event_id": room.event_id,
        "booth_id": room.booth_id,
        "exhibitor_id": room.exhibitor_id,
        "session_id": room.session_id,
        "visitor_id": room.visitor_account_id,
        "peer_id": room.peer_account_id,
    }


def message_dict(message: ChatMessage, author_name: str | None) -> dict[str, object]:
    deleted = message.deleted_at is not None
    return {
        "room_id": message.room_id,
        "id": message.id,
        "seq": message.seq,
        "changed_seq": message.changed_seq,
        "author_id": message.author_id,
        "author_name": author_name,
        "client_msg_id": message.client_msg_id,
        "body": "" if deleted else message.body,
        "html": "" if deleted else message.html,
        "created_at": message.created_at,
        "edited_at": message.edited_at,
        "deleted": deleted,
    }


async def _member(
    db: AsyncSession, account_id: int, event_id: int, member_of: MemberOf | None = None
) -> Membership:
    if member_of is not None:
        member = await member_of(event_id)
    else:
        member = await access.membership(db, account_id, event_id)
    if member is None:
        raise ChatDenied("Register for this event first.")
    return member


async def check_read(
    db: AsyncSession, account_id: int, room: ChatRoom, member_of: MemberOf | None = None
) -> Membership:
    """Raise ChatDenied unless the account may read (and so write to) the room."""
    member = await _member(db, account_id, room.event_id, member_of)
    if room.kind == RoomKind.booth_private:
        assert room.exhibitor_id is not None  # noqa: S101
        if not (
            account_id == room.visitor_account_id
            or member.staffs(room.exhibitor_id)
            or member.is_organizer
        ):
            raise ChatDenied()
    elif room.kind == RoomKind.direct and account_id not in (
        room.visitor_account_id,
        room.peer_account_id,
    ):
        raise ChatDenied()
    return member


def can_moderate(member: Membership, room: ChatRoom) -> bool:
    if room.kind == RoomKind.direct:
        return False
    return member.is_organizer or (
        room.exhibitor_id is not None and member.staffs(room.exhibitor_id)
    )


async def room_for(
    db: AsyncSession, account_id: int, room_id: int, member_of: MemberOf | None = None
) -> tuple[ChatRoom, Membership]:
    room = await repo.get_room(db, room_id)
    if room is None:
        raise RoomNotFound()
    return room, await check_read(db, account_id, room, member_of)


async def open_room(db: AsyncSession, account_id: int, target: Target) -> ChatRoom:
    """Find or create the room `target` names, if the account may read it."""
    if target.booth_id is not None:
        booth = await db.get(Booth, target.booth_id)
        if booth is None:
            raise RoomNotFound("There is no such booth.")
        member = await _member(db, account_id, booth.event_id)
        values: dict[str, object] = {
            "event_id": booth.event_id,
            "booth_id": booth.id,
            "exhibitor_id": booth.exhibitor_id,
        }
        if not target.private:
            return await repo.get_or_create_room(
                db, key=f"booth:{booth.id}", kind=RoomKind.booth_public, **values
            )
        visitor = target.visitor_id or account_id
        if visitor != account_id:
            if not (member.staffs(booth.exhibitor_id) or member.is_organizer):
                raise ChatDenied("Only this booth's staff can open a thread with a visitor.")
            await _member(db, visitor, booth.event_id)
        elif member.staffs(booth.exhibitor_id):
            raise MessageInvalid("Say which visitor to talk to (visitor_id).")
        return await repo.get_or_create_room(
            db,
            key=f"booth:{booth.id}:visitor:{visitor}",
            kind=RoomKind.booth_private,
            visitor_account_id=visitor,
            **values,
        )
    if target.session_id is not None:
        program = await db.get(ProgramSession, target.session_id)
        if program is None:
            raise RoomNotFound("There is no such session.")
        await _member(db, account_id, program.event_id)
        return await repo.get_or_create_room(
            db,
            key=f"session:{program.id}",
            kind=RoomKind.session,
            event_id=program.event_id,
            session_id=program.id,
            exhibitor_id=program.sponsor_exhibitor_id,
        )
    if target.event_id is None:
        raise MessageInvalid("Say which booth, session or event the conversation is in.")
    await _member(db, account_id, target.event_id)
    if target.account_id is None:
        return await repo.get_or_create_room(
            db, key=f"lounge:{target.event_id}", kind=RoomKind.lounge, event_id=target.event_id
        )
    if target.account_id == account_id:
        raise MessageInvalid("You cannot message yourself.")
    await _member(db, target.account_id, target.event_id)
    low, high = sorted((account_id, target.account_id))
    return await repo.get_or_create_room(
        db,
        key=f"direct:{target.event_id}:{low}:{high}",
        kind=RoomKind.direct,
        event_id=target.event_id,
        visitor_account_id=low,
        peer_account_id=high,
    )


@dataclass(frozen=True, slots=True)
class Sent:
    room: ChatRoom
    message: ChatMessage
    created: bool  # False: this client message id was already stored (a retried send)
    member: Membership


def _clean(text: str) -> str:
    text = text.strip()
    if not text or len(text) > MAX_LENGTH:
        raise MessageInvalid()
    return text


async def send(
    db: AsyncSession,
    *,
    account_id: int,
    room_id: int,
    client_msg_id: str,
    text: str,
    member_of: MemberOf | None = None,
) -> Sent:
    """Store a message with the room's next sequence number, once per client message id."""
    # The lock comes first so that on SQLite the transaction starts as a writer.
    if not await repo.lock_room(db, room_id):
        raise RoomNotFound()
    room, member = await room_for(db, account_id, room_id, member_of)
    existing = await repo.find_sent(
        db, room_id=room_id, author_id=account_id, client_msg_id=client_msg_id
    )
    if existing is not None:
        return Sent(room, existing, created=False, member=member)
    text = _clean(text)
    if await repo.is_muted(db, room_id, account_id):
        raise Muted()
    seq = await repo.allocate_seq(db, room_id)
    message = ChatMessage(
        room_id=room_id,
        seq=seq,
        changed_seq=seq,
        author_id=account_id,
        client_msg_id=client_msg_id,
        body=text,
        html=render(text),
        created_at=utcnow(),
    )
    db.add(message)
    await db.flush()
    return Sent(room, message, created=True, member=member)


async def _own_or_moderated(
    db: AsyncSession, account_id: int, message_id: int, *, moderate: bool
) -> tuple[ChatMessage, ChatRoom]:
    """The message, read under its room's lock, if the account may change it."""
    # The lock comes first, as in `send`: changes take their number in commit order, and a
    # concurrent edit or delete of the same message has committed before this one reads it.
    if await repo.lock_room_of(db, message_id) is None:
        raise MessageNotFound()
    message = await repo.get_message(db, message_id)
    if message is None:
        raise MessageNotFound()
    room, member = await room_for(db, account_id, message.room_id)
    if message.author_id != account_id and not (moderate and can_moderate(member, room)):
        raise NotModerator("Only the author can change this message.")
    if message.deleted_at is not None:
        raise MessageDeleted()
    return message, room


async def edit(db: AsyncSession, *, account_id: int, message_id: int, text: str) -> ChatMessage:
    """Change the text; the message takes the room's next sequence number as `changed_seq`."""
    message, _room = await _own_or_moderated(db, account_id, message_id, moderate=False)
    body = _clean(text)
    changed_seq = await repo.allocate_seq(db, message.room_id)
    message.body = body
    message.html = render(body)
    message.edited_at = utcnow()
    message.changed_seq = changed_seq
    await db.flush()
    return message


async def delete(db: AsyncSession, *, account_id: int, message_id: int) -> ChatMessage:
    """Blank the message, keeping its `seq`; it takes the room's next number as `changed_seq`."""
    message, _room = await _own_or_moderated(db, account_id, message_id, moderate=True)
    changed_seq = await repo.allocate_seq(db, message.room_id)
    message.deleted_at = utcnow()
    message.deleted_by_id = account_id
    message.changed_seq = changed_seq
    await db.flush()
    return message


async def set_mute(
    db: AsyncSession, *, account_id: int, room_id: int, target_id: int, muted: bool
) -> ChatRoom:
    room, member = await room_for(db, account_id, room_id)
    if not can_moderate(member, room):
        raise NotModerator()
    if muted:
        await repo.mute(db, room_id=room_id, account_id=target_id, by=account_id)
    else:
        await repo.unmute(db, room_id=room_id, account_id=target_id)
    return room


async def history(
    db: AsyncSession, *, room_id: int, before_seq: int | None, limit: int
) -> dict[str, object]:
    rows = await repo.messages_before(db, room_id, before_seq, limit + 1)
    more = len(rows) > limit
    rows = rows[-limit:] if more else rows
    return {"messages": [message_dict(m, name) for m, name in rows], "more": more}


async def resume(
    db: AsyncSession, *, room_id: int, after_seq: int | None, window: int, recent: int = 50
) -> dict[str, object]:
    """What a client joining with `after_seq` missed, or `gap` when it missed too much.

    Missed means sent, edited or deleted after `after_seq`: each such message once, in its
    current form, ordered by `changed_seq`. `last_seq` is the room's latest number.
    """
    last = await repo.last_seq(db, room_id)
    if after_seq is None:
        page = await history(db, room_id=room_id, before_seq=None, limit=recent)
        return {"last_seq": last, "gap": False, **page}
    if last - after_seq > window:
        return {"last_seq": last, "gap": True, "messages": []}
    rows = await repo.messages_after(db, room_id, after_seq, window)
    return {"last_seq": last, "gap": False, "messages": [message_dict(m, n) for m, n in rows]}
