"""Every channel name of the hub, built in this one module."""

from __future__ import annotations


def booth(booth_id: int) -> str:
    return f"booth:{booth_id}"


def session(session_id: int) -> str:
    return f"session:{session_id}"


def staff(exhibitor_id: int) -> str:
    return f"staff:{exhibitor_id}"


def event(event_id: int) -> str:
    return f"event:{event_id}"


def room(room_id: int) -> str:
    return f"room:{room_id}"


def user(account_id: int) -> str:
    return f"user:{account_id}"


KINDS = frozenset({"booth", "session", "staff", "event", "room", "user"})


def parse(channel: str) -> tuple[str, int]:
    """Split `booth:12` into ("booth", 12); ValueError for anything else."""
    kind, sep, raw = channel.partition(":")
    if not sep or kind not in KINDS or not raw.isdigit() or len(raw) > 18:
        raise ValueError(f"not a channel name: {channel!r}")
    return kind, int(raw)
