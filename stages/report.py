"""DVC stage `report`: reports/README.md, reports/tables/, reports/figures/ from
reports/metrics_details.json (params: report, evaluate.fid_mode)."""

from __future__ import annotations

from colorbench.params import load_params, section
from colorbench.report import ReportConfig, build_report
from colorbench.stage_utils import run_main


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
    run_main(main)
