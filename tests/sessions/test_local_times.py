"""Markup for the viewer's own time (local-times.js) and the live poll results (poll-results.js)."""

from __future__ import annotations

import datetime as dt
import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.sessions.models import Poll, PollOption, PollStatus
from tests.factories import make_event, make_session

# <time datetime="2030-05-14T23:30:00+00:00" data-local="Asia/Tokyo">
_LOCAL_TIME = re.compile(
    r'<time datetime="(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?([+-]\d\d:\d\d|Z))"'
    r' data-local="([^"]+)">'
)
_SCRIPT = '<script type="module" src="/static/js/{}"></script>'


def _local_times(html: str) -> list[tuple[dt.datetime, str]]:
    found = [(dt.datetime.fromisoformat(m[0]), m[2]) for m in _LOCAL_TIME.findall(html)]
    assert all(when.tzinfo is not None for when, _ in found)
    return found


async def test_agenda_times_carry_iso_datetimes_with_an_offset(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(
        db, slug="tokyo", timezone="Asia/Tokyo", starts_at=dt.datetime(2030, 5, 14, tzinfo=dt.UTC)
    )
    start = dt.datetime(2030, 5, 14, 23, 30, tzinfo=dt.UTC)
    session = await make_session(db, event, title="Late UTC talk", starts_at=start)
    await db.commit()

    html = (await client.get("/e/tokyo/agenda")).text

    assert _local_times(html) == [(start, "Asia/Tokyo"), (session.ends_at, "Asia/Tokyo")]
    assert ">08:30</time>" in html  # the event's wall clock stays the text
    assert _SCRIPT.format("local-times.js") in html
    assert "<script>" not in html  # CSP: script-src 'self', no inline scripts


async def test_session_page_times_carry_iso_datetimes_with_an_offset(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="tokyo", timezone="Asia/Tokyo")
    start = dt.datetime(2030, 5, 14, 23, 30, tzinfo=dt.UTC)
    session = await make_session(db, event, starts_at=start)
    await db.commit()

    html = (await client.get(f"/e/tokyo/sessions/{session.id}")).text

    times = _local_times(html)
    assert (start, "Asia/Tokyo") in times
    assert (session.ends_at, "Asia/Tokyo") in times
    assert {when.utcoffset() for when, _ in times} == {dt.timedelta(0)}
    assert "Wed 15 May</span>" in html
    assert "08:30 JST</time>" in html
    assert _SCRIPT.format("local-times.js") in html
    assert _SCRIPT.format("poll-results.js") not in html  # no open poll, nothing to refresh


async def test_open_poll_results_are_marked_up_for_live_refresh(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="cloudcon")
    session = await make_session(db, event, starts_at=utcnow() - dt.timedelta(minutes=5))
    poll = Poll(session_id=session.id, question="Which cloud?", status=PollStatus.open)
    db.add(poll)
    await db.flush()
    options = [PollOption(poll_id=poll.id, label=label, position=i) for i, label in enumerate("AB")]
    db.add_all(options)
    await db.commit()

    # A visitor without a vote form sees the results, refreshed by poll-results.js.
    html = (await client.get(f"/e/cloudcon/sessions/{session.id}")).text

    results_url = f"/e/cloudcon/sessions/{session.id}/polls/{poll.id}/results"
    assert f'data-results-url="{results_url}" data-poll-open="true"' in html
    for option in options:
        assert f'data-option="{option.id}"' in html
    assert '<p class="muted poll__total">0 votes</p>' in html
    assert _SCRIPT.format("poll-results.js") in html
    assert (await client.get(results_url)).json()["status"] == "open"
