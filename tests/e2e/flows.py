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
