"""Booths recommended to one attendee: those whose tags meet their interests or industry."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from app.booths.repository import BoothCard, tier_rank
from app.events.vocab import INDUSTRIES

LIMIT = 4


def wanted(interests: Iterable[str], industry: str) -> set[str]:
    """The attendee's topics, case-folded: each interest, and the industry's code and label."""
    topics = {i.strip().casefold() for i in interests if i.strip()}
    if industry:
        topics.add(industry.casefold())
        label = INDUSTRIES.get(industry)
        if label:
            topics.add(label.casefold())
    return topics


def overlap(card: BoothCard, topics: set[str]) -> int:
    return len({t.casefold() for t in card.booth.tags} & topics)


def recommended(
    cards: Sequence[BoothCard], *, interests: Iterable[str], industry: str, limit: int = LIMIT
) -> list[BoothCard]:
    """Booths sharing at least one topic, most shared first, then by tier and name."""
    topics = wanted(interests, industry)
    if not topics:
        return []
    scored = [(overlap(card, topics), card) for card in cards]
    ranked = sorted(
        (pair for pair in scored if pair[0] > 0),
        key=lambda pair: (
            -pair[0],
            tier_rank(pair[1].booth.tier),
            pair[1].exhibitor.name.casefold(),
        ),
    )
    return [card for _score, card in ranked[:limit]]
