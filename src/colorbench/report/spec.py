"""The report's tables: which metrics each shows, in which order, and the methods' rows.

Each metric's label, LaTeX label, digits and direction come from colorbench.metrics.registry
and each method's label and order from colorbench.methods.registry, so markdown, csv and
LaTeX (and the figures) agree on labels and on which cell is bold.
"""

from __future__ import annotations

from colorbench.metrics.registry import BY_KEY, FD_EVAL_LABEL, Metric  # noqa: F401
from colorbench.tables import latex_escape

MetricSpec = Metric  # the report's name for a row of colorbench.metrics.registry
SPECS: dict[str, MetricSpec] = BY_KEY

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


def method_order(methods: list[str]) -> list[str]:
    """Results folders in table order: each method's declared order (colorbench.methods),
    then external methods by name."""
    from colorbench.methods import registry

    return registry.order(methods)


def overlay_alpha(method: str) -> float | None:
    """α of an overlay folder (the method that declares `alpha_of`), else None."""
    from colorbench.methods import registry

    alpha_of = getattr(registry.find(method), "alpha_of", None)
    return alpha_of(method) if alpha_of else None


def method_label(method: str) -> str:
    from colorbench.methods import registry

    return registry.label(method)
