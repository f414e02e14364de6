"""`expohall export`: the file is written whole or not at all."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner, Result

from app.cli import cli
from app.leads.exporters import write_atomically
from tests.conftest import TEST_SECRET
from tests.leads.test_exporters import build_expo, full_row_of_ada_at_acme


async def _run(database_url: str, *args: str) -> Result:
    env = {"EXPOHALL_DATABASE_URL": database_url, "EXPOHALL_SECRET_KEY": TEST_SECRET}
    # The command runs its own event loop (asyncio.run): give it a thread of its own.
    return await asyncio.to_thread(_invoke, ["export", *args], env)


def _invoke(args: list[str], env: dict[str, str]) -> Result:
    return CliRunner().invoke(cli, args, env=env)


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def test_cli_writes_an_exhibitors_consenting_leads(
    db: AsyncSession, database_url: str, tmp_path: Path
) -> None:
    expo = await build_expo(db)
    out = tmp_path / "acme.csv"
    result = await _run(
        database_url, "--event", "summit", "--format", "csv", "--output", str(out),
        "--exhibitor", "acme",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Wrote ")
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows == [full_row_of_ada_at_acme(expo)]
    assert _names(tmp_path) == ["acme.csv"]


async def test_cli_jsonl_with_a_preset(db: AsyncSession, database_url: str, tmp_path: Path) -> None:
    await build_expo(db)
    out = tmp_path / "all.jsonl"
    result = await _run(
        database_url, "--event", "summit", "--format", "jsonl", "--output", str(out),
        "--preset", "hubspot",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["Lifecycle Stage"] for line in lines] == [
        "marketingqualifiedlead",
        "lead",
        "lead",
        "salesqualifiedlead",
    ]


async def test_cli_xlsx_holds_the_full_rows(
    db: AsyncSession, database_url: str, tmp_path: Path
) -> None:
    expo = await build_expo(db)
    out = tmp_path / "all.xlsx"
    result = await _run(database_url, "--event", "summit", "--format", "xlsx", "--output", str(out))
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(out).active
    assert sheet is not None
    header, *rows = sheet.iter_rows(values_only=True)
    ada = dict(zip(header, rows[0], strict=True))
    assert ada["lead_id"] == expo.ada_acme.id
    assert ada["top_reasons"] == full_row_of_ada_at_acme(expo)["top_reasons"]
    assert [r[header.index("first_name")] for r in rows] == ["Ada", "Ada", "Grace", "Ada"]
    assert _names(tmp_path) == ["all.xlsx"]


async def test_cli_refuses_unknown_names_and_leaves_the_old_file(
    db: AsyncSession, database_url: str, tmp_path: Path
) -> None:
    await build_expo(db)
    out = tmp_path / "leads.csv"
    out.write_text("yesterday's export\n")
    for extra in (
        ["--event", "nope"],
        ["--event", "summit", "--exhibitor", "nope"],
        ["--event", "summit", "--preset", "nope"],
        ["--event", "summit", "--format", "pdf"],
    ):
        result = await _run(database_url, *extra, "--output", str(out))
        assert result.exit_code == 2, extra
    assert out.read_text() == "yesterday's export\n"
    assert _names(tmp_path) == ["leads.csv"]


async def test_interrupted_export_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "leads.csv"

    async def failing() -> AsyncIterator[bytes]:
        yield b"lead_id,email\r\n1,ada@example.com\r\n"
        raise ConnectionError("database went away")

    with pytest.raises(ConnectionError):
        await write_atomically(out, failing())
    assert _names(tmp_path) == []

    async def cancelled() -> AsyncIterator[bytes]:
        yield b"partial"
        raise KeyboardInterrupt

    out.write_text("complete old file")
    with pytest.raises(KeyboardInterrupt):
        await write_atomically(out, cancelled())
    assert _names(tmp_path) == ["leads.csv"]
    assert out.read_text() == "complete old file"
