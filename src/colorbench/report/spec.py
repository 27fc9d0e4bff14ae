"""What each metric is called in a table, how it is formatted and which direction is better.

One table of facts so markdown, csv and LaTeX (and the figures) agree on labels and on
which cell is bold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FD_EVAL_LABEL = "Fréchet distance (evaluator features), not FID"


@dataclass(frozen=True)
class MetricSpec:
    key: str
    label: str  # markdown / csv header
    latex: str  # LaTeX header (already escaped)
    higher_is_better: bool | None  # None: no "best" (e.g. raw colourfulness)
    digits: int
    scale: float = 1.0  # display scale: 100 for shares shown as percentages

    @property
    def arrow(self) -> str:
        return {True: " ↑", False: " ↓", None: ""}[self.higher_is_better]

    @property
    def latex_arrow(self) -> str:
        return {True: r" $\uparrow$", False: r" $\downarrow$", None: ""}[self.higher_is_better]


_SPECS = [
    MetricSpec("delta_colorful", "ΔColorful", r"$\Delta$Colorful", False, 2),
    MetricSpec("fid", "FID", "FID", False, 2),
    MetricSpec("fid_piq", "FID (piq)", "FID (piq)", False, 2),  # fid_mode both: piq's formula
    MetricSpec("lpips", "LPIPS", "LPIPS", False, 3),
    MetricSpec("psnr", "PSNR (dB)", "PSNR (dB)", True, 2),
    MetricSpec("ssim", "SSIM", "SSIM", True, 4),
    MetricSpec("top1", "Top-1 (%)", r"Top-1 (\%)", True, 2, 100.0),
    MetricSpec("cci_ratio", "CCI ratio (%)", r"CCI ratio (\%)", True, 2, 100.0),
    MetricSpec("cni", "CNI", "CNI", True, 3),
    MetricSpec(
        "evaluator_fd",
        "FD-eval (evaluator features, not FID)",
        r"FD-eval (evaluator features, not FID)",
        False,
        2,
    ),
    MetricSpec("saliency_mae", "Saliency MAE", "Saliency MAE", False, 3),
    MetricSpec("saliency_iou", "Saliency IoU@0.5", "Saliency IoU@0.5", True, 3),
    MetricSpec("colorfulness", "Colourfulness M", "Colourfulness $M$", None, 2),
    MetricSpec(
        "colorfulness_abs",
        "Colourfulness M (|rg|,|yb| variant)",
        r"Colourfulness $M$ ($|rg|,|yb|$ variant)",
        None,
        2,
    ),
]
SPECS: dict[str, MetricSpec] = {s.key: s for s in _SPECS}

# Column order of the all-metrics table; unknown metrics follow in name order.
ALL_ORDER = [
    "psnr",
    "ssim",
    "lpips",
    "fid",
    "fid_piq",
    "evaluator_fd",
    "delta_colorful",
    "colorfulness",
    "colorfulness_abs",
    "cci_ratio",
    "cni",
    "top1",
]
PARACOLORIZER_T1 = ["delta_colorful", "fid", "lpips", "psnr", "ssim"]
PARACOLORIZER_T2 = ["fid"]
SCGAN_T1 = ["psnr", "ssim", "top1", "cci_ratio"]
# Only methods that predict saliency (SCGAN) have these: their own table, not all-metrics.
SALIENCY = ["saliency_mae", "saliency_iou"]

# CCI band SCGAN calls optimal (Fig. 5).
CCI_BAND = (16.0, 20.0)


def spec(key: str) -> MetricSpec:
    """The spec of `key`; an unknown metric gets a neutral one (no bolding)."""
    if key in SPECS:
        return SPECS[key]
    return MetricSpec(key, key, latex_escape(key), None, 4)


_OVERLAY = re.compile(r"^overlay_a(?P<alpha>\d+(?:\.\d*)?)$")
_FIXED_ORDER = ["gray", "unet", "fg", "bg"]
_LATE_ORDER = ["fused", "scgan", "scgan_l"]


def overlay_alpha(method: str) -> float | None:
    m = _OVERLAY.match(method)
    return float(m.group("alpha")) if m else None


def method_order(methods: list[str]) -> list[str]:
    """gray, unet, fg, bg, overlays by α, fused, scgan, scgan_l, then external methods by name."""
    fixed = [m for m in _FIXED_ORDER if m in methods]
    overlays = sorted((m for m in methods if overlay_alpha(m) is not None), key=overlay_alpha)
    late = [m for m in _LATE_ORDER if m in methods]
    known = set(fixed) | set(overlays) | set(late)
    others = sorted(m for m in methods if m not in known)
    return fixed + overlays + late + others


METHOD_LABELS = {
    "gray": "gray (input)",
    "unet": "unet (V1, pix2pix U-Net)",
    "fg": "fg (foreground GAN)",
    "bg": "bg (background GAN)",
    "fused": "fused (ParaColorizer)",
    "scgan": "scgan (SCGAN, RGB as generated: paper protocol)",
    "scgan_l": "scgan_l (SCGAN ab on the input's L)",
}


def method_label(method: str) -> str:
    a = overlay_alpha(method)
    if a is not None:
        return f"{method} (α={a:g})"
    return METHOD_LABELS.get(method, method)


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LATEX_UNICODE = {
    "α": r"$\alpha$",
    "λ": r"$\lambda$",
    "Δ": r"$\Delta$",
    "±": r"$\pm$",
    "−": "-",
    "é": r"\'e",
    "↑": r"$\uparrow$",
    "↓": r"$\downarrow$",
    "·": r"$\cdot$",
    "²": r"$^2$",
    "—": "---",
    "–": "--",
    "×": r"$\times$",
    "≤": r"$\leq$",
    "≥": r"$\geq$",
    "|": r"$|$",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX specials and map the few non-ASCII characters the report uses."""
    out = []
    for ch in str(text):
        if ch in _LATEX_SPECIAL:
            out.append(_LATEX_SPECIAL[ch])
        elif ch in _LATEX_UNICODE:
            out.append(_LATEX_UNICODE[ch])
        else:
            out.append(ch)
    return "".join(out)
