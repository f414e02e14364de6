"""The `/ws` benchmarks: Expohall against a bare `websockets` broadcast server, in one run.

    .venv/bin/python -m bench.ws_fanout fanout --subscribers 100 1000 5000 --rate 20
    .venv/bin/python -m bench.ws_fanout fanout --subscribers 500 --deliveries 10000 50000
    .venv/bin/python -m bench.ws_fanout rooms --rooms 200 --room-size 10 --rate 5
    .venv/bin/python -m bench.ws_fanout presence --rooms 200 --room-size 10 --churn 100
    (add --redis "redis://127.0.0.1:6379/0?prefix=bench:" to run Expohall on two workers)

fanout: one sender, N subscribers of one room. rooms: R rooms of S subscribers, a sender each.
presence: R booths of S resident sockets (each in its booth and following it), plus `churn`
new sockets a second that connect and enter a booth, and leave (close) `--stay` seconds later;
latency is from the join (or the close) to the resident's `presence.count` push.

Expohall's messages go `--via publish` (a bench-only command that pushes without storing:
the transport alone, like the baseline) or `--via send` (`chat.send`, with its transaction).
Each figure is for the whole server side; the clients are `bench/ws_client.py`, in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bench.results_io import save
from bench.ws_bed import SECRET, Bed, Seed, percentile, seed, start
from bench.ws_client import Client


async def _drain(received: list[int], target: int, within: float) -> None:
    for _ in range(int(within / 0.02)):
        if received[0] >= target:
            return
        await asyncio.sleep(0.02)


def _figures(
    bed: Bed,
    deliveries: int,
    expected: int,
    elapsed: float,
    cpu: float,
    lat: list[float],
    redis_cpu: float = 0.0,
) -> dict[str, Any]:
    deliveries = max(deliveries, 1)
    extra = {}
    if bed.redis:
        extra = {
            "redis_cpu_us_per_delivery": round(redis_cpu * 1e6 / deliveries, 2),
            "total_cpu_us_per_delivery": round((cpu + redis_cpu) * 1e6 / deliveries, 2),
        }
    return {
        **extra,
        "delivered_fraction": round(deliveries / max(expected, 1), 4),
        "deliveries_per_s": round(deliveries / elapsed),
        "server_cpu_us_per_delivery": round(cpu * 1e6 / deliveries, 2),
        "server_cpu_fraction": round(cpu / elapsed, 3),
        "latency_p50_ms": round(percentile(lat, 0.5) * 1000, 2),
        "latency_p99_ms": round(percentile(lat, 0.99) * 1000, 2),
    }


async def messages(
    bed: Bed, *, rooms: int, size: int, rate: float, seconds: float, via: str
) -> dict[str, Any]:
    """`rooms` rooms of `size` listeners, a sender each sending `rate` messages a second."""
    first = bed.servers[0]
    senders = [await bed.open(first) for _ in range(rooms)]
    targets = [await bed.room_channel(s, i) for i, s in enumerate(senders)]
    rss_before = bed.listener_rss()
    listeners: list[Client] = []
    for n in range(rooms * size):
        listeners.append(await bed.open(bed.listening[n % len(bed.listening)]))
    await asyncio.sleep(1.0)
    idle_kib = (bed.listener_rss() - rss_before) / len(listeners)
    for n, client in enumerate(listeners):
        await bed.join_room(client, targets[n // size])
    await asyncio.sleep(0.3)  # subscriptions reach Redis
    latencies: list[float] = []
    received = [0]

    def on_frame(data: bytes) -> None:
        frame = orjson.loads(data)
        if frame[0] == "chat.message":
            latencies.append(time.perf_counter() - float(frame[2]["body"]))
            received[0] += 1

    failures: list[object] = []

    def on_answer(data: bytes) -> None:
        frame = orjson.loads(data)
        if frame[0] == "error":
            failures.append(frame)

    for client in listeners:
        client.listen(on_frame)
    for client in senders:
        client.listen(on_answer)
    count = int(rate * seconds)
    total = count * rooms
    cpu0, t0, mine0 = bed.cpu(), time.perf_counter(), time.process_time()
    redis0 = bed.redis_cpu()
    for k in range(total):
        due = t0 + k / (rate * rooms)
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        bed.send_message(senders[k % rooms], targets[k % rooms], k, via, repr(time.perf_counter()))
    await _drain(received, total * size, 30 + seconds)
    elapsed, cpu = time.perf_counter() - t0, bed.cpu() - cpu0
    client_cpu = time.process_time() - mine0
    redis_cpu = bed.redis_cpu() - redis0
    for client in [*senders, *listeners]:
        await client.close()
    if failures:
        raise RuntimeError(f"{len(failures)} sends failed, first: {failures[0]}")
    return {
        "messages_per_s": rate * rooms,
        **_figures(bed, received[0], total * size, elapsed, cpu, latencies, redis_cpu),
        "idle_kib_per_connection": round(idle_kib, 1),
        "client_cpu_fraction": round(client_cpu / elapsed, 3),
    }


async def presence(
    bed: Bed, *, rooms: int, size: int, churn: float, seconds: float, stay: float
) -> dict[str, Any]:
    """Resident sockets in `rooms` booths; `churn` joins (and as many leaves) a second."""
    places = [bed.place(i) for i in range(rooms)]
    residents: list[Client] = []
    for n in range(rooms * size):
        client = await bed.open(bed.listening[n % len(bed.listening)])
        await bed.follow_place(client, places[n // size])
        await bed.enter_place(client, places[n // size])
        residents.append(client)
    await asyncio.sleep(0.5)
    joins: dict[str, float] = {}
    leaves: dict[str, float] = {}
    join_lat: list[float] = []
    leave_lat: list[float] = []
    deliveries = [0]

    def observer(place: str) -> Any:
        def on_frame(data: bytes) -> None:
            frame = orjson.loads(data)
            if frame[0] != "presence.count":
                return
            count = frame[2]["count"]
            if count == size + 1 and place in joins:
                join_lat.append(time.perf_counter() - joins.pop(place))
            elif count == size and place in leaves:
                leave_lat.append(time.perf_counter() - leaves.pop(place))

        return on_frame

    def counter(_data: bytes) -> None:
        deliveries[0] += 1

    for n, client in enumerate(residents):
        if n % size == 0:
            watch = observer(places[n // size])

            def both(data: bytes, watch: Any = watch) -> None:
                deliveries[0] += 1
                watch(data)

            client.listen(both)
        else:
            client.listen(counter)
    pool = bed.seed.tokens[rooms * size :]
    first = bed.servers[0]
    total = int(churn * seconds)
    errors: list[str] = []

    async def visit(k: int) -> None:
        place = places[k % rooms]
        joins[place] = time.perf_counter()
        try:
            client = await bed.open(first, pool[k % len(pool)] if bed.ours else None)
            await bed.enter_place(client, place)
        except Exception as exc:
            errors.append(repr(exc))
            joins.pop(place, None)
            return
        await asyncio.sleep(stay)
        leaves[place] = time.perf_counter()
        await client.close()

    tasks = []
    cpu0, t0 = bed.cpu(), time.perf_counter()
    redis0 = bed.redis_cpu()
    for k in range(total):
        delay = t0 + k / churn - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(visit(k)))
    await asyncio.gather(*tasks)
    for _ in range(200):
        if not (joins or leaves):
            break
        await asyncio.sleep(0.05)
    elapsed, cpu = time.perf_counter() - t0, bed.cpu() - cpu0
    redis_cpu = bed.redis_cpu() - redis0
    for client in residents:
        await client.close()
    return {
        "joins_per_s": churn,
        "joins_seen": len(join_lat),
        "leaves_seen": len(leave_lat),
        "join_errors": len(errors),
        "first_error": errors[0] if errors else None,
        **_figures(bed, deliveries[0], total * 2 * size, elapsed, cpu, join_lat, redis_cpu),
        "server_cpu_ms_per_churn_event": round(cpu * 1000 / max(1, 2 * total), 3),
        "leave_latency_p50_ms": round(percentile(leave_lat, 0.5) * 1000, 2),
        "leave_latency_p99_ms": round(percentile(leave_lat, 0.99) * 1000, 2),
    }


def _ratio(ours: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    return {
        "expohall_throughput_ratio": round(ours["deliveries_per_s"] / base["deliveries_per_s"], 3),
        "expohall_cpu_ratio": round(
            ours["server_cpu_us_per_delivery"] / max(base["server_cpu_us_per_delivery"], 1e-9), 2
        ),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "scenario", nargs="?", default="fanout", choices=["fanout", "rooms", "presence"]
    )
    parser.add_argument("--subscribers", type=int, nargs="+", default=[100, 500], help="fanout N")
    parser.add_argument("--rate", type=float, nargs="+", default=[20.0], help="msgs/s per sender")
    parser.add_argument("--deliveries", type=float, nargs="+", help="fanout: target deliveries/s")
    parser.add_argument("--rooms", type=int, default=200)
    parser.add_argument("--room-size", type=int, default=10)
    parser.add_argument("--churn", type=float, default=100.0, help="presence: joins a second")
    parser.add_argument("--stay", type=float, default=1.0, help="presence: seconds per visit")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--registered",
        action="store_true",
        help="attendees registered and consenting: visits record dwell and build staff cards",
    )
    parser.add_argument("--via", choices=["publish", "send"], default="publish")
    parser.add_argument("--ws", nargs="+", default=["wire"], help="how uvicorn serves /ws")
    parser.add_argument("--redis", default=None, help="EXPOHALL_REDIS_URL: two workers")
    parser.add_argument("--name", default=None, help="results file name (ws_ is prepended)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="ws-bench-"))
    if args.scenario == "fanout":
        cases = [
            (n, rate)
            for n in args.subscribers
            for rate in ([d / n for d in args.deliveries] if args.deliveries else args.rate)
        ]
        accounts, booths = max(args.subscribers) + 1, 1
    else:
        cases = [(args.room_size, rate) for rate in args.rate]
        accounts = args.rooms * args.room_size + args.rooms + int(args.churn * args.stay * 2) + 10
        booths = args.rooms
    found: Seed = await asyncio.to_thread(
        seed, workdir / "bench.db", accounts, booths, registered=args.registered
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
    results: list[dict[str, Any]] = []
    for size, rate in cases:
        runs: dict[str, dict[str, Any]] = {}
        for kind, ws in [("baseline", "-"), *(("expohall", w) for w in args.ws)]:
            workers = 2 if args.redis and kind == "expohall" else 1
            bed = await start(kind, workers, env, ws, found)
            try:
                if args.scenario == "presence":
                    figures = await presence(
                        bed,
                        rooms=args.rooms,
                        size=size,
                        churn=args.churn,
                        seconds=args.seconds,
                        stay=args.stay,
                    )
                else:
                    rooms = 1 if args.scenario == "fanout" else args.rooms
                    figures = await messages(
                        bed, rooms=rooms, size=size, rate=rate, seconds=args.seconds, via=args.via
                    )
            finally:
                for server in bed.servers:
                    server.stop()
            row = {
                "scenario": args.scenario,
                "server": kind,
                "ws": ws,
                "workers": workers,
                "via": args.via if kind == "expohall" else "-",
                "size": size,
                **figures,
            }
            runs[f"{kind}:{ws}"] = row
            results.append(row)
            print(orjson.dumps(row).decode(), flush=True)
        base = runs["baseline:-"]
        for key, row in runs.items():
            if key != "baseline:-":
                row.update(_ratio(row, base))
    name = args.name or (args.scenario + ("_redis" if args.redis else ""))
    save("ws_" + name, {"args": vars(args), "runs": results})
    _table(results)


def _table(results: list[dict[str, Any]]) -> None:
    cols = [
        ("server", "server"),
        ("ws", "ws"),
        ("workers", "w"),
        ("size", "N"),
        ("deliveries_per_s", "deliv/s"),
        ("server_cpu_us_per_delivery", "µs/deliv"),
        ("redis_cpu_us_per_delivery", "redis µs"),
        ("latency_p50_ms", "p50 ms"),
        ("latency_p99_ms", "p99 ms"),
        ("idle_kib_per_connection", "KiB/idle"),
        ("expohall_cpu_ratio", "cpu×"),
        ("expohall_throughput_ratio", "thru×"),
    ]
    print(" | ".join(title for _key, title in cols))
    for row in results:
        print(" | ".join(str(row.get(key, "")) for key, _title in cols))


if __name__ == "__main__":
    asyncio.run(main())
