"""The incremental LeadState equals a full recompute, whatever the arrival order."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from app.leads.facts import ActivityFact
from app.leads.rules import ExhibitorOverride, Ruleset
from app.leads.scoring import score
from app.leads.state import LeadState
from app.leads.vocab import ACTIVITY_TYPES
from tests.leads.helpers import NOW, profile

RULES = Ruleset()
BASE = NOW - dt.timedelta(days=40)


@st.composite
def activities(draw: st.DrawFn) -> list[ActivityFact]:
    n = draw(st.integers(min_value=0, max_value=40))
    ids = draw(st.lists(st.integers(1, 10_000), min_size=n, max_size=n, unique=True))
    out = []
    for activity_id in ids:
        booth = draw(st.integers(1, 3))
        out.append(
            ActivityFact(
                id=activity_id,
                type=draw(st.sampled_from(sorted(ACTIVITY_TYPES))),
                # Few distinct instants, so ties (broken by id) are common.
                at=BASE + dt.timedelta(hours=draw(st.integers(0, 24 * 45)) // 7 * 7),
                value=draw(st.one_of(st.none(), st.floats(0, 2000, allow_nan=False))),
                exhibitor_id=booth,
                booth_id=booth,
                session_id=draw(st.integers(1, 3)),
                resource_id=draw(st.integers(1, 4)),
                stage=draw(st.sampled_from([None, "research", "evaluation", "decision"])),
                live=draw(st.booleans()),
                percent=draw(st.one_of(st.none(), st.floats(0, 100, allow_nan=False))),
                label=f"thing {booth}",
            )
        )
    return out


@settings(max_examples=300, deadline=None)
@given(acts=activities(), extra=st.booleans(), data=st.data())
def test_incremental_equals_full_recompute(
    acts: list[ActivityFact], extra: bool, data: st.DataObject
) -> None:
    override = (
        ExhibitorOverride(resource_points={2: 4}, ideal_company_sizes=["51-200"]) if extra else None
    )
    arrival = data.draw(st.permutations(acts))
    state = LeadState()
    for a in arrival:
        # Round-trip through JSON every step, as the database does.
        state = LeadState.from_json(json.loads(json.dumps(state.to_json())))
        state.add(a, RULES, override)
    built = LeadState.build(acts, RULES, override)
    assert built.to_json() == state.to_json()
    for now in (NOW, NOW + dt.timedelta(days=20)):
        full = score(profile(), acts, RULES, override, now)
        incremental = state.score(profile(), RULES, override, now)
        assert abs(full.fit - incremental.fit) <= 1e-9
        assert abs(full.engagement - incremental.engagement) <= 1e-9
        assert full == incremental


def test_state_is_bounded_by_the_caps() -> None:
    state = LeadState()
    for i in range(200):
        a = ActivityFact(
            id=i + 1, type="resource.download", at=NOW - dt.timedelta(minutes=i), resource_id=i
        )
        state.add(a, RULES, None)
    assert [e[1] for e in state.entries["download"]] == [200, 199, 198]


def test_state_ignores_activity_before_a_recycle() -> None:
    state = LeadState(since_us=None)
    state.add(ActivityFact(id=1, type="info.request", at=NOW), RULES, None)
    recycled = LeadState(since_us=state.last_us)
    assert not recycled.add(
        ActivityFact(id=2, type="info.request", at=NOW - dt.timedelta(days=1)), RULES, None
    )
    assert recycled.score(profile(), RULES, None, NOW).engagement == 0
