"""ParaColorizer's methods: the colorizers `unet` (V1), `fg` and `bg` (one generator checkpoint
each, kind "generator") and `fused` (fg + bg through the fusion network); the fg + bg pair
that overlay and fused combine. Light: the networks load inside `colorize`."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from colorbench.errors import ColorbenchError
from colorbench.methods.base import ColorizeJob, Method
from colorbench.methods.paracolorizer import GENERATORS

NAMES = ("unet", "fg", "bg", "fused")


class Generator(Method):
    trained = True

    def __init__(self, name: str, label: str, order: int) -> None:
        self.name, self.label, self.order = name, label, order
        self.checkpoints = {"model": f"{name}.pt"}
        self.help = f"the {name} generator (--checkpoint models/{name}.pt)"

    def _check(self, loaded, path: Path) -> None:
        trained_as = loaded.meta.get("name")  # unet | fg | bg for colorbench's own generators
        if trained_as in GENERATORS and trained_as != self.name:
            raise ColorbenchError(
                f"--method {self.name}: {path} is the {trained_as!r} generator (trained "
                f"by train_{trained_as}); use --method {trained_as}, or the {self.name} model "
                f"(models/{self.name}.pt)"
            )

    def colorize(self, job: ColorizeJob) -> list[Path]:
        from colorbench.colorize.checkpoints import colorize_with_checkpoint

        path = job.checkpoint("model")
        return colorize_with_checkpoint(
            path, job.inputs, job.out_dir, kind="generator", method=self.name,
            check=lambda loaded: self._check(loaded, path), size=job.size,
            batch_size=job.batch_size, device=job.device, names=job.ids, workers=job.workers,
            fallback_size=job.fallback_size, rejects=job.rejects,
        )  # fmt: skip


def colorized(folder: Path, ids: list[str]) -> list[Path]:
    """A sibling method's outputs for `ids` (the stage's fg and bg folders)."""
    paths = [folder / f"{i}.png" for i in ids]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise ColorbenchError(
            f"{len(missing)} test image(s) missing in {folder} (e.g. {missing[0].name}); "
            f"run its colorize stage first"
        )
    return paths


@contextlib.contextmanager
def fg_bg_outputs(
    job: ColorizeJob, extra: tuple[str, ...] = ()
) -> Iterator[tuple[list[Path], list[Path], list[str]]]:
    """(fg images, bg images, names) for a method combining the two: the pipeline's fg/ and
    bg/ folders, or, given --fg and --bg checkpoints, both colorized into a temporary folder
    (inputs that fail to decode for fg are skipped for bg too)."""
    if job.outputs_dir is not None and "fg" not in job.checkpoints:
        yield (
            colorized(job.outputs_dir / "fg", job.ids),
            colorized(job.outputs_dir / "bg", job.ids),
            job.ids,
        )
        return
    missing = [f"--{r}" for r in ("fg", "bg", *extra) if job.checkpoints.get(r) is None]
    if missing:
        raise ColorbenchError(f"--method {job.name} needs {' '.join(missing)}")
    with tempfile.TemporaryDirectory(prefix="colorbench-colorize-") as tmp:
        fg_job = _generator_job(job, "fg", Path(tmp) / "fg")
        fg = Generator("fg", "", 0).colorize(fg_job)
        rejected = {r for r, _ in job.rejects or []}
        keep = [k for k, p in enumerate(job.inputs) if p not in rejected]
        bg_job = _generator_job(job, "bg", Path(tmp) / "bg", keep)
        bg = Generator("bg", "", 0).colorize(bg_job)
        yield fg, bg, bg_job.ids


def _generator_job(job: ColorizeJob, role: str, out: Path, keep: list[int] | None = None):
    from dataclasses import replace

    keep = list(range(len(job.inputs))) if keep is None else keep
    return replace(
        job,
        name=role,
        inputs=[job.inputs[k] for k in keep],
        ids=[job.ids[k] for k in keep],
        out_dir=out,
        checkpoints={"model": job.checkpoints[role]},
        rejects=job.rejects if role == "fg" else None,
    )


class Fused(Method):
    name, label, order, trained = "fused", "fused (ParaColorizer)", 50, True
    checkpoints = {"fusion": "fusion.pt"}
    help = "fg + bg through the fusion network (--fg --bg --fusion)"

    def colorize(self, job: ColorizeJob) -> list[Path]:
        from colorbench.methods.paracolorizer.fused import fuse_images

        with fg_bg_outputs(job, ("fusion",)) as (fg, bg, names):
            return fuse_images(
                job.checkpoint("fusion"), fg, bg, job.out_dir,
                strategy=str(job.options.get("fusion_strategy", "l1norm")),
                batch_size=job.batch_size, device=job.device, names=names, workers=job.workers,
            )  # fmt: skip


METHODS = [
    Generator("unet", "unet (V1, pix2pix U-Net)", 10),
    Generator("fg", "fg (foreground GAN)", 20),
    Generator("bg", "bg (background GAN)", 30),
    Fused(),
]
