"""The core: health check, error rendering, settings, migrations."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import ConfigError, load_settings
from app.main import create_app
from app.migrate import DatabaseBehind
from tests.conftest import make_settings
from tests.factories import login_as, make_account


async def test_healthz_reports_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.headers["x-request-id"]


async def test_unknown_api_path_is_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "http.404", "message": "We could not find that page."}
    }


async def test_unknown_page_is_friendly_html_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/nothing-here")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "Page not found" in response.text
    assert "Traceback" not in response.text


def test_secret_key_required_outside_dev(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXPOHALL_SECRET_KEY", raising=False)
    monkeypatch.delenv("EXPOHALL_DEV", raising=False)
    with pytest.raises(ConfigError, match="EXPOHALL_SECRET_KEY is required outside dev mode"):
        load_settings(_env_file=None)


def test_dev_mode_runs_without_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXPOHALL_SECRET_KEY", raising=False)
    assert load_settings(dev=True, _env_file=None).secret


async def test_server_refuses_database_behind_head(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    app = create_app(make_settings(url, tmp_path))
    with pytest.raises(DatabaseBehind, match="Run `expohall migrate`"):
        async with app.router.lifespan_context(app):
            pass


async def test_error_page_keeps_the_logged_in_header(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db, display_name="Grace Hopper")
    await login_as(db, client, account)
    response = await client.get("/e/no-such-event")
    assert response.status_code == 404
    assert "Grace Hopper" in response.text
    assert "Log out" in response.text
