"""The ministers' summary report (PDF, French and English), made from the analyst marts only."""

from __future__ import annotations

from convoc.report.render import render_report, render_reports, report_path, weekly_due
from convoc.report.suppress import MIN_CELL, Count, Share, Status, protect, protect_group

__all__ = [
    "MIN_CELL",
    "Count",
    "Share",
    "Status",
    "protect",
    "protect_group",
    "render_report",
    "render_reports",
    "report_path",
    "weekly_due",
]
