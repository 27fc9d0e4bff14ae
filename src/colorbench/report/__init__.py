"""Paper-style tables (markdown, csv, LaTeX) and figures from evaluated results.

Entry point: `build_report(ReportConfig(...), params)`; the CLI is `colorbench report`,
run by the DVC stage `report`.
"""

from __future__ import annotations

from colorbench.report.build import ReportConfig, ReportSummary, build_report

__all__ = ["ReportConfig", "ReportSummary", "build_report"]
