"""Lead export: 100,000 leads in each format, streamed over HTTP and written by the CLI.

    .venv/bin/python -m bench.leads_export                 # 50,000 attendees, 100,000 leads
    .venv/bin/python -m bench.leads_export --attendees 5000  # a quick run
    .venv/bin/python -m bench.leads_export --postgres postgresql+asyncpg://postgres@127.0.0.1/postgres

SQLite in a temporary file (or, with --postgres, a database created on that server and dropped
afterwards), built by the migrations. One event, 10 exhibitors; each attendee has an
event-level lead and one exhibitor lead (so 2 x --attendees leads), three reasons each, and
three activities at that exhibitor's booth (1.5 activities per lead on average). Every lead
has the same three reasons unless --distinct-reasons gives each lead its own points (the
exporter then cannot reuse the text of one lead's reasons for the next).

(a) HTTP: a real uvicorn subprocess (`uvicorn app.asgi:app`, one worker, started afresh for
    each format so that its peak memory is that format's); httpx streams
    GET /api/events/{slug}/leads/export?format=... with an organizer's API token over TCP,
    --repeat times. Seconds until the last byte and time to the first body byte (medians),
    and the server's peak resident memory (VmHWM of the process) are measured.
(b) CLI: `expohall export --event ... --format ... --output FILE` as a subprocess; seconds
    (Python's start-up included) and its peak resident memory (VmHWM, polled every 20 ms).
(c) Reference, same run: `sqlite3 -csv` (PostgreSQL: `psql -c "COPY ... TO STDOUT CSV"`)
    dumps the same leads joined with their registrations (no activity counts, no reasons)
    to a file, --repeat times before the exports and again after them; the median.
The issue states its targets in seconds on this machine when its reference took 0.16 s; the
machine is shared and its speed varies from day to day, so the CSV target is also scaled by
today's reference (csv_target_scaled_seconds; both verdicts are printed).
The output of every run is checked: 100,000 data rows.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Connection, create_engine, insert, make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from app.auth.models import Account, ApiToken
from app.auth.security import digest
from app.booths.models import Booth, Exhibitor
from app.events.models import Event, Registration, Role
from app.leads.models import Activity, Lead
from app.migrate import upgrade
from bench.results_io import save

SLUG = "bench-export"
SECRET = "bench-secret-" + "x" * 40
TOKEN = "exh_bench_" + "t" * 32
EXHIBITORS = 10
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
FORMATS = ("csv", "xlsx", "jsonl")
REFERENCE_SECONDS = 0.16  # the issue's `sqlite3 -csv` of 100k rows on this machine
TARGETS = {"csv_seconds": 1.5, "csv_first_byte_ms": 200, "xlsx_seconds": 20, "peak_mib": 200}
VENV = Path(sys.executable).parent


def fill(url: str, attendees: int, *, distinct_reasons: bool = False) -> int:
    """The event, its exhibitors, attendees, leads and activities; returns the lead count."""
    if url.startswith("sqlite"):
        engine = create_engine(url.replace("+aiosqlite", ""))
        with engine.begin() as conn:
            leads = _fill(conn, attendees, distinct_reasons)
        engine.dispose()
        return leads

    async def fill_async() -> int:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            leads = await conn.run_sync(_fill, attendees, distinct_reasons)
            # Statistics as autovacuum would soon gather them: without, the planner takes
            # the tables for empty and scans every activity of the event for each chunk.
            await conn.execute(text("ANALYZE"))
        await engine.dispose()
        return leads

    return asyncio.run(fill_async())


def _fill(conn: Connection, attendees: int, distinct_reasons: bool) -> int:
    rng = random.Random(7)
    event_id = conn.execute(
        insert(Event).values(
            slug=SLUG, name="Bench Expo", starts_at=NOW, ends_at=NOW + dt.timedelta(days=2)
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    conn.execute(
        insert(Exhibitor),
        [
            {"event_id": event_id, "slug": f"ex-{i}", "name": f"Exhibitor {i}"}
            for i in range(1, EXHIBITORS + 1)
        ],
    )
    conn.execute(insert(Booth), [{"event_id": event_id, "exhibitor_id": i} for i in range(1, 11)])
    account_id = conn.execute(
        insert(Account).values(email="organizer@bench.example", display_name="Organizer")
    ).inserted_primary_key[0]  # type: ignore[index]
    conn.execute(insert(Role).values(event_id=event_id, account_id=account_id, role="organizer"))
    conn.execute(
        insert(ApiToken).values(
            account_id=account_id, name="bench", prefix=TOKEN[:12], token_hash=digest(TOKEN)
        )
    )
    conn.execute(
        insert(Registration),
        [
            {
                "event_id": event_id,
                "email": f"attendee{n}@example.com",
                "first_name": f"First{n}",
                "last_name": f"Last{n}",
                "company": f"Company {n % 997}",
                "job_title": '=HYPERLINK("x")' if n % 500 == 0 else "Head of Buying",
                "phone": "+44 20 7946 0958",
                "job_level": "director",
                "company_type": "end_user",
                "company_size": "201-1000",
                "industry": "software",
                "country": "GB",
                "budget": "approved",
                "timeframe": "3_6m",
                "consent_share_at": NOW,
            }
            for n in range(1, attendees + 1)
        ],
    )
    base: list[dict[str, Any]] = [
        {"rule": "info", "points": 15.0, "label": "requested info", "dimension": "engagement"},
        {
            "rule": "dl",
            "points": 5.0,
            "label": "downloaded 'Pricing'",
            "dimension": "engagement",
        },
        {
            "rule": "visit",
            "points": 2.0,
            "label": "visited the booth",
            "dimension": "engagement",
        },
    ]
    leads: list[dict[str, Any]] = []
    activities: list[dict[str, Any]] = []
    for n in range(1, attendees + 1):
        ex = n % EXHIBITORS + 1
        for scope, exhibitor in ((0, None), (ex, ex)):
            reasons = base
            if distinct_reasons:  # points that differ from every other lead's
                step = (2 * n + (scope > 0)) / 1e6
                reasons = [{**r, "points": r["points"] + step} for r in base]
            leads.append(
                {
                    "event_id": event_id,
                    "registration_id": n,
                    "exhibitor_id": exhibitor,
                    "scope": scope,
                    "fit": 75.0,
                    "grade": "A",
                    "engagement": round(rng.uniform(0, 100), 1),
                    "tier": rng.randint(1, 4),
                    "cell": "A2",
                    "stage": "mql",
                    "mql_at": NOW,
                    "last_activity_at": NOW,
                    "contributions": reasons,
                    "state": {},
                }
            )
        for k, type_ in enumerate(("booth.visit", "booth.dwell", "resource.download")):
            activities.append(
                {
                    "event_id": event_id,
                    "registration_id": n,
                    "exhibitor_id": ex,
                    "type": type_,
                    "at": NOW,
                    "value": 120.0 if type_ == "booth.dwell" else None,
                    "meta": {},
                    "idempotency_key": f"a{n}-{k}",
                }
            )
    conn.execute(insert(Lead), leads)
    conn.execute(insert(Activity), activities)
    return len(leads)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "EXPOHALL_DATABASE_URL": url,
        "EXPOHALL_SECRET_KEY": SECRET,
        "EXPOHALL_LOG_LEVEL": "WARNING",
    }


def peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def data_rows(fmt: str, path: Path) -> int:
    if fmt == "xlsx":
        with zipfile.ZipFile(path) as z, z.open("xl/worksheets/sheet1.xml") as sheet:
            count, tail = 0, b""
            while chunk := sheet.read(1 << 20):
                data = tail + chunk  # a "<row " cut in two by the read is counted once
                count += data.count(b"<row ")
                tail = data[-4:]
        return count - 1
    with path.open("rb") as fh:
        lines = sum(1 for _ in fh)
    return lines - (0 if fmt == "jsonl" else 1)


def http_export(url: str, fmt: str, out: Path, repeat: int = 1) -> dict[str, Any]:
    """`repeat` downloads from one server (started afresh for the format); the figures are
    the median run's, the peak memory the highest of all."""
    port = free_port()
    server = subprocess.Popen(
        [str(VENV / "uvicorn"), "app.asgi:app", "--port", str(port), "--log-level", "warning"],
        env=env_for(url),
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(f"{base}/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        idle = peak_mib(server.pid)
        runs = [_download(f"{base}/api/events/{SLUG}/leads/export?format={fmt}", out)]
        for _ in range(repeat - 1):
            runs.append(_download(f"{base}/api/events/{SLUG}/leads/export?format={fmt}", out))
        seconds = sorted(r[0] for r in runs)
        size = runs[0][2]
        return {
            "seconds": round(statistics.median(seconds), 3),
            "runs_seconds": [round(s, 3) for s in seconds],
            "first_byte_ms": round(statistics.median(r[1] for r in runs) * 1000, 1),
            "mib": round(size / 2**20, 1),
            "server_peak_mib": peak_mib(server.pid),
            "server_idle_mib": idle,
            "rows": data_rows(fmt, out),
        }
    finally:
        server.terminate()
        server.wait(10)


def _download(url: str, out: Path) -> tuple[float, float, int]:
    """Seconds to the last byte, seconds to the first body byte, bytes."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    size = 0
    start = time.perf_counter()
    first = None
    with httpx.stream("GET", url, headers=headers, timeout=900) as response, out.open("wb") as fh:
        response.raise_for_status()
        for chunk in response.iter_raw():
            if first is None:
                first = time.perf_counter() - start
            fh.write(chunk)
            size += len(chunk)
    seconds = time.perf_counter() - start
    return seconds, first or seconds, size


def cli_export(url: str, fmt: str, out: Path) -> dict[str, Any]:
    start = time.perf_counter()
    args = ["--event", SLUG, "--format", fmt, "--output", str(out)]
    proc = subprocess.Popen(
        [str(VENV / "expohall"), "export", *args], env=env_for(url), stdout=subprocess.DEVNULL
    )
    # Peak memory from the child's VmHWM, read until it exits: its rusage maxrss would start
    # at this (bigger) process's size, inherited across fork.
    peak = 0.0
    while proc.poll() is None:
        try:
            peak = max(peak, peak_mib(proc.pid))
        except OSError:
            break
        time.sleep(0.02)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"expohall export failed: {proc.returncode}")
    return {"seconds": round(seconds, 3), "peak_mib": peak, "rows": data_rows(fmt, out)}


REFERENCE_SQL = """
SELECT l.id, e.name, r.first_name, r.last_name, r.email, r.company, r.job_title, r.phone,
       r.job_level, r.company_type, r.company_size, r.industry, r.country, r.budget,
       r.timeframe, r.consent_share_at, r.consent_marketing_at, l.fit, l.grade, l.engagement,
       l.tier, l.cell, l.buying_stage, l.stage, l.mql_at, l.owner_id, l.last_activity_at,
       l.rules_version
FROM leads l JOIN registrations r ON r.id = l.registration_id
LEFT JOIN exhibitors e ON e.id = l.exhibitor_id ORDER BY l.id
"""


def reference(url: str, out: Path) -> dict[str, Any]:
    start = time.perf_counter()
    if not url.startswith("sqlite"):
        u = make_url(url)
        psql = [
            "psql", "-X", "-q", "-h", u.host or "127.0.0.1", "-p", str(u.port or 5432),
            "-U", u.username or "postgres", "-d", u.database or "postgres",
            "-c", f"COPY ({REFERENCE_SQL}) TO STDOUT WITH CSV",
        ]  # fmt: skip
        with out.open("wb") as fh:
            subprocess.run(psql, stdout=fh, check=True)
        tool = "psql COPY TO STDOUT CSV"
    elif (sqlite3 := shutil.which("sqlite3")) is not None:
        with out.open("wb") as fh:
            subprocess.run(
                [sqlite3, "-csv", sqlite_path(url), REFERENCE_SQL], stdout=fh, check=True
            )
        tool = "sqlite3 -csv"
    else:  # the CLI is missing: Python's sqlite3 module and csv writer instead
        import csv
        import sqlite3 as sqlite

        with sqlite.connect(sqlite_path(url)) as conn, out.open("w", newline="") as fh:
            csv.writer(fh).writerows(conn.execute(REFERENCE_SQL))
        tool = "python sqlite3 module + csv"
    seconds = time.perf_counter() - start
    with out.open("rb") as fh:
        rows = sum(1 for _ in fh)
    return {"tool": tool, "seconds": round(seconds, 3), "rows": rows}


def sqlite_path(url: str) -> str:
    return url.split(":///", 1)[1]


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(statement))
    await engine.dispose()


def measure(url: str, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    upgrade(url)
    start = time.perf_counter()
    leads = fill(url, args.attendees, distinct_reasons=args.distinct_reasons)
    figures: dict[str, Any] = {
        "database": make_url(url).get_backend_name(),
        "leads": leads,
        "distinct_reasons": args.distinct_reasons,
        "repeat": args.repeat,
        "fill_seconds": round(time.perf_counter() - start, 1),
        "load_average_1m_at_start": os.getloadavg()[0],
    }
    # The reference runs before and after ours, so that a machine that slows down or speeds
    # up during the run weighs on both sides of the ratio.
    references = [reference(url, folder / "reference.csv") for _ in range(args.repeat)]
    formats = tuple(args.formats)
    for fmt in formats:
        figures[f"http_{fmt}"] = http_export(url, fmt, folder / f"http.{fmt}", args.repeat)
    for fmt in formats:
        figures[f"cli_{fmt}"] = cli_export(url, fmt, folder / f"cli.{fmt}")
    references += [reference(url, folder / "reference.csv") for _ in range(args.repeat)]
    figures["reference"] = {
        **references[0],
        "seconds": round(statistics.median(r["seconds"] for r in references), 3),
        "runs_seconds": sorted(r["seconds"] for r in references),
    }
    for fmt in formats:
        for way in ("http", "cli"):
            if figures[f"{way}_{fmt}"]["rows"] != leads:
                raise SystemExit(f"{way} {fmt}: {figures[f'{way}_{fmt}']['rows']} rows")
    peaks = [figures[f"http_{f}"]["server_peak_mib"] for f in formats]
    peaks += [figures[f"cli_{f}"]["peak_mib"] for f in formats]
    figures["targets"] = TARGETS
    # The seconds were measured when its reference took REFERENCE_SECONDS: on a
    # machine that is slower now (it is shared), a target in seconds scales with it.
    # (The reference is `sqlite3 -csv`; PostgreSQL's COPY gets the ratio only.)
    sqlite = figures["database"] == "sqlite"
    scale = figures["reference"]["seconds"] / REFERENCE_SECONDS if sqlite else 1.0
    if sqlite:
        figures["machine_slowdown_vs_issue"] = round(scale, 2)
    met = {"peak_mib": max(peaks) <= TARGETS["peak_mib"]}
    if "csv" in formats:
        csv_seconds = figures["http_csv"]["seconds"]
        figures["http_csv_over_reference"] = round(csv_seconds / figures["reference"]["seconds"], 1)
        if sqlite:
            figures["csv_target_scaled_seconds"] = round(TARGETS["csv_seconds"] * scale, 3)
            met["csv_seconds_vs_reference"] = csv_seconds <= TARGETS["csv_seconds"] * scale
        met["csv_seconds_absolute"] = csv_seconds <= TARGETS["csv_seconds"]
        met["csv_first_byte_ms"] = (
            figures["http_csv"]["first_byte_ms"] <= TARGETS["csv_first_byte_ms"]
        )
    if "xlsx" in formats:
        met["xlsx_seconds"] = figures["http_xlsx"]["seconds"] <= TARGETS["xlsx_seconds"]
    figures["met"] = met
    figures["load_average_1m_at_end"] = os.getloadavg()[0]
    figures["http_client"] = "httpx over TCP against a uvicorn subprocess (1 worker)"
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--attendees", type=int, default=50_000)
    parser.add_argument("--name", default="leads_export")
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    parser.add_argument("--distinct-reasons", action="store_true")
    parser.add_argument(
        "--repeat", type=int, default=3, help="downloads per format, reference runs before/after"
    )
    parser.add_argument(
        "--postgres", metavar="URL", help="a server's URL (its postgres database) to bench on"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.postgres is None:
            figures = measure(f"sqlite+aiosqlite:///{folder / 'bench.db'}", folder, args)
        else:
            admin = make_url(args.postgres)
            name = f"bench_leads_export_{os.getpid()}"
            asyncio.run(_admin(args.postgres, f"CREATE DATABASE {name}"))
            try:
                url = admin.set(database=name).render_as_string(hide_password=False)
                figures = measure(url, folder, args)
            finally:
                asyncio.run(_admin(args.postgres, f"DROP DATABASE {name} WITH (FORCE)"))
    save(args.name, figures)
    print(json.dumps(figures["met"]))


if __name__ == "__main__":
    main()
