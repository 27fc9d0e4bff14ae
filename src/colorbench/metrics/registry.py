"""Every metric, declared once: its key, how tables show it (label, LaTeX label, digits,
scale), which direction is better, whether it is per image or set-level, the pretrained
weights it needs (colorbench.weights names) and which evaluator computes it.

`colorbench evaluate` (metrics.pairing: what a requested name turns on, the output order,
per-image columns) and the report (report.spec) both read this table. No heavy imports.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    key: str
    label: str  # markdown / csv header
    latex: str  # LaTeX header (already escaped)
    higher_is_better: bool | None  # None: no "best" (e.g. raw colourfulness)
    digits: int
    scale: float = 1.0  # display scale: 100 for shares shown as percentages
    per_image: bool = False  # a value per image (a csv column), else one per set
    evaluator: str = ""  # pixel | network | derived (from another metric) | saliency | ""
    weights: tuple[str, ...] = ()  # pretrained files it needs (colorbench.weights names)
    group: tuple[str, ...] = ()  # keys computed together when this one is requested
    request: str | None = None  # the name `--metrics`' default list requests it by
    aliases: tuple[str, ...] = ()  # other names that request it (e.g. cci)

    @property
    def arrow(self) -> str:
        return {True: " ↑", False: " ↓", None: ""}[self.higher_is_better]

    @property
    def latex_arrow(self) -> str:
        return {True: r" $\uparrow$", False: r" $\downarrow$", None: ""}[self.higher_is_better]


FD_EVAL_LABEL = "Fréchet distance (evaluator features), not FID"
_COLOURFUL = ("colorfulness", "colorfulness_abs", "delta_colorful")

# In evaluate's output order (csv columns, metrics.json); report-only metrics last.
METRICS: tuple[Metric, ...] = (
    Metric("psnr", "PSNR (dB)", "PSNR (dB)", True, 2, per_image=True, evaluator="pixel",
           request="psnr"),
    Metric("ssim", "SSIM", "SSIM", True, 4, per_image=True, evaluator="pixel", request="ssim"),
    Metric("lpips", "LPIPS", "LPIPS", False, 3, per_image=True, evaluator="network",
           weights=("alexnet",), request="lpips"),
    Metric("colorfulness", "Colourfulness M", "Colourfulness $M$", None, 2, per_image=True,
           evaluator="pixel", group=_COLOURFUL, request="colorfulness"),
    Metric("colorfulness_abs", "Colourfulness M (|rg|,|yb| variant)",
           r"Colourfulness $M$ ($|rg|,|yb|$ variant)", None, 2, per_image=True,
           evaluator="pixel", group=_COLOURFUL),
    Metric("delta_colorful", "ΔColorful", r"$\Delta$Colorful", False, 2, evaluator="derived",
           group=_COLOURFUL),
    Metric("cci_ratio", "CCI ratio (%)", r"CCI ratio (\%)", True, 2, 100.0, evaluator="derived",
           group=("colorfulness", "cci_ratio"), request="cci", aliases=("cci",)),
    Metric("cni", "CNI", "CNI", True, 3, per_image=True, evaluator="pixel", request="cni"),
    Metric("top1", "Top-1 (%)", r"Top-1 (\%)", True, 2, 100.0, per_image=True,
           evaluator="network", weights=("vgg16",), request="top1"),
    Metric("fid", "FID", "FID", False, 2, evaluator="network", weights=("inception_fid",),
           request="fid"),
    # Not requested by name: `fid` writes it too under fid_mode both (piq's formula on the
    # same Inception features; ParaColorizer's protocol).
    Metric("fid_piq", "FID (piq)", "FID (piq)", False, 2, weights=("inception_fid",)),
    Metric("evaluator_fd", "FD-eval (evaluator features, not FID)",
           r"FD-eval (evaluator features, not FID)", False, 2, evaluator="network",
           request="evaluator_fd"),
    Metric("saliency_mae", "Saliency MAE", "Saliency MAE", False, 3, evaluator="saliency"),
    Metric("saliency_iou", "Saliency IoU@0.5", "Saliency IoU@0.5", True, 3,
           evaluator="saliency"),
)  # fmt: skip
BY_KEY: dict[str, Metric] = {m.key: m for m in METRICS}

# metrics.json's headline (sized for `dvc metrics diff`), in its column order.
HEADLINE = (
    "psnr", "ssim", "lpips", "fid", "fid_piq", "evaluator_fd", "delta_colorful", "cci_ratio",
    "top1",
)  # fmt: skip


def evaluated() -> list[Metric]:
    """The metrics `colorbench evaluate` computes, in output order."""
    return [m for m in METRICS if m.evaluator in ("pixel", "network", "derived")]


def groups() -> dict[str, tuple[str, ...]]:
    """Requestable name -> the keys it turns on."""
    out: dict[str, tuple[str, ...]] = {}
    for m in evaluated():
        for name in (*m.aliases, m.key):
            out[name] = m.group or (m.key,)
    return out
