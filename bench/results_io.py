"""Shared by the benchmarks: print figures and save them with the command, date and machine."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    mem_kib = 0
    try:
        with open("/proc/meminfo") as fh:
            mem_kib = int(fh.readline().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return {
        "hostname": platform.node(),
        "cpus": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def tree_rss_mib(pid: int | None = None) -> float:
    """Resident memory now of a process and its children (Linux /proc), in MiB."""
    pid = pid or os.getpid()
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/status") as fh:
                total += next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as fh:
                    todo.extend(int(child) for child in fh.read().split())
        except (OSError, StopIteration, ValueError):
            continue  # gone meanwhile
    return round(total / 1024, 1)


class TreePeak:
    """Samples `tree_rss_mib` every `every` seconds while its `async with` block runs."""

    def __init__(self, every: float = 0.2) -> None:
        self.every, self.peak = every, 0.0
        self._task: Any = None

    async def _sample(self) -> None:
        import asyncio

        while True:
            self.peak = max(self.peak, tree_rss_mib())
            await asyncio.sleep(self.every)

    async def __aenter__(self) -> TreePeak:
        import asyncio

        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.peak = max(self.peak, tree_rss_mib())
        self._task.cancel()


class LoopLag:
    """How late a ticker that sleeps `every` seconds wakes while its `async with` block runs:
    the time the event loop was held up (by a statement run on its thread, say), as a
    worker's requests and sockets would wait. `max_ms` and `p99_ms` once the block ends."""

    def __init__(self, every: float = 0.005) -> None:
        self.every = every
        self.lags: list[float] = []
        self._task: Any = None

    async def _tick(self) -> None:
        import asyncio
        import time

        while True:
            started = time.perf_counter()
            await asyncio.sleep(self.every)
            self.lags.append(time.perf_counter() - started - self.every)

    async def __aenter__(self) -> LoopLag:
        import asyncio

        self._task = asyncio.create_task(self._tick())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._task.cancel()

    @property
    def max_ms(self) -> float:
        return round(max(self.lags, default=0.0) * 1000, 1)

    @property
    def p99_ms(self) -> float:
        ordered = sorted(self.lags)
        return round(ordered[int(len(ordered) * 0.99)] * 1000, 1) if ordered else 0.0


class BusyLoop:
    """Keeps the event loop busy `fraction` of the time (0 < fraction <= 1) while its `async
    with` block runs, in slices of about 1 ms of Python, as a worker serving requests is."""

    def __init__(self, fraction: float) -> None:
        self.fraction = fraction
        self._task: Any = None

    async def _spin(self) -> None:
        import asyncio
        import time

        pause = 0.001 * (1 - self.fraction) / self.fraction
        while True:
            until = time.perf_counter() + 0.001
            while time.perf_counter() < until:
                pass
            await asyncio.sleep(pause)

    async def __aenter__(self) -> BusyLoop:
        import asyncio

        if self.fraction > 0:
            self._task = asyncio.create_task(self._spin())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()


def peak_child_rss_mib() -> float:
    """Peak resident memory of the largest child process that has ended (helper processes),
    in MiB; 0 without children."""
    return round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)


def command() -> str:
    """How this run was started: `python -m bench.NAME ARGS` when run as a module."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    start = ["-m", spec.name] if spec is not None and spec.name else sys.argv[:1]
    return " ".join([Path(sys.executable).name, *start, *sys.argv[1:]])


def save(name: str, figures: dict[str, Any]) -> Path:
    """Write bench/results/NAME.json and print the figures."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    record = {
        "name": name,
        "command": command(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "figures": figures,
    }
    path = RESULTS / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(path)
    print(json.dumps(figures, indent=2))
    print(f"saved {path}")
    return path
