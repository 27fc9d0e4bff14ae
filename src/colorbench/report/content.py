"""The measured tables of the current run: the two papers' Table I layouts, every metric,
the paired tests against the baseline, and ParaColorizer's Table V (overlay α vs fusion)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from colorbench.report.load import Results
from colorbench.report.spec import (
    ALL_ORDER,
    FD_EVAL_LABEL,
    PARACOLORIZER_T1,
    PARACOLORIZER_T2,
    SALIENCY,
    SCGAN_T1,
    method_label,
    method_order,
    overlay_alpha,
    spec,
)
from colorbench.tables import Cell, Column, Table, format_p

FID_MODES = {
    "standard": "standard (InceptionV3 with the TF-FID weights, 2048-d pool features, "
    "Fréchet distance in float64)",
    "piq": "piq (ParaColorizer's protocol; piq's iterative matrix square root biases FID upwards)",
    "both": "both, from one TF-FID Inception pass: FID standard (Fréchet distance in float64) "
    "and FID (piq) with ParaColorizer's protocol (piq's iterative square root, biased upwards); "
    "the ParaColorizer tables show FID (piq)",
}


@dataclass
class Context:
    """What every table states: profile, N, FID mode; and the params of the current run."""

    n_images: int | None
    fid_mode: str | None
    profile: str | None
    params: dict[str, Any] = field(default_factory=dict)
    baseline: str = "gray"
    protocol: str | None = None
    about: str | None = None

    @classmethod
    def from_results(
        cls, results: Results, params: dict[str, Any], baseline: str, fid_mode: str | None
    ) -> Context:
        # metrics.json says what was measured; params only fill gaps.
        return cls(
            n_images=results.n_images,
            fid_mode=results.fid_mode or fid_mode,
            profile=results.profile or params.get("profile"),
            params=params,
            baseline=baseline,
            protocol=results.protocol,
            about=results.about,
        )

    def header_lines(self) -> list[str]:
        n = self.n_images if self.n_images is not None else "unknown"
        lines = [f"Profile: {self.profile or 'unknown'}"]
        if self.protocol:
            about = f" ({self.about})" if self.about else ""
            lines += [f"Protocol: {self.protocol}{about}", f"N = {n} images"]
        else:
            lines.append(f"N = {n} test images")
        return lines + [f"FID mode: {self.fid_mode or 'unknown'}"]

    def fid_note(self) -> str:
        desc = FID_MODES.get(self.fid_mode or "", self.fid_mode or "unknown (not in metrics.json)")
        return (
            f"FID mode {desc}. FID depends strongly on N (here N = {self.n_images}); compare "
            "FID only between runs with the same N and mode."
        )


FD_NOTE = (
    f"FD-eval: {FD_EVAL_LABEL} — the Fréchet distance between features of the profile's own "
    "classifier (models/evaluator.pt) on colourised and ground-truth images; not comparable "
    "with any published FID."
)


def _metric_notes(results: Results, ctx: Context, keys: list[str], methods: list[str]) -> list[str]:
    notes: list[str] = []
    if "fid" in keys or "fid_piq" in keys:
        notes.append(ctx.fid_note())
    if "evaluator_fd" in keys:
        notes.append(FD_NOTE)
    if "delta_colorful" in keys:
        notes.append(
            "ΔColorful = |mean colourfulness M of the outputs − mean M of the ground truth| "
            "over the set (lower is better)."
        )
    if "cci_ratio" in keys:
        notes.append(
            "CCI ratio: share of images whose colourfulness M lies in SCGAN's band [16, 20]."
        )
    odd = sorted(
        {
            f"{m}/{k}: n = {v.n}"
            for m in methods
            for k in keys
            if (v := results.value(m, k)).available
            and v.n is not None
            and ctx.n_images is not None
            and v.n != ctx.n_images
        }
    )
    if odd:
        notes.append("Fewer images than N for: " + ", ".join(odd) + ".")
    inf = sorted(
        f"{m} ({int(v.extras['n_inf'])})"
        for m in methods
        if (v := results.value(m, "psnr")).extras.get("n_inf") and "psnr" in keys
    )
    if inf:
        notes.append(
            "PSNR leaves out images identical to the ground truth (infinite PSNR): "
            + ", ".join(inf)
            + "."
        )
    notes.append("Bold: best value of the column (↑ higher is better, ↓ lower is better).")
    return notes


def measured_table(results: Results, ctx: Context, name: str, title: str, keys: list[str]) -> Table:
    methods = results.method_names
    table = Table(
        name,
        title,
        [Column.label("method", "Method")] + [Column.metric(spec(k)) for k in keys],
        header_lines=ctx.header_lines(),
    )
    for m in methods:
        table.add_row([Cell(text=method_label(m))] + [Cell.of(results.value(m, k)) for k in keys])
    table.notes = _metric_notes(results, ctx, keys, methods)
    return table


def _paracolorizer_keys(results: Results, keys: list[str]) -> list[str]:
    """The paper's FID is piq's: its column shows `fid_piq` when evaluate computed it."""
    if "fid_piq" not in results.metric_names():
        return keys
    return ["fid_piq" if k == "fid" else k for k in keys]


def paracolorizer_table1(results: Results, ctx: Context) -> Table:
    t = measured_table(
        results,
        ctx,
        "paracolorizer_table1",
        "Measured: ParaColorizer Table I layout (ΔColorful, FID, LPIPS, PSNR, SSIM)",
        _paracolorizer_keys(results, PARACOLORIZER_T1),
    )
    return _fid_fallback_note(results, t)


def _fid_fallback_note(results: Results, t: Table) -> Table:
    methods = results.method_names
    if any(not results.value(m, "fid").available for m in methods) and any(
        results.value(m, "evaluator_fd").available for m in methods
    ):
        t.notes.append("Where FID is n/a, the all-metrics table has FD-eval (not FID).")
    return t


def paracolorizer_table2(results: Results, ctx: Context) -> Table:
    t = measured_table(
        results,
        ctx,
        "paracolorizer_table2",
        "Measured: ParaColorizer Table II layout (FID; the paper: 5k random ImageNet images)",
        _paracolorizer_keys(results, PARACOLORIZER_T2),
    )
    return _fid_fallback_note(results, t)


def scgan_table1(results: Results, ctx: Context) -> Table:
    return measured_table(
        results,
        ctx,
        "scgan_table1",
        "Measured: SCGAN Table I layout (PSNR, SSIM, Top-1, CCI ratio)",
        SCGAN_T1,
    )


def all_metrics_table(results: Results, ctx: Context) -> Table:
    present = [k for k in results.metric_names() if k not in SALIENCY]
    keys = [k for k in ALL_ORDER if k in present] + sorted(k for k in present if k not in ALL_ORDER)
    return measured_table(results, ctx, "all_metrics", "Measured: every metric", keys)


def saliency_table(results: Results, ctx: Context) -> Table | None:
    """Predicted saliency (SCGAN's branch) against the saliency stage's maps, test split."""
    methods = [m for m in results.method_names if results.value(m, SALIENCY[0]).available]
    if not methods:
        return None
    table = Table(
        "saliency_agreement",
        "Measured: predicted saliency vs ground-truth saliency maps",
        [Column.label("method", "Method")] + [Column.metric(spec(k)) for k in SALIENCY],
        header_lines=ctx.header_lines(),
    )
    for m in methods:
        table.add_row(
            [Cell(text=method_label(m))] + [Cell.of(results.value(m, k)) for k in SALIENCY]
        )
    table.notes = [
        "Maps in [0, 1]; MAE per image, IoU of both maps thresholded at 0.5 (1 when both are "
        "empty); ground truth from the saliency stage (params saliency.backend)."
    ]
    return table


def paired_table(results: Results, ctx: Context) -> Table:
    """Paired tests of each method against the baseline, one row per (method, metric)."""
    table = Table(
        "paired_tests",
        f"Measured: paired tests against the baseline ({ctx.baseline})",
        [
            Column.label("method", "Method"),
            Column.label("metric", "Metric"),
            Column.label("vs", "vs"),
            Column.label("test", "Test"),
            Column("mean_diff", "Δ mean (method − vs)", r"$\Delta$ mean (method $-$ vs)"),
            Column("p_value", "p", "$p$", kind="p", ci=False),
        ],
        header_lines=ctx.header_lines(),
        bold=False,
    )
    others: set[str] = set()
    for m in method_order(list(results.paired)):
        tests = results.paired[m]
        keys = [k for k in ALL_ORDER if k in tests] + sorted(k for k in tests if k not in ALL_ORDER)
        for k in keys:
            p = tests[k]
            if p.vs != ctx.baseline:
                others.add(p.vs)
            s = spec(k)
            table.add_row(
                [
                    Cell(text=method_label(m)),
                    Cell(text=s.label + s.arrow),
                    Cell(text=p.vs),
                    Cell(text=p.test),
                    Cell(
                        p.mean_diff,
                        p.lo,
                        p.hi,
                        digits=s.digits,
                        scale=s.scale,
                        n=p.n,
                        reason=None if p.mean_diff is not None else _paired_reason(p),
                    ),
                    Cell(p.p_value, text=format_p(p.p_value)),
                ]
            )
    table.notes = [
        "Δ mean: per-image mean of (method − vs) with its bootstrap 95% interval; for ↓ metrics "
        "a negative Δ is an improvement. Shares (Top-1, CCI ratio) in percentage points.",
        "p-values are two-sided and not corrected for multiple comparisons.",
    ]
    if others:
        table.notes.append(
            f"report.baseline is '{ctx.baseline}' but metrics.json holds tests against "
            f"{', '.join(sorted(others))} (evaluate's baseline); re-run evaluate to align them."
        )
    if not table.rows:
        table.notes.append("metrics.json has no paired tests.")
    return table


def _paired_reason(p) -> str:
    if p.reason:
        return p.reason
    if p.n == 0:
        return "no image pair with defined values (n = 0)"
    return "not computed"


def overlay_fusion_table(results: Results, ctx: Context) -> Table:
    """ParaColorizer Table V: α·fg + (1−α)·bg for each α (bg is α=0, fg is α=1) vs fusion."""
    keys = ["fid", "evaluator_fd", "psnr", "ssim", "delta_colorful"]
    table = Table(
        "paracolorizer_table5",
        "Ablation: ParaColorizer Table V layout (weighted overlay α vs fusion), current run",
        [Column.label("alpha", "α"), Column.label("method", "Method")]
        + [Column.metric(spec(k)) for k in keys],
        header_lines=ctx.header_lines(),
    )
    rows: dict[float, str] = {}
    for m in results.method_names:
        a = overlay_alpha(m)
        if a is not None:
            rows.setdefault(a, m)
    if "bg" in results.methods:
        rows.setdefault(0.0, "bg")
    if "fg" in results.methods:
        rows.setdefault(1.0, "fg")
    for a in sorted(rows):
        m = rows[a]
        table.add_row(
            [Cell(text=f"{a:.2f}"), Cell(text=m)] + [Cell.of(results.value(m, k)) for k in keys]
        )
    if "fused" in results.methods:
        strategy = (ctx.params.get("colorize") or {}).get("fusion_strategy")
        label = f"fused ({strategy})" if strategy else "fused"
        table.add_row(
            [Cell(text="fusion"), Cell(text=label)]
            + [Cell.of(results.value("fused", k)) for k in keys]
        )
    table.notes = [
        "α is the foreground share: overlay = α·fg + (1−α)·bg, so bg is α = 0 and fg is α = 1.",
        *_metric_notes(results, ctx, keys, list(rows.values()) + ["fused"]),
    ]
    if not table.rows:
        table.notes.append("No fg/bg/overlay/fused outputs in this run.")
    table.howto = [
        "More α values: set `colorize.overlay_alphas` in params.yaml (e.g. "
        "`dvc exp run -S 'colorize.overlay_alphas=[0.25,0.5,0.75]'`)."
    ]
    return table
