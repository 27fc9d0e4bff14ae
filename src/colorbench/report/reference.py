"""Published numbers from the two papers, kept apart from anything measured here.

Transcribed from seeds/000 (ParaColorizer: Tables I, II, IV, V) and seeds/001 (SCGAN:
Tables I, II). Shares are stored as fractions, like metrics.json, so the same specs format
them. None = not reported ("/" in the paper).
"""

from __future__ import annotations

from colorbench.report.spec import spec
from colorbench.tables import Cell, Column, Table

COCO = "published, COCO val (5000 images at 256²) — not comparable to this profile's numbers"
IMAGENET_5K = "published, ImageNet test (5000 images) — not comparable to this profile's numbers"
IMAGENET = "published, ImageNet val (10000 images) — not comparable to this profile's numbers"

PARACOLORIZER_T1 = {
    "columns": ["delta_colorful", "fid", "lpips", "psnr", "ssim"],
    "rows": {
        "CIC (Zhang et al.)": [23.40, 33.73, 0.234, 21.83, 0.895],
        "DeOldify": [8.12, 23.09, 0.180, 23.69, 0.920],
        "ChromaGAN": [5.84, 30.51, 0.159, 23.60, 0.911],
        "IAIC": [9.60, 17.66, 0.125, 27.77, 0.940],
        "ParaColorizer": [4.90, 17.60, 0.151, 23.96, 0.925],
    },
}
PARACOLORIZER_T2 = {"ColTran": 22.0613, "IAIC": 18.6942, "ParaColorizer": 16.8273}
PARACOLORIZER_T4 = {0.0: 0.863, 0.25: 0.894, 0.5: 0.900, 0.75: 0.915, 1.0: 0.924}
PARACOLORIZER_T5 = {"0.00": 22.59, "0.50": 19.45, "1.00": 21.37, "fusion": 17.60}

SCGAN_T1 = {
    "columns": ["psnr", "ssim", "top1", "cci_ratio"],
    "rows": {
        "Ground truth": [None, 1.0, 0.6344, None],
        "Grayscale": [23.23, 0.9394, 0.4978, None],
        "Larsson et al.": [24.42, 0.9229, 0.5516, 0.1493],
        "Isola et al.": [23.25, 0.9386, 0.5229, 0.1126],
        "Zhang et al.": [22.49, 0.9153, 0.5397, 0.0330],
        "Iizuka et al.": [24.32, 0.9464, 0.5305, 0.1960],
        "DeOldify": [23.14, 0.9194, 0.5345, 0.1473],
        "Lei et al.": [22.96, 0.9146, 0.5146, 0.1140],
        "Vitoria et al. (ChromaGAN)": [24.32, 0.9273, 0.5365, 0.1124],
        "SCGAN": [23.80, 0.9473, 0.5347, 0.2141],
    },
}
SCGAN_T2 = {
    "columns": ["psnr", "ssim", "top1", "cci_ratio"],
    "rows": {
        "w/o attention loss": [23.81, 0.9368, 0.5234, 0.1856],
        "w/o GAN loss": [23.28, 0.9305, 0.5289, 0.2045],
        "w/o perceptual loss": [23.80, 0.9443, 0.5211, 0.2131],
        "with LSGAN loss": [23.46, 0.9390, 0.5342, 0.2086],
        "w/o pre-weights": [23.15, 0.9280, 0.5259, 0.1820],
        "w/o global feature": [23.61, 0.9356, 0.5216, 0.1755],
        "with L2 loss": [23.67, 0.9436, 0.5326, 0.1958],
        "SCGAN (full)": [23.80, 0.9473, 0.5347, 0.2141],
    },
}


PC = "ParaColorizer (seeds/000)"
SC = "SCGAN (seeds/001)"


def _one_column(metric: str, data: dict) -> dict:
    """{setting: value} as a one-metric grid; numeric settings (λ, α) shown as 0.25."""
    rows = {k if isinstance(k, str) else f"{k:.2f}": [v] for k, v in data.items()}
    return {"columns": [metric], "rows": rows}


# (file name, title, provenance line, data, label column (csv key, header))
TABLES = [
    (
        "published_paracolorizer_table1",
        f"{PC} Table I — {COCO}",
        "FID computed with piq on COCO val2017, 5000 images at 256×256.",
        PARACOLORIZER_T1,
        ("method", "Method"),
    ),
    (
        "published_paracolorizer_table2",
        f"{PC} Table II — {IMAGENET_5K}",
        "FID on 5000 random ImageNet test images (ColTran's protocol).",
        _one_column("fid", PARACOLORIZER_T2),
        ("setting", "Method"),
    ),
    (
        "published_paracolorizer_table4",
        f"{PC} Table IV (λ_edge sweep, SSIM of the foreground colorizer) — {COCO}",
        "SSIM on the foreground colorizer's outputs.",
        _one_column("ssim", PARACOLORIZER_T4),
        ("setting", "λ_edge"),
    ),
    (
        "published_paracolorizer_table5",
        f"{PC} Table V (overlay α vs fusion, FID) — {COCO}",
        "α = foreground share of the weighted overlay.",
        _one_column("fid", PARACOLORIZER_T5),
        ("setting", "α"),
    ),
    (
        "published_scgan_table1",
        f"{SC} Table I — {IMAGENET}",
        "ImageNet val, 10k images.",
        SCGAN_T1,
        ("method", "Method"),
    ),
    (
        "published_scgan_table2",
        f"{SC} Table II (ablations) — {IMAGENET}",
        "ImageNet val, 10k images.",
        SCGAN_T2,
        ("method", "Setting"),
    ),
]


def _table(name: str, title: str, source: str, data: dict, label: tuple[str, str]) -> Table:
    table = Table(
        name,
        title,
        [Column.label(*label)] + [Column.metric(spec(k), bold=False) for k in data["columns"]],
        header_lines=[source],
        bold=False,
        ci_in_markdown=False,
        notes=["Published numbers, copied from the paper; never mixed with measured rows."],
    )
    for row_label, values in data["rows"].items():
        table.add_row(
            [Cell(text=row_label)]
            + [Cell(v, reason=None if v is not None else "not reported") for v in values]
        )
    return table


def reference_tables() -> list[Table]:
    return [_table(*entry) for entry in TABLES]
