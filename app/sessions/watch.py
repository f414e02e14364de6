"""Watch-time accounting: heartbeats from tabs become a union of distinct watched seconds.

Pure functions over plain values so every case (overlapping tabs, gaps, reconnects, seeks)
is exact and testable. A tab earns the seconds between two of its heartbeats only when they
are at most `MAX_GAP` apart: a longer silence (a closed laptop, a lost connection) says
nothing about watching, so it earns nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

MAX_GAP = 40  # seconds; the page beats every 15 s, so one lost beat still counts
SEEK_SLACK = 2  # seconds of player progress beyond wall time we still believe on demand
MAX_TABS = 20  # an attendee with more open tabs than this loses the oldest tab's anchor

Kind = Literal["start", "beat", "stop"]
Interval = tuple[int, int]


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of [start, end) intervals, sorted and with touching ones joined."""
    result: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], end))
        else:
            result.append((start, end))
    return result


def total(intervals: Iterable[Interval]) -> int:
    return sum(end - start for start, end in intervals)


@dataclass(frozen=True, slots=True)
class Beat:
    """One heartbeat as the server sees it: wall time (whole seconds) and, on demand, the
    player's position (None: the player cannot tell, the tab's own clock stands in)."""

    tab_id: str
    kind: Kind
    now_s: int
    position_s: int | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    intervals: list[Interval]
    tabs: dict[str, Any]
    seconds: int
    added: int


def apply_live(
    intervals: Iterable[Interval], tabs: dict[str, Any], beat: Beat, length: int
) -> Outcome:
    """Live: seconds are wall-clock seconds since the session started, within [0, length)."""
    return _apply(intervals, tabs, beat, lambda prev: _live_span(prev, beat, length))


def apply_on_demand(
    intervals: Iterable[Interval], tabs: dict[str, Any], beat: Beat, limit: int
) -> Outcome:
    """On demand: seconds are player positions; a seek forward earns nothing, rewatching
    a part already seen adds nothing. Without a position, the tab plays from 0 at 1x."""
    return _apply(intervals, tabs, beat, lambda prev: _demand_span(prev, beat, limit))


def _apply(
    intervals: Iterable[Interval],
    tabs: dict[str, Any],
    beat: Beat,
    span: Callable[[dict[str, Any]], Interval | None],
) -> Outcome:
    current = merge((i[0], i[1]) for i in intervals)
    before = total(current)
    tabs = {key: dict(value) for key, value in tabs.items()}
    prev = tabs.get(beat.tab_id)
    earned: Interval | None = None
    position = _position(prev, beat)
    if beat.kind != "start" and prev is not None and 0 <= beat.now_s - prev["t"] <= MAX_GAP:
        earned = span(prev)
    if earned is not None:
        current = merge([*current, earned])
    if beat.kind == "stop":
        tabs.pop(beat.tab_id, None)
    else:
        tabs[beat.tab_id] = {"t": beat.now_s, "p": position}
        if len(tabs) > MAX_TABS:
            oldest = min(tabs, key=lambda key: tabs[key]["t"])
            tabs.pop(oldest)
    seconds = total(current)
    return Outcome(current, tabs, seconds, seconds - before)


def _position(prev: dict[str, Any] | None, beat: Beat) -> int:
    if beat.position_s is not None:
        return max(0, beat.position_s)
    if prev is None or beat.kind == "start" or not 0 <= beat.now_s - prev["t"] <= MAX_GAP:
        return 0
    return int(prev["p"]) + (beat.now_s - int(prev["t"]))


def _live_span(prev: dict[str, Any], beat: Beat, length: int) -> Interval | None:
    start, end = max(0, int(prev["t"])), min(length, beat.now_s)
    return (start, end) if end > start else None


def _demand_span(prev: dict[str, Any], beat: Beat, limit: int) -> Interval | None:
    start, end = int(prev["p"]), _position(prev, beat)
    if not 0 < end - start <= beat.now_s - int(prev["t"]) + SEEK_SLACK:
        return None
    return (max(0, start), min(limit, end))
