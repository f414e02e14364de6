"""Chat's websocket actions: open, join (with resume), send, edit, delete, history, mute."""

from __future__ import annotations

from pydantic import Field

from app.auth.deps import Membership
from app.chat import service as chat_service
from app.chat.models import RoomKind
from app.chat.service import message_dict, room_dict
from app.realtime import access, channels, leads_bridge, presence
from app.realtime.protocol import push
from app.realtime.registry import Body, Context, command


class OpenBody(Body):
    booth_id: int | None = None
    private: bool = False
    visitor_id: int | None = None
    session_id: int | None = None
    event_id: int | None = None
    account_id: int | None = None


class JoinBody(Body):
    room_id: int
    after_seq: int | None = Field(default=None, ge=0)


class RoomBody(Body):
    room_id: int


class SendBody(Body):
    room_id: int
    client_msg_id: str = Field(min_length=1, max_length=64)
    body: str = Field(max_length=chat_service.MAX_LENGTH * 2)


class EditBody(Body):
    message_id: int
    body: str = Field(max_length=chat_service.MAX_LENGTH * 2)


class MessageBody(Body):
    message_id: int


class HistoryBody(Body):
    room_id: int
    before_seq: int | None = Field(default=None, ge=0)
    limit: int = Field(default=50, ge=1, le=100)


class MuteBody(Body):
    room_id: int
    account_id: int
    muted: bool = True


def _member_of(ctx: Context) -> chat_service.MemberOf:
    """Room access decided with the roles the connection remembers (app/realtime/access.py)."""

    async def member_of(event_id: int) -> Membership | None:
        return await access.member_of(ctx.db, ctx.conn, event_id)

    return member_of


@command("chat.open", OpenBody)
async def open_(ctx: Context, body: OpenBody) -> dict[str, object]:
    target = chat_service.Target(**body.model_dump())
    room = await chat_service.open_room(ctx.db, ctx.account_id, target)
    return {"room": room_dict(room)}


@command("chat.join", JoinBody)
async def join(ctx: Context, body: JoinBody) -> dict[str, object]:
    room, _member = await chat_service.room_for(
        ctx.db, ctx.account_id, body.room_id, _member_of(ctx)
    )
    # Subscribe before reading, so nothing committed meanwhile falls between the two.
    await ctx.conn.subscribe(channels.room(room.id))
    missed = await chat_service.resume(
        ctx.db,
        room_id=room.id,
        after_seq=body.after_seq,
        window=ctx.realtime.limits.resume_window,
    )
    return {"room": room_dict(room), **missed}


@command("chat.leave", RoomBody)
async def leave(ctx: Context, body: RoomBody) -> dict[str, object]:
    await ctx.conn.unsubscribe(channels.room(body.room_id))
    return {"room_id": body.room_id}


@command("chat.history", HistoryBody, reads_only=True)
async def history(ctx: Context, body: HistoryBody) -> dict[str, object]:
    await chat_service.room_for(ctx.db, ctx.account_id, body.room_id, _member_of(ctx))
    return await chat_service.history(
        ctx.db, room_id=body.room_id, before_seq=body.before_seq, limit=body.limit
    )


@command("chat.send", SendBody)
async def send(ctx: Context, body: SendBody) -> dict[str, object]:
    sent = await chat_service.send(
        ctx.db,
        account_id=ctx.account_id,
        room_id=body.room_id,
        client_msg_id=body.client_msg_id,
        text=body.body,
        member_of=_member_of(ctx),
    )
    name = ctx.conn.display_name
    data = message_dict(sent.message, name)
    if not sent.created:
        return {"message": data, "duplicate": True}
    room = sent.room
    ctx.publish(channels.room(room.id), push("chat.message", data))
    is_staff = room.exhibitor_id is not None and sent.member.staffs(room.exhibitor_id)
    if room.booth_id is not None and room.exhibitor_id is not None and not is_staff:
        visitor = await presence.visitor_card(
            ctx.db,
            event_id=room.event_id,
            exhibitor_id=room.exhibitor_id,
            account_id=ctx.account_id,
        )
        feed = {"room": room_dict(room), "message": data, "visitor": visitor}
        ctx.publish(channels.staff(room.exhibitor_id), push("staff.chat", feed))
        if room.kind == RoomKind.booth_private:
            await _record_chat(ctx, room.booth_id, room.exhibitor_id, sent.message.id)
    return {"message": data, "duplicate": False}


async def _record_chat(ctx: Context, booth_id: int, exhibitor_id: int, message_id: int) -> None:
    """A visitor writing to a booth's staff is a lead activity (`chat.message`)."""
    booth = await access.booth(ctx.db, booth_id)
    event = await access.cached_event(ctx.db, booth.event_id, ctx.realtime.remembered)
    registration = await access.registration(ctx.db, booth.event_id, ctx.account_id)
    if event is None or registration is None:
        return
    recorded = await leads_bridge.record_activity(
        ctx.db,
        event=event,
        registration=registration,
        type="chat.message",
        value=None,
        exhibitor_id=exhibitor_id,
        booth_id=booth_id,
        idempotency_key=f"chat.message:{message_id}",
    )
    for channel, data in recorded.publishes:
        ctx.publish(channel, data)


@command("chat.edit", EditBody)
async def edit(ctx: Context, body: EditBody) -> dict[str, object]:
    message = await chat_service.edit(
        ctx.db, account_id=ctx.account_id, message_id=body.message_id, text=body.body
    )
    data = message_dict(message, ctx.conn.display_name)
    ctx.publish(channels.room(message.room_id), push("chat.edited", data))
    return {"message": data}


@command("chat.delete", MessageBody)
async def delete(ctx: Context, body: MessageBody) -> dict[str, object]:
    message = await chat_service.delete(
        ctx.db, account_id=ctx.account_id, message_id=body.message_id
    )
    data: dict[str, object] = {
        "room_id": message.room_id,
        "id": message.id,
        "seq": message.seq,
        "changed_seq": message.changed_seq,
    }
    ctx.publish(channels.room(message.room_id), push("chat.deleted", data))
    return data


@command("chat.mute", MuteBody)
async def mute(ctx: Context, body: MuteBody) -> dict[str, object]:
    await chat_service.set_mute(
        ctx.db,
        account_id=ctx.account_id,
        room_id=body.room_id,
        target_id=body.account_id,
        muted=body.muted,
    )
    data: dict[str, object] = {
        "room_id": body.room_id,
        "account_id": body.account_id,
        "muted": body.muted,
    }
    ctx.publish(channels.user(body.account_id), push("chat.muted", data))
    return data
