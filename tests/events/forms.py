"""Valid form data for the events pages, to tweak one field at a time."""

from __future__ import annotations

import html as htmllib
import re

import httpx
from fastapi import FastAPI

from tests.factories import csrf_for


def registration_data(**overrides: str) -> dict[str, str]:
    data = {
        "first_name": "Grace",
        "last_name": "Hopper",
        "email": "grace@example.com",
        "company": "Navy Computing",
        "job_title": "Rear Admiral",
        "job_level": "c_level",
        "company_type": "end_user",
        "company_size": "1001-5000",
        "industry": "public",
        "country": "US",
        "budget": "approved",
        "timeframe": "lt_3m",
        "phone": "+1 (555) 123-4567",
        "interests": "compilers, COBOL",
        "consent_share": "yes",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def event_data(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Spring Expo",
        "slug": "spring-expo",
        "timezone": "Europe/Berlin",
        "starts_at": "2026-06-01T09:00",
        "ends_at": "2026-06-02T18:00",
        "tagline": "Meet the makers",
        "description": "Two days of booths and talks.",
        "status": "draft",
    }
    data.update(overrides)
    return data


def with_csrf(app: FastAPI, client: httpx.AsyncClient, data: dict[str, str]) -> dict[str, str]:
    return {**data, "csrf_token": csrf_for(app, client)}


def field_error(html: str, name: str) -> str:
    """The error message shown under field `name` ("" when there is none)."""
    match = re.search(rf'<p class="error" id="e-{name}" role="alert">(.*?)</p>', html, re.S)
    return htmllib.unescape(match.group(1).strip()) if match else ""
