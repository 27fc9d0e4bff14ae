"""Method `overlay`: alpha·fg + (1 − alpha)·bg on the RGB images (ParaColorizer Table V).

Its output folder is `overlay_a<alpha>`; that name is parsed here and nowhere else.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from colorbench.errors import ColorbenchError
from colorbench.methods.base import ColorizeJob, Method

NAMES = ("overlay",)
PATTERNS = ("overlay_a<alpha>",)  # its output folders (read by the registry unimported)
_FOLDER = re.compile(r"overlay_a(?P<alpha>.+)")


def parse_alpha(name: str) -> float | None:
    """alpha of an `overlay_a<alpha>` folder name; None for other names or a non-number."""
    match = _FOLDER.fullmatch(name)
    if not match:
        return None
    try:
        return float(match.group("alpha"))
    except ValueError:
        return None


def overlay_images(
    fg_paths: Sequence[str | os.PathLike],
    bg_paths: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    alpha: float,
    *,
    names: Sequence[str] | None = None,
    progress: bool = True,
) -> list[Path]:
    """alpha·fg + (1 − alpha)·bg on the RGB images, rounded to uint8."""
    import numpy as np
    from tqdm import tqdm

    from colorbench.colorize.pairs import load_pair, pairs
    from colorbench.infer import save_png

    if not 0.0 <= alpha <= 1.0:
        raise ColorbenchError(f"overlay alpha must be in [0, 1], got {alpha}")
    pairs_, outs = pairs(fg_paths, bg_paths, out_dir, names)
    for pair, out in tqdm(
        list(zip(pairs_, outs, strict=True)), desc="overlay", disable=not progress
    ):
        a, b = load_pair(pair)
        mix = alpha * a.astype(np.float64) + (1.0 - alpha) * b.astype(np.float64)
        save_png(out, np.clip(np.rint(mix), 0, 255).astype(np.uint8))
    return outs


def _in_unit_range(alpha: float | None, what: str) -> float:
    if alpha is None or not 0.0 <= alpha <= 1.0:
        raise ColorbenchError(f"{what}: alpha must be a number in [0, 1]")
    return alpha


class Overlay(Method):
    name, order = "overlay", 40
    spelling = "overlay_a<alpha>"
    help = "alpha*fg + (1-alpha)*bg (overlay_a<alpha> sets --alpha)"

    def matches(self, name: str) -> bool:
        return _FOLDER.fullmatch(name) is not None

    def alpha_of(self, name: str) -> float | None:
        return parse_alpha(name)

    def label_for(self, name: str) -> str:
        alpha = parse_alpha(name)
        return f"{name} (α={alpha:g})" if alpha is not None else name

    def sort_key(self, name: str) -> tuple:
        return (self.order, parse_alpha(name) or 0.0, name)

    def output_name(self, asked: str, alpha: str | None = None, name: str | None = None) -> str:
        if asked != self.name:
            return asked
        if alpha is None:
            raise ColorbenchError("overlay needs --alpha")
        _in_unit_range(parse_alpha(f"overlay_a{alpha}"), f"--alpha {alpha}")
        return f"overlay_a{alpha}"

    def alpha(self, job: ColorizeJob) -> float:
        if job.name == self.name:
            raw = job.options.get("alpha", 0.5)
            return _in_unit_range(parse_alpha(f"overlay_a{raw}"), f"--alpha {raw}")
        return _in_unit_range(parse_alpha(job.name), f"--method {job.name}")

    def check(self, job: ColorizeJob) -> None:
        self.alpha(job)

    def colorize(self, job: ColorizeJob) -> list[Path]:
        from colorbench.methods.paracolorizer.method import fg_bg_outputs

        alpha = self.alpha(job)
        with fg_bg_outputs(job) as (fg, bg, names):
            return overlay_images(fg, bg, job.out_dir, alpha, names=names)


METHODS = [Overlay()]
