"""An attendee joins a live sponsored session, asks and votes, and the sponsor sees the points."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import LiveServer
from tests.e2e.flows import (
    ask_question,
    create_and_open_poll,
    log_in,
    open_live_session,
    register,
)

pytestmark = pytest.mark.e2e

# app/demo/program.py: day 1, starts 20 minutes before the demo is loaded, 60 minutes long,
# sponsored by Forgeline AI (staffed by staff@expohall.test in app/demo/logins.py).
TITLE = "Predictive maintenance that planners trust"
SPONSOR = "forgeline"
POLL = "Which signal do your planners trust most?"


def test_live_session_engagement_reaches_the_sponsors_lead(
    live_server: LiveServer, browser: Browser
) -> None:
    base = live_server.url
    # A viewer far from the event's zone sees their own time beside the event's.
    attendee = browser.new_context(
        viewport={"width": 1280, "height": 900}, timezone_id="America/New_York"
    )
    page = attendee.new_page()
    register(page, base, email="lena@nordlicht.example", first="Lena", last="Brandt")
    open_live_session(page, base, title=TITLE)
    expect(page.get_by_text("Sponsored by")).to_contain_text("Forgeline AI")
    session_url = page.url
    expect(page.locator("time[data-local] .local-time").first).to_contain_text("your time")
    ask_question(page, "How do planners give feedback on a false alarm?")

    organizer = browser.new_context(viewport={"width": 1280, "height": 900})
    org_page = organizer.new_page()
    log_in(org_page, base, email="organizer@expohall.test")
    org_page.goto(session_url)
    # The demo seeds no polls: the organizer creates one and opens it from the session page.
    expect(org_page.locator("article.poll .badge--live")).to_have_count(0)
    create_and_open_poll(
        org_page, question=POLL, options=["Vibration trends", "Model explanations"]
    )

    page.reload()
    poll = page.locator("article.poll").filter(has_text=POLL)
    poll.get_by_label("Model explanations").check()
    poll.get_by_role("button", name="Vote").click()
    poll = page.locator("article.poll").filter(has_text=POLL)
    expect(poll.locator(".poll__total")).to_have_text("1 vote")
    expect(poll.locator(".poll__result--mine")).to_contain_text("Model explanations")
    attendee.close()

    # The organizer's open page refreshes the results by itself (poll-results.js, every 10 s).
    org_poll = org_page.locator("article.poll").filter(has_text=POLL)
    expect(org_poll.locator(".poll__total")).to_have_text("1 vote", timeout=15_000)
    expect(org_poll.locator(".poll__count").last).to_have_text("100% (1)")

    # Organizers see every exhibitor's lead list.
    org_page.goto(f"{base}/e/ai-expo/exhibitor/{SPONSOR}/leads")
    row = org_page.get_by_role("row").filter(has_text="Lena Brandt")
    expect(row).to_have_count(1)
    # Live attendance +5 (session.join), a named question +4, a poll answer +1.
    expect(row.get_by_role("cell").nth(7)).to_have_text("10")
    row.get_by_role("link").first.click()
    expect(org_page.get_by_role("heading", name="Engagement 10")).to_be_visible()
    expect(org_page.get_by_text(f"+5 attended '{TITLE}' live")).to_be_visible()
    expect(org_page.get_by_text("+4 asked a question")).to_be_visible()
    expect(org_page.get_by_text("+1 answered a poll")).to_be_visible()
    organizer.close()
