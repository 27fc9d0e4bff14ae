"""dvclive metric logging for training runs (rank 0 only).

Metrics go to `<log_dir>/plots/metrics/<name>.tsv` (x = global step) so the DAG's
`plots:` entries and `dvc plots show` pick them up; sample images to `plots/images/`.
dvclive is told not to touch dvc.yaml and not to create experiments: the DAG owns both.
On resume the metric histories are cut back to the checkpoint's step, so steps replayed
after a kill are not logged twice. Each checkpoint also carries a snapshot of the histories
(`snapshot_metrics`): `dvc repro` deletes a stage's outs (logs/<run>) before re-running it, so
a resumed stage restores them from its checkpoint and the curves show the whole run.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from colorbench.atomic import atomic_file


class MetricLogger:
    """Thin wrapper over `dvclive.Live`; a no-op on ranks other than 0."""

    def __init__(
        self,
        log_dir: str | os.PathLike,
        *,
        enabled: bool = True,
        resume_step: int | None = None,
        params: Mapping[str, Any] | None = None,
        history: Mapping[str, str] | None = None,
    ) -> None:
        self.dir = Path(log_dir)
        self.live = None
        if not enabled:
            return
        os.environ.setdefault("DVC_NO_ANALYTICS", "1")
        from dvclive import Live

        resume = resume_step is not None
        if resume:
            restore_metrics(self.dir / "plots" / "metrics", history or {})
            truncate_metrics(self.dir / "plots" / "metrics", resume_step)
        self.live = Live(
            dir=str(self.dir), resume=resume, dvcyaml=None, save_dvc_exp=False, report=None
        )
        if params:
            self.live.log_params(_plain(params))

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        if self.live is None or not metrics:
            return
        self.live.step = int(step)
        for name, value in metrics.items():
            self.live.log_metric(name, float(value))

    def image(self, name: str, image: np.ndarray) -> None:
        """An HxWx3 uint8 image under plots/images/<name> (png)."""
        if self.live is None:
            return
        if not name.endswith(".png"):
            name = f"{name}.png"
        self.live.log_image(name, image)

    def flush(self) -> None:
        if self.live is not None:
            self.live.make_summary()

    def close(self) -> None:
        if self.live is not None:
            self.live.end()
            self.live = None


def snapshot_metrics(log_dir: str | os.PathLike) -> dict[str, str]:
    """{path under plots/metrics: text} of every metric history of a run (for its checkpoint)."""
    metrics_dir = Path(log_dir) / "plots" / "metrics"
    if not metrics_dir.is_dir():
        return {}
    return {
        tsv.relative_to(metrics_dir).as_posix(): tsv.read_text()
        for tsv in sorted(metrics_dir.rglob("*.tsv"))
    }


def restore_metrics(metrics_dir: Path, snapshot: Mapping[str, str]) -> None:
    """Put back the checkpoint's histories that are missing or shorter on disk (deleted by
    `dvc repro`, or cut by a kill); a longer file on disk is newer and is kept."""
    for rel, text in snapshot.items():
        if ".." in Path(rel).parts or Path(rel).is_absolute():
            continue  # never write outside the metrics folder
        tsv = metrics_dir / rel
        if not tsv.is_file() or len(tsv.read_text().splitlines()) < len(text.splitlines()):
            with atomic_file(tsv, "w", newline="") as fh:
                fh.write(text)


def truncate_metrics(metrics_dir: Path, last_step: int) -> None:
    """Drop rows with step > last_step from every dvclive metric history under metrics_dir."""
    if not metrics_dir.is_dir():
        return
    for tsv in metrics_dir.rglob("*.tsv"):
        with open(tsv, newline="") as fh:
            rows = list(csv.reader(fh, delimiter="\t"))
        if not rows or "step" not in rows[0]:
            continue
        col = rows[0].index("step")
        kept = [rows[0]] + [r for r in rows[1:] if len(r) > col and int(r[col]) <= last_step]
        if len(kept) != len(rows):
            with atomic_file(tsv, "w", newline="") as fh:  # a kill keeps the old history
                csv.writer(fh, delimiter="\t", lineterminator="\n").writerows(kept)


def _plain(obj: Any) -> Any:
    """YAML-safe copy of a config (dvclive writes params as YAML)."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)
