"""Fixtures for realtime tests: the app served by a real uvicorn in the test's event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from tests.realtime.wsclient import serve


@pytest.fixture
async def ws_url(app: FastAPI) -> AsyncIterator[str]:
    async with serve(app) as url:
        yield url
