"""The command registry: each domain's `live.py` registers its websocket actions here."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

if TYPE_CHECKING:
    from app.realtime.connection import Connection
    from app.realtime.runtime import Realtime

B = TypeVar("B", bound=BaseModel)

# Modules whose import registers commands.
LIVE_MODULES = ("app.realtime.live", "app.realtime.presence_live", "app.chat.live")


class Body(BaseModel):
    """Base of command bodies: unknown keys are refused."""

    model_config = {"extra": "forbid", "frozen": True}


class Empty(Body):
    pass


@dataclass
class Context:
    """What a command sees: its own transaction, the connection, and after-commit work.

    The session is opened on first use of `db`: commands that touch no table (a publish,
    an unsubscribe, a heartbeat answered from the connection's cache) cost no transaction.
    """

    conn: Connection
    realtime: Realtime
    sessionmaker: async_sessionmaker[AsyncSession] | None = None
    reads_only: bool = False  # the command's session only reads (`command(reads_only=True)`)
    _db: AsyncSession | None = None
    _after: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @property
    def db(self) -> AsyncSession:
        db = self._db
        if db is None:
            rt = self.realtime
            make = self.sessionmaker or (rt.reader() if self.reads_only else rt.sessionmaker)
            db = self._db = make()
        return db

    @property
    def opened(self) -> AsyncSession | None:
        """The session, if the command used one."""
        return self._db

    @property
    def account_id(self) -> int:
        return self.conn.account_id

    def after_commit(self, job: Callable[[], Awaitable[None]]) -> None:
        """Run `job` once the transaction has committed (publishes go here)."""
        self._after.append(job)

    def publish(self, channel: str, data: bytes) -> None:
        hub = self.realtime.hub
        self.after_commit(lambda: hub.publish(channel, data))


Handler = Callable[[Context, B], Awaitable[object]]


@dataclass(frozen=True)
class Command(Generic[B]):
    name: str
    body: type[B]
    handler: Handler[B]
    reads_only: bool = False


COMMANDS: dict[str, Command[BaseModel]] = {}


def command(
    name: str, body: type[B], *, reads_only: bool = False
) -> Callable[[Handler[B]], Handler[B]]:
    """Register `handler` as the websocket action `name`, its body validated by `body`.

    `reads_only`: the handler never writes, so on SQLite its transaction is a DEFERRED
    snapshot that never waits for, nor holds up, the write lock (`Realtime.reader`). Only
    for commands whose reads need no lock either (`chat.join` does: it must not miss a
    message committed between its first read and its subscription).
    """

    def register(handler: Handler[B]) -> Handler[B]:
        if name in COMMANDS:
            raise RuntimeError(f"websocket action {name} registered twice")
        COMMANDS[name] = Command(name, body, handler, reads_only)  # type: ignore[arg-type]
        return handler

    return register


def load_commands() -> dict[str, Command[BaseModel]]:
    for module in LIVE_MODULES:
        importlib.import_module(module)
    return COMMANDS
