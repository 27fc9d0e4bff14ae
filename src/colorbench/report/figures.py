"""Report figures (matplotlib, Agg, PNG): comparison grid, CCI box plot (SCGAN Fig. 5),
per-image metric distributions, training curves, SCGAN weighted images (Fig. 7)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from colorbench.metrics.decode import read_rgb  # the one image reader
from colorbench.report.spec import CCI_BAND, method_label, spec

DPI = 120


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight", format="png")
    _plt().close(fig)


def read_gray(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """A saliency map as float in [0, 1], resized to `size` (w, h) when given."""
    from PIL import Image

    from colorbench.metrics.decode import read_gray as decode_gray

    im = Image.fromarray(decode_gray(path))
    if size is not None and im.size != size:
        im = im.resize(size, Image.BILINEAR)
    return np.asarray(im, dtype=np.float32) / 255.0


def choose_ids(candidates: list[str], k: int) -> list[str]:
    """k evenly spaced ids from the sorted candidates: deterministic, spread over the set."""
    ids = sorted(set(candidates))
    if k <= 0 or not ids:
        return []
    if k >= len(ids):
        return ids
    idx = np.unique(np.round(np.linspace(0, len(ids) - 1, k)).astype(int))
    return [ids[i] for i in idx]


def grid_candidates(
    prepared: Path, outputs: Path, methods: list[str], gt_dir: Path | None = None
) -> list[str]:
    """Test ids with a ground-truth image, preferring ids every method has an output for."""
    gt_dir = gt_dir or prepared / "images"
    ids: list[str] = []
    if (prepared / "manifest.csv").is_file():
        from colorbench.data.manifest import read_manifest, test_split

        ids = list(test_split(read_manifest(prepared))["id"])
    if not ids and gt_dir.is_dir():
        ids = [p.stem for p in gt_dir.glob("*.png")]
    ids = [i for i in ids if (gt_dir / f"{i}.png").is_file()]
    full = [i for i in ids if all((outputs / m / f"{i}.png").is_file() for m in methods)]
    return full or ids


def _gray_of(gt: np.ndarray) -> np.ndarray:
    from colorbench.lab import gray_rgb

    return gray_rgb(gt)


def _blank(ax: Any, text: str = "") -> None:
    ax.set_facecolor("0.9")
    if text:
        ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=6, transform=ax.transAxes)


def comparison_grid(
    ids: list[str], methods: list[str], outputs: Path, gt_dir: Path, out_path: Path
) -> None:
    """Rows: images; columns: gray input | every method | ground truth."""
    plt = _plt()
    shown = [m for m in methods if m != "gray"]
    cols = ["gray input", *shown, "ground truth"]
    fig, axes = plt.subplots(
        len(ids),
        len(cols),
        figsize=(1.3 * len(cols), 1.3 * len(ids) + 0.4),
        squeeze=False,
    )
    for r, image_id in enumerate(ids):
        gt = read_rgb(gt_dir / f"{image_id}.png")
        gray_path = outputs / "gray" / f"{image_id}.png"
        panels: list[np.ndarray | None] = [
            read_rgb(gray_path) if gray_path.is_file() else _gray_of(gt)
        ]
        for m in shown:
            p = outputs / m / f"{image_id}.png"
            panels.append(read_rgb(p) if p.is_file() else None)
        panels.append(gt)
        for c, img in enumerate(panels):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if img is None:
                _blank(ax, "missing")
            else:
                ax.imshow(img, interpolation="nearest")
            if r == 0:
                title = cols[c] if c in (0, len(cols) - 1) else method_label(cols[c])
                ax.set_title(title.replace(" (", "\n("), fontsize=6)
            if c == 0:
                ax.set_ylabel(image_id, fontsize=6)
    fig.suptitle("Comparison on evenly spaced test images", fontsize=8)
    _save(fig, out_path)


def _finite(series: Any) -> np.ndarray:
    values = np.asarray(series, dtype=np.float64)
    return values[np.isfinite(values)]


def cci_boxplot(per_image: dict[str, Any], out_path: Path, gt_mean: float | None = None) -> bool:
    """Box plot of per-image colourfulness M per method, SCGAN's band [16, 20] shaded, and
    the ground truth's mean M as a dashed line when known."""
    data: list[tuple[str, np.ndarray]] = []
    for m, df in per_image.items():
        if "colorfulness" in df.columns:
            v = _finite(df["colorfulness"])
            if v.size:
                data.append((m, v))
    gt = next((df for df in per_image.values() if "colorfulness_gt" in df.columns), None)
    if gt is not None and _finite(gt["colorfulness_gt"]).size:
        data.append(("ground truth", _finite(gt["colorfulness_gt"])))
    if not data:
        return False
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(4.0, 0.8 * len(data) + 1.5), 3.5))
    ax.axhspan(*CCI_BAND, color="tab:green", alpha=0.2, label="CCI band [16, 20]")
    if gt_mean is not None:
        ax.axhline(
            gt_mean, color="tab:blue", ls="--", lw=1, label=f"ground truth mean M = {gt_mean:.1f}"
        )
    ax.boxplot([v for _, v in data], showfliers=True)
    ax.set_xticks(range(1, len(data) + 1))
    ax.set_xticklabels([m for m, _ in data], rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("CCI (colourfulness M)")
    ax.set_title("CCI distribution per method (cf. SCGAN Fig. 5)", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    _save(fig, out_path)
    return True


def distribution_plot(per_image: dict[str, Any], metric: str, out_path: Path) -> bool:
    """Violins of one per-image metric per method (a dot where a method has one value)."""
    data = [
        (m, _finite(df[metric]))
        for m, df in per_image.items()
        if metric in df.columns and _finite(df[metric]).size
    ]
    if not data:
        return False
    plt = _plt()
    s = spec(metric)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.8 * len(data) + 1.5), 3.5))
    for i, (_, v) in enumerate(data, start=1):
        if v.size >= 2 and np.ptp(v) > 0:  # a KDE needs spread
            ax.violinplot([v], positions=[i], showmeans=True, showextrema=True)
        ax.scatter([i], [v.mean()], color="black", s=8, zorder=3)
    ax.set_xticks(range(1, len(data) + 1))
    ax.set_xticklabels([m for m, _ in data], rotation=30, ha="right", fontsize=7)
    ax.set_ylabel(s.label + s.arrow)
    ax.set_title(f"Per-image {s.label} (dots: means)", fontsize=9)
    _save(fig, out_path)
    return True


# Per phase, the curves people read: the generator's total loss and the critic's.
_GEN_LOSS = ("g_loss", "total", "loss", "loss_g", "l1", "mse")
_CRITIC_LOSS = ("d_loss", "critic_total")


def _phase_key(name: str) -> tuple[str, str]:
    phase, _, key = name.rpartition("/")
    return phase, key


def curve_selection(curves: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(loss curves: per phase its generator and critic totals; validation curves: val_psnr
    per phase, else every val_* key) out of all logged keys; epoch means are left out."""
    by_phase: dict[str, dict[str, str]] = {}
    for name in sorted(curves):
        phase, key = _phase_key(name)
        by_phase.setdefault(phase, {})[key] = name
    losses = []
    for keys in by_phase.values():
        for family in (_GEN_LOSS, _CRITIC_LOSS):
            pick = next((keys[k] for k in family if k in keys), None)
            if pick is not None:
                losses.append(pick)
    psnr = [n for n in sorted(curves) if _phase_key(n)[1] == "val_psnr"]
    vals = psnr or [
        n for n in sorted(curves)
        if _phase_key(n)[1].startswith("val_") or _phase_key(n)[0].split("/")[-1] == "val"
    ]  # fmt: skip
    return losses, vals


def training_curves(stage: str, curves: dict[str, Any], out_path: Path) -> None:
    """One compact figure per run: losses per phase (left), validation curves (right)."""
    plt = _plt()
    losses, vals = curve_selection(curves)
    panels = [(losses, "losses per phase"), (vals, "validation")]
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 2.6))
    for ax, (names, title) in zip(axes, panels, strict=True):
        for name in names:
            df = curves[name]
            ax.plot(df["step"], df["value"], lw=1, marker="o" if len(df) < 30 else None, ms=3,
                    label=name.replace("/", ": "))  # fmt: skip
        if names and ax is axes[0] and all((curves[n]["value"] > 0).all() for n in names):
            ax.set_yscale("log")
        if names:
            ax.legend(fontsize=6, frameon=False)
        else:
            _blank(ax, "nothing logged")
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("step", fontsize=7)
        ax.tick_params(labelsize=6)
    fig.suptitle(f"Training curves: {stage}", fontsize=9)
    fig.tight_layout()
    _save(fig, out_path)


def saliency_figure(
    ids: list[str],
    outputs: Path,
    sal_pred: Path,
    sal_gt: Path | None,
    gt_dir: Path,
    out_path: Path,
) -> bool:
    """SCGAN weighted images (Fig. 7): colourisation × predicted saliency next to the ground
    truth × ground-truth saliency."""
    rows = [
        i
        for i in ids
        if (outputs / "scgan" / f"{i}.png").is_file()
        and (sal_pred / f"{i}.png").is_file()
        and (gt_dir / f"{i}.png").is_file()
    ]
    if not rows:
        return False
    has_gt_sal = sal_gt is not None and any((sal_gt / f"{i}.png").is_file() for i in rows)
    cols = ["gray input", "SCGAN", "predicted saliency", "SCGAN × predicted", "ground truth"]
    if has_gt_sal:
        cols += ["ground-truth saliency", "ground truth × gt saliency"]
    plt = _plt()
    fig, axes = plt.subplots(
        len(rows), len(cols), figsize=(1.3 * len(cols), 1.3 * len(rows) + 0.4), squeeze=False
    )
    for r, image_id in enumerate(rows):
        color = read_rgb(outputs / "scgan" / f"{image_id}.png")
        gt = read_rgb(gt_dir / f"{image_id}.png")
        size = (color.shape[1], color.shape[0])
        sal = read_gray(sal_pred / f"{image_id}.png", size)
        gray_path = outputs / "gray" / f"{image_id}.png"
        gray = read_rgb(gray_path) if gray_path.is_file() else _gray_of(gt)
        panels: list[tuple[np.ndarray | None, bool]] = [
            (gray, False),
            (color, False),
            (sal, True),
            ((color * sal[..., None]).astype(np.uint8), False),
            (gt, False),
        ]
        if has_gt_sal:
            p = sal_gt / f"{image_id}.png"
            if p.is_file():
                gsal = read_gray(p, (gt.shape[1], gt.shape[0]))
                panels += [(gsal, True), ((gt * gsal[..., None]).astype(np.uint8), False)]
            else:
                panels += [(None, False), (None, False)]
        for c, (img, is_map) in enumerate(panels):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if img is None:
                _blank(ax, "missing")
            elif is_map:
                ax.imshow(img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            else:
                ax.imshow(img, interpolation="nearest")
            if r == 0:
                ax.set_title(cols[c], fontsize=6)
            if c == 0:
                ax.set_ylabel(image_id, fontsize=6)
    fig.suptitle("SCGAN weighted images: colour × saliency (cf. SCGAN Fig. 7)", fontsize=8)
    _save(fig, out_path)
    return True


def exists_nonempty(path: str | os.PathLike) -> bool:
    p = Path(path)
    return p.is_file() and p.stat().st_size > 0
