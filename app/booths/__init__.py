"""Exhibitors, their booths, resources and meetings."""
