"""The demo event's program: speakers, tracks and sessions, timed relative to the load."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

MAIN, DEEP, THEATRE = "Main stage", "Deep dives", "Partner theatre"


@dataclass(frozen=True, slots=True)
class SpeakerSpec:
    key: str
    name: str
    title: str
    company: str
    bio: str


@dataclass(frozen=True, slots=True)
class SessionSpec:
    """A session on day 1 (`offset` minutes from the load time) or day 2 (`local` wall time)."""

    title: str
    abstract: str
    track: str
    minutes: int
    speakers: tuple[str, ...]
    day: int
    offset: int = 0
    local: dt.time | None = None
    sponsor: str | None = None  # exhibitor slug


SPEAKERS = [
    SpeakerSpec(
        "amara",
        "Amara Okafor",
        "VP Manufacturing Excellence",
        "Brandt Automotive Group",
        "Amara runs operational excellence across 23 plants and has rolled out predictive "
        "maintenance to 9,000 assets.",
    ),
    SpeakerSpec(
        "jonas",
        "Jonas Lindqvist",
        "Chief Technology Officer",
        "Forgeline AI",
        "Jonas co-founded Forgeline after a decade building condition-monitoring systems for "
        "paper mills.",
    ),
    SpeakerSpec(
        "mei",
        "Dr. Mei Tanaka",
        "Head of Vision Research",
        "Lumora Vision Systems",
        "Mei leads Lumora's few-shot learning research and previously worked on medical imaging.",
    ),
    SpeakerSpec(
        "carlos",
        "Carlos Medina",
        "Principal Analyst, Industrial AI",
        "Vantage Research",
        "Carlos covers industrial AI platforms and publishes the yearly Vantage market map.",
    ),
    SpeakerSpec(
        "sophie",
        "Sophie Laurent",
        "Director of Data Platforms",
        "Datastrand",
        "Sophie has connected more historians to more lakes than she would like to admit.",
    ),
    SpeakerSpec(
        "priya",
        "Priya Raman",
        "Head of MLOps",
        "Kestrel MLOps",
        "Priya built the model deployment pipeline for a fleet of 40,000 wind turbine sensors.",
    ),
    SpeakerSpec(
        "thomas",
        "Thomas Becker",
        "CISO",
        "Rheinwerk Chemicals",
        "Thomas is responsible for IT and OT security at a chemicals producer with 11 sites.",
    ),
    SpeakerSpec(
        "elena",
        "Elena Petrova",
        "Partner, AI Regulation",
        "Kovac & Petrova Legal",
        "Elena advises manufacturers on the EU AI Act and product liability.",
    ),
    SpeakerSpec(
        "david",
        "David Chen",
        "Plant Manager",
        "Northfield Foods",
        "David runs a 600-person food plant that went from paper checklists to computer vision "
        "in eighteen months.",
    ),
    SpeakerSpec(
        "ingrid",
        "Ingrid Solberg",
        "Energy Manager",
        "Nordal Aluminium",
        "Ingrid shifts megawatts around day-ahead prices for a living.",
    ),
]

SESSIONS = [
    # Day 1: placed around the moment the demo is loaded, so the lobby always has "on now".
    SessionSpec(
        "Opening keynote: industrial AI after the pilot phase",
        "Most factories have run an AI pilot; few have scaled one. Amara shares what it took "
        "to go from three pilot lines to 23 plants, and what she would do differently.",
        MAIN,
        45,
        ("amara",),
        day=1,
        offset=-180,
    ),
    SessionSpec(
        "Market map 2026: who sells what in industrial AI",
        "An analyst's tour of the vendor landscape: platforms, point solutions, and the "
        "consolidation ahead.",
        MAIN,
        40,
        ("carlos",),
        day=1,
        offset=-120,
    ),
    SessionSpec(
        "From historian to lakehouse without a two-year project",
        "A live walkthrough of connecting plant historians to a governed data platform, and "
        "the asset model that makes the data usable.",
        DEEP,
        45,
        ("sophie",),
        day=1,
        offset=-110,
        sponsor="datastrand",
    ),
    SessionSpec(
        "Predictive maintenance that planners trust",
        "Why accuracy is not enough: explanations, work-order integration and the feedback "
        "loop that made maintenance planners adopt model alerts.",
        MAIN,
        60,
        ("jonas", "amara"),
        day=1,
        offset=-20,
        sponsor="forgeline",
    ),
    SessionSpec(
        "Fifty images are enough: few-shot visual inspection",
        "How few-shot models reach production accuracy on new defect types, with numbers from "
        "three production lines.",
        DEEP,
        45,
        ("mei",),
        day=1,
        offset=-10,
        sponsor="lumora",
    ),
    SessionSpec(
        "Roll-outs and rollbacks for 1,000 edge devices",
        "Staged deployments, signed artefacts and drift alerts for models that run next to "
        "the machine, not in the cloud.",
        THEATRE,
        30,
        ("priya",),
        day=1,
        offset=60,
        sponsor="kestrel-mlops",
    ),
    SessionSpec(
        "Securing the models on your shop floor",
        "A CISO's view of OT segmentation, model signing and what an attacker does with "
        "access to a PLC.",
        DEEP,
        45,
        ("thomas",),
        day=1,
        offset=75,
    ),
    SessionSpec(
        "Panel: who owns the model when it stops the line?",
        "Operations, IT, quality and legal on accountability for AI decisions in production.",
        MAIN,
        50,
        ("amara", "thomas", "elena"),
        day=1,
        offset=120,
    ),
    # Day 2 (tomorrow), at fixed wall-clock times in the event's timezone.
    SessionSpec(
        "Day 2 keynote: from paper checklists to computer vision",
        "A food plant's eighteen months from clipboards to cameras: costs, mistakes and the "
        "people side.",
        MAIN,
        45,
        ("david",),
        day=2,
        local=dt.time(9, 30),
    ),
    SessionSpec(
        "The EU AI Act for manufacturers, in 40 minutes",
        "Which of your systems are high-risk, what documentation you need, and the deadlines "
        "that matter.",
        DEEP,
        40,
        ("elena",),
        day=2,
        local=dt.time(10, 30),
        sponsor="meridian-compliance",
    ),
    SessionSpec(
        "Energy flexibility: paid to move your load",
        "Forecasting consumption per machine and shifting flexible loads against day-ahead "
        "prices, with a year of results from an aluminium smelter.",
        THEATRE,
        30,
        ("ingrid",),
        day=2,
        local=dt.time(11, 0),
        sponsor="gridwise",
    ),
    SessionSpec(
        "Pricing deep-dive: what predictive maintenance really costs",
        "Licences, sensors, integration and people: a transparent total cost of ownership and "
        "how to build the business case.",
        DEEP,
        45,
        ("jonas",),
        day=2,
        local=dt.time(13, 30),
        sponsor="forgeline",
    ),
    SessionSpec(
        "Live demo: inspection model from zero to line in 30 minutes",
        "Label, train and deploy a defect detector on stage, on real parts.",
        THEATRE,
        30,
        ("mei",),
        day=2,
        local=dt.time(14, 30),
        sponsor="lumora",
    ),
    SessionSpec(
        "Closing panel: what to fund next year",
        "Analysts and practitioners on where industrial AI budgets are going in 2027.",
        MAIN,
        45,
        ("carlos", "sophie", "priya"),
        day=2,
        local=dt.time(16, 0),
    ),
]
