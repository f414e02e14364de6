"""An attendee works a booth in a real browser, and its staff see the lead with its points."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import LiveServer
from tests.e2e.flows import log_in, register

pytestmark = pytest.mark.e2e


def test_booth_actions_reach_the_exhibitors_lead_list(
    live_server: LiveServer, browser: Browser
) -> None:
    attendee = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = attendee.new_page()
    register(page, live_server.url, email="mira@nordlicht.example", first="Mira", last="Kowalczyk")

    page.goto(f"{live_server.url}/e/ai-expo/booths/forgeline")
    expect(page.get_by_role("heading", name="Forgeline AI", level=1)).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Pricing sheet 2026").click()
    assert download.value.suggested_filename.endswith(".pdf")
    # A second click on the same document and a page refresh must not count twice.
    with page.expect_download():
        page.get_by_role("link", name="Pricing sheet 2026").click()
    page.reload()
    page.get_by_role("button", name="Request information").click()
    expect(page.get_by_text("request", exact=False).first).to_be_visible()
    attendee.close()

    staff = browser.new_context(viewport={"width": 1280, "height": 900})
    page = staff.new_page()
    log_in(page, live_server.url, email="staff@expohall.test")
    page.goto(f"{live_server.url}/e/ai-expo/exhibitor/forgeline/leads")
    row = page.get_by_role("row").filter(has_text="Mira Kowalczyk")
    expect(row).to_have_count(1)
    # visit +2, one download +5, information request +15 (no decay within the hour).
    # The score column is the 8th: engagement.
    expect(row.get_by_role("cell").nth(7)).to_have_text("22")
    row.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Engagement 22")).to_be_visible()
    expect(page.get_by_text("+15 requested more information")).to_be_visible()
    expect(page.get_by_text("Pricing sheet 2026").first).to_be_visible()
    staff.close()
