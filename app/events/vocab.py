"""Controlled vocabularies of the attendee profile, with the labels people see."""

from __future__ import annotations

from functools import cache

import pycountry

JOB_LEVELS = {
    "c_level": "C-level (CEO, CTO, CFO…)",
    "vp": "Vice president",
    "director": "Director",
    "manager": "Manager",
    "individual": "Individual contributor",
    "student": "Student",
    "other": "Other",
}
COMPANY_TYPES = {
    "end_user": "End user (buying for my organisation)",
    "partner": "Partner / integrator",
    "reseller": "Reseller / distributor",
    "press_analyst": "Press or analyst",
    "competitor": "Vendor in this market",
    "other": "Other",
}
COMPANY_SIZES = {
    "1-10": "1–10 employees",
    "11-50": "11–50 employees",
    "51-200": "51–200 employees",
    "201-1000": "201–1,000 employees",
    "1001-5000": "1,001–5,000 employees",
    "5001+": "More than 5,000 employees",
}
INDUSTRIES = {
    "software": "Software & internet",
    "manufacturing": "Manufacturing",
    "finance": "Banking, finance & insurance",
    "healthcare": "Healthcare & life sciences",
    "retail": "Retail & e-commerce",
    "public": "Government & public sector",
    "education": "Education",
    "energy": "Energy & utilities",
    "logistics": "Transport & logistics",
    "media": "Media & marketing",
    "telecom": "Telecommunications",
    "consulting": "Consulting & services",
    "other": "Other",
}
BUDGETS = {
    "approved": "Budget approved",
    "pending": "Budget pending approval",
    "none": "No budget",
    "unknown": "Don't know",
}
TIMEFRAMES = {
    "lt_3m": "Within 3 months",
    "3_6m": "3–6 months",
    "6_12m": "6–12 months",
    "gt_12m": "More than 12 months",
    "none": "No plans to buy",
}


@cache
def countries() -> dict[str, str]:
    """ISO 3166-1 alpha-2 codes to names, sorted by name."""
    pairs = ((c.alpha_2, getattr(c, "common_name", c.name)) for c in pycountry.countries)
    return dict(sorted(pairs, key=lambda p: p[1]))
