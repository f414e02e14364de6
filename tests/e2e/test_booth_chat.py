"""Two visitors at one booth: the public room is shared, each private thread is not."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import LiveServer
from tests.e2e.flows import log_in, register

pytestmark = pytest.mark.e2e


def test_public_booth_room_reaches_other_visitors_but_private_threads_do_not(
    live_server: LiveServer, browser: Browser
) -> None:
    first = browser.new_context(viewport={"width": 1280, "height": 900})
    alice = first.new_page()
    log_in(alice, live_server.url, email="attendee@expohall.test")
    alice.goto(f"{live_server.url}/e/ai-expo/booths/forgeline")

    second = browser.new_context(viewport={"width": 1280, "height": 900})
    bob = second.new_page()
    register(bob, live_server.url, email="bob@chat.example", first="Bob", last="Brandt")
    bob.goto(f"{live_server.url}/e/ai-expo/booths/forgeline")

    public = alice.locator("[data-chat=public]")
    expect(public.get_by_role("textbox", name="Message")).to_be_visible()
    public.get_by_role("textbox", name="Message").fill("Does it run on <b>edge</b> boxes?")
    public.get_by_role("button", name="Send").click()

    private = alice.locator("[data-chat=private]")
    private.get_by_role("textbox", name="Message").fill("Please call me about pricing")
    private.get_by_role("button", name="Send").click()

    # Bob sees the public question as text (never as markup), not Alice's private thread.
    bob_public = bob.locator("[data-chat=public]")
    expect(bob_public.get_by_text("Does it run on <b>edge</b> boxes?")).to_be_visible()
    expect(bob.get_by_text("Please call me about pricing")).to_have_count(0)
    expect(private.get_by_text("Please call me about pricing")).to_be_visible()
    first.close()
    second.close()
