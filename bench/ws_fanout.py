"""Fan-out: one sender, N subscribers in one room; Expohall's /ws against a bare broadcaster.

    .venv/bin/python -m bench.ws_fanout --subscribers 100 500 --rate 100 --seconds 5

For each N and server it reports delivered messages per second, server CPU microseconds per
delivery, p50/p99 latency (send to receive, same clock) and server memory per idle
connection, then Expohall as a ratio of the baseline. Clients run in this process (no
compression on either side), so on a small machine they compete with the server for CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, insert
from websockets.asyncio.client import ClientConnection, connect

from bench.results_io import save

TICKS = os.sysconf("SC_CLK_TCK")
SECRET = "bench-secret-" + "x" * 40


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _seed(db_path: Path, accounts: int) -> tuple[int, list[str]]:
    """A migrated SQLite database with one event, one booth and `accounts` logged-in attendees."""
    from app.auth.security import digest
    from app.db import utcnow
    from app.migrate import upgrade
    from app.models import Account, AuthSession, Booth, Event, Exhibitor, Role

    url = f"sqlite+aiosqlite:///{db_path}"
    upgrade(url)
    engine = create_engine(f"sqlite:///{db_path}")
    now = utcnow()
    import datetime as dt

    tokens = [secrets.token_urlsafe(24) for _ in range(accounts)]
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
        exhibitor_id = conn.execute(
            insert(Exhibitor).values(event_id=event_id, slug="acme", name="Acme")
        ).inserted_primary_key[0]  # type: ignore[index]
        booth_id = conn.execute(
            insert(Booth).values(event_id=event_id, exhibitor_id=exhibitor_id)
        ).inserted_primary_key[0]  # type: ignore[index]
        for n, token in enumerate(tokens):
            account_id = conn.execute(
                insert(Account).values(email=f"b{n}@example.com", display_name=f"B{n}")
            ).inserted_primary_key[0]  # type: ignore[index]
            conn.execute(
                insert(Role).values(event_id=event_id, account_id=account_id, role="attendee")
            )
            conn.execute(
                insert(AuthSession).values(
                    token_hash=digest(token),
                    account_id=account_id,
                    expires_at=now + dt.timedelta(days=1),
                )
            )
    engine.dispose()
    return int(booth_id), tokens


class Server:
    def __init__(self, kind: str, env: dict[str, str]) -> None:
        self.kind = kind
        self.port = _free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.ws_server", kind, str(self.port)], env=env
        )

    async def ready(self) -> None:
        for _ in range(300):
            try:
                if self.kind == "expohall":
                    async with httpx.AsyncClient() as http:
                        await http.get(f"http://127.0.0.1:{self.port}/healthz")
                else:
                    async with connect(f"ws://127.0.0.1:{self.port}/"):
                        pass
                return
            except (OSError, httpx.TransportError):
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.kind} server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


async def _open(url: str, token: str | None) -> ClientConnection:
    headers = {"Cookie": f"expohall_session={token}"} if token else {}
    return await connect(
        url, additional_headers=headers, compression=None, max_queue=None, open_timeout=30
    )


async def _receive(ws: ClientConnection, latencies: list[float], expect: int, ours: bool) -> None:
    got = 0
    while got < expect:
        raw = await ws.recv()
        frame = json.loads(raw)
        if ours:
            if frame[0] != "chat.message":
                continue
            sent_at = float(frame[2]["body"])
        else:
            sent_at = float(frame[1])
        latencies.append(time.perf_counter() - sent_at)
        got += 1


async def run_one(
    kind: str,
    n: int,
    rate: float,
    seconds: float,
    env: dict[str, str],
    booth_id: int,
    tokens: list[str],
    workers: int = 1,
) -> dict[str, Any]:
    """One scenario; with `workers` > 1 the sender is on the first, subscribers on the others."""
    servers = [Server(kind, env) for _ in range(workers)]
    try:
        for server in servers:
            await server.ready()
        ours = kind == "expohall"
        path = "ws" if ours else ""
        urls = [f"ws://127.0.0.1:{server.port}/{path}" for server in servers]
        sub_servers = servers[1:] or servers
        sender = await _open(urls[0], tokens[0] if ours else None)
        rss_before = sum(_rss_kib(s.process.pid) for s in sub_servers)
        subs = [
            await _open(
                urls[servers.index(sub_servers[i % len(sub_servers)])],
                tokens[1 + i] if ours else None,
            )
            for i in range(n)
        ]
        await asyncio.sleep(0.5)
        rss_idle = (sum(_rss_kib(s.process.pid) for s in sub_servers) - rss_before) / n
        room_id = 0
        if ours:
            await sender.send(json.dumps(["chat.open", 1, {"booth_id": booth_id}]))
            room_id = json.loads(await sender.recv())[2]["room"]["id"]
            for sub in subs:
                await sub.send(json.dumps(["chat.join", 1, {"room_id": room_id}]))
                answer = json.loads(await sub.recv())
                if answer[0] != "success":
                    raise RuntimeError(f"chat.join failed: {answer}")
            await asyncio.sleep(0.3)  # subscriptions reach Redis
        count = int(rate * seconds)
        run = secrets.token_hex(4)  # fresh client message ids: resends would be deduplicated
        latencies: list[float] = []
        readers = [asyncio.create_task(_receive(s, latencies, count, ours)) for s in subs]
        pids = [s.process.pid for s in servers]
        cpu0, t0 = sum(_cpu_seconds(p) for p in pids), time.perf_counter()
        for i in range(count):
            due = t0 + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            stamp = repr(time.perf_counter())
            if ours:
                body = {"room_id": room_id, "client_msg_id": f"{run}-{i}", "body": stamp}
                await sender.send(json.dumps(["chat.send", i, body]))
            else:
                await sender.send(json.dumps(["m", stamp]))
        if ours:
            answers = [json.loads(await sender.recv()) for _ in range(count)]
            failed = [a for a in answers if a[0] != "success"]
            if failed:
                raise RuntimeError(f"{len(failed)} sends failed, first: {failed[0]}")
        _done, late = await asyncio.wait(readers, timeout=30 + seconds)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        elapsed = time.perf_counter() - t0
        cpu = sum(_cpu_seconds(p) for p in pids) - cpu0
        for ws in [sender, *subs]:
            await ws.close()
        deliveries = max(1, len(latencies))
        latencies.sort()
        return {
            "server": kind,
            "workers": workers,
            "subscribers": n,
            "messages": count,
            "delivered_fraction": round(deliveries / (count * n), 4),
            "deliveries_per_s": round(deliveries / elapsed),
            "server_cpu_us_per_delivery": round(cpu * 1e6 / deliveries, 2),
            "latency_p50_ms": round(statistics.median(latencies) * 1000, 2),
            "latency_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
            "idle_kib_per_connection": round(rss_idle, 1),
        }
    finally:
        for server in servers:
            server.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--rate", type=float, default=100.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--redis", default=None, help="EXPOHALL_REDIS_URL: run Expohall on two workers"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="ws-bench-"))
    # Alembic runs its own event loop: seed in a thread.
    booth_id, tokens = await asyncio.to_thread(
        _seed, workdir / "bench.db", max(args.subscribers) + 1
    )
    env = {
        **os.environ,
        "EXPOHALL_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'bench.db'}",
        "EXPOHALL_SECRET_KEY": SECRET,
        "EXPOHALL_DATA_DIR": str(workdir / "data"),
        "EXPOHALL_LOG_LEVEL": "WARNING",
    }
    if args.redis:
        env["EXPOHALL_REDIS_URL"] = args.redis
    results = []
    for n in args.subscribers:
        pair = {}
        for kind in ("baseline", "expohall"):
            workers = 2 if args.redis and kind == "expohall" else 1
            pair[kind] = await run_one(
                kind, n, args.rate, args.seconds, env, booth_id, tokens, workers
            )
            results.append(pair[kind])
            print(json.dumps(pair[kind]), flush=True)
        results.append(
            {
                "subscribers": n,
                "expohall_throughput_ratio": round(
                    pair["expohall"]["deliveries_per_s"] / pair["baseline"]["deliveries_per_s"], 3
                ),
                "expohall_cpu_ratio": round(
                    pair["expohall"]["server_cpu_us_per_delivery"]
                    / max(pair["baseline"]["server_cpu_us_per_delivery"], 1e-9),
                    2,
                ),
            }
        )
    save("ws_fanout" + ("_redis" if args.redis else ""), {"rate": args.rate, "runs": results})


if __name__ == "__main__":
    asyncio.run(main())
