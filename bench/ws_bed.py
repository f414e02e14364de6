"""The test bed of the ws benchmarks: a seeded database, servers in subprocesses, /proc figures."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import secrets
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert

from bench.ws_client import Client

TICKS = os.sysconf("SC_CLK_TCK")
SECRET = "bench-secret-" + "x" * 40


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def redis_pids() -> list[int]:
    """The local redis-server processes (their CPU is part of a delivery through Redis)."""
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "redis-server":
                found.append(int(comm.parent.name))
        except OSError:
            continue
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Seed:
    booth_ids: list[int]
    tokens: list[str]


def seed(db_path: Path, accounts: int, booths: int, *, registered: bool = False) -> Seed:
    """A migrated SQLite database: one live event, `booths` booths, `accounts` attendees;
    with `registered`, each attendee also registered and shares their details, so that a
    booth visit records its dwell through the lead engine and builds the staff's card."""
    from app.auth.security import digest
    from app.db import utcnow
    from app.migrate import upgrade
    from app.models import Account, AuthSession, Booth, Event, Exhibitor, Registration, Role

    upgrade(f"sqlite+aiosqlite:///{db_path}")
    engine = create_engine(f"sqlite:///{db_path}")
    now = utcnow()
    tokens = [secrets.token_urlsafe(24) for _ in range(accounts)]
    booth_ids = []
    with engine.begin() as conn:
        event_id = conn.execute(
            insert(Event).values(
                slug="bench",
                name="Bench",
                starts_at=now,
                ends_at=now + dt.timedelta(days=1),
                status="live",
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        for n in range(booths):
            exhibitor_id = conn.execute(
                insert(Exhibitor).values(event_id=event_id, slug=f"ex{n}", name=f"Ex {n}")
            ).inserted_primary_key[0]  # type: ignore[index]
            booth_ids.append(
                conn.execute(
                    insert(Booth).values(event_id=event_id, exhibitor_id=exhibitor_id)
                ).inserted_primary_key[0]  # type: ignore[index]
            )
        for n, token in enumerate(tokens):
            account_id = conn.execute(
                insert(Account).values(email=f"b{n}@example.com", display_name=f"B{n}")
            ).inserted_primary_key[0]  # type: ignore[index]
            conn.execute(
                insert(Role).values(event_id=event_id, account_id=account_id, role="attendee")
            )
            if registered:
                conn.execute(insert(Registration).values(**_registration(event_id, account_id, n)))
            conn.execute(
                insert(AuthSession).values(
                    token_hash=digest(token),
                    account_id=account_id,
                    expires_at=now + dt.timedelta(days=1),
                )
            )
    engine.dispose()
    return Seed([int(b) for b in booth_ids], tokens)


def _registration(event_id: int, account_id: int, n: int) -> dict[str, object]:
    from app.db import utcnow

    return {
        "event_id": event_id,
        "account_id": account_id,
        "email": f"b{n}@example.com",
        "first_name": f"First{n}",
        "last_name": f"Last{n}",
        "company": f"Company {n % 97}",
        "job_title": "Head of Operations",
        "job_level": "director",
        "company_type": "end_user",
        "company_size": "201-1000",
        "industry": "software",
        "country": "DE",
        "budget": "approved",
        "timeframe": "3_6m",
        "interests": [],
        "consent_share_at": utcnow(),
    }


class Server:
    def __init__(self, kind: str, env: dict[str, str], ws: str) -> None:
        self.kind = kind
        self.port = free_port()
        args = [sys.executable, "-m", "bench.ws_server", kind, str(self.port)]
        self.process = subprocess.Popen([*args, ws] if kind == "expohall" else args, env=env)

    async def ready(self) -> None:
        for _ in range(300):
            try:
                if self.kind == "expohall":
                    async with httpx.AsyncClient() as http:
                        await http.get(f"http://127.0.0.1:{self.port}/healthz")
                else:
                    client = await Client.open("127.0.0.1", self.port, "/")
                    await client.close()
                return
            except (OSError, httpx.TransportError):
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.kind} server did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:  # a graceful stop records the dwell of every visitor still connected
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Bed:
    """The servers of one run: the first takes senders (and joiners), the others listeners."""

    kind: str
    servers: list[Server]
    seed: Seed
    redis: list[int] = field(default_factory=list)
    _next_token: int = 0
    rooms: dict[int, int] = field(default_factory=dict)

    @property
    def ours(self) -> bool:
        return self.kind == "expohall"

    @property
    def pids(self) -> list[int]:
        return [s.process.pid for s in self.servers]

    @property
    def listening(self) -> list[Server]:
        return self.servers[1:] or self.servers

    def cpu(self) -> float:
        return sum(cpu_seconds(p) for p in self.pids)

    def redis_cpu(self) -> float:
        return sum(cpu_seconds(p) for p in self.redis)

    def listener_rss(self) -> int:
        return sum(rss_kib(s.process.pid) for s in self.listening)

    def token(self) -> str:
        token = self.seed.tokens[self._next_token % len(self.seed.tokens)]
        self._next_token += 1
        return token

    async def open(self, server: Server, token: str | None = None) -> Client:
        path = "/ws" if self.ours else "/"
        cookie = (token or self.token()) if self.ours else None
        for attempt in range(5):
            try:
                return await Client.open("127.0.0.1", server.port, path, cookie)
            except OSError:
                await asyncio.sleep(0.2 * (attempt + 1))
        return await Client.open("127.0.0.1", server.port, path, cookie)

    async def room_channel(self, opener: Client, index: int) -> str | int:
        """The room of booth number `index`: its id for Expohall, a channel name otherwise."""
        if not self.ours:
            return f"room:{index}"
        if index not in self.rooms:
            answer = await opener.call("chat.open", {"booth_id": self.seed.booth_ids[index]})
            self.rooms[index] = int(answer["room"]["id"])  # type: ignore[index]
        return self.rooms[index]

    async def join_room(self, client: Client, room: str | int) -> None:
        if self.ours:
            await client.call("chat.join", {"room_id": room})
        else:
            await client.call("sub", {"channel": room})

    def place(self, index: int) -> str:
        return f"booth:{self.seed.booth_ids[index]}" if self.ours else f"booth:{index}"

    async def follow_place(self, client: Client, place: str) -> None:
        await client.call("realtime.subscribe" if self.ours else "sub", {"channel": place})

    async def enter_place(self, client: Client, place: str) -> None:
        await client.call("presence.enter" if self.ours else "enter", {"place": place})

    def send_message(
        self, client: Client, room: str | int, frame_id: int, via: str, body: str
    ) -> None:
        if not self.ours:
            client.send(["pub", frame_id, {"channel": room, "body": body}])
        elif via == "publish":
            client.send(["bench.publish", frame_id, {"room_id": room, "body": body}])
        else:
            msg_id = f"{secrets.token_hex(4)}-{frame_id}"
            client.send(
                ["chat.send", frame_id, {"room_id": room, "client_msg_id": msg_id, "body": body}]
            )


async def start(kind: str, workers: int, env: dict[str, str], ws: str, found: Seed) -> Bed:
    servers = [Server(kind, env, ws) for _ in range(workers)]
    try:
        for server in servers:
            await server.ready()
    except Exception:
        for server in servers:
            server.stop()
        raise
    redis = redis_pids() if kind == "expohall" and "EXPOHALL_REDIS_URL" in env else []
    return Bed(kind, servers, found, redis)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]
