"""DVC stage `study`: reports/study/ (Table III, SCGAN perceptual columns, agreement,
participants) from every committed studies/<name>/responses/*.jsonl; with no study it
still writes reports/study/README.md saying so."""

from __future__ import annotations

from pathlib import Path

from colorbench.stage_utils import run_main


def main() -> None:
    from colorbench.study.tables import write_study_reports

    scores = write_study_reports(Path("studies"), Path("reports/study"))
    names = ", ".join(s["name"] for s in scores) or "none with responses"
    print(
        f"study: scored {len(scores)} stud{'y' if len(scores) == 1 else 'ies'} ({names}) -> reports/study"
    )


if __name__ == "__main__":
    run_main(main)
