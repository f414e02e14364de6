"""The staff console in a real browser: a visitor arrives, writes, and staff answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.async_api import async_playwright, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.booths.models import Booth
from app.events.models import RoleName
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.factories import (
    grant,
    make_account,
    make_event,
    make_exhibitor,
    make_registration,
    session_token,
)
from tests.realtime.wsclient import client, serve

pytestmark = pytest.mark.e2e
HAVE_CHROMIUM = Path(CHROMIUM).exists()


async def test_console_shows_the_visitor_and_chats_with_them(
    app: FastAPI, db: AsyncSession
) -> None:
    if not HAVE_CHROMIUM:
        pytest.fail(f"Debian chromium is needed at {CHROMIUM}")
    event = await make_event(db, slug="livecon")
    exhibitor = await make_exhibitor(db, event, name="Initech")
    booth_id = (
        await db.execute(select(Booth.id).where(Booth.exhibitor_id == exhibitor.id))
    ).scalar_one()
    staff = await make_account(db, display_name="Sam Staff")
    await grant(db, staff, event, RoleName.staff, exhibitor.id)
    ada = await make_registration(db, event, first_name="Ada", last_name="Lovelace")
    visitor = await db.get(Account, ada.account_id)
    assert visitor is not None
    staff_token = await session_token(db, staff)
    visitor_token = await session_token(db, visitor)
    async with serve(app) as ws_url, async_playwright() as pw:
        origin = ws_url.removeprefix("ws").removesuffix("/ws")
        origin = "http" + origin
        app.state.settings.trusted_origins = [origin]
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context()
            await context.add_cookies(
                [{"name": "expohall_session", "value": staff_token, "url": origin}]
            )
            page = await context.new_page()
            await page.goto(f"{origin}/e/livecon/console")
            await expect(page.locator("#console-status")).to_have_text("Live")
            async with client(ws_url, visitor_token, origin=origin) as tab:
                await tab.call("presence.enter", {"place": f"booth:{booth_id}"})
                visitors = page.locator("#console-visitors")
                await expect(visitors).to_contain_text("Ada Lovelace")
                await expect(page.locator("#console-count")).to_have_text("1")
                room = (await tab.call("chat.open", {"booth_id": booth_id, "private": True}))[
                    "room"
                ]
                await tab.call("chat.join", {"room_id": room["id"]})
                await tab.call(
                    "chat.send",
                    {"room_id": room["id"], "client_msg_id": "1", "body": "hi <b>there</b>"},
                )
                chat = page.locator("#console-chat")
                await expect(chat).to_contain_text("hi <b>there</b>")  # shown as text
                assert await chat.locator("b").count() == 0
                await chat.locator("input[name=body]").fill("Welcome, *Ada*!")
                await chat.locator("button[type=submit]").click()
                own = (await tab.push("chat.message"))[2]
                reply = (await tab.push("chat.message"))[2]
                assert (own["seq"], reply["seq"]) == (1, 2)
                assert (reply["author_name"], reply["body"]) == ("Sam Staff", "Welcome, *Ada*!")
                await expect(chat.locator("em")).to_have_text("Ada")
            await context.close()
        finally:
            await browser.close()
