"""The `expohall` command line: migrate, the serve-time migration check, create-organizer."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from app.auth.security import verify_password
from app.cli import cli
from app.migrate import head_revision
from tests.conftest import TEST_SECRET


class Cli:
    """Runs `expohall` against a SQLite file of the test's own."""

    def __init__(self, tmp_path: Path) -> None:
        self.db_path = tmp_path / "var" / "expohall.db"
        self.env = {
            "EXPOHALL_SECRET_KEY": TEST_SECRET,
            "EXPOHALL_DEV": "0",
            "EXPOHALL_DATABASE_URL": f"sqlite+aiosqlite:///{self.db_path}",
            "EXPOHALL_DATA_DIR": str(tmp_path / "var"),
        }
        self.runner = CliRunner()

    def __call__(self, *args: str, **env: str) -> Result:
        return self.runner.invoke(cli, list(args), env={**self.env, **env})

    def query(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.db_path) as conn:
            return conn.execute(sql, params).fetchall()


@pytest.fixture
def expohall(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.chdir(tmp_path)  # no stray .env file
    return Cli(tmp_path)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """Records the uvicorn.run calls that `serve` makes instead of starting a server."""
    calls: list[dict[str, object]] = []

    def fake_run(app: str, **options: object) -> None:
        calls.append({"app": app, **options})

    monkeypatch.setattr("uvicorn.run", fake_run)
    return calls


def test_migrate_creates_the_schema_at_head(expohall: Cli) -> None:
    result = expohall("migrate")

    assert result.exit_code == 0, result.output
    assert "Database migrated to head." in result.output
    assert expohall.query("SELECT version_num FROM alembic_version") == [(head_revision(),)]
    assert expohall.query("SELECT count(*) FROM accounts") == [(0,)]


def test_serve_refuses_a_database_behind_head(
    expohall: Cli, served: list[dict[str, object]]
) -> None:
    expohall.db_path.parent.mkdir(parents=True)

    result = expohall("serve")

    assert result.exit_code == 3
    assert "Run `expohall migrate`" in result.output
    assert served == []


def test_serve_starts_once_migrated(expohall: Cli, served: list[dict[str, object]]) -> None:
    assert expohall("migrate").exit_code == 0

    result = expohall("serve", "--port", "8123", "--workers", "2")

    assert result.exit_code == 0, result.output
    assert served == [
        {
            "app": "app.asgi:app",
            "host": "127.0.0.1",
            "port": 8123,
            "workers": 2,
            "reload": False,
            "proxy_headers": True,
            "log_level": "warning",
            "ws": "app.realtime.wire:FanoutProtocol",
            "ws_max_size": 16 * 1024,  # EXPOHALL_WS_MAX_FRAME_BYTES
        }
    ]


def test_cli_without_secret_outside_dev_mode_explains_and_exits_2(expohall: Cli) -> None:
    result = expohall("migrate", EXPOHALL_SECRET_KEY="")

    assert result.exit_code == 2
    assert "Configuration error" in result.output


def test_create_organizer_creates_an_admin(expohall: Cli) -> None:
    assert expohall("migrate").exit_code == 0

    result = expohall("create-organizer", "Boss@Example.com", "--password", "a long passphrase")

    assert result.exit_code == 0, result.output
    assert "Created organizer boss@example.com" in result.output
    [(is_admin, password_hash)] = expohall.query(
        "SELECT is_admin, password_hash FROM accounts WHERE email = ?", "boss@example.com"
    )
    assert is_admin == 1
    assert isinstance(password_hash, str)
    assert verify_password(password_hash, "a long passphrase")


def test_create_organizer_rejects_a_bad_email(expohall: Cli) -> None:
    assert expohall("migrate").exit_code == 0

    result = expohall("create-organizer", "not-an-email", "--password", "a long passphrase")

    assert result.exit_code == 2
    assert "Not a valid email address" in result.output
    assert expohall.query("SELECT count(*) FROM accounts") == [(0,)]


def test_create_organizer_rejects_a_short_password(expohall: Cli) -> None:
    assert expohall("migrate").exit_code == 0

    result = expohall("create-organizer", "boss@example.com", "--password", "short")

    assert result.exit_code == 2
    assert "at least 10 characters" in result.output
    assert expohall.query("SELECT count(*) FROM accounts") == [(0,)]
