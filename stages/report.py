"""DVC stage `report`: reports/README.md, reports/tables/, reports/figures/ from
reports/metrics.json (params: report, evaluate.fid_mode)."""

from __future__ import annotations

import sys

from colorbench.errors import ColorbenchError
from colorbench.params import load_params, section
from colorbench.report import ReportConfig, build_report


def main() -> None:
    params = load_params()
    p = section("report")
    build_report(
        ReportConfig(
            grid_images=int(p.get("grid_images", 6)),
            baseline=str(p.get("baseline", "gray")),
            fid_mode=(params.get("evaluate") or {}).get("fid_mode"),
        ),
        params,
    )


if __name__ == "__main__":
    try:
        main()
    except ColorbenchError as exc:
        sys.exit(f"error: {exc}")
