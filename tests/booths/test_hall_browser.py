"""In a real browser: the hall's visitor counts follow people entering and leaving a booth."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import LiveServer, browser, live_server  # noqa: F401 (fixtures)
from tests.e2e.flows import register

pytestmark = pytest.mark.e2e


def test_hall_counts_follow_a_visitor_live_and_recommend_by_industry(
    live_server: LiveServer,  # noqa: F811
    browser: Browser,  # noqa: F811
) -> None:
    watcher = browser.new_context(viewport={"width": 1280, "height": 900})
    page = watcher.new_page()
    register(page, live_server.url, email="hana@hall.example", first="Hana", last="Hall")
    page.goto(f"{live_server.url}/e/ai-expo/hall")
    expect(page.locator("[data-hall-live=ready]")).to_have_count(1)
    # Registered in manufacturing: Forgeline (tagged manufacturing) is recommended.
    recommended = page.locator("section:has(#for-you)")
    expect(recommended.get_by_role("link", name="Forgeline AI")).to_be_visible()
    counters = page.locator("article:has(a:text-is('Forgeline AI')) [data-hall-count]")
    expect(counters).to_have_count(2)  # recommended and in its tier
    expect(counters.first).to_have_text("0")

    visitor = browser.new_context(viewport={"width": 1280, "height": 900})
    booth = visitor.new_page()
    register(booth, live_server.url, email="vic@hall.example", first="Vic", last="Visitor")
    booth.goto(f"{live_server.url}/e/ai-expo/booths/forgeline")

    expect(counters.first).to_have_text("1")
    expect(counters.last).to_have_text("1")
    visitor.close()
    expect(counters.last).to_have_text("0")
    watcher.close()
