"""Reading what the evaluate stage (and training) wrote: metrics.json, per-image csvs,
dvclive training logs. Tolerant of missing pieces, strict about malformed ones."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from colorbench.errors import ColorbenchError
from colorbench.report.spec import method_order


@dataclass(frozen=True)
class Value:
    """One metric of one method: set mean, its bootstrap 95% interval, or why it is missing."""

    mean: float | None
    lo: float | None = None
    hi: float | None = None
    std: float | None = None
    n: int | None = None
    reason: str | None = None
    extras: dict[str, float] = field(default_factory=dict, compare=False)  # e.g. gt_mean

    @property
    def available(self) -> bool:
        return self.mean is not None

    @classmethod
    def from_json(cls, obj: Any) -> Value:
        if isinstance(obj, bool) or obj is None:
            return cls(None, reason="not computed")
        if isinstance(obj, (int, float)):  # a bare number is accepted as the mean
            return cls(_num(obj))
        if not isinstance(obj, dict):
            return cls(None, reason=f"unreadable entry {obj!r}")
        mean = _num(obj.get("mean"))
        lo, hi = _ci95(obj)
        n = _count(obj.get("n"))
        reason = obj.get("reason")
        if obj.get("available") is False or mean is None:
            reason = str(reason) if reason else "not available"
            return cls(None, n=n, reason=reason)
        known = {"mean", "std", "ci95", "n", "reason", "available"}
        extras = {
            str(k): f for k, v in obj.items() if k not in known and (f := _num(v)) is not None
        }
        return cls(mean, lo, hi, _num(obj.get("std")), n, extras=extras)


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _count(x: Any) -> int | None:
    f = _num(x)
    return None if f is None else int(f)


def _ci95(obj: dict[str, Any]) -> tuple[float | None, float | None]:
    ci = obj.get("ci95")
    if isinstance(ci, (list, tuple)) and len(ci) == 2:
        return _num(ci[0]), _num(ci[1])
    return None, None


@dataclass(frozen=True)
class Paired:
    """A paired test of one metric: method − `vs`, per image."""

    vs: str
    mean_diff: float | None
    lo: float | None
    hi: float | None
    p_value: float | None
    test: str
    n: int | None = None
    reason: str | None = None

    @classmethod
    def from_json(cls, obj: Any) -> Paired | None:
        if not isinstance(obj, dict):
            return None
        lo, hi = _ci95(obj)
        return cls(
            vs=str(obj.get("vs", "?")),
            mean_diff=_num(obj.get("mean_diff")),
            lo=lo,
            hi=hi,
            p_value=_num(obj.get("p_value")),
            test=str(obj.get("test", "")),
            n=_count(obj.get("n")),
            reason=str(obj["reason"]) if obj.get("reason") else None,
        )


@dataclass
class Results:
    n_images: int | None
    fid_mode: str | None
    profile: str | None
    methods: dict[str, dict[str, Value]]
    paired: dict[str, dict[str, Paired]] = field(default_factory=dict)
    source: str = ""
    protocol: str | None = None  # the evaluation protocol these results are on
    about: str | None = None  # the protocol's description (source, split, selection)
    protocols: dict[str, Results] = field(default_factory=dict)  # every protocol, by name

    def for_protocol(self, name: str | None) -> Results:
        """The results on protocol `name`; these results when they hold no protocols (or
        `name` is None). A protocol that was not evaluated has no methods."""
        if name is None or not self.protocols:
            return self
        if name in self.protocols:
            return self.protocols[name]
        return Results(None, self.fid_mode, self.profile, {}, source=self.source, protocol=name)

    @property
    def method_names(self) -> list[str]:
        return method_order(list(self.methods))

    def value(self, method: str, metric: str) -> Value:
        entry = self.methods.get(method, {})
        if metric not in entry:
            return Value(None, reason="not in metrics.json")
        return entry[metric]

    def gt_colorfulness(self) -> float | None:
        """Mean colourfulness M of the ground truth, as evaluate records it with ΔColorful."""
        for entry in self.methods.values():
            gt = entry.get("delta_colorful")
            if gt is not None and "gt_mean" in gt.extras:
                return gt.extras["gt_mean"]
        return None

    def metric_names(self) -> list[str]:
        names: dict[str, None] = {}
        for entry in self.methods.values():
            names.update(dict.fromkeys(entry))
        return list(names)


def results_from_dict(data: Any, source: str = "") -> Results:
    """Build Results from the metrics.json structure (also used on `dvc exp show` data)."""
    if not isinstance(data, dict) or not isinstance(data.get("methods"), dict):
        raise ColorbenchError(
            f"{source or 'metrics'}: no 'methods' object; is it the evaluate stage's "
            "reports/metrics_details.json? Run `dvc repro evaluate`."
        )
    methods: dict[str, dict[str, Value]] = {}
    for name, metrics in data["methods"].items():
        if not isinstance(metrics, dict):
            continue
        methods[str(name)] = {str(k): Value.from_json(v) for k, v in metrics.items()}
    paired: dict[str, dict[str, Paired]] = {}
    for name, tests in (data.get("paired") or {}).items():
        if isinstance(tests, dict):
            parsed = {str(k): Paired.from_json(v) for k, v in tests.items()}
            paired[str(name)] = {k: v for k, v in parsed.items() if v is not None}
    protocols = {
        str(name): results_from_dict({**block, "protocol": name}, f"{source} ({name})")
        for name, block in (data.get("protocols") or {}).items()
        if isinstance(block, dict) and isinstance(block.get("methods"), dict)
    }
    return Results(
        n_images=_count(data.get("n_images")),
        fid_mode=str(data["fid_mode"]) if data.get("fid_mode") else None,
        profile=str(data["profile"]) if data.get("profile") else None,
        methods=methods,
        paired=paired,
        source=source,
        protocol=str(data["protocol"]) if data.get("protocol") else None,
        about=str(data["about"]) if data.get("about") else None,
        protocols=protocols,
    )


def load_metrics(path: str | os.PathLike) -> Results:
    path = Path(path)
    if not path.is_file():
        raise ColorbenchError(
            f"{path} not found; run the evaluate stage first (`dvc repro evaluate`) "
            "or pass --metrics FILE"
        )
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ColorbenchError(
            f"{path} is not valid JSON ({exc}); re-run `dvc repro evaluate`"
        ) from exc
    return results_from_dict(data, str(path))


def load_per_image(directory: str | os.PathLike) -> dict[str, Any]:
    """Per-method DataFrames from <dir>/<method>.csv (empty dict when the folder is absent)."""
    import pandas as pd

    directory = Path(directory)
    out: dict[str, pd.DataFrame] = {}
    if not directory.is_dir():
        return out
    for csv in sorted(directory.glob("*.csv")):
        try:
            df = pd.read_csv(csv, dtype={"image": str})
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise ColorbenchError(
                f"{csv}: unreadable per-image csv ({exc}); re-run evaluate"
            ) from exc
        if "image" not in df.columns:
            raise ColorbenchError(f"{csv}: no 'image' column; re-run `dvc repro evaluate`")
        out[csv.stem] = df
    return {m: out[m] for m in method_order(list(out))}


def load_training_logs(logs_dir: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """dvclive scalar logs: {stage: {metric path: DataFrame(step, value)}}.

    dvclive writes logs/<stage>/plots/metrics/<name>.tsv with columns `step` (and, in
    some versions, `timestamp`) and the metric's last path component.
    """
    import pandas as pd

    logs_dir = Path(logs_dir)
    out: dict[str, dict[str, pd.DataFrame]] = {}
    if not logs_dir.is_dir():
        return out
    for stage_dir in sorted(p for p in logs_dir.iterdir() if p.is_dir()):
        root = stage_dir / "plots" / "metrics"
        if not root.is_dir():
            continue
        curves: dict[str, pd.DataFrame] = {}
        for tsv in sorted(root.rglob("*.tsv")):
            try:
                df = pd.read_csv(tsv, sep="\t")
            except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
                continue  # a half-written log line must not break the report
            value_cols = [c for c in df.columns if c not in ("step", "timestamp")]
            if "step" not in df.columns or not value_cols or df.empty:
                continue
            col = value_cols[-1]
            frame = pd.DataFrame(
                {
                    "step": pd.to_numeric(df["step"], errors="coerce"),
                    "value": pd.to_numeric(df[col], errors="coerce"),
                }
            ).dropna()
            if not frame.empty:
                curves[tsv.relative_to(root).with_suffix("").as_posix()] = frame
        if curves:
            out[stage_dir.name] = curves
    return out
