"""Believable attendee profiles for the demo: buyers, researchers, students, competitors, visitors.

Profiles are pure data from a seeded random generator, so every load creates the same people
and a lead-engine simulation can give each persona its own behaviour.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Persona(StrEnum):
    buyer = "buyer"  # decision maker with budget and a near timeframe
    evaluator = "evaluator"  # hands-on engineer shortlisting vendors for a buyer
    researcher = "researcher"  # early research, no budget yet
    partner = "partner"  # integrators and resellers looking for products to sell
    analyst = "analyst"  # press and analysts
    competitor = "competitor"  # vendors in the same market, some undeclared
    student = "student"
    drive_by = "drive_by"  # registered, barely filled in the profile


@dataclass(frozen=True, slots=True)
class Company:
    name: str
    domain: str
    industry: str
    size: str
    country: str


@dataclass(frozen=True, slots=True)
class AttendeeProfile:
    persona: Persona
    first_name: str
    last_name: str
    email: str
    company: str
    job_title: str
    job_level: str
    company_type: str
    company_size: str
    industry: str
    country: str
    budget: str
    timeframe: str
    interests: list[str]
    phone: str | None
    consent_share: bool
    consent_marketing: bool


# Every domain ends in .example (RFC 2606), so no demo address can belong to a real person.
END_USERS = [
    Company("Brandt Automotive Group", "brandt-auto.example", "manufacturing", "5001+", "DE"),
    Company("Rheinwerk Chemicals", "rheinwerk.example", "manufacturing", "1001-5000", "DE"),
    Company("Northfield Foods", "northfield-foods.example", "manufacturing", "201-1000", "US"),
    Company("Nordal Aluminium", "nordal.example", "energy", "1001-5000", "NO"),
    Company("Castellane Packaging", "castellane.example", "manufacturing", "201-1000", "FR"),
    Company("Vistula Steelworks", "vistula-steel.example", "manufacturing", "5001+", "PL"),
    Company("Ostrava Bearings", "ostrava-bearings.example", "manufacturing", "201-1000", "CZ"),
    Company("Lakeshore Paper Mills", "lakeshore-paper.example", "manufacturing", "1001-5000", "CA"),
    Company("Meseta Logistics", "meseta-logistics.example", "logistics", "1001-5000", "ES"),
    Company("Hollandia Dairy", "hollandia-dairy.example", "manufacturing", "1001-5000", "NL"),
    Company("Alpine Rail Services", "alpine-rail.example", "logistics", "5001+", "CH"),
    Company("Fjordkraft Wind", "fjord-wind.example", "energy", "201-1000", "DK"),
    Company("Prairie Agritech", "prairie-agri.example", "manufacturing", "51-200", "US"),
    Company("Tagus Pharma", "tagus-pharma.example", "healthcare", "1001-5000", "PT"),
    Company("Baltic Components", "baltic-components.example", "manufacturing", "51-200", "LT"),
    Company("Emilia Machine Tools", "emilia-mt.example", "manufacturing", "201-1000", "IT"),
    Company(
        "Great Lakes Plastics", "greatlakes-plastics.example", "manufacturing", "201-1000", "US"
    ),
    Company("Sonoran Semiconductors", "sonoran-semi.example", "manufacturing", "5001+", "US"),
    Company("Danube Water Utility", "danube-water.example", "public", "1001-5000", "AT"),
    Company("Kowloon Electronics", "kowloon-elec.example", "manufacturing", "5001+", "HK"),
    Company("Pune Precision Castings", "pune-castings.example", "manufacturing", "201-1000", "IN"),
    Company("Hanse Port Operations", "hanse-port.example", "logistics", "1001-5000", "DE"),
    Company("Midlands Gearworks", "midlands-gear.example", "manufacturing", "51-200", "GB"),
    Company("Suomi Pulp", "suomi-pulp.example", "manufacturing", "1001-5000", "FI"),
]
PARTNERS = [
    Company("Synapse Systems Integration", "synapse-si.example", "consulting", "51-200", "DE"),
    Company("Automata Partners", "automata-partners.example", "consulting", "201-1000", "US"),
    Company("Veldt Industrial Distribution", "veldt-dist.example", "retail", "201-1000", "NL"),
    Company("Crestline Consulting", "crestline.example", "consulting", "1001-5000", "GB"),
]
ANALYSTS = [
    Company("Vantage Research", "vantage-research.example", "consulting", "51-200", "US"),
    Company("Factory Futures Magazine", "factory-futures.example", "media", "11-50", "GB"),
    Company("Industrie Digital", "industrie-digital.example", "media", "11-50", "DE"),
]
# Vendors in the exhibitors' market; some appear on the booths' competitor lists.
COMPETITORS = [
    Company("UptimeIQ", "uptimeiq.example", "software", "201-1000", "US"),
    Company("Inspectra", "inspectra.example", "software", "51-200", "DE"),
    Company("Pickwise", "pickwise.example", "software", "11-50", "FR"),
    Company("Cobalt Twin", "cobalt-twin.example", "software", "51-200", "SE"),
]
UNIVERSITIES = [
    Company("TU Aachen", "tu-aachen.example", "education", "5001+", "DE"),
    Company("Politecnico di Torino", "polito.example", "education", "5001+", "IT"),
    Company("Delft University of Technology", "tudelft.example", "education", "5001+", "NL"),
    Company("Georgia Institute of Technology", "gatech.example", "education", "5001+", "US"),
]
FREEMAIL = ["mailbox.example", "webpost.example"]

FIRST_NAMES = (
    "Anna Lukas Sofia Mateo Emma Noah Léa Jakub Zofia Mikael Aino Lars Ingrid Pieter Sanne "
    "Giulia Marco Lucía Javier Inês João Chloé Théo Oliver Amelia Siobhan Cian Priya Arjun "
    "Wei Yuki Hiroshi Min-jun Fatima Omar Aylin Emre Nia Kwame Olivia Liam Ava Ethan Maya "
    "Daniel Sara Tomasz Katarzyna Dmitri Elif Björn Astrid Henrik Maja Nikos Eleni Radu Ioana"
).split()
LAST_NAMES = (
    "Müller Schmidt Weber Rossi Bianchi García Martínez Silva Santos Dubois Moreau Janssen "
    "de Vries Nowak Kowalski Novák Virtanen Johansson Andersen Hansen O'Brien Murphy Smith "
    "Johnson Williams Brown Patel Sharma Chen Wang Tanaka Sato Kim Park Yılmaz Demir Okafor "
    "Mensah Haddad Nguyen Kovač Horvat Popescu Ionescu Papadopoulos Fischer Wagner Becker "
    "Lindberg Eriksson Costa Ferreira Lefèvre Baker"
).split()
INTERESTS = [
    "predictive maintenance", "computer vision", "edge", "MLOps", "data platform", "security",
    "digital twin", "robotics", "energy", "compliance", "synthetic data", "IIoT",
]  # fmt: skip

# persona: (share, job levels, titles, budgets, timeframes, weight out of 300)
_SHAPES: dict[Persona, tuple[float, list[str], list[str], list[str], list[str], int]] = {
    Persona.buyer: (
        0.95,
        ["c_level", "vp", "vp", "director", "director", "director"],
        [
            "Head of Maintenance",
            "VP Operations",
            "Director of Manufacturing Engineering",
            "Chief Digital Officer",
            "Plant Director",
            "Head of Quality",
        ],
        ["approved", "approved", "pending"],
        ["lt_3m", "3_6m", "3_6m", "6_12m"],
        60,
    ),
    Persona.evaluator: (
        0.85,
        ["manager", "manager", "individual"],
        [
            "Reliability Engineer",
            "Automation Engineer",
            "Data Science Lead",
            "Quality Engineering Manager",
            "OT Architect",
            "Process Engineer",
        ],
        ["pending", "unknown", "approved"],
        ["3_6m", "6_12m", "6_12m"],
        70,
    ),
    Persona.researcher: (
        0.7,
        ["manager", "individual", "director"],
        [
            "Innovation Manager",
            "Digital Transformation Lead",
            "Research Engineer",
            "Strategy Analyst",
        ],
        ["unknown", "none", "pending"],
        ["6_12m", "gt_12m", "none"],
        60,
    ),
    Persona.partner: (
        0.9,
        ["director", "manager", "c_level"],
        ["Partner Manager", "Managing Director", "Solutions Architect"],
        ["unknown", "none"],
        ["6_12m", "gt_12m"],
        20,
    ),
    Persona.analyst: (
        0.6,
        ["individual", "director"],
        ["Principal Analyst", "Technology Editor", "Industry Reporter"],
        ["none"],
        ["none"],
        10,
    ),
    Persona.competitor: (
        0.8,
        ["individual", "manager"],
        ["Product Manager", "Sales Engineer", "Product Marketing Manager"],
        ["unknown"],
        ["none"],
        20,
    ),
    Persona.student: (
        0.75,
        ["student"],
        ["MSc student, Mechatronics", "PhD candidate, Computer Vision", "Student, Data Science"],
        ["none"],
        ["none"],
        30,
    ),
    Persona.drive_by: (0.5, ["other", "individual"], [""], ["unknown"], ["none", "gt_12m"], 30),
}


def attendee_profiles(count: int = 300, *, seed: int = 2026) -> list[AttendeeProfile]:
    """`count` profiles in persona proportions, the same ones for the same seed."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    total = sum(shape[5] for shape in _SHAPES.values())
    personas = [p for p, shape in _SHAPES.items() for _ in range(round(shape[5] * count / total))]
    personas = (personas + [Persona.evaluator] * count)[:count]
    rng.shuffle(personas)
    seen: set[str] = set()
    return [_profile(rng, persona, seen) for persona in personas]


def _profile(rng: random.Random, persona: Persona, seen: set[str]) -> AttendeeProfile:
    share, levels, titles, budgets, timeframes, _ = _SHAPES[persona]
    company = rng.choice(_companies_for(persona))
    company_type = {
        Persona.partner: rng.choice(["partner", "reseller"]),
        Persona.analyst: "press_analyst",
        # A third of the competitors do not declare it; their email domain gives them away.
        Persona.competitor: rng.choice(["competitor", "competitor", "end_user"]),
        Persona.student: "other",
        Persona.drive_by: rng.choice(["other", "end_user"]),
    }.get(persona, "end_user")
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    domain = rng.choice(FREEMAIL) if persona is Persona.drive_by else company.domain
    email = _unique_email(f"{first}.{last}@{domain}", seen)
    interests = rng.sample(INTERESTS, k=rng.randint(1, 4))
    return AttendeeProfile(
        persona=persona,
        first_name=first,
        last_name=last,
        email=email,
        company="" if persona is Persona.drive_by and rng.random() < 0.5 else company.name,
        job_title=rng.choice(titles),
        job_level=rng.choice(levels),
        company_type=company_type,
        company_size=company.size,
        industry=company.industry if persona is not Persona.drive_by else "other",
        country=company.country,
        budget=rng.choice(budgets),
        timeframe=rng.choice(timeframes),
        interests=interests,
        phone=f"+49 30 {rng.randint(1000000, 9999999)}" if rng.random() < 0.3 else None,
        consent_share=rng.random() < share,
        consent_marketing=rng.random() < share * 0.6,
    )


def _companies_for(persona: Persona) -> list[Company]:
    return {
        Persona.partner: PARTNERS,
        Persona.analyst: ANALYSTS,
        Persona.competitor: COMPETITORS,
        Persona.student: UNIVERSITIES,
    }.get(persona, END_USERS)


def _unique_email(email: str, seen: set[str]) -> str:
    local, _, domain = email.lower().replace(" ", "").replace("'", "").partition("@")
    local = _ascii(local)
    candidate, n = f"{local}@{domain}", 1
    while candidate in seen:
        n += 1
        candidate = f"{local}{n}@{domain}"
    seen.add(candidate)
    return candidate


def _ascii(text: str) -> str:
    """Email local parts without accents: "lefèvre" becomes "lefevre"."""
    text = text.translate(_SPECIAL)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_SPECIAL = str.maketrans({"ß": "ss", "ı": "i", "ł": "l", "ø": "o", "æ": "ae"})
