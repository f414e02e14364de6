"""The websocket protocol's limits come from the settings (EXPOHALL_WS_*, ...)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from websockets.exceptions import ConnectionClosed

from app.config import ConfigError, Settings, load_settings
from app.realtime.runtime import Limits
from tests.conftest import make_settings
from tests.factories import make_account, session_token
from tests.realtime.wsclient import client


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        ws_max_frame_bytes=2048,
        ws_rate_per_second=0.01,
        ws_rate_burst=3,
    )


async def test_a_frame_over_the_configured_size_closes_1009(ws_url: str, db: AsyncSession) -> None:
    token = await session_token(db, await make_account(db))
    async with client(ws_url, token) as c:
        assert "pong" in await c.call("ping", {"pad": "x" * 1500})  # under 2,048 bytes
        # 3,000 bytes: fine with the default 16 KiB, too big for this server.
        await c.ws.send(json.dumps(["ping", 9, {"pad": "x" * 3000}]))
        with pytest.raises(ConnectionClosed) as caught:
            await asyncio.wait_for(c.ws.recv(), 5)
    assert caught.value.rcvd is not None
    assert caught.value.rcvd.code == 1009


async def test_the_configured_burst_is_the_rate_limit(ws_url: str, db: AsyncSession) -> None:
    token = await session_token(db, await make_account(db))
    async with client(ws_url, token) as c:
        answers = [await c.frame("ping") for _ in range(5)]
    codes = [a[2].get("code") if a[0] == "error" else "ok" for a in answers]
    assert codes == ["ok"] * 3 + ["protocol.rate_limited"] * 2


def test_environment_variables_set_every_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "SECRET_KEY": "s" * 40,
        "WS_MAX_FRAME_BYTES": "32768",
        "WS_SEND_QUEUE": "64",
        "WS_RATE_PER_SECOND": "5",
        "WS_RATE_BURST": "10",
        "WS_LIFETIME_SECONDS": "3600",
        "CHAT_RESUME_WINDOW": "100",
        "PRESENCE_TIMEOUT_SECONDS": "60",
    }.items():
        monkeypatch.setenv(f"EXPOHALL_{name}", value)
    limits = Limits.of(load_settings(_env_file=None))
    assert limits == Limits(
        max_frame_bytes=32768,
        send_queue=64,
        rate_per_second=5.0,
        rate_burst=10,
        lifetime_seconds=3600.0,
        resume_window=100,
        presence_timeout=60.0,
        presence_sweep=10.0,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WS_MAX_FRAME_BYTES", "100"),
        ("WS_RATE_BURST", "0"),
        ("PRESENCE_TIMEOUT_SECONDS", "10"),  # below the 15 s heartbeat: visitors would flicker
        ("WS_LIFETIME_SECONDS", "lots"),
    ],
)
def test_an_unusable_limit_stops_startup_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv("EXPOHALL_SECRET_KEY", "s" * 40)
    monkeypatch.setenv(f"EXPOHALL_{name}", value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert f"EXPOHALL_{name}: " in str(caught.value)
