"""The lead engine: activity log, scoring, lifecycle, reports and exports."""
