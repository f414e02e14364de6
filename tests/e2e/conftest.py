"""Browser tests: a real uvicorn server on a migrated SQLite file, driven by Debian chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import TEST_SECRET

CHROMIUM = os.environ.get("EXPOHALL_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass(frozen=True)
class LiveServer:
    url: str
    env: dict[str, str]
    data_dir: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not become healthy:\n{log.read_text()}")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Expohall with the demo event loaded, served by uvicorn in a subprocess."""
    root = tmp_path_factory.mktemp("live")
    url_db = f"sqlite+aiosqlite:///{root / 'expohall.db'}"
    port = _free_port()
    env = {
        **os.environ,
        "EXPOHALL_DATABASE_URL": url_db,
        "EXPOHALL_SECRET_KEY": TEST_SECRET,
        "EXPOHALL_DATA_DIR": str(root / "data"),
        "EXPOHALL_BASE_URL": f"http://127.0.0.1:{port}",
        "EXPOHALL_LOG_LEVEL": "WARNING",
    }
    env.pop("EXPOHALL_DEV", None)
    bin_dir = Path(sys.executable).parent
    # Through the CLI, as an operator would (and outside Playwright's event loop).
    for command in (["migrate"], ["demo", "--no-activity"]):
        subprocess.run(  # noqa: S603 - our own CLI
            [str(bin_dir / "expohall"), *command], env=env, check=True, capture_output=True
        )
    log = root / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own server
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.asgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--ws",  # as `expohall serve` does
                "app.realtime.wire:FanoutProtocol",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log)
        yield LiveServer(url=url, env=env, data_dir=root / "data")
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope: Playwright's sync API keeps an event loop running on this thread while
    # it is open, which would break every async test collected after the browser tests.
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail(f"Debian chromium is needed at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    yield tab
    context.close()
