"""Steps shared by the browser tests, written as a person would do them."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect


def register(page: Page, base_url: str, *, email: str, first: str, last: str) -> None:
    """Register a new attendee for the demo event (sharing details with exhibitors)."""
    page.goto(f"{base_url}/e/ai-expo/register")
    page.fill("#f-first_name", first)
    page.fill("#f-last_name", last)
    page.fill("#f-email", email)
    page.fill("#f-password", "a long enough password")
    page.fill("#f-company", "Nordlicht Robotics GmbH")
    page.fill("#f-job_title", "Head of Maintenance")
    page.select_option("#f-job_level", "director")
    page.select_option("#f-company_type", "end_user")
    page.select_option("#f-company_size", "201-1000")
    page.select_option("#f-industry", "manufacturing")
    page.select_option("#f-country", "DE")
    page.select_option("#f-budget", "approved")
    page.select_option("#f-timeframe", "3_6m")
    page.check("#f-consent_share")
    page.get_by_role("button", name="Register").click()
    expect(page).to_have_url(re.compile(r"/e/ai-expo/?$"))


def log_in(page: Page, base_url: str, *, email: str, password: str = "expohall-demo") -> None:
    page.goto(f"{base_url}/login")
    page.fill("#f-email", email)
    page.fill("#f-password", password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def open_live_session(page: Page, base_url: str, *, title: str) -> None:
    """From the lobby's "On now" list, open a live session and wait for its first heartbeat.

    session-watch.js sends a "start" heartbeat on load, which records `session.join`.
    """
    page.goto(f"{base_url}/e/ai-expo/")
    on_now = page.locator("section").filter(
        has=page.get_by_role("heading", name="On now", exact=True)
    )
    with page.expect_response(
        lambda r: r.url.endswith("/attendance/heartbeat") and r.request.method == "POST"
    ) as beat:
        on_now.get_by_role("link", name=title).first.click()
    assert beat.value.ok, beat.value.text()
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()


def ask_question(page: Page, body: str) -> None:
    """Ask a named question on the open session page."""
    page.fill("#f-body", body)
    page.get_by_role("button", name="Ask", exact=True).click()
    expect(page.get_by_text(body)).to_be_visible()


def create_and_open_poll(page: Page, *, question: str, options: list[str]) -> None:
    """As an organizer on the open session page: create a poll, then open it."""
    page.locator("details.poll-new summary").click()
    page.fill("#f-question", question)
    page.fill("#f-options", "\n".join(options))
    page.get_by_role("button", name="Create poll").click()
    poll = page.locator("article.poll").filter(has_text=question)
    poll.get_by_role("button", name="Open poll").click()
    expect(poll.get_by_text("Open", exact=True)).to_be_visible()
