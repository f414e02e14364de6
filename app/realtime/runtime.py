"""The realtime runtime of one process: hub, limits, presence store and live connections."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.realtime.access import Remembered
from app.realtime.connection import Connection
from app.realtime.hub import Hub
from app.realtime.presence_store import PresenceStore
from app.realtime.protocol import Outgoing, push


@dataclass
class Limits:
    max_frame_bytes: int = 16 * 1024
    send_queue: int = 256
    rate_per_second: float = 20.0
    rate_burst: int = 40
    lifetime_seconds: float = 4 * 3600.0
    resume_window: int = 500
    presence_timeout: float = 45.0
    presence_sweep: float = 10.0

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        """The limits the settings name (`EXPOHALL_WS_*`, ...; docs/configuration.md)."""
        timeout = settings.presence_timeout_seconds
        return cls(
            max_frame_bytes=settings.ws_max_frame_bytes,
            send_queue=settings.ws_send_queue,
            rate_per_second=settings.ws_rate_per_second,
            rate_burst=settings.ws_rate_burst,
            lifetime_seconds=settings.ws_lifetime_seconds,
            resume_window=settings.chat_resume_window,
            presence_timeout=timeout,
            # A tab that stopped heartbeating is dropped within about 1.2 x the timeout.
            presence_sweep=min(10.0, timeout / 4),
        )


RESYNC = Outgoing.of(push("realtime.resync", {}))


@dataclass
class Realtime:
    hub: Hub
    sessionmaker: async_sessionmaker[AsyncSession]
    settings: Settings
    presence: PresenceStore
    limits: Limits = field(default_factory=Limits)
    connections: set[Connection] = field(default_factory=set)
    # Which event (and exhibitor) each place belongs to, and events; see app/realtime/access.py.
    remembered: Remembered = field(default_factory=Remembered)
    clock: Callable[[], float] = time.time
    # Sessions for reads alone: on SQLite a DEFERRED transaction (see `reader`).
    read_sessionmaker: async_sessionmaker[AsyncSession] | None = None

    def reader(self) -> async_sessionmaker[AsyncSession]:
        """Sessions that only read. Every other session on SQLite begins IMMEDIATE, taking the
        database's one write lock, so a login check or a presence count would queue behind
        each visit's dwell record; these read a snapshot instead."""
        return self.read_sessionmaker or self.sessionmaker

    def allowed_origins(self) -> frozenset[str]:
        return frozenset(
            origin_of(url) for url in (self.settings.base_url, *self.settings.trusted_origins)
        )

    def resync(self) -> None:
        """The hub reconnected: ask every client to resume from the database."""
        for conn in tuple(self.connections):
            conn.send(RESYNC)


def origin_of(url: str) -> str:
    """`https://example.org:8443` from any URL (the form browsers send in `Origin`)."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}".lower()
