"""Expohall: an open-source virtual trade show platform built for lead generation."""

__version__ = "0.1.0"
