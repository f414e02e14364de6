"""A booth's staff and an attendee in two browsers: the console shows the attendee arrive
with their lead card, staff start a private chat from it, and both sides talk live."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import LiveServer
from tests.e2e.flows import log_in, register

pytestmark = pytest.mark.e2e


def test_staff_see_the_attendee_arrive_with_their_lead_card_and_chat_with_them(
    live_server: LiveServer, browser: Browser
) -> None:
    staff = browser.new_context(viewport={"width": 1280, "height": 900})
    nora = staff.new_page()
    log_in(nora, live_server.url, email="staff@expohall.test")  # Forgeline AI's staff
    nora.goto(f"{live_server.url}/e/ai-expo/console")
    expect(nora.get_by_role("heading", name="Live console · Forgeline AI")).to_be_visible()
    expect(nora.locator("#console-status")).to_have_text("Live")

    visitor = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    lena = visitor.new_page()
    log_in(lena, live_server.url, email="attendee@expohall.test")  # shares her details
    lena.goto(f"{live_server.url}/e/ai-expo/booths/forgeline")

    # She arrives: named, with her company, her lead's cell, scores and stage, what she did
    # here last (the page view recorded a booth visit) and the way to her whole lead.
    card = nora.locator("#console-visitors li").filter(has_text="Lena Hoffmann")
    expect(card).to_contain_text("Brandt Automotive Group")
    expect(card.locator(".tag").first).to_have_text(
        re.compile(r"^[A-D][1-4] · fit \d+ · engagement \d+$")
    )
    expect(card.get_by_role("list", name="Latest activities here")).to_contain_text(
        "visited a booth: Forgeline AI"
    )
    lead_link = card.get_by_role("link", name="Open the lead")
    expect(lead_link).to_have_attribute("href", re.compile(r"^/e/ai-expo/leads/\d+$"))
    feed = nora.locator("#console-feed")
    expect(feed).to_contain_text(re.compile(r"Lena Hoffmann entered the booth · [A-D][1-4] · \w+"))
    engagement_before = card.locator(".tag").first.inner_text()

    # She downloads the pricing sheet: the feed says so and her card follows (+5 points).
    with lena.expect_download():
        lena.get_by_role("link", name="Pricing sheet 2026").click()
    expect(feed).to_contain_text("Lena Hoffmann downloaded a resource: Pricing sheet 2026")
    latest = card.get_by_role("list", name="Latest activities here").get_by_role("listitem")
    expect(latest.first).to_contain_text("downloaded a resource: Pricing sheet 2026")
    expect(card.locator(".tag").first).not_to_have_text(engagement_before)

    card.get_by_role("button", name="Start chat").click()
    conversation = nora.locator("#console-chat")
    expect(conversation.get_by_role("heading", name="Chat with Lena Hoffmann")).to_be_visible()
    conversation.get_by_role("textbox", name="Message").fill("Hello Lena, a demo on <i>edge</i>?")
    conversation.get_by_role("button", name="Send").click()

    private = lena.locator("[data-chat=private]")
    expect(private.get_by_text("Hello Lena, a demo on <i>edge</i>?")).to_be_visible()  # as text
    private.get_by_role("textbox", name="Message").fill("Yes please, Tuesday works")
    private.get_by_role("button", name="Send").click()
    expect(conversation.get_by_text("Yes please, Tuesday works")).to_be_visible()
    expect(feed).to_contain_text("Yes please, Tuesday works")

    lead_page = staff.new_page()
    lead_page.goto(live_server.url + (lead_link.get_attribute("href") or ""))
    expect(lead_page.get_by_role("heading", level=1)).to_contain_text("Lena Hoffmann")

    # The public room never saw the private thread.
    expect(lena.locator("[data-chat=public]").get_by_text("Tuesday works")).to_have_count(0)

    visitor.close()  # her tab closes: the visit ends, with its dwell
    expect(feed).to_contain_text(re.compile(r"Lena Hoffmann left after \d+ s"))
    expect(card).to_have_count(0)
    staff.close()


def test_a_message_from_another_visitor_never_takes_the_open_conversation_away(
    live_server: LiveServer, browser: Browser
) -> None:
    staff = browser.new_context(viewport={"width": 1280, "height": 900})
    nora = staff.new_page()
    log_in(nora, live_server.url, email="staff@expohall.test")
    nora.goto(f"{live_server.url}/e/ai-expo/console")
    expect(nora.locator("#console-status")).to_have_text("Live")

    first = browser.new_context(viewport={"width": 1280, "height": 900})
    lena = first.new_page()
    log_in(lena, live_server.url, email="attendee@expohall.test")
    lena.goto(f"{live_server.url}/e/ai-expo/booths/forgeline")
    second = browser.new_context(viewport={"width": 1280, "height": 900})
    bob = second.new_page()
    register(bob, live_server.url, email="bob.console@example.com", first="Bob", last="Brandt")
    bob.goto(f"{live_server.url}/e/ai-expo/booths/forgeline")

    visitors = nora.locator("#console-visitors li")
    lena_item = visitors.filter(has_text="Lena Hoffmann")
    bob_item = visitors.filter(has_text="Bob Brandt")
    expect(bob_item).to_be_visible()
    lena_item.get_by_role("button", name="Start chat").click()
    conversation = nora.locator("#console-chat")
    expect(conversation.get_by_role("heading", name="Chat with Lena Hoffmann")).to_be_visible()
    conversation.get_by_role("textbox", name="Message").fill("Half-typed answer for Lena")

    bob_thread = bob.locator("[data-chat=private]")
    bob_thread.get_by_role("textbox", name="Message").fill("Do you ship to Austria?")
    bob_thread.get_by_role("button", name="Send").click()

    # Counted on Bob and answerable from the feed; Lena's conversation and draft stay.
    expect(bob_item.locator(".count")).to_have_text("1 new")
    reply = nora.locator("#console-feed").get_by_role("button", name="Reply to Bob Brandt")
    expect(reply).to_be_visible()
    expect(conversation.get_by_role("heading", name="Chat with Lena Hoffmann")).to_be_visible()
    expect(conversation.get_by_role("textbox", name="Message")).to_have_value(
        "Half-typed answer for Lena"
    )
    reply.click()
    expect(conversation.get_by_role("heading", name="Chat with Bob Brandt")).to_be_visible()
    expect(conversation.get_by_text("Do you ship to Austria?")).to_be_visible()
    expect(bob_item.locator(".count")).to_be_hidden()
    for context in (first, second, staff):
        context.close()
