"""Watch-time accounting: distinct seconds from heartbeats of several tabs."""

from __future__ import annotations

from typing import Any

from app.sessions.watch import Beat, Interval, Kind, apply_live, apply_on_demand, merge

LENGTH = 1800


class Viewer:
    """Feeds beats through the pure accounting as the server would, keeping the state."""

    def __init__(self, live: bool = True) -> None:
        self.live = live
        self.intervals: list[Interval] = []
        self.tabs: dict[str, Any] = {}

    def beat(self, tab: str, at: int, kind: Kind = "beat", position: int | None = None) -> int:
        beat = Beat(tab_id=tab, kind=kind, now_s=at, position_s=position)
        if self.live:
            out = apply_live(self.intervals, self.tabs, beat, LENGTH)
        else:
            out = apply_on_demand(self.intervals, self.tabs, beat, 86400)
        self.intervals, self.tabs = out.intervals, out.tabs
        return out.seconds


def test_merge_joins_overlapping_and_touching_intervals() -> None:
    assert merge([(30, 40), (0, 10), (10, 20), (35, 50), (60, 60)]) == [(0, 20), (30, 50)]


def test_one_tab_beating_every_15_seconds_counts_wall_time() -> None:
    v = Viewer()
    v.beat("a", 0, "start")
    for at in range(15, 301, 15):
        v.beat("a", at)
    assert v.beat("a", 310, "stop") == 310


def test_overlapping_tabs_count_each_second_once() -> None:
    v = Viewer()
    v.beat("a", 100, "start")
    v.beat("b", 110, "start")
    v.beat("a", 115)
    v.beat("b", 125)
    v.beat("a", 130)
    v.beat("b", 140)
    # a covered 100-130 and b 110-140: the union is 100-140.
    assert v.beat("a", 145) == 45
    assert v.intervals == [(100, 145)]


def test_tab_switching_gap_earns_nothing() -> None:
    v = Viewer()
    v.beat("a", 0, "start")
    v.beat("a", 15)
    v.beat("a", 20, "stop")  # tab hidden at 20 s
    v.beat("a", 35, "start")  # visible again 15 s later: the hidden time is not counted
    assert v.beat("a", 50) == 35
    assert v.intervals == [(0, 20), (35, 50)]


def test_reconnect_after_a_long_silence_earns_nothing_for_the_silence() -> None:
    v = Viewer()
    v.beat("a", 0, "start")
    v.beat("a", 15)
    v.beat("a", 120)  # 105 s without a beat: the connection dropped
    assert v.beat("a", 135) == 30
    assert v.intervals == [(0, 15), (120, 135)]


def test_one_lost_beat_still_counts() -> None:
    v = Viewer()
    v.beat("a", 0, "start")
    assert v.beat("a", 30) == 30


def test_retried_beat_adds_nothing() -> None:
    v = Viewer()
    v.beat("a", 0, "start")
    assert v.beat("a", 15) == 15
    assert v.beat("a", 15) == 15


def test_live_seconds_stay_inside_the_session() -> None:
    v = Viewer()
    v.beat("a", -20, "start")  # the page opened 20 s before the start
    v.beat("a", 10)
    v.beat("a", LENGTH - 5, "start")
    assert v.beat("a", LENGTH + 10) == 15


def test_on_demand_counts_player_positions_not_wall_time() -> None:
    v = Viewer(live=False)
    v.beat("a", 1000, "start", position=0)
    v.beat("a", 1015, position=15)
    v.beat("a", 1030, position=30)
    v.beat("a", 1040, "stop", position=40)
    # Rewatching 10-40 in a second tab adds nothing; continuing to 55 adds 15.
    v.beat("b", 2000, "start", position=10)
    v.beat("b", 2015, position=25)
    v.beat("b", 2030, position=40)
    assert v.beat("b", 2045, position=55) == 55


def test_on_demand_seek_forward_earns_nothing() -> None:
    v = Viewer(live=False)
    v.beat("a", 0, "start", position=0)
    v.beat("a", 15, position=15)
    assert v.beat("a", 30, position=600) == 15  # jumped ahead 585 s in 15 s
    assert v.beat("a", 45, position=615) == 30


def test_on_demand_without_position_plays_from_zero_at_normal_speed() -> None:
    v = Viewer(live=False)
    v.beat("a", 500, "start")
    v.beat("a", 515)
    v.beat("b", 600, "start")
    assert v.beat("b", 620) == 20  # both tabs played 0-15/0-20: the union is 20
