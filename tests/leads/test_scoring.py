"""Scoring rules: exact points for each rule, caps, decay, fit, grades, gates and territory."""

from __future__ import annotations

import itertools

import pytest
from pydantic import ValidationError

from app.events.vocab import BUDGETS, COMPANY_SIZES, COMPANY_TYPES, JOB_LEVELS, TIMEFRAMES
from app.leads.facts import ActivityFact
from app.leads.rules import EngagementRule, ExhibitorOverride, Ruleset
from app.leads.scoring import FitCache, count, fit, score
from tests.leads.helpers import NOW, act, profile

RULES = Ruleset()


def engagement(*activities: ActivityFact, override: ExhibitorOverride | None = None) -> float:
    return score(profile(), activities, RULES, override, NOW).engagement


def test_visit_counts_once_per_booth_per_day() -> None:
    visits = [act("booth.visit", minutes=m) for m in range(3)]
    other_booth = act("booth.visit", booth_id=2, exhibitor_id=2)
    yesterday = act("booth.visit", days_ago=1)
    assert engagement(*visits) == 2
    assert engagement(*visits, other_booth) == 4
    assert engagement(*visits, yesterday) == pytest.approx(2 + 2 * 0.5 ** (1 / 14))


def test_dwell_is_one_point_a_minute_up_to_six_per_booth_per_day() -> None:
    assert engagement(act("booth.dwell", value=59)) == 0
    assert engagement(act("booth.dwell", value=150)) == 2
    assert engagement(act("booth.dwell", value=240), act("booth.dwell", value=240)) == 6
    assert (
        engagement(act("booth.dwell", value=3600), act("booth.dwell", value=600, booth_id=2)) == 12
    )


def test_download_is_five_points_for_at_most_three_resources() -> None:
    downloads = [act("resource.download", resource_id=r) for r in range(1, 6)]
    assert engagement(downloads[0]) == 5
    assert engagement(downloads[0], act("resource.download", resource_id=1)) == 5
    assert engagement(*downloads) == 15


def test_video_counts_from_half_watched() -> None:
    assert engagement(act("video.progress", value=49, resource_id=1)) == 0
    assert engagement(act("video.progress", value=50, resource_id=1)) == 5
    assert engagement(*(act("video.progress", value=v, resource_id=1) for v in (50, 75, 100))) == 5


def test_live_attendance_and_half_watched_and_on_demand() -> None:
    live = act("session.join", session_id=1, live=True, booth_id=None, exhibitor_id=None)
    watched = act("session.watch", session_id=1, live=True, value=1800, percent=50)
    too_little = act("session.watch", session_id=1, live=True, value=600, percent=20)
    on_demand = act("session.join", session_id=2, live=False)
    assert engagement(live) == 5
    assert engagement(live, watched) == 10
    assert engagement(live, too_little) == 5
    assert engagement(on_demand) == 3


def test_poll_question_chat_caps() -> None:
    assert engagement(*(act("poll.answer", minutes=m) for m in range(7))) == 5
    assert engagement(*(act("question.ask", minutes=m) for m in range(5))) == 12
    chats = [act("chat.message", booth_id=b, exhibitor_id=b) for b in range(1, 6)]
    assert engagement(chats[0]) == 3
    assert engagement(*chats) == 9


def test_info_request_email_and_unsubscribe() -> None:
    assert engagement(act("info.request")) == 15
    assert engagement(*(act("email.click", minutes=m) for m in range(5))) == 9
    assert engagement(act("email.open")) == 0
    clicks = [act("email.click", minutes=m) for m in range(3)]
    assert engagement(*clicks, act("unsubscribe"), act("info.request")) == 15 + 9 - 20


def test_engagement_never_negative() -> None:
    assert engagement(act("unsubscribe")) == 0


def test_group_caps() -> None:
    booth_day = [act("booth.visit", booth_id=b, exhibitor_id=b) for b in range(1, 30)]
    result = score(profile(), booth_day, RULES, None, NOW)
    assert result.engagement == 35
    assert result.contributions[-1].rule == "cap.booth"
    assert result.contributions[-1].points == -(29 * 2 - 35)
    talks = [act("info.request", booth_id=b, exhibitor_id=b) for b in range(1, 4)]
    assert engagement(*talks) == 25


@pytest.mark.parametrize(("days", "points"), [(0, 15), (14, 7.5), (28, 3.75)])
def test_decay_halves_every_fourteen_days(days: int, points: float) -> None:
    assert engagement(act("info.request", days_ago=days)) == pytest.approx(points, abs=1e-12)


def test_tiers_and_cells() -> None:
    many = [act("info.request", booth_id=b, exhibitor_id=b) for b in range(1, 3)]
    downloads = [act("resource.download", resource_id=r) for r in range(1, 4)]
    result = score(profile(job_level="c_level"), [*many, *downloads], RULES, None, NOW)
    assert (result.engagement, result.tier) == (40, 2)
    assert (result.fit, result.grade, result.cell) == (97, "A", "A2")
    assert result.qualifies_mql


def test_contributions_in_plain_words() -> None:
    pricing = act("resource.download", resource_id=1, label="Pricing sheet", stage="evaluation")
    result = score(profile(), [pricing, act("info.request")], RULES, None, NOW)
    labels = [c.label for c in result.contributions if c.dimension == "engagement"]
    assert labels == ["+15 requested more information", "+5 downloaded 'Pricing sheet'"]
    assert result.contributions[-1].activity_ids == (pricing.id,)
    assert result.buying_stage == "evaluation"


@pytest.mark.parametrize(
    ("values", "fit", "grade"),
    [
        ({}, 25 + 25 + 20 + 15 + 7, "A"),
        ({"job_level": "vp", "timeframe": "lt_3m"}, 100, "A"),
        ({"job_level": "manager", "budget": "none"}, 15 + 25 + 20 + 7, "B"),
        ({"job_level": "individual", "company_type": "partner", "budget": "none"}, 42, "C"),
        (
            {"job_level": "other", "company_type": "other", "budget": "none", "timeframe": "none"},
            20,
            "D",
        ),
    ],
)
def test_fit_points_and_grades(values: dict[str, str], fit: float, grade: str) -> None:
    result = score(profile(**values), [], RULES, None, NOW)
    assert (result.fit, result.grade) == (fit, grade)


def test_company_size_inside_adjacent_and_outside_the_ideal_range() -> None:
    override = ExhibitorOverride(ideal_company_sizes=["201-1000"])
    sizes = {
        s: score(profile(company_size=s), [], RULES, override, NOW).fit
        for s in ("201-1000", "51-200", "1-10")
    }
    assert sizes == {"201-1000": 92, "51-200": 82, "1-10": 72}


@pytest.mark.parametrize(
    ("values", "gate"),
    [
        ({"job_level": "student"}, "job level student"),
        ({"company_type": "competitor"}, "company type competitor"),
        ({"email": "spy@rival.example"}, "competitor domain rival.example"),
        ({"email": "spy@eu.rival.example"}, "competitor domain rival.example"),
    ],
)
def test_gates_grade_f(values: dict[str, str], gate: str) -> None:
    override = ExhibitorOverride(competitor_domains=["Rival.example"])
    result = score(profile(**values), [act("info.request")], RULES, override, NOW)
    assert (result.grade, result.cell, result.gate) == ("F", "F", gate)
    assert not result.qualifies_mql


def test_outside_territory_caps_grade_at_c() -> None:
    override = ExhibitorOverride(territory=["de", "FR"])
    result = score(profile(job_level="c_level"), [], RULES, override, NOW)
    assert (result.fit, result.grade, result.outside_territory) == (97, "C", True)
    inside = score(profile(job_level="c_level", country="DE"), [], RULES, override, NOW)
    assert inside.grade == "A"


def test_hand_raise_fast_tracks_grade_c_but_not_d() -> None:
    c_profile = profile(job_level="individual", company_type="partner", budget="none")
    assert score(c_profile, [act("meeting.request")], RULES, None, NOW).qualifies_mql
    result = score(c_profile, [act("booth.visit")], RULES, None, NOW)
    assert (result.cell, result.qualifies_mql) == ("C4", False)
    d_profile = profile(job_level="other", company_type="other", budget="none", timeframe="none")
    assert not score(d_profile, [act("info.request")], RULES, None, NOW).qualifies_mql
    assert score(c_profile, [act("meeting.request")], RULES, None, NOW).buying_stage == "decision"


def test_exhibitor_extra_points_for_own_resources() -> None:
    override = ExhibitorOverride(resource_points={7: 3})
    assert engagement(act("resource.download", resource_id=7), override=override) == 8


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"fit": {"grades": {"A": 40, "B": 50, "C": 25}}}, "fit.grades"),
        (
            {
                "engagement": {
                    "x": {
                        "type": "booth.fly",
                        "points": 1,
                        "group": "booth",
                        "label": "x",
                        "cap": 1,
                    }
                }
            },
            "engagement.x.type",
        ),
        (
            {
                "engagement": {
                    "x": {
                        "type": "booth.visit",
                        "points": 1,
                        "group": "booth",
                        "label": "x",
                        "cap": -1,
                    }
                }
            },
            "engagement.x.cap",
        ),
        ({"groups": {"booth": -1}}, "groups"),
        ({"tiers": {"t1": 10}}, "tiers"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_ruleset_names_the_field(patch: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        Ruleset.model_validate(patch)
    locs = [".".join(str(p) for p in e["loc"]) for e in info.value.errors()]
    assert any(loc.startswith(field) for loc in locs), locs


def test_the_fit_cache_gives_what_fit_gives_for_every_profile() -> None:
    """FitCache builds a fit from remembered parts (profile reasons, size reason): for every
    combination of the vocabularies, under overrides that set ideal sizes, a territory and
    competitor domains, it must equal `fit` itself, reasons and their order included."""
    overrides = [
        None,
        ExhibitorOverride(ideal_company_sizes=["1-10", "11-50"], territory=["DE"]),
        ExhibitorOverride(ideal_company_sizes=["5001+"], competitor_domains=["rival.example"]),
    ]
    cache = FitCache(RULES, limit=500)  # small: misses and clears happen along the way
    checked = 0
    for values in itertools.product(JOB_LEVELS, COMPANY_TYPES, COMPANY_SIZES, BUDGETS, TIMEFRAMES):
        who = profile(
            **dict(
                zip(
                    ("job_level", "company_type", "company_size", "budget", "timeframe"),
                    values,
                    strict=True,
                )
            ),
            country="DE" if checked % 2 else "US",
            email="a@rival.example" if checked % 7 == 0 else "a@example.com",
        )
        for override in overrides:
            assert cache.get(who, override) == fit(who, RULES, override)
            checked += 1
    assert checked == 3 * 7 * 6 * 6 * 4 * 5


@pytest.mark.parametrize(
    ("cap", "day_cap", "once_per"),
    [
        (3, None, None),
        (0, None, None),
        (1, None, "booth"),
        (None, 6.0, None),
        (None, 0.0, None),
        (None, 2.5, None),
    ],
)
def test_one_occurrence_counts_as_the_general_rule_says(
    cap: int | None, day_cap: float | None, once_per: str | None
) -> None:
    """`count` takes a short way for a rule's single occurrence; an iterator takes the long way."""
    rule = EngagementRule(
        type="booth.dwell",
        points=1,
        group="booth",
        label="dwelt at {title}",
        per_minute=True,
        cap=cap,
        day_cap=day_cap,
        once_per=once_per,
    )
    entry = (1_000, 7, 4.0, "b1:2026-11-20", "Acme")
    assert count(rule, [entry]) == count(rule, iter([entry]))
