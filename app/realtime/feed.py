"""The exhibitor staff's live feed: what other code publishes to `staff:{exhibitor_id}`."""

from __future__ import annotations

from typing import Literal

from fastapi import FastAPI

from app.realtime import channels
from app.realtime.protocol import push
from app.realtime.runtime import Realtime

StaffEvent = Literal[
    "staff.visitor_entered",
    "staff.visitor_left",
    "staff.chat",
    "staff.hand_raise",
    "staff.mql",
    "staff.activity",
]


def realtime_of(app: FastAPI) -> Realtime:
    found: Realtime = app.state.realtime
    return found


async def notify_staff(
    realtime: Realtime, *, exhibitor_id: int, event: StaffEvent, body: dict[str, object]
) -> None:
    """Push `event` to the exhibitor's staff consoles; call it after your transaction commits."""
    await realtime.hub.publish(channels.staff(exhibitor_id), push(event, body))
